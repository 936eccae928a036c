"""How the cached form says things in each query language (JSONPath, JSONata).

The cached form's shape is the same in both (rewrite/forms/variables.py); only the fields that read
data differ: JSONPath reads with ``"key.$": "$path"``, ``InputPath``/``ResultPath``; JSONata with
``{% ... %}`` expressions, ``Arguments`` and ``Output``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sfn_cache.rewrite.context_reads import without_missing_context


class Dialect:
    """One query language's spelling of the cached form's reads (used as a class, never instantiated)."""

    name: ClassVar[str]
    payload_field: ClassVar[str]  # where a Task's payload is written
    context: ClassVar[dict[str, str]]  # how a payload reads the context object's fields

    @staticmethod
    def ref(key: str, expression: str) -> tuple[str, str]:
        """A payload entry whose value is read at run time (a path or variable reference)."""
        raise NotImplementedError

    @staticmethod
    def key_input(task: dict[str, Any]) -> tuple[str, object]:
        """The whole effective input (key paths are read by rewrite/key_spec.py instead), less the
        context fields a pull does not have (context_reads.without_missing_context)."""
        raise NotImplementedError

    @staticmethod
    def keep_input(state: dict[str, Any]) -> None:
        """Make ``state``'s output its input."""
        raise NotImplementedError

    @staticmethod
    def capture(variable: str) -> dict[str, Any]:
        """An Assign that stores the state's result in ``variable``."""
        raise NotImplementedError

    @staticmethod
    def is_hit(variable: str, flag: str = "hit") -> dict[str, Any]:
        """A Choice rule true when ``variable``'s ``flag`` is true."""
        raise NotImplementedError

    @staticmethod
    def pull_fields(task: dict[str, Any]) -> dict[str, Any]:
        """The fields of T a pull repeats so that it reads T's effective input."""
        raise NotImplementedError


class JsonPath(Dialect):
    name = "JSONPath"
    payload_field = "Parameters"
    context = {"execution": "$$.Execution.Id", "state_machine": "$$.StateMachine.Id"}  # the classic push sends both

    @staticmethod
    def ref(key: str, expression: str) -> tuple[str, str]:
        return f"{key}.$", expression

    @staticmethod
    def key_input(task: dict[str, Any]) -> tuple[str, object]:
        if "Parameters" in task:
            return "input", without_missing_context(task["Parameters"], "JSONPath")
        return "input.$", "$"

    @staticmethod
    def keep_input(state: dict[str, Any]) -> None:
        state["ResultPath"] = None

    @staticmethod
    def capture(variable: str) -> dict[str, Any]:
        return {f"{variable}.$": "$"}

    @staticmethod
    def is_hit(variable: str, flag: str = "hit") -> dict[str, Any]:
        return {"Variable": f"${variable}.{flag}", "BooleanEquals": True}

    @staticmethod
    def pull_fields(task: dict[str, Any]) -> dict[str, Any]:
        return {"InputPath": task["InputPath"]} if "InputPath" in task else {}


class Jsonata(Dialect):
    name = "JSONata"
    payload_field = "Arguments"
    context = {"execution": "$states.context.Execution.Id"}  # the state machine: the Lambda reads it from this

    @staticmethod
    def ref(key: str, expression: str) -> tuple[str, str]:
        return key, "{% " + expression + " %}"

    @staticmethod
    def key_input(task: dict[str, Any]) -> tuple[str, object]:
        if "Arguments" in task:
            return "input", without_missing_context(task["Arguments"], "JSONata")
        return "input", "{% $states.input %}"

    @staticmethod
    def keep_input(state: dict[str, Any]) -> None:
        state["Output"] = "{% $states.input %}"

    @staticmethod
    def capture(variable: str) -> dict[str, Any]:
        return {variable: "{% $states.result %}"}

    @staticmethod
    def is_hit(variable: str, flag: str = "hit") -> dict[str, Any]:
        return {"Condition": "{% $" + variable + "." + flag + " %}"}

    @staticmethod
    def pull_fields(task: dict[str, Any]) -> dict[str, Any]:
        return {}


DIALECTS: dict[str, type[Dialect]] = {"JSONPath": JsonPath, "JSONata": Jsonata}
