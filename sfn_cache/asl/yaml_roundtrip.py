"""A wrapped YAML definition written over its input's text: comments, anchors, quoting and indentation
kept, the generated states added in block style.

The input is read again with ruamel.yaml's round-trip mode (after the strict loader accepted it) and
the wrapped definition merged into that tree, node by node: a node whose value did not change is kept
as it was (its comments and, when it is aliased, its anchor with it); a changed mapping is edited in
place, so its comments stay on the keys that stay. A node written once and aliased elsewhere (an anchor)
is never edited in place, as that would change every alias: the site that changes gets its own copy
(expanded there only), the others keep the alias.
"""

from __future__ import annotations

import copy
import io
import re
from typing import Any, Callable

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.scalarbool import ScalarBoolean

from sfn_cache.asl.json_source import same
from sfn_cache.asl.yaml_loader import load_yaml

WIDTH = 4096  # never fold a long scalar: a user's long line stays one line, as it was written


def dump_yaml_like(document: Any, source_text: str, fallback: Callable[[Any], str]) -> str:
    """``document`` (the wrapped definition, plain data) as YAML written like ``source_text``; the
    input unchanged when the document is. Should ruamel read or write something otherwise than the
    strict loader (a case it has not met), ``fallback(document)`` is written instead: the text is
    read back and must hold ``document`` exactly."""
    try:
        text = _dump_like(document, source_text)
        if same(load_yaml(text, "<output>"), document):
            return text
    except Exception:  # any surprise of ruamel's: the plain dump is always right
        pass
    return fallback(document)


def _dump_like(document: Any, source_text: str) -> str:
    yaml = round_trip_yaml(source_text)
    tree = yaml.load(source_text)
    if same(plain(tree), document):
        return source_text
    for node in _walk(tree):  # an anchor no alias uses is still the user's: keep it
        anchor = getattr(node, "anchor", None)
        if anchor is not None and anchor.value is not None:
            anchor.always_dump = True
    flow = re.search(r"^[^#\n]*:\s+\[", source_text, re.M) is not None  # ``ErrorEquals: [States.ALL]``
    merger = _Merger(tree, flow)
    merged = merger.merge(tree, document)
    merger.name_copies(merged)
    buffer = io.StringIO()
    yaml.dump(merged, buffer)
    return buffer.getvalue()


def round_trip_yaml(text: str) -> YAML:
    """A ruamel round-trip YAML set to write as ``text`` is written: its indentation and ``---``."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = WIDTH
    sequence, offset = _sequence_indent(text)
    yaml.indent(mapping=_mapping_indent(text), sequence=sequence, offset=offset)
    yaml.explicit_start = text.lstrip("\ufeff").startswith("---")
    yaml.representer.add_representer(type(None), _null)
    return yaml


def _null(representer: Any, _: None) -> Any:
    """``null`` written out (``ResultPath: null``), not left empty."""
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


_OPENS_BLOCK = re.compile(r":(\s+[&!]\S+)*\s*(#.*)?$")  # ``key:``, ``key: &anchor``, ``key: !Tag  # note``


def _opens_block(line: str) -> bool:
    return _OPENS_BLOCK.search(line) is not None


def _content_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.lstrip(" ").startswith("#")]


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _mapping_indent(text: str) -> int:
    """The most common step from a ``key:`` line to the mapping key under it (2 when none)."""
    steps: dict[int, int] = {}
    lines = _content_lines(text)
    for previous, line in zip(lines, lines[1:]):
        step = _depth(line) - _depth(previous)
        if _opens_block(previous) and step > 0 and not line.lstrip(" ").startswith("- "):
            steps[step] = steps.get(step, 0) + 1
    return max(sorted(steps), key=lambda s: steps[s]) if steps else 2


def _sequence_indent(text: str) -> tuple[int, int]:
    """(sequence, offset) as most lists are written: ``- x`` under its key or indented."""
    offsets: dict[int, int] = {}
    lines = _content_lines(text)
    for previous, line in zip(lines, lines[1:]):
        if line.lstrip(" ").startswith("- ") and _opens_block(previous):
            offset = max(0, _depth(line) - _depth(previous))
            offsets[offset] = offsets.get(offset, 0) + 1
    if not offsets:
        return 2, 0
    offset = max(sorted(offsets), key=lambda o: offsets[o])
    return offset + 2, offset


def _shared(tree: Any) -> set[int]:
    """The ids of the nodes the tree holds in more than one place (an anchor and its aliases)."""
    seen: set[int] = set()
    shared: set[int] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        stack.extend(node.values() if isinstance(node, dict) else node)
    return shared


def plain(node: Any) -> Any:
    """The node's value as the strict loader reads it: plain data, ``!Tag`` short forms as
    ``{"Fn::Tag": ...}`` (``!Ref``: ``{"Ref": ...}``)."""
    tag = getattr(getattr(node, "tag", None), "value", None)
    if isinstance(node, TaggedScalar):
        value: Any = node.value
        if tag == "!GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {_intrinsic(str(tag)): value}
    if isinstance(node, dict):
        value = {str(k): plain(v) for k, v in node.items()}
    elif isinstance(node, list):
        value = [plain(v) for v in node]
    elif isinstance(node, ScalarBoolean):  # an anchored boolean: an int subclass
        return bool(node)
    else:
        for kind in (bool, int, float, str):
            if isinstance(node, kind):
                return kind(node)
        return node
    return {_intrinsic(tag): value} if tag and tag.startswith("!") else value


def _intrinsic(tag: str) -> str:
    suffix = tag[1:]
    return suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"


def _as_node(value: Any, flow: bool) -> Any:
    """A new round-trip node for plain ``value``, in block style; ``flow``: a list of scalars in flow
    style (``[a, b]``), as the input writes its lists."""
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, inner in value.items():
            mapping[key] = _as_node(inner, flow)
        return mapping
    if isinstance(value, list):
        sequence = CommentedSeq([_as_node(item, flow) for item in value])
        if flow and not any(isinstance(item, (dict, list)) for item in value):
            sequence.fa.set_flow_style()
        return sequence
    return value


class _Merger:
    """One merge of a wrapped definition into a round-trip tree."""

    def __init__(self, tree: Any, flow: bool):
        self.shared = _shared(tree)
        self.flow = flow
        self.copies: dict[int, list[tuple[Any, Any]]] = {}  # an aliased node's id: (new value, its node)
        self.anchors: dict[int, tuple[Any, str]] = {}  # a copy's id: (the node copied, its anchor name)

    def merge(self, old: Any, new: Any, editable: bool = True) -> Any:
        """``new`` as a node, reusing ``old`` wherever the value is the same. ``editable``: ``old``'s
        container is this site's own (not an anchor's node aliased elsewhere, nor inside one). Sites of
        one aliased node that change alike share one copy (still one anchor and its aliases)."""
        if same(plain(old), new):
            return old
        tagged = getattr(getattr(old, "tag", None), "value", None)
        if not isinstance(old, (CommentedMap, CommentedSeq)) or tagged:
            return _as_node(new, self.flow)
        if isinstance(old, CommentedSeq) and not (isinstance(new, list) and len(old) == len(new)):
            return _as_node(new, self.flow)
        if isinstance(old, CommentedMap) and not isinstance(new, dict):
            return _as_node(new, self.flow)
        if id(old) in self.shared:
            for value, node in self.copies.get(id(old), ()):
                if same(value, new):
                    return node
            editable = False
        target = old if editable else self._own_copy(old)
        if editable is False and id(old) in self.shared:
            self.copies.setdefault(id(old), []).append((new, target))
        if isinstance(target, CommentedSeq):
            for index, value in enumerate(new):
                target[index] = self.merge(target[index], value)
            return target
        first = next(iter(target), None)
        for key in [k for k in target if k not in new]:
            del target[key]
        for key, value in new.items():
            if key not in target:
                target[key] = _as_node(value, self.flow)
                continue
            target[key] = self.merge(target[key], value)
            if _moved_first_comment(target[key]):  # ruamel also holds it on the key above: once is enough
                target.ca.items.get(key, [None] * 4)[3:4] = [None]
        for key in new:  # the new key order: generated states go where wrap put them
            target.move_to_end(key)
        if first in target and next(iter(target)) != first:
            _move_first_comment(target, first)
        return target

    def _own_copy(self, node: Any) -> Any:
        """A copy of an aliased node (or of one inside it) for the sites that change: a deep copy, so
        nothing in it is held in two places, its anchors dropped (the original keeps them)."""
        duplicate = copy.deepcopy(node)
        name = getattr(getattr(node, "anchor", None), "value", None)
        for part in _walk(duplicate):
            anchor = getattr(part, "anchor", None)
            if anchor is not None and getattr(anchor, "value", None) is not None:
                anchor.value = None
        if name is not None:
            self.anchors[id(duplicate)] = (node, name)
        return duplicate

    def name_copies(self, tree: Any) -> None:
        """A copy that every site of its anchor now uses takes the anchor's name back (not ``&id001``)."""
        present = {id(part) for part in _walk(tree)}
        for part in _walk(tree):
            origin = self.anchors.get(id(part))
            if origin is not None and id(origin[0]) not in present:
                part.yaml_set_anchor(origin[1])


def _move_first_comment(mapping: CommentedMap, first: Any) -> None:
    """The comment lines above a mapping's first key (``# get the data`` above ``Fetch``) stay above
    that key when a generated state is put before it, instead of going to the new first key."""
    comment = mapping.ca.comment
    if not comment or len(comment) < 2 or not comment[1]:
        return
    tokens, comment[1] = comment[1], []
    entry = mapping.ca.items.setdefault(first, [None, [], None, None])
    entry[1] = [*tokens, *(entry[1] or [])]
    setattr(mapping, _MOVED, True)


_MOVED = "sfn_cache_moved_comment"


def _moved_first_comment(node: Any) -> bool:
    return getattr(node, _MOVED, False) is True


def _walk(node: Any) -> list[Any]:
    found = []
    stack = [node]
    while stack:
        part = stack.pop()
        found.append(part)
        if isinstance(part, dict):
            stack.extend(part.values())
        elif isinstance(part, list):
            stack.extend(part)
    return found
