"""The default cached form, with workflow variables (docs/architecture.md has the picture).

    cache_pull_T  Task -> caching Lambda; key = T's effective input; output = T's input unchanged;
                  the answer {hit, key, data|material} goes into variable V
    use_cache_T   Choice on $V.hit: true -> cache_hit_T, else -> T
    T             the user's task as written + one Assign entry R = its raw result; Next -> cache_push_T
    cache_push_T  Task -> caching Lambda; stores $R under $V.key; output unchanged; -> T's Next/End
    cache_hit_T   Pass: InputPath $V.data (the raw result), Parameters = T's ResultSelector, then T's
                  own ResultPath / OutputPath / Assign against the current input -> T's Next/End

JSONata tasks get the same shape (Arguments/Output/Assign instead of the paths; the hit Pass evaluates
T's Output and Assign with $states.result read from $V.data). ASL evaluates a JSONPath task's Assign on
the raw result, before ResultSelector, so the raw result is what one Assign entry can capture; the hit
state re-applies ResultSelector. When T has both ResultSelector and Assign, the hit path needs one more
Pass (cache_assign_T) so that T's Assign still sees the raw result; it comes after the hit Pass, whose
ResultSelector/ResultPath/OutputPath thus read the variables as T would (as of entering T).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sfn_cache.asl.expressions import replace_states_result
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.dialects import DIALECTS, Dialect, Jsonata, JsonPath
from sfn_cache.rewrite.forms.common import CachedForm, cache_retry, cache_timeout, follower_wait, going_to
from sfn_cache.rewrite.hit_catch import catches_result_errors, catching_hit
from sfn_cache.rewrite.key_spec import path_steps
from sfn_cache.rewrite.naming import GENERATED_COMMENT, PREFIXES, NameAllocator
from sfn_cache.rewrite.options import StateOptions, WrapOptions
from sfn_cache.rewrite.payloads import (
    jsonpath_push_parameters,
    pull_failed,
    pull_payload,
    push_arguments,
    push_fits,
)

State = dict[str, Any]
KEY_PATH_PARTS = ("input", "target")  # what pull_payload writes as JSONata for key paths (key_spec.py)


@dataclass(frozen=True)
class _Task:
    """The task being rewritten, and what its language and fields decide about its cached form."""

    name: str
    original: State  # a deep copy: the steps below copy from it again, never change it
    language: str
    scope_language: str
    dialect: type[Dialect]
    pull_dialect: type[Dialect]  # JSONata for a JSONata task's key paths: a missing one must not fail the pull
    keys_first: bool  # a JSONPath task's key paths: a JSONata Pass reads them, the pull stays JSONPath
    catching: bool  # the hit is a Parallel that hands result-processing errors to T's Catch
    jsonpath_assign: bool
    exit_fields: State  # T's Next, or End


@dataclass(frozen=True)
class _Names:
    """The generated states' names and the task's variable, allocated in this order."""

    pull: str
    choice: str
    push: str
    hit: str
    var: str
    assign: str | None  # T's Assign from the raw result, before a hit Pass that applies ResultSelector
    apply: str | None  # the branch of a catching hit
    assign_after: str | None  # T's Assign after a catching hit (a branch's variables are local)
    done: str | None  # where the machine ends when T ended it and storing its result failed (or was skipped)
    fits: str | None  # JSONPath T: the JSONata Choice that skips the push of a result too large to cache
    keys: str | None  # JSONPath T with key paths: the JSONata Pass that reads them into the variable
    large: str | None  # JSONPath T, --concurrent wait: the push that frees the lease of a result too large


def rewrite_task(name: str, task: State, opts: StateOptions, options: WrapOptions,
                 names: NameAllocator, scope_language: str) -> CachedForm:
    """Return the cached form of ``task`` (a deep copy; the input dict is not changed)."""
    t = _read_task(name, task, opts, scope_language)
    n = _allocate_names(t, options, names)
    keys, pull = _pull_state(t, n, opts, options)
    choice = _choice_state(t, n)
    wait = follower_wait(name, t.original, options, names, n.keys or n.pull)
    if wait:
        choice["Choices"].append({**t.dialect.is_hit(n.var, "wait"), "Next": next(iter(wait))})
    user_task, result = _user_task(t, n)
    push = _push_state(t, n, opts, options, result)
    hit = _hit_state(t, n)
    fits = _fits_state(t, n, result) if n.fits else None

    states = {**({n.keys: keys} if n.keys and keys else {}), n.pull: pull, n.choice: choice, **wait}
    states[name] = user_task
    if n.fits and fits is not None:
        states[n.fits] = fits
    states[n.push] = push
    if n.large:
        states[n.large] = _too_large(push)
    states[n.hit] = hit
    if n.assign:  # after the hit: T's ResultSelector/ResultPath/OutputPath read the variables as T would
        states[n.assign] = _assign_pass(t, n.var, t.exit_fields, clear=True)
    if n.assign_after:
        states[n.assign_after] = _assign_pass(t, n.var, t.exit_fields)
    if n.done:
        states[n.done] = {"Type": "Succeed",
                          "Comment": f"{GENERATED_COMMENT}end after '{name}' when storing its result failed"}
    _mark_query_languages(t, states, {id(pull): t.pull_dialect.name, id(push): _push_dialect(t).name,
                                      id(fits): Jsonata.name, id(keys): Jsonata.name})
    entry = n.keys or n.pull
    return CachedForm(states=states, entry=entry, gate=(entry, n.pull, n.choice))


def _read_task(name: str, task: State, opts: StateOptions, scope_language: str) -> _Task:
    original = copy.deepcopy(task)
    language = original.get("QueryLanguage", scope_language)
    dialect = DIALECTS[language]
    return _Task(name=name, original=original, language=language, scope_language=scope_language,
                 dialect=dialect, pull_dialect=dialect, keys_first=bool(opts.key_paths) and dialect is JsonPath,
                 catching=catches_result_errors(original),
                 jsonpath_assign=dialect is not Jsonata and "Assign" in original,
                 exit_fields={"Next": original["Next"]} if "Next" in original else {"End": True})


def _allocate_names(t: _Task, options: WrapOptions, names: NameAllocator) -> _Names:
    name = t.name
    pull, choice = names.allocate(PREFIXES.pull, name), names.allocate(PREFIXES.choice, name)
    push, hit = names.allocate(PREFIXES.push, name), names.allocate(PREFIXES.hit, name)
    var = names.variable(name)
    assign_then_select = t.jsonpath_assign and "ResultSelector" in t.original and not t.catching
    assign = names.allocate(PREFIXES.assign, name) if assign_then_select else None
    apply = names.allocate(PREFIXES.apply, name) if t.catching else None
    assign_after = names.allocate(PREFIXES.assign, name) if t.catching and t.jsonpath_assign else None
    skips_push = _push_dialect(t) is JsonPath
    check_ends = skips_push and options.concurrent != "wait"  # the size check's Default ends the machine
    done = names.allocate(PREFIXES.done, name) if ("End" in t.exit_fields
                                                   and (check_ends or not options.fail_closed)) else None
    fits = names.allocate(PREFIXES.check, name) if skips_push else None
    keys = names.allocate(PREFIXES.keys, name) if t.keys_first else None
    large = names.allocate(PREFIXES.large, name) if skips_push and options.concurrent == "wait" else None
    return _Names(pull=pull, choice=choice, push=push, hit=hit, var=var, assign=assign, apply=apply,
                  assign_after=assign_after, done=done, fits=fits, keys=keys, large=large)


def _push_dialect(t: _Task) -> type[Dialect]:
    """JSONPath for a JSONPath task (its result and output never pass through JSONata), else JSONata."""
    return JsonPath if t.dialect is JsonPath else Jsonata


def _pull_state(t: _Task, n: _Names, opts: StateOptions, options: WrapOptions) -> tuple[State | None, State]:
    """cache_pull_T: asks the Lambda, keeps T's input as its output, the answer in the task's variable.
    With it, for a JSONPath task's key paths, cache_keys_T (else None)."""
    dialect = t.pull_dialect
    payload = pull_payload(t.name, t.original, opts, options, dialect, t.language)
    keys = None
    if n.keys:  # the JSONata parts of the payload are evaluated by a Pass whose output is its input
        read = {part: payload.pop(part) for part in KEY_PATH_PARTS if part in payload}
        keys = {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}read the key paths of '{t.name}'",
                "Assign": {n.var: read}, "Next": n.pull}
        payload.update({f"{part}.$": f"${n.var}.{part}" for part in read})
    pull: State = {"Type": "Task", "Comment": f"{GENERATED_COMMENT}look up the cached result of '{t.name}'",
                   "Resource": options.lambda_arn, **dialect.pull_fields(t.original), dialect.payload_field: payload}
    dialect.keep_input(pull)
    pull["Assign"] = dialect.capture(n.var)
    pull["TimeoutSeconds"] = cache_timeout(options)
    pull["Retry"] = cache_retry(options, dialect is Jsonata)
    if not options.fail_closed:  # a failed pull is a miss: run T
        catcher: State = {"ErrorEquals": ["States.ALL"]}
        dialect.keep_input(catcher)
        catcher["Assign"] = {n.var: pull_failed(options)}
        catcher["Next"] = t.name
        pull["Catch"] = [catcher]
    pull["Next"] = n.choice
    return keys, pull


def _choice_state(t: _Task, n: _Names) -> State:
    return {"Type": "Choice", "Comment": f"{GENERATED_COMMENT}skip '{t.name}' on a cache hit",
            "Choices": [{**t.dialect.is_hit(n.var), "Next": n.hit}], "Default": t.name}


def _user_task(t: _Task, n: _Names) -> tuple[State, str]:
    """T as written, going on to the push and keeping its raw result; returns it and where the push
    reads that result."""
    user_task = copy.deepcopy(t.original)
    steps = result_steps_in_output(t.original) if t.dialect is JsonPath else None
    if output_is_result(t.original, t.language):  # the push reads T's output: no variable needed
        result = "$states.input"
    elif steps:  # the raw result sits in T's output at ResultPath: no variable needed either
        result = "$states.input" + "".join(f".`{step}`" for step in steps)
    else:
        user_task["Assign"] = {**t.original.get("Assign", {}), **t.dialect.capture(n.var + "_result")}
        result = "$" + n.var + "_result"
    return going_to(user_task, n.fits or n.push), result


def _fits_state(t: _Task, n: _Names, result: str) -> State:
    """cache_check_T (JSONPath T): a JSONata Choice that goes on to the push when T's result can be cached,
    else on as T did. It reads the result in a Condition only: its output is its input, untouched."""
    return {"Type": "Choice", "Comment": f"{GENERATED_COMMENT}store the result of '{t.name}' if it can be cached",
            "Choices": [{"Condition": push_fits(result), "Next": n.push}],
            "Default": n.large or t.exit_fields.get("Next", n.done)}


def _too_large(push: State) -> State:
    """cache_large_T (--concurrent wait only): the push of a result over PUSH_RESULT_MAX_BYTES, without it
    (``fits`` false), so that the Lambda frees the lease its followers wait on. Without leases a result
    too large goes on uncached, and the execution history shows cache_check_T taking its Default."""
    state = copy.deepcopy(push)
    state["Comment"] = state["Comment"].replace("store the result", "report the result too large to cache")
    del state["Parameters"]["result.$"]
    state["Parameters"].update({"result": None, "fits": False})
    return state


def _push_state(t: _Task, n: _Names, opts: StateOptions, options: WrapOptions, result: str) -> State:
    """cache_push_T: stores T's result and goes on as T did. A JSONPath task's push is JSONPath (its
    output is its input as is); a JSONata task's is one JSONata expression that also guards the size."""
    dialect = _push_dialect(t)
    push: State = {"Type": "Task", "Comment": f"{GENERATED_COMMENT}store the result of '{t.name}'",
                   "Resource": options.lambda_arn}
    if dialect is JsonPath:
        push["Parameters"] = jsonpath_push_parameters(
            t.name, opts, options, n.var, _jsonpath_result(t, result))
    else:
        push["Arguments"] = push_arguments(t.name, opts, options, n.var, result)
    dialect.keep_input(push)
    if result.startswith("$" + n.var):  # a result variable to drop (the small miss answer goes with it)
        push["Assign"] = _cleared(n, result)
    push["TimeoutSeconds"] = cache_timeout(options)
    push["Retry"] = cache_retry(options)
    if not options.fail_closed:  # a failed push loses only the cache entry
        catcher: State = {"ErrorEquals": ["States.ALL"]}
        dialect.keep_input(catcher)
        catcher["Next"] = t.exit_fields.get("Next", n.done)
        push["Catch"] = [catcher]
    push.update(t.exit_fields)
    return push


def result_steps_in_output(task: State) -> list[str] | None:
    """A JSONPath task without ResultSelector and OutputPath whose ResultPath is a plain path of names
    (``$.out``) keeps its raw result in its output there: the steps (``["out"]``), else None. The push
    then reads it from T's output, and T's own Assign carries no copy of it (its 256 KiB quota)."""
    path = task.get("ResultPath", "$")
    if "ResultSelector" in task or task.get("OutputPath", "$") != "$" or not isinstance(path, str) or path == "$":
        return None
    try:
        steps = path_steps(path)
    except SfnCacheError:
        return None
    return [step for step in steps if isinstance(step, str)] if all(isinstance(s, str) for s in steps) else None


def _jsonpath_result(t: _Task, result: str) -> str:
    """The JSONPath spelling of where the push reads T's result (``result`` is the JSONata one)."""
    if result == "$states.input":
        return "$"
    return str(t.original["ResultPath"]) if result.startswith("$states.input") else result


def _cleared(n: _Names, result: str) -> State:
    """The Assign that drops the task's answer and result variables once the push has read them: a
    variable lives on to the end of the execution, and Step Functions counts every live variable
    against its 10 MiB per execution (and each against 256 KiB)."""
    return {n.var: None, **({result[1:]: None} if result.startswith("$" + n.var) else {})}


def _hit_state(t: _Task, n: _Names) -> State:
    """cache_hit_T: T's result processing applied to the cached result (a Parallel when T's Catch could
    handle its errors)."""
    if t.dialect is Jsonata:
        hit = _jsonata_hit(t.name, t.original, n.var)
    else:
        hit = _jsonpath_hit(t.name, t.original, n.var, assign_elsewhere=n.assign is not None or t.catching)
    # the last state that reads the answer lets it go (JSONPath: moto's interpreter evaluates a JSONata
    # Pass's Assign before its Output, where AWS evaluates both with the values as of entering the state)
    if n.apply is None and n.assign is None and t.dialect is JsonPath:
        hit["Assign"] = {**hit.get("Assign", {}), n.var: None}
    if n.apply is not None:
        hit = _catching(t.name, n.apply, hit, t.original, t.language, t.scope_language)
    after = n.assign_after or n.assign
    hit.update({"Next": after} if after else t.exit_fields)
    return hit


def _assign_pass(t: _Task, var: str, next_fields: State, clear: bool = False) -> State:
    """T's JSONPath Assign evaluated on the cached raw result, as T evaluates it on its raw result; its
    output is its input (the hit's output): ResultPath null keeps the raw state input."""
    return {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}'{t.name}' Assign from the cached raw result",
            "InputPath": f"${var}.data", "ResultPath": None,
            "Assign": {**copy.deepcopy(t.original["Assign"]), **({var: None} if clear else {})}, **next_fields}


def _mark_query_languages(t: _Task, states: dict[str, State], languages: dict[int, str]) -> None:
    """A generated state whose language is not the machine's says which it is (T keeps its own);
    ``languages``: by ``id()`` of a state, those whose language is not T's."""
    for state_name, state in states.items():
        state_language = languages.get(id(state), t.language)
        if state_name != t.name and state_language != t.scope_language:
            state["QueryLanguage"] = state_language


def output_is_result(task: State, language: str) -> bool:
    """True when T's state output is its raw result (no ResultSelector, ResultPath or OutputPath; in
    JSONata, no Output), so that the push can take T's output instead of a copy in a variable."""
    if language == "JSONata":
        return "Output" not in task
    return ("ResultSelector" not in task and task.get("ResultPath", "$") == "$"
            and task.get("OutputPath", "$") == "$")


def _jsonpath_hit(name: str, original: State, var: str, assign_elsewhere: bool) -> State:
    hit: State = {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}'{name}' from the cache",
                  "InputPath": f"${var}.data"}
    if "ResultSelector" in original:
        hit["Parameters"] = copy.deepcopy(original["ResultSelector"])
    for key in ("ResultPath", "OutputPath"):
        if key in original:
            hit[key] = copy.deepcopy(original[key])
    if "Assign" in original and not assign_elsewhere:
        hit["Assign"] = copy.deepcopy(original["Assign"])
    return hit


def _jsonata_hit(name: str, original: State, var: str) -> State:
    cached_result = f"${var}.data"
    hit: State = {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}'{name}' from the cache",
                  "Output": replace_states_result(original.get("Output", "{% $states.result %}"), cached_result)}
    if "Assign" in original:
        hit["Assign"] = replace_states_result(original["Assign"], cached_result)
    return hit


def _catching(name: str, apply_name: str, hit: State, original: State, language: str,
              scope_language: str) -> State:
    """``hit`` (a Pass) as a Parallel that gives its errors to T's Catch (sfn_cache/rewrite/hit_catch.py)."""
    if language == "JSONPath":
        apply = hit
    else:  # Output and Assign stay on the Parallel: its own Catch handles their errors, as T's does
        apply = {"Type": "Pass", "Comment": hit["Comment"], "Output": {}}  # small; null fails the ASL schema
    if scope_language != language:
        apply["QueryLanguage"] = language
    state = catching_hit(name, apply_name, apply, original, copy.deepcopy(original["Catch"]), language)
    if language != "JSONPath":
        state = {**{k: v for k, v in state.items() if k not in ("Retry", "Catch")},
                 **{k: hit[k] for k in ("Output", "Assign") if k in hit},
                 **{k: state[k] for k in ("Retry", "Catch") if k in state}}
    return state
