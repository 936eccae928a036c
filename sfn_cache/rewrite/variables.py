"""Rewrite one JSONPath Task state into its cached form (docs/architecture.md has the picture).

    cache_pull_T  Task -> caching Lambda; key = T's effective input; output = T's input unchanged;
                  the answer {hit, key, data|material} goes into variable V
    use_cache_T   Choice on $V.hit: true -> cache_hit_T, else -> T
    T             the user's task as written + one Assign entry R = its raw result; Next -> cache_push_T
    cache_push_T  Task -> caching Lambda; stores $R under $V.key; output unchanged; -> T's Next/End
    cache_hit_T   Pass: InputPath $V.data (the raw result), Parameters = T's ResultSelector, then T's
                  own ResultPath / OutputPath / Assign against the current input -> T's Next/End

JSONata tasks get the same shape (Arguments/Output/Assign instead of the paths; the hit Pass evaluates
T's Output and Assign with $states.result read from $V.data). ASL evaluates a JSONPath task's Assign on the raw result, before ResultSelector, so the raw result is
what one Assign entry can capture; the hit state re-applies ResultSelector. When T has both
ResultSelector and Assign, the hit path needs one more Pass (cache_assign_T) so that T's Assign still
sees the raw result.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from sfn_cache.asl.expressions import replace_states_result
from sfn_cache.rewrite.dialects import DIALECTS, Jsonata
from sfn_cache.rewrite.hit_catch import catches_result_errors, catching_hit
from sfn_cache.rewrite.key_spec import code_keyed, credentials_part, key_path_input, target_part
from sfn_cache.rewrite.naming import FORCE_VARIABLE, GENERATED_COMMENT, NameAllocator
from sfn_cache.rewrite.options import StateOptions, WrapOptions
from sfn_cache.runtime.keys import PROTOCOL as PROTOCOL_VERSION  # one protocol number for both sides


# Fail-open (the default): one retrier for every task error. The handler answers its own failures
# (a protocol or configuration mismatch, S3 access denied: a miss without a key, or "not stored"),
# so what still fails the state is the Lambda service's or runtime's (throttling, a 500, a crash,
# out of memory), worth retrying. ASL's defaults: 3 retries from 1 s, backoff 2.0. States.Timeout
# is not retried. --fail-closed: the handler raises its failures, so the retrier names only the
# Lambda service's transient errors and throttling, as AWS's best practice lists them.
LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
]


def cache_retry(options: WrapOptions, evaluates_arguments: bool = False) -> list[dict]:
    """The Retry of a cache_pull or cache_push state. ``evaluates_arguments``: a JSONata pull copying
    T's Arguments or reading key paths, which fails with States.QueryEvaluationError where T would:
    AWS's States.TaskFailed matches every error but States.Timeout, so that one goes to the Catch
    unretried (a push reads only variables and cannot fail so)."""
    if options.fail_closed:
        return [{"ErrorEquals": list(LAMBDA_TRANSIENT_ERRORS)}]
    return ([{"ErrorEquals": ["States.QueryEvaluationError"], "MaxAttempts": 0}] if evaluates_arguments else []) + [
        {"ErrorEquals": ["States.TaskFailed"]}]


CACHE_TIMEOUT_SECONDS = 120
PAYLOAD_QUOTA_BYTES = 256 * 1024  # Step Functions: state input/output and task payloads, UTF-8
PAYLOAD_OVERHEAD_BYTES = 2048  # what a cache state may add to T's own largest payload (docs/protocol.md)
PUSH_RESULT_MAX_BYTES = PAYLOAD_QUOTA_BYTES - PAYLOAD_OVERHEAD_BYTES  # larger results are not cached
DEFAULT_LEASE_SECONDS = 3600  # --concurrent wait: how long a leader without TimeoutSeconds holds a key
POLLS_PER_LEASE = 20  # a follower re-pulls at most about this often per lease (3 transitions each)


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
    language = original.get("QueryLanguage", scope_language)
    dialect = DIALECTS[language]
    pull_dialect = Jsonata if opts.key_paths else dialect  # a missing key path must not fail the pull
    pull_name = names.allocate("cache_pull_", name)
    choice_name = names.allocate("use_cache_", name)
    push_name = names.allocate("cache_push_", name)
    hit_name = names.allocate("cache_hit_", name)
    var = names.variable(name)
    result_var = var + "_result"
    exit_fields = {"Next": original["Next"]} if "Next" in original else {"End": True}
    catching = catches_result_errors(original)
    jsonpath_assign = dialect is not Jsonata and "Assign" in original
    assign_then_select = jsonpath_assign and "ResultSelector" in original and not catching
    assign_name = names.allocate("cache_assign_", name) if assign_then_select else None
    apply_name = names.allocate("cache_apply_", name) if catching else None
    assign_after = names.allocate("cache_assign_", name) if catching and jsonpath_assign else None
    done_name = names.allocate("cache_done_", name) if ("End" in exit_fields and not options.fail_closed) else None

    pull = {"Type": "Task", "Comment": f"{GENERATED_COMMENT}look up the cached result of '{name}'",
            "Resource": options.lambda_arn, **pull_dialect.pull_fields(original),
            pull_dialect.payload_field: pull_payload(name, original, opts, options, pull_dialect, language)}
    pull_dialect.keep_input(pull)
    pull["Assign"] = pull_dialect.capture(var)
    pull["TimeoutSeconds"] = CACHE_TIMEOUT_SECONDS
    pull["Retry"] = cache_retry(options, pull_dialect is Jsonata)
    if not options.fail_closed:
        catcher = {"ErrorEquals": ["States.ALL"]}
        pull_dialect.keep_input(catcher)
        catcher["Assign"] = {var: pull_failed(options)}
        catcher["Next"] = name
        pull["Catch"] = [catcher]
    pull["Next"] = choice_name

    choice = {"Type": "Choice", "Comment": f"{GENERATED_COMMENT}skip '{name}' on a cache hit",
              "Choices": [{**dialect.is_hit(var), "Next": assign_name or hit_name}], "Default": name}
    wait = follower_wait(name, original, options, names, pull_name)
    if wait:
        choice["Choices"].append({**dialect.is_hit(var, "wait"), "Next": next(iter(wait))})

    user_task = copy.deepcopy(original)
    user_task.pop("End", None)
    if output_is_result(original, language):  # the push reads T's output: no variable needed
        result = "$states.input"
    else:
        user_task["Assign"] = {**original.get("Assign", {}), **dialect.capture(result_var)}
        result = "$" + result_var
    user_task["Next"] = push_name

    push = {"Type": "Task", "Comment": f"{GENERATED_COMMENT}store the result of '{name}'",
            "Resource": options.lambda_arn,
            "Arguments": push_arguments(name, opts, options, var, result)}
    Jsonata.keep_input(push)
    push["TimeoutSeconds"] = CACHE_TIMEOUT_SECONDS
    push["Retry"] = cache_retry(options)
    if not options.fail_closed:
        catcher = {"ErrorEquals": ["States.ALL"]}
        Jsonata.keep_input(catcher)
        catcher["Next"] = exit_fields.get("Next", done_name)
        push["Catch"] = [catcher]
    push.update(exit_fields)

    hit = _jsonata_hit(name, original, var) if dialect is Jsonata else _jsonpath_hit(
        name, original, var, assign_then_select or catching)
    if catching:
        hit = _catching(name, apply_name, hit, original, language, scope_language)
    hit.update({"Next": assign_after} if assign_after else exit_fields)

    states = {pull_name: pull, choice_name: choice, **wait}
    if assign_name:
        states[assign_name] = {
            "Type": "Pass", "Comment": f"{GENERATED_COMMENT}'{name}' Assign from the cached raw result",
            "InputPath": f"${var}.data", "ResultPath": None,
            "Assign": copy.deepcopy(original["Assign"]), "Next": hit_name,
        }
    states[name] = user_task
    states[push_name] = push
    states[hit_name] = hit
    if assign_after:
        states[assign_after] = {
            "Type": "Pass", "Comment": f"{GENERATED_COMMENT}'{name}' Assign from the cached raw result",
            "InputPath": f"${var}.data", "ResultPath": None,
            "Assign": copy.deepcopy(original["Assign"]), **exit_fields,
        }
    if done_name:
        states[done_name] = {"Type": "Succeed",
                             "Comment": f"{GENERATED_COMMENT}end after '{name}' when storing its result failed"}
    for state_name, state in states.items():
        state_language = Jsonata.name if state is push else pull_dialect.name if state is pull else language
        if state_name != name and state_language != scope_language:
            state["QueryLanguage"] = state_language
    return CachedForm(states=states, entry=pull_name, gate=(pull_name, choice_name))


def output_is_result(task: dict, language: str) -> bool:
    """True when T's state output is its raw result (no ResultSelector, ResultPath or OutputPath; in
    JSONata, no Output), so that the push can take T's output instead of a copy in a variable."""
    if language == "JSONata":
        return "Output" not in task
    return ("ResultSelector" not in task and task.get("ResultPath", "$") == "$"
            and task.get("OutputPath", "$") == "$")


def _jsonpath_hit(name: str, original: dict, var: str, assign_elsewhere: bool) -> dict:
    hit = {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}'{name}' from the cache", "InputPath": f"${var}.data"}
    if "ResultSelector" in original:
        hit["Parameters"] = copy.deepcopy(original["ResultSelector"])
    for key in ("ResultPath", "OutputPath"):
        if key in original:
            hit[key] = copy.deepcopy(original[key])
    if "Assign" in original and not assign_elsewhere:
        hit["Assign"] = copy.deepcopy(original["Assign"])
    return hit


def _catching(name: str, apply_name: str, hit: dict, original: dict, language: str, scope_language: str) -> dict:
    """``hit`` (a Pass) as a Parallel that gives its errors to T's Catch (sfn_cache/rewrite/hit_catch.py)."""
    if language == "JSONPath":
        apply = hit
    else:  # Output and Assign stay on the Parallel: its own Catch handles their errors, as T's does
        apply = {"Type": "Pass", "Comment": hit["Comment"], "Output": None}
    if scope_language != language:
        apply["QueryLanguage"] = language
    state = catching_hit(name, apply_name, apply, original, copy.deepcopy(original["Catch"]), language)
    if language != "JSONPath":
        state = {**{k: v for k, v in state.items() if k not in ("Retry", "Catch")},
                 **{k: hit[k] for k in ("Output", "Assign") if k in hit},
                 **{k: state[k] for k in ("Retry", "Catch") if k in state}}
    return state


def _jsonata_hit(name: str, original: dict, var: str) -> dict:
    cached_result = f"${var}.data"
    hit = {"Type": "Pass", "Comment": f"{GENERATED_COMMENT}'{name}' from the cache",
           "Output": replace_states_result(original.get("Output", "{% $states.result %}"), cached_result)}
    if "Assign" in original:
        hit["Assign"] = replace_states_result(original["Assign"], cached_result)
    return hit


def lease_seconds(task: dict) -> int:
    """A leader holds its key for the task's own TimeoutSeconds, or a default when it has none."""
    timeout = task.get("TimeoutSeconds")
    return timeout if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout > 0 \
        else DEFAULT_LEASE_SECONDS


def follower_wait(name: str, task: dict, options: WrapOptions, names: NameAllocator, pull_name: str) -> dict:
    """``--concurrent wait``: the Wait state a follower loops through before pulling again (none
    otherwise). The loop is bounded: the Lambda answers "wait" only while a live lease exists."""
    if options.concurrent != "wait":
        return {}
    seconds = max(1, min(300, lease_seconds(task) // POLLS_PER_LEASE))
    return {names.allocate("cache_wait_", name): {
        "Type": "Wait", "Comment": f"{GENERATED_COMMENT}another execution is computing '{name}'",
        "Seconds": seconds, "Next": pull_name}}


def common_fields(name: str, opts: StateOptions, options: WrapOptions, op: str) -> dict:
    fields = {"sfn_cache": op, "protocol": PROTOCOL_VERSION, "state": name}
    if opts.bundle_name != name:  # the runtime defaults the rest (docs/protocol.md): fewer bytes per task
        fields["bundle"] = opts.bundle_name
    if opts.ttl is not None:
        fields["ttl"] = opts.ttl
    if options.concurrent == "wait":
        fields["concurrent"] = "wait"
    if options.bucket:
        fields["bucket"] = options.bucket
    if options.context:
        fields["context"] = options.context
    if options.fail_closed:  # the handler then raises its failures instead of answering them
        fields["fail_closed"] = True
    return fields


def pull_payload(name: str, task: dict, opts: StateOptions, options: WrapOptions, dialect, language: str,
                 form: str = "raw", root: str = "$states.input") -> dict:
    """The cache_pull payload: T's effective input (evaluated by Step Functions) and what names it.

    ``dialect`` is the pull state's (JSONata whenever key paths are read), ``language`` the task's;
    ``root`` is where a JSONata pull finds the task's raw input."""
    payload = common_fields(name, opts, options, "pull")
    payload["resource"] = copy.deepcopy(task.get("Resource"))
    if opts.cache_version:
        payload["cache_version"] = opts.cache_version
    if form != "raw":
        payload["form"] = form
    if opts.force:
        payload["force"] = True
    if options.concurrent == "wait":
        payload["lease"] = lease_seconds(task)
    if opts.key_paths:
        payload["input"] = key_path_input(task if language == "JSONPath" else {}, opts.key_paths, root)
        target = target_part(task, language, root)
        if target is not None:
            payload["target"] = target
    else:
        key, value = dialect.key_input(task)
        payload[key] = value
    credentials = credentials_part(task, language, dialect is Jsonata, root)
    if credentials is not None:
        payload["credentials"] = credentials
    if code_keyed(task, language, opts.key_code):
        payload["key_code"] = "auto"
    if opts.key_s3 != "off":
        payload["key_s3"] = opts.key_s3
    key, value = dialect.ref("execution", dialect.context["execution"])  # it names the state machine too
    payload[key] = value
    if options.runtime_force:  # read once per execution by the force reader (force.py), never the whole input
        key, value = dialect.ref("run_force", "$" + FORCE_VARIABLE)
        payload[key] = value
    return payload


def pull_failed(options: WrapOptions) -> dict:
    """What a failed pull leaves in its variable: a miss without a key (merged into the push, it makes
    a push that stores nothing). A JSONPath Choice on ``wait`` needs the field."""
    return {"hit": False, **({"wait": False} if options.concurrent == "wait" else {})}


def push_size(result: str) -> str:
    """JSONata: T's result as compact JSON (inside ``[ ]``, so that a string is quoted and escaped),
    counted in UTF-8 bytes from above, as the JSONata of Step Functions (jsonata-js 2.0.6) sees it.
    Its ``$length`` counts code points, so a character outside printable ASCII counts 4 (an emoji is
    4 bytes and one character). Its ``$string`` writes numbers with 15 significant digits, where the
    payload may have up to 17 and an exponent (``0.30000000000000004`` comes out as ``0.3``), so every
    digit followed by ``.``, ``e`` or ``E`` (a fraction or an exponent) and every run of 16 digits
    counts 18 more. Digits in text that look like that are counted too: too many bytes only leave a
    large result uncached, too few would fail the execution (States.DataLimitExceeded). Written
    without spaces: it is in every push."""
    return (f"($s:=$string([{result}]);$length($s)+3*$length($replace($s,/[ -~]+/,''))"
            f"+18*($count($match($s,/[0-9][.eE]/))+$count($match($s,/[0-9]{{16}}/))))")


def jsonata_literal(value) -> str:
    """A JSON value as a JSONata literal; a plain string in single quotes, which JSON does not escape
    (JSONata has no escape for ``'``, so a string holding one, a backslash or a control character is
    written as JSON, in double quotes)."""
    if isinstance(value, str) and not any(c in value for c in "'\\") and value.isprintable():
        return f"'{value}'"
    return json.dumps(value, ensure_ascii=False)


def push_arguments(name: str, opts: StateOptions, options: WrapOptions, var: str, result: str) -> str:
    """The push payload as one JSONata expression (whatever T's language: it reads only variables).

    The pull's miss answer already holds what the push echoes back (``key``, ``base``, ``pulled``,
    ``execution``, ``state_machine``: docs/protocol.md), so the push merges it whole under its own
    fields instead of naming each one. The result is left out (``fits`` false) when it is over
    PUSH_RESULT_MAX_BYTES, so the push never exceeds the payload quota; one expression computes that
    size once. A failed pull's value (``{"hit": false}``) makes a push without a key.
    ``result`` is T's raw result: its variable, or ``$states.input`` when T's output is its result."""
    fields = [f"'{k}':{jsonata_literal(v)}" for k, v in common_fields(name, opts, options, "push").items()]
    fields += ["'result':$f?$r:null", "'fits':$f"]
    return (f"{{% ($p:=${var};$r:={result};$f:={push_size('$r')}<={PUSH_RESULT_MAX_BYTES};"
            f"$merge([$p,{{{','.join(fields)}}}])) %}}")
