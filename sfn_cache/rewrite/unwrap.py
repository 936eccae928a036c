"""The original definition of a wrapped one: what ``sfn-cache unwrap`` writes, and what a re-wrap wraps.

A re-wrap wraps the original again with the current options, so a wrapped file can never hold a
cached form that its options or its tasks no longer give (docs/upgrading.md). The user's task ``T``
is authoritative: the cached form keeps it as written except for what wrap changed, and that is read
back from the generated states that hold it:

- variables pattern (forms/variables.py): T's Next (its push's Next, or End), and the one Assign
  entry ``sfncache_<digest>_result`` that wrap added;
- classic pattern (forms/classic.py): T's InputPath and its catchers' ResultPath re-rooted under
  ``$.input``, its ResultPath and OutputPath (held by cache_out_T and cache_hit_T), its catchers'
  Next (held by their cache_catch<i>_T adapters) and its Next.

Every other generated state is dropped, references to a task's entry state lead to the task again,
and the force reader goes. Where the generated states disagree about what T lost (a hand-edited
Next, a catcher that no longer passes its adapter), or a generated state belongs to no cached task,
the definition is refused, naming the state: unwrap never guesses. (The classic pattern writes an
explicit ``"$"`` path as it writes an absent one: the place of the field tells them apart, and an
OutputPath ``"$"``, which the form drops, comes back absent, which means the same.)
"""

from __future__ import annotations

import copy
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from sfn_cache.asl.model import Scope, all_scopes, nested_scope_bodies, parse, redirect, transitions, walk
from sfn_cache.asl.validate import validate
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.naming import short_digest
from sfn_cache.rewrite.recognise import (
    already_wrapped_tasks,
    cache_operation,
    cache_payload,
    generated_states,
    is_force_reader,
    refuse_other_protocols,
    task_named_in,
)

State = dict[str, Any]
INPUT = "$.input"  # where the classic form keeps T's raw input
_CAPTURES = ("$", "{% $states.result %}")  # an Assign entry that keeps a state's raw result (dialects.py)
_END = "<End>"


@dataclass
class Unwrapped:
    """The original definition, and the tasks that were cached in the wrapped one."""

    definition: dict[str, Any]
    tasks: list[str] = field(default_factory=list)


def unwrap_definition(definition: dict[str, Any], source: str = "<definition>",
                      keep: Set[str] = frozenset()) -> Unwrapped:
    """Return the definition that wrap was given (the input is not modified); a definition without
    anything generated comes back equal. The tasks in ``keep`` stay in their cached form (and the
    force reader with them)."""
    document = copy.deepcopy(definition)
    top = parse(document, source)
    generated = generated_states(top)
    if not generated:
        return Unwrapped(document)
    refuse_other_protocols(top, source)
    wrapped = already_wrapped_tasks(top)
    by_digest = {short_digest(task): task for task in wrapped}
    inside_generated = _scopes_inside(top, generated)
    tasks: list[str] = []
    accounted = {ref.name for scope in all_scopes(top) if id(scope.body) in inside_generated for ref in walk(scope)}
    for scope in list(all_scopes(top)):
        if id(scope.body) in inside_generated:
            continue
        tasks += _unwrap_scope(scope, wrapped, by_digest, accounted, source, keep)
    if not keep & wrapped:
        _drop_force_reader(top, accounted)
    else:
        accounted |= generated  # the kept tasks' states, checked when they are unwrapped
    leftover = sorted(generated - accounted)
    if leftover:
        raise SfnCacheError("a generated state that belongs to no cached task (its cache_pull state was edited "
                            "or removed): remove it, or wrap the original definition again", file=source,
                            state=leftover[0])
    validate(parse(document, source), source)
    return Unwrapped(document, tasks)


def _scopes_inside(top: Scope, generated: set[str]) -> set[int]:
    """``id()`` of the scope bodies inside generated states (a catching hit's branch): dropped with them."""
    found: set[int] = set()
    for ref in walk(top):
        if ref.name in generated:
            stack = [body for _, body in nested_scope_bodies(ref.name, ref.state)]
            while stack:
                body = stack.pop()
                found.add(id(body))
                for name, state in body["States"].items():
                    stack += [inner for _, inner in nested_scope_bodies(name, state)]
    return found


def _unwrap_scope(scope: Scope, wrapped: set[str], by_digest: dict[str, str], accounted: set[str],
                  source: str, keep: Set[str]) -> list[str]:
    states = scope.states
    originals: dict[str, State] = {}  # task -> its original state
    groups: dict[str, set[str]] = {}  # task -> the generated states of its cached form
    entries: dict[str, str] = {}  # the state references to T now lead to -> T
    leading_to: dict[str, list[str]] = {}
    for name, state in states.items():
        if isinstance(state.get("Next"), str):
            leading_to.setdefault(state["Next"], []).append(name)
    for name, state in states.items():
        if cache_operation(state) != "pull":
            continue
        task = cache_payload(state)["state"]  # type: ignore[index]
        if task in keep:
            continue
        if task not in states or states[task].get("Type") != "Task":
            raise SfnCacheError(f"its task {task!r} is not in this scope: unwrap needs the task the cache "
                                f"states were generated for", file=source, state=name)
        group = _group(states, task, name, leading_to.get(name, []), wrapped, by_digest)
        _push_of(states, task, source)
        classic = "Assign" not in state  # the variables pattern's pull keeps its answer in T's variable
        entry = _classic_entry(states, group, name) if classic else _variables_entry(states, group, task, name)
        originals[task] = (_classic_original if classic else _variables_original)(states, task, name, group, source)
        _check_exits(states, task, group, originals[task], source)
        groups[task] = group
        entries[entry] = task
    if not originals:
        return []
    owner = {member: task for task, group in groups.items() for member in group}
    new_states: dict[str, State] = {}
    for name, state in states.items():
        task = owner.get(name)
        if task is None:
            new_states[name] = state
        elif task not in new_states:  # a cached form's states are written together: T goes where they were
            new_states[task] = originals[task]
    for state in new_states.values():
        redirect(state, entries)
    if scope.body["StartAt"] in entries:
        scope.body["StartAt"] = entries[scope.body["StartAt"]]
    scope.body["States"] = new_states
    accounted.update(owner)
    return list(originals)


def _group(states: dict[str, State], task: str, pull: str, before_pull: list[str], wrapped: set[str],
           by_digest: dict[str, str]) -> set[str]:
    """T and the generated states of its cached form: what its entry state reaches through states named
    for T (a user state that only looks generated is never reached), plus the entry itself."""
    def ours(name: str) -> bool:
        return name == task or (name in states and task_named_in(name, wrapped, by_digest) == task)

    starts = [pull] + [name for name in before_pull if ours(name)]  # the classic form's cache_wrap_T
    group, stack = set(starts), list(starts)
    while stack:
        for _, target in transitions(states[stack.pop()]):
            if target not in group and ours(target):
                group.add(target)
                stack.append(target)
    return group | {task}


def _push_of(states: dict[str, State], task: str, source: str) -> State:
    push = states.get(states[task].get("Next", ""))
    if isinstance(push, dict) and push.get("Type") == "Choice" and _generated_for(push, task):
        push = states.get(_first_choice(push))  # cache_check_T: the push when T's result can be cached
    payload = cache_payload(push) if isinstance(push, dict) else None
    if push is None or payload is None or payload["sfn_cache"] != "push" or payload["state"] != task:
        raise SfnCacheError("its Next is no longer its cache_check or cache_push state, so unwrap cannot tell "
                            "where it went: "
                            "edit the original definition and wrap it again", file=source, state=task)
    return push


def _generated_for(state: State, task: str) -> bool:
    """A JSONPath task's cache_check_T: a JSONata Choice whose one rule goes on to T's push."""
    target = _first_choice(state)
    return state.get("QueryLanguage") == "JSONata" and isinstance(target, str) and target.endswith(task)


def _first_choice(choice: State) -> Any:
    rules = choice.get("Choices")
    return rules[0].get("Next") if isinstance(rules, list) and len(rules) == 1 and isinstance(rules[0], dict) else None


def _variables_entry(states: dict[str, State], group: set[str], task: str, pull: str) -> str:
    """Where the cached form is entered: its pull, or the cache_keys_T Pass that reads the key paths
    of a JSONPath task before it (the follower's Wait goes back there too)."""
    for name in sorted(group - {task, pull}):
        state = states[name]
        if state.get("Next") == pull and state.get("Type") == "Pass":
            return name
    return pull


def _exit(state: State) -> State:
    return {"Next": state["Next"]} if "Next" in state else {"End": True}


def _variables_original(states: dict[str, State], task: str, pull: str, group: set[str], source: str) -> State:
    """T without the Assign entry wrap added, going where its push goes."""
    original = states[task]  # the document is unwrap's own copy
    push = _push_of(states, task, source)
    variables = [key.removesuffix(".$") for key in states[pull].get("Assign") or {}]
    assign = original.get("Assign")
    if isinstance(assign, dict):
        for key in [k for k in assign if k.removesuffix(".$") in {v + "_result" for v in variables}]:
            if assign[key] not in _CAPTURES:
                raise SfnCacheError(f"its Assign entry {key!r} was edited: unwrap cannot tell what was meant",
                                    file=source, state=task)
            del assign[key]
        if not assign:
            del original["Assign"]
    return _with_exit(original, _exit(push))


def _with_exit(original: State, exit_fields: State) -> State:
    """``original`` going to ``exit_fields`` (Next or End) where its Next was written: the field order
    of the original, so that wrapping it again gives the same bytes."""
    return {key: value for k, v in original.items() if k != "End"
            for key, value in (exit_fields.items() if k == "Next" else [(k, v)])}


def _classic_entry(states: dict[str, State], group: set[str], pull: str) -> str:
    for name in group:
        state = states[name]
        if state.get("Next") == pull and state.get("Parameters") == {"input.$": "$"} and state.get("Type") == "Pass":
            return name
    raise SfnCacheError("its cache_wrap state (which keeps the input aside) is missing or edited",
                        state=pull)


def _classic_original(states: dict[str, State], task: str, pull: str, group: set[str], source: str) -> State:
    """T with its paths rooted at its own input again, its ResultPath and OutputPath as the restore
    states apply them, its catchers going straight to their handlers."""
    restores = {at: [n for n in sorted(group) if states[n].get("Type") == "Pass" and states[n].get("InputPath") == at]
                for at in ("$.result", "$.cache.data")}
    if not all(len(found) == 1 for found in restores.values()):
        raise SfnCacheError("its cache_out or cache_hit state is missing or edited: unwrap cannot tell T's "
                            "ResultPath and OutputPath", file=source, state=task)
    out, hit = states[restores["$.result"][0]], states[restores["$.cache.data"][0]]
    for key in ("ResultPath", "OutputPath"):
        if out.get(key) != hit.get(key):
            raise SfnCacheError(f"its {key} differs from its cache_out state's: a generated state was edited",
                                file=source, state=restores["$.cache.data"][0])
    if _exit(out) != _exit(hit):
        raise SfnCacheError("goes elsewhere than its cache_out state: a generated state was edited",
                            file=source, state=restores["$.cache.data"][0])
    original = states[task]  # the document is unwrap's own copy
    where = f"{source}: state '{task}'"
    added = _added_paths(original)
    for key, path in (("InputPath", original.get("InputPath")), ("ResultPath", out.get("ResultPath"))):
        _set_path(original, key, _rooted(path, where, key in added))
    _set_path(original, "OutputPath", _rooted(out.get("OutputPath"), where, True))
    for index, catcher in enumerate(original.get("Catch") or []):
        adapter = catcher.get("Next")
        if adapter not in group or states[adapter].get("OutputPath") != INPUT:
            raise SfnCacheError(f"Catch[{index}] no longer goes through its cache_catch{index} state: unwrap cannot "
                                "tell its ResultPath", file=source, state=task)
        keys = list(catcher)
        added_here = "ResultPath" in keys and keys.index("ResultPath") > keys.index("Next")
        _set_path(catcher, "ResultPath", _rooted(catcher.get("ResultPath", "$"), where, added_here))
        catcher["Next"] = states[adapter]["Next"]
    return _with_exit(original, _exit(out))


def _added_paths(task: State) -> set[str]:
    """Which of T's InputPath and ResultPath the classic form added (T had none) rather than re-rooted
    in place: it appends them, in that order, after T's own fields. A ``$.input`` in place was an
    explicit ``"$"``; one added was no path at all (where the two cannot be told apart, either gives
    the same cached form)."""
    keys = list(task)
    added = {"ResultPath"} if keys[-1:] == ["ResultPath"] else set()
    if keys[-1:] == ["InputPath"] or (added and keys[-2:-1] == ["InputPath"]):
        added.add("InputPath")
    return added


_ABSENT = object()


def _rooted(path: Any, where: str, added: bool) -> Any:
    """The inverse of classic.under: ``$.input.a`` -> ``$.a``; ``$.input`` -> ``$``, or absent when
    ``added`` (the form wrote the path where T had none); null stays."""
    if path is None:
        return None
    if path == INPUT:
        return _ABSENT if added else "$"
    if isinstance(path, str) and path.startswith(INPUT) and path[len(INPUT)] in ".[":
        return "$" + path[len(INPUT):]
    raise SfnCacheError(f"path {path!r} is not under {INPUT}, where the classic pattern keeps the input: "
                        "a generated path was edited", file=where)


def _set_path(state: State, key: str, value: Any) -> None:
    if value is _ABSENT:
        state.pop(key, None)
    else:
        state[key] = value


def _check_exits(states: dict[str, State], task: str, group: set[str], original: State, source: str) -> None:
    """Every way out of T's cached form leads where T itself went (its Next or End, its catchers'
    handlers): otherwise a generated state was edited, and unwrap cannot tell which way was meant."""
    allowed = {original.get("Next", _END)} | {c.get("Next") for c in original.get("Catch") or []}
    for name in sorted(group - {task}):
        state = states[name]
        leaving = {target for _, target in transitions(state) if target not in group}
        if state.get("End") is True:
            leaving.add(_END)
        wrong = sorted(leaving - allowed)
        if wrong:
            went = "the end" if original.get("Next") is None else repr(original["Next"])
            goes = "ends" if wrong[0] == _END else f"goes to {wrong[0]!r}"
            raise SfnCacheError(f"{goes} where its task {task!r} goes to {went}: a generated state was edited, "
                                "and unwrap cannot tell which way was meant", file=source, state=name)


def _drop_force_reader(top: Scope, accounted: set[str]) -> None:
    start = top.body["StartAt"]
    if is_force_reader(top.states.get(start, {})):
        top.body["StartAt"] = top.states[start]["Next"]
        del top.states[start]
        accounted.add(start)
