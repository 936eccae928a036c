"""The ASL rules that rewriting depends on; anything else is left to Step Functions' own validator."""

from __future__ import annotations

from typing import Any

from sfn_cache.asl.model import MAX_NAME_LENGTH, Scope, all_scopes, transitions, walk
from sfn_cache.errors import SfnCacheError

TERMINAL_TYPES = ("Choice", "Succeed", "Fail")


def validate(top: Scope, source: str) -> list[str]:
    """Raise SfnCacheError on a definition we cannot rewrite safely; return warnings."""
    seen: dict[str, str] = {}
    for ref in walk(top):
        if ref.name in seen:
            raise SfnCacheError(
                f"duplicate state name (also in {seen[ref.name]}); names must be unique in a state machine",
                file=source, state=ref.name)
        seen[ref.name] = ref.scope.path
        if len(ref.name) > MAX_NAME_LENGTH:
            raise SfnCacheError(f"state name is longer than {MAX_NAME_LENGTH} characters",
                                file=source, state=ref.name)
        _check_transitions(ref.name, ref.state, ref.scope, source)
    check_query_languages(top, source)

    warnings = []
    for scope in all_scopes(top):
        if scope.body["StartAt"] not in scope.states:
            where = "" if scope.path == "top" else f" of {scope.path}"
            raise SfnCacheError(f"StartAt{where} names a state that does not exist: "
                                f"{scope.body['StartAt']!r}", file=source)
        for name in sorted(set(scope.states) - _reachable(scope)):
            warnings.append(f"{source}: state '{name}': unreachable from StartAt")
    return warnings


def _check_transitions(name: str, state: dict[str, Any], scope: Scope, source: str) -> None:
    for field_name, target in transitions(state):
        if target not in scope.states:
            raise SfnCacheError(f"{field_name} names a state that does not exist here: {target!r}",
                                file=source, state=name)
    if state["Type"] == "Choice" and not state.get("Choices"):
        raise SfnCacheError("Choice state without Choices", file=source, state=name)
    if state["Type"] not in TERMINAL_TYPES:
        has_next = isinstance(state.get("Next"), str)
        if has_next == (state.get("End") is True):
            raise SfnCacheError("needs exactly one of Next or \"End\": true", file=source, state=name)


def _reachable(scope: Scope) -> set[str]:
    seen: set[str] = set()
    todo = [scope.body["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen or name not in scope.states:
            continue
        seen.add(name)
        todo.extend(target for _, target in transitions(scope.states[name]))
    return seen


# Fields a state may carry only in one query language (AWS: "Transforming data with JSONata", its table
# of JSONPath fields and their JSONata replacements; CreateStateMachine rejects the other language's).
JSONPATH_ONLY = ("InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "ItemsPath",
                 "TimeoutSecondsPath", "HeartbeatSecondsPath", "MaxConcurrencyPath", "SecondsPath", "TimestampPath",
                 "ErrorPath", "CausePath", "ToleratedFailureCountPath", "ToleratedFailurePercentagePath")
JSONATA_ONLY = ("Arguments", "Output", "Items")
_JSONPATH_RULE = "Variable"  # a JSONPath Choice rule compares a Variable; a JSONata one has a Condition


def check_query_languages(top: Scope, source: str) -> None:
    """Raise when a state carries a field its effective language (model.effective_language) does not
    have, or is JSONPath in a JSONata machine: the definitions CreateStateMachine rejects that way."""
    for ref in walk(top):
        language = ref.query_language
        if top.query_language == "JSONata" and language != "JSONata":
            raise SfnCacheError("is JSONPath in a JSONata state machine (a JSONata machine holds JSONata "
                                "states only)", file=source, state=ref.name)
        for where, holder in _field_holders(ref.state):
            wrong = [key for key in (JSONATA_ONLY if language == "JSONPath" else JSONPATH_ONLY) if key in holder]
            if holder is not ref.state and where.startswith("Choices"):
                rule_wrong = "Condition" if language == "JSONPath" else _JSONPATH_RULE
                wrong += [rule_wrong] if rule_wrong in holder else []
            if wrong:
                raise SfnCacheError(f"{where}{wrong[0]} is not a field of a {language} state", file=source,
                                    state=ref.name)


def _field_holders(state: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The state and the objects inside it whose fields follow its language (catchers, Choice rules)."""
    holders: list[tuple[str, dict[str, Any]]] = [("", state)]
    for key in ("Catch", "Choices"):
        holders += [(f"{key}[{i}].", item) for i, item in enumerate(state.get(key) or [])
                    if isinstance(item, dict)]
    return holders
