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

from sfn_cache.asl.model import redirect
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.hit_catch import catches_result_errors, catching_hit
from sfn_cache.rewrite.naming import GENERATED_COMMENT, NameAllocator
from sfn_cache.rewrite.options import StateOptions, WrapOptions
from sfn_cache.rewrite.variables import (CACHE_TIMEOUT_SECONDS, CachedForm, cache_retry, common_fields,
                                         follower_wait, pull_payload)
from sfn_cache.rewrite.dialects import Jsonata, JsonPath

PULL_FAILED = {"hit": False, "key": None, "pulled": None, "base": None, "wait": False}  # every field: JSONPath reads them


def push_payload(name: str, opts: StateOptions, options: WrapOptions) -> dict:
    """The cache_push payload, read with JSONPath from the state data: the pull's answer at
    ``$.cache`` (key, ``pulled`` for the task's duration, ``base`` for the conditional write), T's result
    at ``$.result``. No key material: the pull kept it in S3 (docs/protocol.md)."""
    return {**common_fields(name, opts, options, "push"), "key.$": "$.cache.key", "base.$": "$.cache.base",
            "result.$": "$.result", "pulled.$": "$.cache.pulled", "execution.$": JsonPath.context["execution"],
            "state_machine.$": JsonPath.context["state_machine"]}


def classic_refusal(task: dict, language: str) -> str | None:
    if language != "JSONPath":
        return "the classic pattern caches JSONPath tasks only (JSONata needs variables: use the default pattern)"
    if "Assign" in task or any(isinstance(c, dict) and "Assign" in c for c in task.get("Catch") or []):
        return "uses Assign, which the classic pattern cannot keep (use the default pattern)"
    return None


def selected_form(task: dict) -> str:
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


def rewrite_task_classic(name: str, task: dict, opts: StateOptions, options: WrapOptions,
                         names: NameAllocator, scope_language: str) -> CachedForm:
    original = copy.deepcopy(task)
    language = original.get("QueryLanguage", scope_language)
    refusal = classic_refusal(original, language)
    if refusal:
        raise SfnCacheError(refusal, state=name)
    wrap_name = names.allocate("cache_wrap_", name)
    pull_name = names.allocate("cache_pull_", name)
    choice_name = names.allocate("use_cache_", name)
    push_name = names.allocate("cache_push_", name)
    out_name = names.allocate("cache_out_", name)
    hit_name = names.allocate("cache_hit_", name)
    miss_name = None if options.fail_closed else names.allocate("cache_miss_", name)
    entry_of: dict[str, str] = {}  # restore states entered through a check of T's ResultPath
    exit_fields = {"Next": original["Next"]} if "Next" in original else {"End": True}
    task_input = under("$.input", original.get("InputPath", "$"))

    if opts.key_paths:  # a JSONata pull: a missing key path must not fail it (key_spec.py)
        pull = {"Type": "Task", "Comment": f"{GENERATED_COMMENT}look up the cached result of '{name}'",
                "QueryLanguage": "JSONata", "Resource": options.lambda_arn,
                "Arguments": pull_payload(name, original, opts, options, Jsonata, language,
                                          form=selected_form(original), root="$states.input.input"),
                "Output": '{% $merge([$states.input, {"cache": $states.result}]) %}'}
    else:
        pull = {"Type": "Task", "Comment": f"{GENERATED_COMMENT}look up the cached result of '{name}'",
                "Resource": options.lambda_arn, "InputPath": task_input,
                "Parameters": pull_payload(name, {k: v for k, v in original.items() if k != "InputPath"},
                                           opts, options, JsonPath, language, form=selected_form(original)),
                "ResultPath": "$.cache"}
    pull["TimeoutSeconds"] = CACHE_TIMEOUT_SECONDS
    pull["Retry"] = cache_retry(options, bool(opts.key_paths))
    if miss_name:
        catcher = {"ErrorEquals": ["States.ALL"]}
        (Jsonata if opts.key_paths else JsonPath).keep_input(catcher)
        pull["Catch"] = [{**catcher, "Next": miss_name}]
    pull["Next"] = choice_name

    user_task = copy.deepcopy(original)
    user_task["InputPath"] = task_input
    user_task["ResultPath"] = "$.result"
    user_task.pop("OutputPath", None)
    user_task.pop("End", None)
    user_task["Next"] = push_name
    catch_adapters = {}
    for index, catcher in enumerate(user_task.get("Catch") or []):
        adapter = names.allocate(f"cache_catch{index}_", name)
        catch_adapters[adapter] = {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}'{name}' error output, as written",
                                   "OutputPath": "$.input", "Next": catcher["Next"]}
        result_path = catcher.get("ResultPath", "$")
        catcher["ResultPath"] = under("$.input", result_path)
        catcher["Next"] = adapter

    push = {"Type": "Task", "Comment": f"{GENERATED_COMMENT}store the result of '{name}'",
            "Resource": options.lambda_arn,
            "Parameters": push_payload(name, opts, options),
            "ResultPath": None, "TimeoutSeconds": CACHE_TIMEOUT_SECONDS,
            "Retry": cache_retry(options)}
    if miss_name:
        push["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": out_name}]
    push["Next"] = out_name

    states = {
        wrap_name: {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}keep the input of '{name}' aside",
                    "Parameters": {"input.$": "$"}, "Next": pull_name},
        pull_name: pull,
        choice_name: {"Type": "Choice", "Comment": f"{GENERATED_COMMENT}skip '{name}' on a cache hit",
                      "Choices": [{"Variable": "$.cache.hit", "BooleanEquals": True, "Next": hit_name}],
                      "Default": name},
    }
    wait = follower_wait(name, original, options, names, pull_name)
    if wait:
        states[choice_name]["Choices"].append({"Variable": "$.cache.wait", "BooleanEquals": True,
                                               "Next": next(iter(wait))})
        states.update(wait)
    if miss_name:
        states[miss_name] = {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}the cache failed; run '{name}'",
                             "Result": dict(PULL_FAILED), "ResultPath": "$.cache", "Next": name}
    states[name] = user_task
    states.update(catch_adapters)
    states[push_name] = push
    states[out_name] = _restore_output(name, original, "$.result", exit_fields, "the output of")
    states[hit_name] = _restore_output(name, original, "$.cache.data", exit_fields, "from the cache:")
    if catches_result_errors(original) and original.get("ResultPath", "$") not in (None, "$"):
        for restore in (out_name, hit_name):  # T's ResultPath can fail there: check it first, as T would
            check = names.allocate("cache_check_", restore)
            states[check] = _result_path_check(name, original, names.allocate("cache_apply_", restore),
                                               copy.deepcopy(user_task["Catch"]), restore)
            entry_of[restore] = check
    for state in states.values():
        targets = {restore: check for restore, check in entry_of.items() if state is not states[check]}
        if targets:
            redirect(state, targets)
    if scope_language != language:
        for state_name, state in states.items():
            if state_name != name and "QueryLanguage" not in state:  # a key-path pull is JSONata already
                state["QueryLanguage"] = language
    return CachedForm(states=states, entry=wrap_name, gate=(choice_name,) + ((miss_name,) if miss_name else ()))


def _result_path_check(name: str, original: dict, branch: str, catch: list, restore: str) -> dict:
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


def _restore_output(name: str, original: dict, result_at: str, exit_fields: dict, words: str) -> dict:
    """T's own ResultPath and OutputPath, applied to its raw input kept under $.input."""
    state = {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}{words} '{name}'", "InputPath": result_at}
    result_path = original.get("ResultPath", "$")
    state["ResultPath"] = under("$.input", result_path)
    state["OutputPath"] = under("$.input", original.get("OutputPath", "$"))
    state.update(exit_fields)
    return state
