"""Plain values <-> ruamel.yaml round-trip nodes.

A template is edited in place so that comments, key order, quoting and the ``!Sub``/``!GetAtt``/``!Ref``
short forms survive: ``merge`` replaces only the nodes whose value really changes. Nodes are read as
plain data by ``asl.yaml_roundtrip.plain``, the one reader a YAML definition file uses too.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.scalarstring import LiteralScalarString
from ruamel.yaml.tag import Tag

from sfn_cache.asl.yaml_roundtrip import plain


def as_node(value: Any, short_forms: bool) -> Any:
    """A round-trip node for plain ``value``; intrinsics in short form when the template uses them."""
    if isinstance(value, dict):
        if short_forms and len(value) == 1:
            (key, inner), = value.items()
            if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                tag = "!" + key.split("::")[-1]
                if key == "Fn::GetAtt" and isinstance(inner, list) and all(isinstance(p, str) for p in inner):
                    return TaggedScalar(".".join(inner), tag=tag)
                if isinstance(inner, str):  # a multi-line string (a DefinitionString's JSON) stays a block
                    return TaggedScalar(inner, style="|" if "\n" in inner else None, tag=tag)
                node = as_node(inner, short_forms)
                node.yaml_set_ctag(Tag(suffix=tag))
                return node
        mapping = CommentedMap()
        for key, inner in value.items():
            mapping[key] = as_node(inner, short_forms)
        return mapping
    if isinstance(value, list):
        return CommentedSeq([as_node(v, short_forms) for v in value])
    if isinstance(value, str) and "\n" in value:  # readable, as a ``DefinitionString: |`` is written
        return LiteralScalarString(value)
    return value


def merge(old: Any, new: Any, short_forms: bool) -> Any:
    """``new`` as a node, reusing the nodes of ``old`` (and their comments) wherever they are equal."""
    if plain(old) == new:
        return old
    old_tag = getattr(getattr(old, "tag", None), "value", None)
    if isinstance(old, CommentedMap) and isinstance(new, dict) and not old_tag:
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, value in new.items():
            old[key] = merge(old[key], value, short_forms) if key in old else as_node(value, short_forms)
        for key in new:  # the new key order (generated states go where wrap put them)
            old.move_to_end(key)
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list) and len(old) == len(new) and not old_tag:
        for i, value in enumerate(new):
            old[i] = merge(old[i], value, short_forms)
        return old
    return as_node(new, short_forms)
