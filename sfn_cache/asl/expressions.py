"""Reading JSONata expressions: their tokens, and one substitution in them.

Tokens come from JSONata's own tokenizer, so string literals, comments and regular expressions are
never mistaken for paths or variables.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

_JSONATA_EXPRESSION = re.compile(r"^\{%(.*)%\}$", re.DOTALL)


def jsonata_tokens(expression: str) -> list[Any]:
    """The tokens of a JSONata expression, by JSONata's own tokenizer: string literals, comments and
    regular expressions are single tokens. A ``/`` opens a regular expression only where a value is
    expected."""
    return list(iter_jsonata_tokens(expression))


def iter_jsonata_tokens(expression: str) -> Iterator[Any]:
    """jsonata_tokens one at a time: a reader that needs the first few stops early."""
    from jsonata.tokenizer import Tokenizer

    tokenizer = Tokenizer(expression)
    previous = None
    while True:
        infix = previous is not None and (previous.type != "operator" or previous.value in (")", "]", "}"))
        token = tokenizer.next(infix)  # (argument as in jsonata-js: a '/' after a value divides)
        if token is None:
            return
        yield token
        previous = token


def _states_result_spans(expression: str) -> list[tuple[int, int]]:
    """(start, end) of every ``$states.result`` path step in a JSONata expression (names like
    ``$states.results`` and text in literals, comments and regexes are never touched)."""
    tokens = jsonata_tokens(expression)
    spans = []
    for first, dot, name in zip(tokens, tokens[1:], tokens[2:]):
        if ((first.type, first.value) == ("variable", "states") and (dot.type, dot.value) == ("operator", ".")
                and (name.type, name.value) == ("name", "result")):
            spans.append((first.position - len("$states"), name.position))
    return spans


def replace_states_result(value: Any, replacement: str) -> Any:
    """``value`` with ``$states.result`` read from ``replacement`` in every {% %} expression.

    A Pass state has no result of its own, so the hit state of a JSONata task evaluates the task's
    Output and Assign with the cached result in place of ``$states.result``.
    """
    if isinstance(value, str):
        match = _JSONATA_EXPRESSION.match(value.strip())
        if not match:
            return value
        offset = value.index("{%") + 2
        for start, end in reversed(_states_result_spans(match.group(1))):
            value = value[:offset + start] + replacement + value[offset + end:]
        return value
    if isinstance(value, dict):
        return {key: replace_states_result(inner, replacement) for key, inner in value.items()}
    if isinstance(value, list):
        return [replace_states_result(inner, replacement) for inner in value]
    return value
