"""The stated limits on input, and the check that a loaded document is plain JSON within them.

Why: YAML can load values JSON has no spelling for (dates, binary, NaN, non-string keys), Python's
parsers fail with tracebacks on very deep or very long input, and YAML aliases can expand a small
file into billions of values. Each of these is refused here with one line naming the file, the
state and the field, before anything walks the document recursively.
"""

from __future__ import annotations

import math
import re
from typing import Any

from sfn_cache.errors import SfnCacheError

MAX_INPUT_BYTES = 10 * 1024 * 1024  # a definition is at most 1 MB on AWS; templates get room to spare
MAX_DEPTH = 200  # nested objects/arrays; real definitions stay under 30
MAX_VALUES = 1_000_000  # values once YAML aliases are expanded (a 1 MB definition holds far fewer)
MAX_INT_DIGITS = 1000  # an integer literal longer than this is refused, not silently rounded
MAX_STATES = 10_000  # states in one definition; each wrapped task adds ~2 KB, and AWS takes 1 MB in all
_TOO_LARGE_INT = 10 ** MAX_INT_DIGITS
_SURROGATE = re.compile("[\ud800-\udfff]")


def _describe(path: list[str], state: str | None) -> str:
    return ".".join(path) if path else ("the state itself" if state is not None else "the document")


def check_document(document: Any, source: str) -> None:
    """Raise SfnCacheError unless ``document`` is JSON data within the limits (iterative: no recursion).

    The error names the innermost state (a key directly under a ``States`` object) and the field path
    below it, so a NaN deep in Parameters reads ``FILE: state 'Train': Parameters.rate: ...``.
    """
    stack: list[tuple[Any, int, str | None, tuple[Any, ...]]] = [(document, 0, None, ())]
    while stack:
        value, depth, state, path = stack.pop()
        if depth > MAX_DEPTH:
            raise SfnCacheError(f"nested deeper than {MAX_DEPTH} levels (the limit)", file=source, state=state)
        problem = _problem(value)
        if problem is not None:
            raise SfnCacheError(f"{_describe(_unwind(path), state)}: {problem}", file=source, state=state)
        if isinstance(value, dict):
            in_states = bool(path) and path[0] == "States"
            for key, inner in value.items():
                if not isinstance(key, str):
                    raise SfnCacheError(f"{_describe(_unwind(path), state)}: key {key!r} is not a string "
                                        f"({type(key).__name__}); JSON keys are strings",
                                        file=source, state=state)
                key_problem = _string_problem(key)
                if key_problem:
                    raise SfnCacheError(f"{_describe(_unwind(path), state)}: key {key!r} {key_problem}",
                                        file=source, state=state)
                if in_states:
                    stack.append((inner, depth + 1, key, ()))
                else:
                    stack.append((inner, depth + 1, state, (key, path)))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                stack.append((inner, depth + 1, state, (f"[{index}]", path)))


def _unwind(path: tuple[Any, ...]) -> list[str]:
    parts: list[str] = []
    while path:
        part, path = path
        parts.append(part)
    parts.reverse()
    text: list[str] = []
    for part in parts:
        if part.startswith("[") and text:
            text[-1] += part
        else:
            text.append(part)
    return text


def _problem(value: Any) -> str | None:
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    if isinstance(value, str):
        problem = _string_problem(value)
        return f"the string {problem}" if problem else None
    if isinstance(value, int):
        if abs(value) >= _TOO_LARGE_INT:
            return f"an integer of more than {MAX_INT_DIGITS} digits (the limit)"
        return None
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return (f"{'NaN' if math.isnan(value) else 'Infinity'} is not a JSON number (NaN, Infinity and "
                    f"numbers too large for a double are refused: Step Functions rejects them)")
        return None
    return f"a {type(value).__name__} value has no JSON form (quote it as a string)"


def _string_problem(text: str) -> str | None:
    match = _SURROGATE.search(text)
    if match:
        return f"holds a lone surrogate \\u{ord(match.group()):04x} at {match.start()}: not valid Unicode"
    return None
