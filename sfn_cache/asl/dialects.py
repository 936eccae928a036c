"""How the cached form says things in each query language (JSONPath, JSONata).

The cached form's shape is the same in both (rewrite/variables.py); only the fields that read data differ:
JSONPath reads with ``"key.$": "$path"``, ``InputPath``/``ResultPath``; JSONata with ``{% ... %}``
expressions, ``Arguments`` and ``Output``.
"""

from __future__ import annotations

import copy
import re
from typing import Iterator

_JSONATA_EXPRESSION = re.compile(r"^\{%(.*)%\}$", re.DOTALL)


class JsonPath:
    name = "JSONPath"
    payload_field = "Parameters"

    @staticmethod
    def ref(key: str, expression: str) -> tuple[str, str]:
        """A payload entry whose value is read at run time (a path or variable reference)."""
        return f"{key}.$", expression

    context = {"execution": "$$.Execution.Id", "state_machine": "$$.StateMachine.Id"}  # the classic push sends both

    @staticmethod
    def key_input(task: dict) -> tuple[str, object]:
        """The whole effective input (key paths are read by rewrite/key_spec.py instead)."""
        if "Parameters" in task:
            return "input", copy.deepcopy(task["Parameters"])
        return "input.$", "$"

    @staticmethod
    def keep_input(state: dict) -> None:
        state["ResultPath"] = None

    @staticmethod
    def capture(variable: str) -> dict:
        return {f"{variable}.$": "$"}

    @staticmethod
    def is_hit(variable: str, flag: str = "hit") -> dict:
        return {"Variable": f"${variable}.{flag}", "BooleanEquals": True}

    @staticmethod
    def pull_fields(task: dict) -> dict:
        return {"InputPath": task["InputPath"]} if "InputPath" in task else {}


class Jsonata:
    name = "JSONata"
    payload_field = "Arguments"

    @staticmethod
    def ref(key: str, expression: str) -> tuple[str, str]:
        return key, "{% " + expression + " %}"

    context = {"execution": "$states.context.Execution.Id"}  # the state machine: the Lambda reads it from this

    @staticmethod
    def key_input(task: dict) -> tuple[str, object]:
        if "Arguments" in task:
            return "input", copy.deepcopy(task["Arguments"])
        return "input", "{% $states.input %}"

    @staticmethod
    def keep_input(state: dict) -> None:
        state["Output"] = "{% $states.input %}"

    @staticmethod
    def capture(variable: str) -> dict:
        return {variable: "{% $states.result %}"}

    @staticmethod
    def is_hit(variable: str, flag: str = "hit") -> dict:
        return {"Condition": "{% $" + variable + "." + flag + " %}"}

    @staticmethod
    def pull_fields(task: dict) -> dict:
        return {}


DIALECTS = {"JSONPath": JsonPath, "JSONata": Jsonata}


def jsonata_tokens(expression: str) -> list:
    """The tokens of a JSONata expression, by JSONata's own tokenizer: string literals, comments and
    regular expressions are single tokens. A ``/`` opens a regular expression only where a value is
    expected."""
    return list(iter_jsonata_tokens(expression))


def iter_jsonata_tokens(expression: str) -> Iterator:
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


def replace_states_result(value, replacement: str):
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
