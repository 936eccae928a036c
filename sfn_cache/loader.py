"""Load a definition from a file or stdin: JSON or YAML, with the file and line in every error."""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sfn_cache.errors import SfnCacheError
from sfn_cache.limits import MAX_DEPTH, MAX_INPUT_BYTES, MAX_INT_DIGITS, MAX_VALUES, check_document

_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16",
         b"\xfe\xff": "UTF-16"}


def read_source(path: str) -> str:
    """The text of ``path`` (``-`` reads standard input): UTF-8, no NUL bytes, within MAX_INPUT_BYTES."""
    source = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            stream = getattr(sys.stdin, "buffer", None)
            data = stream.read(MAX_INPUT_BYTES + 1) if stream is not None else \
                sys.stdin.read(MAX_INPUT_BYTES + 1).encode("utf-8", "surrogatepass")
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise SfnCacheError("no such file", file=source) from None
    except IsADirectoryError:
        raise SfnCacheError("is a directory, not a definition file", file=source) from None
    except OSError as exc:
        raise SfnCacheError(exc.strerror or str(exc), file=source) from None
    except ValueError:  # a NUL byte in the path
        raise SfnCacheError("not a valid file name", file=source) from None
    return decode_source(data, source)


def decode_source(data: bytes, source: str) -> str:
    """UTF-8 text from ``data``, or one clear reason why it is not a definition's text."""
    if len(data) > MAX_INPUT_BYTES:
        raise SfnCacheError(f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB (the input limit; "
                            f"Step Functions takes definitions up to 1 MB)", file=source)
    for bom, encoding in _BOMS.items():
        if data.startswith(bom):
            raise SfnCacheError(f"{encoding} text: save it as UTF-8", file=source)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise SfnCacheError(f"not a text file (NUL byte at offset {nul})", file=source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SfnCacheError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=source) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as text mode reads them


def is_template(document: Any) -> bool:
    """A CloudFormation/SAM template rather than a state machine definition (no ruamel needed to tell)."""
    return isinstance(document, dict) and isinstance(document.get("Resources"), dict) and "States" not in document


def looks_like_json(text: str) -> bool:
    stripped = text.lstrip("\ufeff \t\r\n")
    return stripped[:1] in ("{", "[")


def load_text(text: str, source: str) -> Any:
    """Parse JSON (text starting with ``{`` or ``[``) or YAML, then check the result is plain JSON
    data within the limits (limits.py); duplicate keys are errors."""
    if not text.strip():
        raise SfnCacheError("empty file", file=source)
    if looks_like_json(text):
        document = load_json(text, source)
    else:
        document = _load_yaml(text, source)
    check_document(document, source)
    return document


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class _LongInteger(ValueError):
    pass


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _LongInteger(text)
    return int(text)


def load_json(text: str, source: str) -> Any:
    """Strict JSON: duplicate keys, over-long integers and too deep nesting are one-line errors."""
    try:
        return json.loads(text.lstrip("\ufeff"), object_pairs_hook=_reject_duplicates, parse_int=_parse_int)
    except _DuplicateKey as exc:
        raise SfnCacheError(f"duplicate key {exc.key!r} (a JSON object may name a key once)",
                            file=source) from None
    except _LongInteger:
        raise SfnCacheError(f"an integer of more than {MAX_INT_DIGITS} digits (the limit)", file=source) from None
    except json.JSONDecodeError as exc:
        raise SfnCacheError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=source,
                            line=exc.lineno) from None
    except RecursionError:
        raise _too_deep(source) from None


def _too_deep(source: str) -> SfnCacheError:
    return SfnCacheError(f"nested deeper than {MAX_DEPTH} levels (the limit)", file=source)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and reads CloudFormation short forms (``!Sub``...)."""

    def compose_document(self) -> Node:
        node = super().compose_document()
        _check_expansion(node)
        return node

    def construct_mapping(self, node, deep=False):
        seen = set()
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
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        if len(str(node.value).lstrip("+-").replace("_", "")) > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of more than {MAX_INT_DIGITS} digits (the limit)", node.start_mark)
        return super().construct_yaml_int(node)

    def construct_as_text(self, node):
        """Dates and times stay the text they are written as: JSON has no date type, and
        CloudFormation reads ``AWSTemplateFormatVersion: 2010-09-09`` as that string."""
        return self.construct_scalar(node)

    def construct_no_json_form(self, node):
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
    """Refuse alias bombs before construction: count the values the document holds once every alias
    is expanded (memoised per node, so the count itself is linear in the file) and refuse cycles."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    active = {id(root)}
    stack = [(root, iter(_children(root)))]
    while stack:
        node, pending = stack[-1]
        child = next(pending, None)
        if child is None:
            stack.pop()
            active.discard(id(node))
            size = 1 + sum(sizes[id(c)] for c in _children(node))
            if size > MAX_VALUES:
                raise _TooManyValues(f"expands to more than {MAX_VALUES:,} values through aliases (the "
                                     f"limit; a YAML alias bomb?)")
            sizes[id(node)] = size
        elif id(child) in active:
            raise _TooManyValues("an alias refers to a node that contains it (a recursive structure has "
                                 "no JSON form)")
        elif id(child) not in sizes:
            active.add(id(child))
            stack.append((child, iter(_children(child))))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _construct_cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
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


def _load_yaml(text: str, source: str) -> Any:
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
        raise _too_deep(source) from None
