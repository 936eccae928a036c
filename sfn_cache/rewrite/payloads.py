"""The cache protocol as wrap writes it: the payloads of the generated cache_pull and cache_push states.

Both cached forms send these; docs/protocol.md describes each field and how the caching Lambda reads it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from sfn_cache.rewrite.dialects import Dialect, Jsonata, JsonPath
from sfn_cache.rewrite.key_spec import code_keyed, credentials_part, key_path_input, target_part
from sfn_cache.rewrite.naming import FORCE_VARIABLE
from sfn_cache.rewrite.options import StateOptions, WrapOptions
from sfn_cache.runtime.protocol import DEFAULT_LEASE_SECONDS, PAYLOAD_QUOTA_BYTES
from sfn_cache.runtime.protocol import PROTOCOL as PROTOCOL_VERSION  # one protocol number for both sides

PAYLOAD_OVERHEAD_BYTES = 2048  # what a cache state may add to T's own largest payload (docs/protocol.md)
PUSH_RESULT_MAX_BYTES = PAYLOAD_QUOTA_BYTES - PAYLOAD_OVERHEAD_BYTES  # larger results are not cached
POLLS_PER_LEASE = 20  # a follower re-pulls at most about this often per lease (3 transitions each)


def lease_seconds(task: dict[str, Any]) -> int:
    """A leader holds its key for the task's own TimeoutSeconds, or a default when it has none."""
    timeout = task.get("TimeoutSeconds")
    return timeout if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout > 0 \
        else DEFAULT_LEASE_SECONDS


def common_fields(name: str, opts: StateOptions, options: WrapOptions, op: str) -> dict[str, Any]:
    """The fields a pull and a push both carry: what the call is and where the result is stored."""
    fields: dict[str, Any] = {"sfn_cache": op, "protocol": PROTOCOL_VERSION, "state": name}
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


def pull_payload(name: str, task: dict[str, Any], opts: StateOptions, options: WrapOptions,
                 dialect: type[Dialect], language: str, form: str = "raw", root: str = "$states.input"
                 ) -> dict[str, Any]:
    """The cache_pull payload: T's effective input (evaluated by Step Functions) and what names it.

    ``dialect`` is the pull state's (JSONata whenever key paths are read), ``language`` the task's;
    ``root`` is where a JSONata pull finds the task's raw input."""
    payload = common_fields(name, opts, options, "pull")
    payload.update(task_timeouts(task, dialect))  # before the input, as T evaluates them
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


TIMEOUT_FIELDS = {"TimeoutSecondsPath": "task_timeout", "HeartbeatSecondsPath": "task_heartbeat",
                  "TimeoutSeconds": "task_timeout", "HeartbeatSeconds": "task_heartbeat"}


def task_timeouts(task: dict[str, Any], dialect: type[Dialect]) -> dict[str, Any]:
    """T's timeout paths (JSONPath) or expressions (JSONata), for the pull to evaluate: where T fails on
    them (a path that is not in the input: States.Runtime; an expression that fails:
    States.QueryEvaluationError), the pull fails the same way, so a hit never succeeds where T would
    fail. The Lambda ignores these fields; they are not part of the key."""
    read: dict[str, Any] = {}
    for field, key in TIMEOUT_FIELDS.items():
        value = task.get(field)
        if field.endswith("Path") and isinstance(value, str) and dialect is JsonPath:
            read[key + ".$"] = value
        elif not field.endswith("Path") and isinstance(value, str) and "{%" in value and dialect is Jsonata:
            read[key] = value
    return read


def pull_failed(options: WrapOptions) -> dict[str, Any]:
    """What a failed pull leaves in its variable: a miss without a key (merged into the push, it makes
    a push that stores nothing). A JSONPath Choice on ``wait`` needs that field, a JSONPath push the
    fields it echoes (ECHOED), so each is there, as in the handler's keyless miss."""
    return {"hit": False, **dict.fromkeys(ECHOED), **({"wait": False} if options.concurrent == "wait" else {})}


ECHOED = ("key", "base", "pulled")  # what a push sends back of the pull's miss answer (docs/protocol.md)


def jsonpath_push_parameters(name: str, opts: StateOptions, options: WrapOptions, var: str, result: str
                             ) -> dict[str, Any]:
    """A JSONPath task's push payload, read with JSONPath so that T's result reaches the cache with its
    number text as T returned it (JSONata would write ``10.0`` as ``10`` and round integers past 2^53).
    Every field it reads is in every pull answer that leads here (pull_failed, the handler's misses).
    The size guard is the JSONata Choice before it (push_fits), which reads the result but passes it on
    untouched. ``result``: T's result as a JSONPath reference (``$`` or T's result variable)."""
    return {**common_fields(name, opts, options, "push"), **{f"{k}.$": f"${var}.{k}" for k in ECHOED},
            "execution.$": JsonPath.context["execution"],  # the Lambda reads the state machine from it
            "result.$": result}  # "fits" is left out: only false means anything


def push_fits(result: str) -> str:
    """JSONata: true when ``result`` (T's raw result) is small enough to be cached (PUSH_RESULT_MAX_BYTES)."""
    return f"{{% {push_size(result)}<={PUSH_RESULT_MAX_BYTES} %}}"


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


def jsonata_literal(value: Any) -> str:
    """A JSON value as a JSONata literal; a plain string in single quotes, which JSON does not escape
    (JSONata has no escape for ``'``, so a string holding one, a backslash or a control character is
    written as JSON, in double quotes)."""
    if isinstance(value, str) and not any(c in value for c in "'\\") and value.isprintable():
        return f"'{value}'"
    return json.dumps(value, ensure_ascii=False)


def push_arguments(name: str, opts: StateOptions, options: WrapOptions, var: str, result: str) -> str:
    """The variables form's push payload as one JSONata expression (whatever T's language: it reads only
    variables).

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


def classic_push_payload(name: str, opts: StateOptions, options: WrapOptions) -> dict[str, Any]:
    """The classic form's push payload, read with JSONPath from the state data: the pull's answer at
    ``$.cache`` (key, ``pulled`` for the task's duration, ``base`` for the conditional write), T's result
    at ``$.result``. No key material: the pull kept it in S3 (docs/protocol.md)."""
    return {**common_fields(name, opts, options, "push"), "key.$": "$.cache.key", "base.$": "$.cache.base",
            "result.$": "$.result", "pulled.$": "$.cache.pulled", "execution.$": JsonPath.context["execution"],
            "state_machine.$": JsonPath.context["state_machine"]}
