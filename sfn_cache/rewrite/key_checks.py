"""Checks of a task's cache key before it is written: key paths that cannot be read are refused, a key
that changes between runs is warned about."""

from __future__ import annotations

import re
from typing import Any

from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.key_spec import credentials_part, key_path_input, target_part
from sfn_cache.rewrite.options import StateOptions

_JSONATA_VOLATILE = re.compile(r"\$(uuid|now|millis|random)\s*\(|\$states\.context")


def nondeterministic_reads(value: Any) -> list[str]:
    """Context-object reads and UUID/clock/random calls in a Parameters, Arguments or ResultSelector."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.endswith(".$") and isinstance(inner, str):
                if "$$" in inner or "States.UUID" in inner:
                    found.append(inner)
            else:
                found.extend(nondeterministic_reads(inner))
    elif isinstance(value, str) and "{%" in value and _JSONATA_VOLATILE.search(value):
        found.append(value)
    elif isinstance(value, list):
        for inner in value:
            found.extend(nondeterministic_reads(inner))
    return found


def check_key_paths(paths: tuple[str, ...], state_name: str, source: str) -> None:
    if not paths:
        return
    from jsonpath_ng import parse as parse_jsonpath  # only when key paths are given
    from jsonpath_ng.exceptions import JsonPathParserError

    for path in paths:
        if not isinstance(path, str) or not path.startswith("$") or path.startswith("$$"):
            raise SfnCacheError(f"key path must be a JSONPath on the task input starting with '$': {path!r}",
                                file=source, state=state_name)
        try:
            parse_jsonpath(path)
        except (JsonPathParserError, Exception) as exc:  # jsonpath-ng raises plain Exceptions too
            raise SfnCacheError(f"invalid key path {path!r}: {exc}", file=source,
                                state=state_name) from None


def check_key_spec(task: dict[str, Any], opts: StateOptions, state_name: str, source: str, language: str) -> None:
    """Key paths, and with them the target and credentials refs, must be plain paths (key_spec.py)."""
    if not opts.key_paths:
        return
    try:
        key_path_input(task if language == "JSONPath" else {}, opts.key_paths, "$states.input")
        target_part(task, language, "$states.input")
        credentials_part(task, language, True, "$states.input")
    except SfnCacheError as exc:
        raise SfnCacheError(exc.message, file=source, state=state_name) from None


def no_input(task: dict[str, Any], language: str, key_paths: tuple[str, ...]) -> str | None:
    """Why the task's key holds nothing of its input (None when it holds some): every execution is
    then one key, and gets the first result stored."""
    if language == "JSONPath" and "InputPath" in task and task["InputPath"] is None:
        if key_paths or "Parameters" not in task or not _reads(task["Parameters"], language):
            return "InputPath is null"
    if key_paths:
        return None
    field = "Parameters" if language == "JSONPath" else "Arguments"
    if field in task and not _reads(task[field], language):
        return f"its {field} are all written in the definition"
    return None


def _reads(value: Any, language: str) -> bool:
    """Whether a Parameters or Arguments value reads anything at run time (a path, an intrinsic, a
    variable, an expression)."""
    if isinstance(value, dict):
        return any((language == "JSONPath" and key.endswith(".$")) or _reads(inner, language)
                   for key, inner in value.items())
    if isinstance(value, list):
        return any(_reads(inner, language) for inner in value)
    return language == "JSONata" and isinstance(value, str) and "{%" in value
