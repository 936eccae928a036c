"""Load a definition from a file or stdin: JSON or YAML, with the file and line in every error."""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml

from sfn_cache.errors import SfnCacheError


def read_source(path: str) -> str:
    """The text of ``path``; ``-`` reads standard input."""
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise SfnCacheError("no such file", file=path) from None
    except IsADirectoryError:
        raise SfnCacheError("is a directory, not a definition file", file=path) from None
    except UnicodeDecodeError as exc:
        raise SfnCacheError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from None
    except OSError as exc:
        raise SfnCacheError(exc.strerror or str(exc), file=path) from None


def looks_like_json(text: str) -> bool:
    stripped = text.lstrip("\ufeff \t\r\n")
    return stripped[:1] in ("{", "[")


def load_text(text: str, source: str) -> Any:
    """Parse JSON (when the text starts with ``{`` or ``[``) or YAML; duplicate keys are errors."""
    if not text.strip():
        raise SfnCacheError("empty file", file=source)
    if looks_like_json(text):
        return _load_json(text, source)
    return _load_yaml(text, source)


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


def _load_json(text: str, source: str) -> Any:
    try:
        return json.loads(text.lstrip("\ufeff"), object_pairs_hook=_reject_duplicates)
    except _DuplicateKey as exc:
        raise SfnCacheError(f"duplicate key {exc.key!r} (a JSON object may name a key once)",
                            file=source) from None
    except json.JSONDecodeError as exc:
        raise SfnCacheError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=source,
                            line=exc.lineno) from None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and reads CloudFormation short forms (``!Sub``...)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


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


def _load_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise SfnCacheError(f"invalid YAML: {problem}", file=source,
                            line=(mark.line + 1) if mark else None, details=str(exc)) from None
    except yaml.YAMLError as exc:
        raise SfnCacheError(f"invalid YAML: {exc}", file=source, details=str(exc)) from None
