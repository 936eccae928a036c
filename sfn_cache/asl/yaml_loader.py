"""YAML definitions and templates, read strictly: JSON data only (no merge keys, non-string keys,
binary or set values), duplicate keys and alias bombs refused, CloudFormation short forms
(``!Sub``, ``!GetAtt``...) read as their long forms. Its own module so that a JSON input never imports
PyYAML (the CLI's start-up time, benchmarks/cli_startup.py)."""

from __future__ import annotations

from typing import Any, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sfn_cache.asl.limits import MAX_INPUT_BYTES, MAX_INT_DIGITS, MAX_VALUES
from sfn_cache.asl.loader import too_deep
from sfn_cache.errors import SfnCacheError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and reads CloudFormation short forms (``!Sub``...)."""

    def compose_document(self) -> Node:
        node = super().compose_document()
        _check_expansion(node)
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise yaml.constructor.ConstructorError(
                    None, None, "YAML merge keys (<<) are not supported: write the keys out", key_node.start_mark)
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {_key_text(key_node, key)}; JSON keys are strings: quote it",
                    key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return cast(dict[Any, Any], super().construct_mapping(node, deep=deep))

    def construct_yaml_int(self, node: ScalarNode) -> int:
        if len(str(node.value).lstrip("+-").replace("_", "")) > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of more than {MAX_INT_DIGITS} digits (the limit)", node.start_mark)
        return cast(int, super().construct_yaml_int(node))

    def construct_as_text(self, node: ScalarNode) -> str:
        """Dates and times stay the text they are written as: JSON has no date type, and
        CloudFormation reads ``AWSTemplateFormatVersion: 2010-09-09`` as that string."""
        return cast(str, self.construct_scalar(node))

    def construct_no_json_form(self, node: Node) -> Any:
        kind = node.tag.rsplit(":", 1)[-1]
        raise yaml.constructor.ConstructorError(
            None, None, f"a YAML !!{kind} value has no JSON form", node.start_mark)


def _key_text(node: Node, key: Any) -> str:
    if isinstance(node, ScalarNode):
        kinds = {type(None): "null", bool: "a boolean", int: "an integer", float: "a number"}
        return f"{node.value!r} reads as {kinds.get(type(key), type(key).__name__)}"
    return f"is a {node.id}"


class _TooManyValues(ValueError):
    pass


def _check_expansion(root: Node | None) -> None:
    """Refuse alias bombs before construction: count the values, and the characters of the strings, the
    document holds once every alias is expanded (memoised per node, so the count itself is linear in the
    file) and refuse cycles. A few values can still be huge: one 100 kB string aliased 2,000 times."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    chars: dict[int, int] = {}
    active = {id(root)}
    stack = [(root, iter(_children(root)))]
    while stack:
        node, pending = stack[-1]
        child = next(pending, None)
        if child is None:
            stack.pop()
            active.discard(id(node))
            children = _children(node)
            size = 1 + sum(sizes[id(c)] for c in children)
            if size > MAX_VALUES:
                raise _TooManyValues(f"expands to more than {MAX_VALUES:,} values through aliases (the "
                                     f"limit; a YAML alias bomb?)")
            text = len(node.value) if isinstance(node, ScalarNode) else sum(chars[id(c)] for c in children)
            if text > MAX_INPUT_BYTES:
                raise _TooManyValues(f"expands to more than {MAX_INPUT_BYTES // (1024 * 1024)} MiB of text through "
                                     f"aliases (the input limit; a YAML alias bomb?)")
            sizes[id(node)], chars[id(node)] = size, text
        elif id(child) in active:
            raise _TooManyValues("an alias refers to a node that contains it (a recursive structure has "
                                 "no JSON form)")
        elif id(child) not in sizes:
            active.add(id(child))
            stack.append((child, iter(_children(child))))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _construct_cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else ("Condition" if suffix == "Condition" else f"Fn::{suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_StrictLoader.add_multi_constructor("!", _construct_cfn_tag)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_as_text)
for _tag in ("binary", "set", "omap", "pairs"):
    _StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _StrictLoader.construct_no_json_form)


def load_yaml(text: str, source: str) -> Any:
    """The document in ``text``, or an SfnCacheError naming the file and line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = f"invalid YAML: {exc.problem or exc.context or 'syntax error'}"
        if source.lower().endswith(".json"):  # named JSON but not starting like JSON: say both
            problem = f"not JSON (no {{ or [ at the start) and {problem}"
        raise SfnCacheError(problem, file=source,
                            line=(mark.line + 1) if mark else None, details=str(exc)) from None
    except yaml.YAMLError as exc:
        raise SfnCacheError(f"invalid YAML: {exc}", file=source, details=str(exc)) from None
    except _TooManyValues as exc:
        raise SfnCacheError(str(exc), file=source) from None
    except RecursionError:
        raise too_deep(source) from None
