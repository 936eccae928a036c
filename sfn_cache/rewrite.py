"""Rewrite one JSONPath Task state into its cached form (docs/architecture.md has the picture).

    cache_pull_T  Task -> caching Lambda; key = T's effective input; output = T's input unchanged;
                  the answer {hit, key, data|material} goes into variable V
    use_cache_T   Choice on $V.hit: true -> cache_hit_T, else -> T
    T             the user's task as written + one Assign entry R = its raw result; Next -> cache_push_T
    cache_push_T  Task -> caching Lambda; stores $R under $V.key; output unchanged; -> T's Next/End
    cache_hit_T   Pass: InputPath $V.data (the raw result), Parameters = T's ResultSelector, then T's
                  own ResultPath / OutputPath / Assign against the current input -> T's Next/End

ASL evaluates a JSONPath task's Assign on the raw result, before ResultSelector, so the raw result is
what one Assign entry can capture; the hit state re-applies ResultSelector. When T has both
ResultSelector and Assign, the hit path needs one more Pass (cache_assign_T) so that T's Assign still
sees the raw result.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from sfn_cache.naming import NameAllocator, variable_name
from sfn_cache.options import StateOptions, WrapOptions

PROTOCOL_VERSION = 1

LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
CACHE_RETRY = [{"ErrorEquals": LAMBDA_TRANSIENT_ERRORS, "IntervalSeconds": 1, "MaxAttempts": 3,
                "BackoffRate": 2}]
CACHE_TIMEOUT_SECONDS = 120
PULL_FAILED = {"hit": False, "key": None, "material": None}


@dataclass(frozen=True)
class CachedForm:
    """The states that replace one task, in the order they are written."""

    states: dict
    entry: str  # where references to the task now point
    gate: tuple[str, ...]  # the generated states whose links to the task itself must stay


def rewrite_task(name: str, task: dict, opts: StateOptions, options: WrapOptions,
                 names: NameAllocator, scope_language: str) -> CachedForm:
    """Return the cached form of ``task`` (a deep copy; the input dict is not changed)."""
    original = copy.deepcopy(task)
    pull_name = names.allocate("cache_pull_", name)
    choice_name = names.allocate("use_cache_", name)
    push_name = names.allocate("cache_push_", name)
    hit_name = names.allocate("cache_hit_", name)
    var = variable_name(name)
    result_var = variable_name(name, "_result")
    exit_fields = {"Next": original["Next"]} if "Next" in original else {"End": True}

    assign_then_select = "ResultSelector" in original and "Assign" in original
    assign_name = names.allocate("cache_assign_", name) if assign_then_select else None
    done_name = names.allocate("cache_done_", name) if ("End" in exit_fields and not options.fail_closed) else None

    pull = {
        "Type": "Task",
        "Comment": f"sfn-cache: look up the cached result of '{name}'",
        "Resource": options.lambda_arn,
    }
    if "InputPath" in original:
        pull["InputPath"] = original["InputPath"]
    pull["Parameters"] = _pull_payload(name, original, opts, options)
    pull["ResultPath"] = None
    pull["Assign"] = {f"{var}.$": "$"}
    pull["TimeoutSeconds"] = CACHE_TIMEOUT_SECONDS
    pull["Retry"] = copy.deepcopy(CACHE_RETRY)
    if not options.fail_closed:
        pull["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": None,
                          "Assign": {var: dict(PULL_FAILED)}, "Next": name}]
    pull["Next"] = choice_name

    choice = {
        "Type": "Choice",
        "Comment": f"sfn-cache: skip '{name}' on a cache hit",
        "Choices": [{"Variable": f"${var}.hit", "BooleanEquals": True,
                     "Next": assign_name or hit_name}],
        "Default": name,
    }

    user_task = copy.deepcopy(original)
    user_task.pop("End", None)
    user_task["Assign"] = {**original.get("Assign", {}), f"{result_var}.$": "$"}
    user_task["Next"] = push_name

    push = {
        "Type": "Task",
        "Comment": f"sfn-cache: store the result of '{name}'",
        "Resource": options.lambda_arn,
        "Parameters": _push_payload(name, opts, options, var, result_var),
        "ResultPath": None,
        "TimeoutSeconds": CACHE_TIMEOUT_SECONDS,
        "Retry": copy.deepcopy(CACHE_RETRY),
    }
    if not options.fail_closed:
        push["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": None,
                          "Next": exit_fields.get("Next", done_name)}]
    push.update(exit_fields)

    hit = {"Type": "Pass", "Comment": f"sfn-cache: '{name}' from the cache", "InputPath": f"${var}.data"}
    if "ResultSelector" in original:
        hit["Parameters"] = copy.deepcopy(original["ResultSelector"])
    for key in ("ResultPath", "OutputPath"):
        if key in original:
            hit[key] = copy.deepcopy(original[key])
    if "Assign" in original and not assign_then_select:
        hit["Assign"] = copy.deepcopy(original["Assign"])
    hit.update(exit_fields)

    states = {pull_name: pull, choice_name: choice}
    if assign_name:
        states[assign_name] = {
            "Type": "Pass", "Comment": f"sfn-cache: '{name}' Assign from the cached raw result",
            "InputPath": f"${var}.data", "ResultPath": None,
            "Assign": copy.deepcopy(original["Assign"]), "Next": hit_name,
        }
    states[name] = user_task
    states[push_name] = push
    states[hit_name] = hit
    if done_name:
        states[done_name] = {"Type": "Succeed",
                             "Comment": f"sfn-cache: end after '{name}' when storing its result failed"}
    if scope_language != "JSONPath":
        for state_name, state in states.items():
            if state_name != name:
                state["QueryLanguage"] = "JSONPath"
    return CachedForm(states=states, entry=pull_name, gate=(pull_name, choice_name))


def _common_fields(name: str, opts: StateOptions, options: WrapOptions, op: str) -> dict:
    fields = {"sfn_cache": op, "protocol": PROTOCOL_VERSION, "state": name,
              "bundle": opts.bundle_name, "ttl": opts.ttl}
    if options.bucket:
        fields["bucket"] = options.bucket
    if options.context:
        fields["context"] = options.context
    return fields


def _pull_payload(name: str, task: dict, opts: StateOptions, options: WrapOptions) -> dict:
    payload = _common_fields(name, opts, options, "pull")
    payload["resource"] = copy.deepcopy(task.get("Resource"))
    payload["cache_version"] = opts.cache_version
    payload["force"] = opts.force
    if opts.key_paths:
        payload["input"] = {f"{path}.$": path for path in opts.key_paths}
    elif "Parameters" in task:
        payload["input"] = copy.deepcopy(task["Parameters"])
    else:
        payload["input.$"] = "$"
    payload["execution.$"] = "$$.Execution.Id"
    payload["state_machine.$"] = "$$.StateMachine.Id"
    if options.runtime_force:
        payload["run.$"] = "$$.Execution.Input"
    return payload


def _push_payload(name: str, opts: StateOptions, options: WrapOptions, var: str, result_var: str) -> dict:
    payload = _common_fields(name, opts, options, "push")
    payload["key.$"] = f"${var}.key"
    payload["material.$"] = f"${var}.material"
    payload["result.$"] = f"${result_var}"
    payload["execution.$"] = "$$.Execution.Id"
    payload["state_machine.$"] = "$$.StateMachine.Id"
    return payload
