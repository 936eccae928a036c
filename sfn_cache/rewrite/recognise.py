"""Recognising what a previous ``wrap`` wrote: its cache states, the states around them, the force
reader and its variables.

A re-wrap leaves those as they are (and caches only new tasks), refuses a machine whose cache states
speak another protocol, and refuses user variables named like its own; explain and graph mark them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sfn_cache.asl.model import Scope, walk
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.force import COMMENT as FORCE_COMMENT
from sfn_cache.rewrite.force import READ_FORCE
from sfn_cache.rewrite.naming import (
    FORCE_VARIABLE,
    GENERATED_COMMENT,
    PREFIXES,
    PUSH_EXPRESSION_START,
    VARIABLE_PREFIX,
    short_digest,
)
from sfn_cache.runtime.protocol import PROTOCOL

PROTOCOL_MARKER = "sfn_cache"


def cache_payload(state: dict[str, Any]) -> dict[str, Any] | None:
    """The cache protocol payload of a state that sfn-cache generated (JSONPath or JSONata), else None."""
    if state.get("Type") != "Task":
        return None
    for field in ("Parameters", "Arguments"):
        payload = state.get(field)
        if isinstance(payload, str):
            payload = _expression_fields(payload)
        if (isinstance(payload, dict) and payload.get(PROTOCOL_MARKER) in ("pull", "push") and "protocol" in payload
                and isinstance(payload.get("state"), str)):
            return payload
    return None


def _expression_fields(arguments: str) -> dict[str, Any] | None:
    """The literal fields a push written as one JSONata expression starts its object with
    (payloads.push_arguments): ``... $merge([$p,{'sfn_cache':'push','protocol':4,'state':'T', ...``."""
    start = arguments.find("{'sfn_cache'")
    if not (PUSH_EXPRESSION_START.match(arguments) and arguments.endswith("%}")) or start < 0:
        return None
    from sfn_cache.asl.expressions import iter_jsonata_tokens

    fields = {}
    tokens = iter_jsonata_tokens(arguments[start:-2])  # from the object on: its first fields are all we read
    try:
        if next(tokens).value != "{":
            return None
        while True:
            key, colon, value, after = next(tokens), next(tokens), next(tokens), next(tokens)
            if key.type != "string" or colon.value != ":" or value.type not in ("string", "number", "value"):
                break
            fields[key.value] = value.value
            if after.value != ",":
                break
    except StopIteration:
        pass
    except Exception:  # the tokenizer's errors: not an expression sfn-cache wrote
        return None
    return fields


def cache_operation(state: dict[str, Any]) -> str | None:
    """``pull``/``push`` for a state that sfn-cache generated, else None."""
    payload = cache_payload(state)
    return payload[PROTOCOL_MARKER] if payload else None


def already_wrapped_tasks(top: Scope) -> set[str]:
    """Names of user tasks that a previous ``wrap`` already put behind a cache_pull state."""
    wrapped = set()
    for ref in walk(top):
        payload = cache_payload(ref.state)
        if payload is not None and payload[PROTOCOL_MARKER] == "pull":
            wrapped.add(payload["state"])
    return wrapped


def is_force_reader(state: dict[str, Any]) -> bool:
    """The reader exactly as wrap writes it (with or without its Comment): a user state that merely
    assigns the reserved variable is not one, and wrap refuses it. (An older protocol's reader reads
    otherwise; the file is refused for its protocol before anything asks.)"""
    return (state.get("Type") == "Pass" and state.get("QueryLanguage") == "JSONata"
            and set(state) <= {"Type", "QueryLanguage", "Comment", "Assign", "Next"}
            and state.get("Comment", FORCE_COMMENT) == FORCE_COMMENT
            and state.get("Assign") == {FORCE_VARIABLE: READ_FORCE})


def has_force_reader(top: Scope) -> bool:
    """True when the machine already starts with the force reader (a re-wrap adds no second one)."""
    return is_force_reader(top.states.get(top.body["StartAt"], {}))


_GENERATED_NAME = re.compile("^" + PREFIXES.pattern(PREFIXES.task_states) + "(.*)$", re.S)  # names may hold \n


def generated_states(top: Scope) -> set[str]:
    """Names of every state a previous ``wrap`` generated: the cache calls and the states around them.

    Generated states carry a Comment only with ``--comments``; otherwise they are known by their name:
    a rewriter prefix plus the name of a task behind a cache_pull state, as NameAllocator spells it
    (``cache_hit_T``, or ``cache_hit_<T cut>~<digest of T>[.n]`` when that was long or taken).
    """
    wrapped = already_wrapped_tasks(top)
    by_digest = {short_digest(task): task for task in wrapped}
    return {ref.name for ref in walk(top) if cache_operation(ref.state) or _generated_comment(ref.state)
            or is_force_reader(ref.state) or _names_a_wrapped_task(ref.name, wrapped, by_digest)}


def _names_a_wrapped_task(name: str, wrapped: set[str], by_digest: dict[str, str]) -> bool:
    match = _GENERATED_NAME.match(name)
    if not match:
        return False
    base = match.group(1)
    if base in wrapped or _names_a_wrapped_task(base, wrapped, by_digest):  # cache_check_cache_out_T
        return True
    cut, _, digest = base.rpartition("~")
    task = by_digest.get(digest.split(".", 1)[0])
    return task is not None and task.startswith(cut)


def _generated_comment(state: dict[str, Any]) -> bool:
    comment = state.get("Comment")
    return isinstance(comment, str) and comment.startswith(GENERATED_COMMENT)


def cache_variables(top: Scope) -> set[str]:
    """The task variables (``sfncache_<digest>``) a previous wrap assigned, so that a re-wrap that
    caches more tasks never hands one of them out again."""
    names = {key.removesuffix(".$").removesuffix("_result") for ref in walk(top) for _, key in _assigned(ref.state)}
    return {name for name in names if name.startswith(VARIABLE_PREFIX) and name != FORCE_VARIABLE}


def _assigned(state: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, variable) for every Assign entry of a state, its Catchers and its Choice rules (variables
    set in either are the state machine's variables too); ``where`` is "" for the state's own."""
    owners = [("", state)] + [(f"Catch[{i}] ", c) for i, c in enumerate(state.get("Catch") or [])] + [
        (f"Choices[{i}] ", c) for i, c in enumerate(state.get("Choices") or [])]
    for where, owner in owners:
        assign = owner.get("Assign") if isinstance(owner, dict) else None
        for key in (assign if isinstance(assign, dict) else {}):
            yield where, key


def refuse_other_protocols(top: Scope, source: str) -> None:
    """A cache state another sfn-cache wrote speaks another protocol: re-wrapping around it would give a
    machine no one Lambda serves (its states fail open forever, or the others do). Wrap the source again."""
    for ref in walk(top):
        payload = cache_payload(ref.state)
        if payload is not None and payload.get("protocol") != PROTOCOL:
            raise SfnCacheError(f"written by an sfn-cache of cache protocol {payload.get('protocol')}; this one "
                                f"writes protocol {PROTOCOL}, and no caching Lambda serves both: wrap the "
                                f"unwrapped definition again", file=source, state=ref.name)


def check_reserved_variables(top: Scope, source: str) -> None:
    """Refuse user variables named with the reserved prefix: in a state's Assign, and in the Assign of
    its Catchers and Choice rules (variables set there are the same variables)."""
    generated = generated_states(top)  # a hit state, cache_assign_T, cache_keys_T drop or set the task's variable
    for ref in walk(top):
        if ref.name in generated:
            continue
        for where, key in _assigned(ref.state):
            if key.startswith(VARIABLE_PREFIX) and not (where == "" and _is_generated_result_entry(ref.state, key)):
                raise SfnCacheError(f"{where}variable name {key!r} uses the prefix {VARIABLE_PREFIX!r}, "
                                    "which sfn-cache reserves", file=source, state=ref.name)


def _is_generated_result_entry(state: dict[str, Any], key: str) -> bool:
    """True for the Assign entry a previous wrap added to a user task (re-wrapping is a no-op)."""
    return key.endswith(("_result.$", "_result")) and state.get("Type") == "Task"
