"""The classic cached form, for engines without workflow variables (``--pattern classic``).

Without variables the cache's answer and the task's result must travel in the state data, beside the
user's input, and be removed again before anything the user wrote sees them:

    cache_wrap_T   Pass   {"input": <raw input>}                                   (works for any JSON)
    cache_pull_T   Task   key from T's effective input (InputPath "$.input" + T's); answer -> $.cache
    use_cache_T    Choice $.cache.hit -> cache_hit_T, else T
    T              as written, except: InputPath "$.input" + T's, ResultPath "$.result" (so the
                   selected result is kept), Catch ResultPath moved under $.input and routed through
                   cache_catch_T_<i> (OutputPath "$.input") to the user's handler
    cache_push_T   Task   stores $.result; output unchanged
    cache_out_T    Pass   InputPath $.result, ResultPath "$.input" + T's, OutputPath "$.input" + T's
    cache_hit_T    Pass   the same, reading $.cache.data
    cache_miss_T   Pass   only when failing open: a pull error becomes a miss without key

Miss: +5 transitions, 2 Lambda calls; hit: +3 transitions, 1 Lambda call. JSONata tasks and tasks
that use Assign are refused (they need an engine with variables: use the default pattern).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from sfn_cache.asl.model import redirect
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.dialects import Jsonata, JsonPath
from sfn_cache.rewrite.forms.common import CachedForm, cache_retry, cache_timeout, follower_wait, going_to
from sfn_cache.rewrite.hit_catch import catches_result_errors, catching_hit
from sfn_cache.rewrite.naming import GENERATED_COMMENT, PREFIXES, NameAllocator
from sfn_cache.rewrite.options import StateOptions, WrapOptions
from sfn_cache.rewrite.payloads import classic_push_payload, pull_payload

State = dict[str, Any]
# a failed pull's answer: every field, since the JSONPath states after it read them
PULL_FAILED = {"hit": False, "key": None, "pulled": None, "base": None, "wait": False}


def classic_refusal(task: State, language: str) -> str | None:
    if language != "JSONPath":
        return "the classic pattern caches JSONPath tasks only (JSONata needs variables: use the default pattern)"
    if "Assign" in task or any(isinstance(c, dict) and "Assign" in c for c in task.get("Catch") or []):
        return "uses Assign, which the classic pattern cannot keep (use the default pattern)"
    return None


def selected_form(task: State) -> str:
    """The classic pattern caches the result after ResultSelector: name that selector in the key."""
    if "ResultSelector" not in task:
        return "raw"  # no selector: the selected result is the raw result, shareable with the default pattern
    return "selected " + json.dumps(task["ResultSelector"], sort_keys=True, separators=(",", ":"),
                                    ensure_ascii=False)


def under(prefix: str, path: str | None) -> str | None:
    """``path`` (a JSONPath starting with ``$``) re-rooted at ``prefix``: ``$.a`` under ``$.input``.
    ``null`` stays ``null`` (an InputPath/OutputPath of null means ``{}``, not the whole input)."""
    if path is None:
        return None
    return prefix if path == "$" else prefix + path[1:]


@dataclass(frozen=True)
class _Names:
    """The generated states' names, allocated in this order."""

    wrap: str
    pull: str
    choice: str
    push: str
    out: str
    hit: str
    miss: str | None  # only when failing open


def rewrite_task(name: str, task: State, opts: StateOptions, options: WrapOptions,
                 names: NameAllocator, scope_language: str) -> CachedForm:
    """Return the classic cached form of ``task`` (a deep copy; the input dict is not changed)."""
    original = copy.deepcopy(task)
    language = original.get("QueryLanguage", scope_language)
    refusal = classic_refusal(original, language)
    if refusal:
        raise SfnCacheError(refusal, state=name)
    n = _Names(wrap=names.allocate(PREFIXES.wrap, name), pull=names.allocate(PREFIXES.pull, name),
               choice=names.allocate(PREFIXES.choice, name), push=names.allocate(PREFIXES.push, name),
               out=names.allocate(PREFIXES.out, name), hit=names.allocate(PREFIXES.hit, name),
               miss=None if options.fail_closed else names.allocate(PREFIXES.miss, name))
    exit_fields: State = {"Next": original["Next"]} if "Next" in original else {"End": True}
    pull = _pull_state(name, original, n, opts, options, language)
    user_task, catch_adapters = _user_task(name, original, n, names)
    push = _push_state(name, n, opts, options)

    choice: State = {"Type": "Choice", "Comment": f"{GENERATED_COMMENT}skip '{name}' on a cache hit",
                     "Choices": [{"Variable": "$.cache.hit", "BooleanEquals": True, "Next": n.hit}],
                     "Default": name}
    states: dict[str, State] = {
        n.wrap: {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}keep the input of '{name}' aside",
                 "Parameters": {"input.$": "$"}, "Next": n.pull},
        n.pull: pull,
        n.choice: choice,
    }
    wait = follower_wait(name, original, options, names, n.pull)
    if wait:
        choice["Choices"].append({"Variable": "$.cache.wait", "BooleanEquals": True, "Next": next(iter(wait))})
        states.update(wait)
    if n.miss:
        states[n.miss] = {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}the cache failed; run '{name}'",
                          "Result": dict(PULL_FAILED), "ResultPath": "$.cache", "Next": name}
    states[name] = user_task
    states.update(catch_adapters)
    states[n.push] = push
    states[n.out] = _restore_output(name, original, "$.result", exit_fields, "the output of")
    states[n.hit] = _restore_output(name, original, "$.cache.data", exit_fields, "from the cache:")
    if catches_result_errors(original) and original.get("ResultPath", "$") not in (None, "$"):
        _check_result_path_first(name, original, user_task["Catch"], states, (n.out, n.hit), names)
    if scope_language != language:
        for state_name, state in states.items():
            if state_name != name and "QueryLanguage" not in state:  # a key-path pull is JSONata already
                state["QueryLanguage"] = language
    return CachedForm(states=states, entry=n.wrap, gate=(n.choice,) + ((n.miss,) if n.miss else ()))


def _pull_state(name: str, original: State, n: _Names, opts: StateOptions, options: WrapOptions,
                language: str) -> State:
    """cache_pull_T: the answer at ``$.cache``; a JSONata pull when key paths are read (a missing key
    path must not fail it: key_spec.py)."""
    pull: State
    if opts.key_paths:
        pull = {"Type": "Task", "Comment": f"{GENERATED_COMMENT}look up the cached result of '{name}'",
                "QueryLanguage": "JSONata", "Resource": options.lambda_arn,
                "Arguments": pull_payload(name, original, opts, options, Jsonata, language,
                                          form=selected_form(original), root="$states.input.input"),
                "Output": '{% $merge([$states.input, {"cache": $states.result}]) %}'}
    else:
        pull = {"Type": "Task", "Comment": f"{GENERATED_COMMENT}look up the cached result of '{name}'",
                "Resource": options.lambda_arn, "InputPath": under("$.input", original.get("InputPath", "$")),
                "Parameters": pull_payload(name, {k: v for k, v in original.items() if k != "InputPath"},
                                           opts, options, JsonPath, language, form=selected_form(original)),
                "ResultPath": "$.cache"}
    pull["TimeoutSeconds"] = cache_timeout(options)
    pull["Retry"] = cache_retry(options, bool(opts.key_paths))
    if n.miss:
        catcher: State = {"ErrorEquals": ["States.ALL"]}
        (Jsonata if opts.key_paths else JsonPath).keep_input(catcher)
        pull["Catch"] = [{**catcher, "Next": n.miss}]
    pull["Next"] = n.choice
    return pull


def _user_task(name: str, original: State, n: _Names, names: NameAllocator) -> tuple[State, dict[str, State]]:
    """T reading its input under ``$.input`` and keeping its result at ``$.result``; each catcher routed
    through a Pass that gives the user's handler the error output T would have given it."""
    user_task = copy.deepcopy(original)
    user_task["InputPath"] = under("$.input", original.get("InputPath", "$"))
    user_task["ResultPath"] = "$.result"
    user_task.pop("OutputPath", None)
    user_task = going_to(user_task, n.push)
    catch_adapters: dict[str, State] = {}
    for index, catcher in enumerate(user_task.get("Catch") or []):
        adapter = names.allocate(PREFIXES.catcher(index), name)
        catch_adapters[adapter] = {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}'{name}' error output, as written",
                                   "OutputPath": "$.input", "Next": catcher["Next"]}
        catcher["ResultPath"] = under("$.input", catcher.get("ResultPath", "$"))
        catcher["Next"] = adapter
    return user_task, catch_adapters


def _push_state(name: str, n: _Names, opts: StateOptions, options: WrapOptions) -> State:
    push: State = {"Type": "Task", "Comment": f"{GENERATED_COMMENT}store the result of '{name}'",
                   "Resource": options.lambda_arn,
                   "Parameters": classic_push_payload(name, opts, options),
                   "ResultPath": None, "TimeoutSeconds": cache_timeout(options),
                   "Retry": cache_retry(options)}
    if n.miss:
        push["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": n.out}]
    push["Next"] = n.out
    return push


def _check_result_path_first(name: str, original: State, catch: list[State], states: dict[str, State],
                             restores: tuple[str, ...], names: NameAllocator) -> None:
    """T's ResultPath can fail where the restore states apply it: a check enters each first, as T
    would apply it, with T's Catch (everything that led into a restore state now leads into its check)."""
    entry_of: dict[str, str] = {}
    for restore in restores:
        check = names.allocate(PREFIXES.check, restore)
        states[check] = _result_path_check(name, original, names.allocate(PREFIXES.apply, restore),
                                           copy.deepcopy(catch), restore)
        entry_of[restore] = check
    for state in states.values():
        targets = {restore: check for restore, check in entry_of.items() if state is not states[check]}
        if targets:
            redirect(state, targets)


def _result_path_check(name: str, original: State, branch: str, catch: list[State], restore: str) -> State:
    """A Parallel that applies T's ResultPath to T's own input (so that an error names T's path, not
    the re-rooted one) and hands a States.ResultPathMatchFailure to T's Catch; otherwise -> restore."""
    check = catching_hit(name, branch, {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}can '{name}' ResultPath apply",
                                        "Result": {}, "ResultPath": original["ResultPath"]},
                         original, catch, "JSONPath")
    check.pop("OutputPath")
    comment = f"{GENERATED_COMMENT}'{name}' ResultPath on its own input, errors to its Catch"
    return {"Type": "Parallel", "Comment": comment, "InputPath": "$.input",
            **{k: v for k, v in check.items() if k not in ("Type", "Comment")}, "ResultPath": None,
            "Next": restore}


def _restore_output(name: str, original: State, result_at: str, exit_fields: State, words: str) -> State:
    """T's own ResultPath and OutputPath, applied to its raw input kept under $.input."""
    state: State = {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}{words} '{name}'", "InputPath": result_at}
    state["ResultPath"] = under("$.input", original.get("ResultPath", "$"))
    state["OutputPath"] = under("$.input", original.get("OutputPath", "$"))
    state.update(exit_fields)
    return state
