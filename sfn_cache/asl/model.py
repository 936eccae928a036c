"""The graph model: a state machine as nested scopes of named states.

A scope is one ``{"StartAt", "States"}`` object: the top level, each Parallel branch, each Map
``ItemProcessor`` (or legacy ``Iterator``). Scopes hold the user's dicts themselves (no copies), so
unknown fields survive untouched and the rewriter edits in place on a deep copy it owns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from sfn_cache.asl.limits import MAX_STATES
from sfn_cache.errors import SfnCacheError

MAX_NAME_LENGTH = 80
STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")


@dataclass
class Scope:
    """One StartAt/States object; ``path`` names it for messages (``top``, ``Fan.branch[1]``)."""

    path: str
    body: dict[str, Any]
    query_language: str  # the machine's top-level language: what a state here without QueryLanguage uses
    children: list["Scope"] = field(default_factory=list)

    @property
    def states(self) -> dict[str, Any]:
        states: dict[str, Any] = self.body["States"]  # parse checked it is an object
        return states


@dataclass(frozen=True)
class StateRef:
    name: str
    state: dict[str, Any]
    scope: Scope

    @property
    def query_language(self) -> str:
        """The state's effective language (effective_language)."""
        return effective_language(self.state, self.scope.query_language)


def effective_language(state: dict[str, Any], top_language: str) -> str:
    """A state's own QueryLanguage, else the machine's top-level one -- never an enclosing Map's or
    Parallel's (AWS: a state without QueryLanguage "will use the query language specified in the
    top-level queryLanguage field", CDK StateBaseProps.queryLanguage)."""
    return str(state.get("QueryLanguage", top_language))


def transitions(state: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every (field, target) a state can move to: Next, Default, Choices[i].Next, Catch[i].Next."""
    if isinstance(state.get("Next"), str):
        yield "Next", state["Next"]
    if isinstance(state.get("Default"), str):
        yield "Default", state["Default"]
    for i, choice in enumerate(state.get("Choices") or []):
        if isinstance(choice, dict) and isinstance(choice.get("Next"), str):
            yield f"Choices[{i}].Next", choice["Next"]
    for i, catcher in enumerate(state.get("Catch") or []):
        if isinstance(catcher, dict) and isinstance(catcher.get("Next"), str):
            yield f"Catch[{i}].Next", catcher["Next"]


def redirect(state: dict[str, Any], targets: dict[str, str], keep: str | None = None) -> None:
    """Point every transition of ``state`` whose target is a key of ``targets`` (other than ``keep``)
    at its value.

    One pass over the state's own transitions (not one per target), so rewriting a scope stays
    linear in its size.
    """
    for holder in [state] + [entry for entry in (state.get("Choices") or []) + (state.get("Catch") or [])
                             if isinstance(entry, dict)]:
        for key in ("Next", "Default") if holder is state else ("Next",):
            target = holder.get(key)
            if isinstance(target, str) and target != keep and target in targets:
                holder[key] = targets[target]


def nested_scope_bodies(name: str, state: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The (path suffix, body) of each scope directly inside a Parallel or Map state."""
    if state.get("Type") == "Parallel":
        for i, branch in enumerate(state.get("Branches") or []):
            yield f"{name}.Branches[{i}]", branch
    elif state.get("Type") == "Map":
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield f"{name}.{key}", state[key]


def parse(definition: Any, source: str = "<definition>") -> Scope:
    """Build the scope tree, checking only the shape the rest of the pipeline relies on."""
    if not isinstance(definition, dict):
        raise SfnCacheError(
            f"not an Amazon States Language definition: expected a JSON object, got {_json_type(definition)}",
            file=source)
    if "States" not in definition and ("Resources" in definition or "AWSTemplateFormatVersion" in definition):
        raise SfnCacheError("looks like a template, but its Resources is not an object of resources", file=source)
    top_language = _query_language(definition, "JSONPath", source, None)
    top = _parse_scope(definition, "top", top_language, source)
    count = sum(len(scope.states) for scope in all_scopes(top))
    if count > MAX_STATES:
        raise SfnCacheError(f"{count:,} states: more than {MAX_STATES:,} (the limit; wrapped, each cached task "
                            f"adds about 2 KB and Step Functions takes definitions up to 1 MB)", file=source)
    return top


def _parse_scope(body: Any, path: str, language: str, source: str) -> Scope:
    where = "the definition" if path == "top" else path
    if not isinstance(body, dict):
        raise SfnCacheError(f"{where} must be an object with StartAt and States", file=source)
    states = body.get("States")
    if not isinstance(states, dict) or not states:
        raise SfnCacheError(f"{where} has no States object", file=source)
    if not isinstance(body.get("StartAt"), str):
        raise SfnCacheError(f"{where} has no StartAt", file=source)
    scope = Scope(path=path, body=body, query_language=language)
    for name, state in states.items():
        if not isinstance(name, str):
            raise SfnCacheError(f"{where} has a state named {name!r}, a {type(name).__name__}: state names "
                                f"are strings", file=source)
        if not isinstance(state, dict):
            raise SfnCacheError(f"state is not an object ({type(state).__name__})", file=source, state=name)
        if state.get("Type") not in STATE_TYPES:
            raise SfnCacheError(f"unknown Type {state.get('Type')!r}", file=source, state=name)
        _check_shape(name, state, source)
        _query_language(state, language, source, name)
        for sub_path, sub_body in nested_scope_bodies(name, state):  # inner states default to the top's
            scope.children.append(_parse_scope(sub_body, sub_path, language, source))
    return scope


QUERY_LANGUAGES = ("JSONPath", "JSONata")


def _query_language(body: dict[str, Any], default: str, source: str, state: str | None) -> str:
    language = body.get("QueryLanguage", default)
    if language not in QUERY_LANGUAGES:
        raise SfnCacheError(f"QueryLanguage must be \"JSONPath\" or \"JSONata\", got {_json_type(language)}"
                            + (f" {language!r}" if isinstance(language, str) else ""), file=source, state=state)
    return str(language)


_LIST_FIELDS = ("Choices", "Catch", "Retry", "Branches")
_NAME_FIELDS = ("Next", "Default")


def _check_shape(name: str, state: dict[str, Any], source: str) -> None:
    """The fields the rewriter follows must have ASL's shape: lists of objects and state names."""
    for key in _LIST_FIELDS:
        value = state.get(key)
        if key in state and not (isinstance(value, list) and all(isinstance(item, dict) for item in value)):
            raise SfnCacheError(f"{key} must be an array of objects, got {_json_type(value)}", file=source,
                                state=name)
        for i, item in enumerate(value if isinstance(value, list) else []):
            if "Next" in item and not isinstance(item["Next"], str):
                raise SfnCacheError(f"{key}[{i}].Next must be a state name (a string), got "
                                    f"{_json_type(item['Next'])}", file=source, state=name)
    for key in _NAME_FIELDS:
        if key in state and not isinstance(state[key], str):
            raise SfnCacheError(f"{key} must be a state name (a string), got {_json_type(state[key])}",
                                file=source, state=name)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def walk(scope: Scope) -> Iterator[StateRef]:
    """Every state of every scope, depth first, in document order."""
    for name, state in scope.states.items():
        yield StateRef(name, state, scope)
    for child in scope.children:
        yield from walk(child)


def all_scopes(scope: Scope) -> Iterator[Scope]:
    yield scope
    for child in scope.children:
        yield from all_scopes(child)


def map_owner(scope: Scope, child: Scope) -> StateRef | None:
    """The Map state of ``scope`` whose ItemProcessor (or Iterator) is ``child``; None for a Parallel
    branch."""
    for name, state in scope.states.items():
        if state.get("Type") == "Map" and any(child.body is state.get(key) for key in ("ItemProcessor", "Iterator")):
            return StateRef(name, state, scope)
    return None


def is_distributed(map_state: dict[str, Any]) -> bool:
    """True for a distributed Map, whose iterations are child executions."""
    config = (map_state.get("ItemProcessor") or {}).get("ProcessorConfig")
    return isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED"


def distributed_scopes(top: Scope) -> set[int]:
    """``id()`` of every scope body inside a distributed Map (its iterations are child executions: they
    cannot read the parent's variables and have their own history)."""
    found: set[int] = set()

    def visit(scope: Scope, inside: bool) -> None:
        if inside:
            found.add(id(scope.body))
        for child in scope.children:
            owner = map_owner(scope, child)
            visit(child, inside or (owner is not None and is_distributed(owner.state)))

    visit(top, False)
    return found
