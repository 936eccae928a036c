"""The payload quota (256 KiB per state input/output, task payload and result), measured, not assumed.

moto enforces no quota, so each case reads the execution HISTORY of the original and of the wrapped
machine (miss, then hit) and compares the largest payload recorded: every state input and output,
every Lambda payload and answer, every assigned variable. The rule (design.md section 7): a wrapped
task never sends or receives more than the original's largest payload plus PAYLOAD_OVERHEAD_BYTES, and
never more than the quota; a result too large to come back through a hit runs uncached, never fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from sfn_cache.local.engine import CACHE_ARN, CACHE_FUNCTION, function_arn
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition

QUOTA = 256 * 1024
OVERHEAD = 2048  # the documented constant (docs/protocol.md, "Payload budget")
PAYLOAD_FIELDS = ("input", "output", "parameters")


def payload_sizes(engine) -> list[tuple[int, str]]:
    """(UTF-8 bytes as compact JSON, where) of every payload in the last execution's history."""
    events, token = [], None
    while True:
        page = engine.client.get_execution_history(executionArn=engine.last_execution_arn, maxResults=1000,
                                                   **({"nextToken": token} if token else {}))
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            break
    sizes = []
    for event in events:
        for detail_name, detail in event.items():
            if not detail_name.endswith("EventDetails") or not isinstance(detail, dict):
                continue
            texts = [(f, detail[f]) for f in PAYLOAD_FIELDS if isinstance(detail.get(f), str)]
            texts += [(f"variable {n}", v) for n, v in (detail.get("assignedVariables") or {}).items()]
            for what, text in texts:
                sizes.append((len(compact(text).encode("utf-8")), f"{event['type']} {detail.get('name', '')} {what}"))
    return sizes


def compact(text: str) -> str:
    """moto records some payloads with spaces after separators; compare the JSON, not its spelling."""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    except json.JSONDecodeError:
        return text


def largest(engine) -> tuple[int, str]:
    return max(payload_sizes(engine))


def blob(size: int) -> str:
    return "x" * size


def one_task(**fields) -> dict:
    return {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": function_arn("work"), **fields,
                                                   "End": True}}}


CASES = {
    # a 150 KB input given whole to the first task: the pull used to add the execution input again
    "whole input": (one_task(ResultPath="$.out"), {"data": blob(150_000)}, lambda e: {"n": len(e["data"])}),
    # 140 KB of key material and a 140 KB result: the push used to carry both
    "material and result": (one_task(Parameters={"data.$": "$.data"}, ResultPath="$.data"),
                            {"data": blob(140_000)}, lambda e: blob(140_000)),
    # the run-time force request travels, the execution input does not
    "forced at run time": (one_task(Parameters={"data.$": "$.data"}, ResultPath="$.out"),
                           {"data": blob(150_000), "sfn_cache": {"force": ["Work"]}}, lambda e: {"ok": True}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_wrapped_payloads_stay_within_the_original_largest_plus_the_constant(make_engine, case):
    definition, execution_input, function = CASES[case]
    engine = make_engine({"work": function})
    original = engine.run(definition, execution_input)
    original_largest, _ = largest(engine)
    assert original.status == "SUCCEEDED" and original_largest < QUOTA
    wrapped = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN)).definition
    for run in ("miss", "hit"):
        outcome = engine.run(wrapped, execution_input)
        assert outcome == original, run
        size, where = largest(engine)
        assert size <= original_largest + OVERHEAD, f"{run}: {size} bytes at {where} (original {original_largest})"
    if case == "forced at run time":
        assert engine.calls["work"] == 3, "forced: the hit run ran the task again"
    else:
        assert engine.calls["work"] == 2, "the second wrapped run was a hit"


def test_a_result_at_the_quota_runs_uncached_and_never_fails(make_engine):
    """A result a hit could not return within the quota: the push leaves it out, nothing is stored,
    every run calls the task and succeeds with the original's output."""
    result = blob(QUOTA - 100)
    definition = one_task()
    engine = make_engine({"work": lambda e: result})
    original = engine.run(definition, {"x": 1})
    original_largest, _ = largest(engine)
    wrapped = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN)).definition
    for _ in range(2):
        assert engine.run(wrapped, {"x": 1}) == original
        size, where = largest(engine)
        assert size <= original_largest + OVERHEAD and size <= QUOTA, f"{size} bytes at {where}"
    assert engine.calls["work"] == 3, "never served from the cache"
    # a JSONPath task's size check skips the push (issue 27 point 3: the push reads T's result with
    # JSONPath): a pull per run, no push
    assert engine.calls[CACHE_FUNCTION] == 2


def test_a_result_just_under_the_push_limit_is_cached(make_engine):
    from sfn_cache.rewrite.payloads import PUSH_RESULT_MAX_BYTES

    result = blob(PUSH_RESULT_MAX_BYTES - 4)  # counted as ["..."]: exactly at the limit
    engine = make_engine({"work": lambda e: result})
    wrapped = wrap_definition(one_task(), WrapOptions(lambda_arn=CACHE_ARN)).definition
    assert engine.run(wrapped, {"x": 1}).output == result
    assert engine.run(wrapped, {"x": 1}).output == result
    assert engine.calls["work"] == 1
    size, where = largest(engine)
    assert size <= QUOTA, f"{size} bytes at {where}"


@pytest.mark.parametrize("result", [
    "x" * 1000, "é" * 1000, "€" * 1000, "😀" * 1000, {"a": ["ü", 1.5, None, True], "b": "\\\"q\n"},
])
def test_the_push_counts_utf8_bytes_from_above(result):
    """The push's size test, evaluated by the JSONata of the local engine (jsonata-python), is never
    below the UTF-8 byte count (é is 2 bytes, € 3, 😀 4): a result whose characters fit but whose bytes
    do not is never pushed. (That engine writes é as \\u00e9, whose "0e" also counts as a number: it
    counts far above; the test below bounds the count of the JSONata Step Functions runs.)"""
    import jsonata

    from sfn_cache.rewrite.payloads import push_size

    counted = jsonata.Jsonata(push_size("$r")).evaluate(None, {"r": result})
    exact = len(json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    assert exact <= counted


_MEASURE_JS = """
const jsonata = require(process.argv[1]);
const value = JSON.parse(require("fs").readFileSync(0, "utf8"));
jsonata(process.argv[2]).evaluate(null, {r: value}).then(counted =>
  console.log(JSON.stringify({counted, exact: Buffer.byteLength(JSON.stringify(value))})));
"""


@pytest.mark.parametrize("result", [
    "😀" * 1000, "é" * 1000, [0.30000000000000004] * 1000, [1.0000000000000002e-300] * 1000,
    [-1.2345678901234567e-5] * 1000, [123456789012345678] * 1000, {"a": ["x" * 100, 1.5e300, "€😀"] * 50},
])
def test_the_push_size_is_never_below_what_the_jsonata_of_step_functions_measures(result):
    """Step Functions runs jsonata-js 2.0.6, whose $string writes 15 significant digits and whose
    $length counts code points: the guard must still count at least the UTF-8 bytes the push carries
    (the shortest round-trip JSON of the value), or a result just under the quota makes a push over it
    (States.DataLimitExceeded, which no Catch handles)."""
    from sfn_cache.rewrite.payloads import push_size

    module = os.environ.get("JSONATA_JS")
    if not (module and shutil.which("node")):
        if os.environ.get("SFN_CACHE_REQUIRE_VALIDATORS"):
            pytest.fail("JSONATA_JS (npm jsonata@2.0.6) and node are required here (.ci/run installs them)")
        pytest.skip("set JSONATA_JS to an npm jsonata@2.0.6 (.ci/run does)")
    measured = subprocess.run(["node", "-e", _MEASURE_JS, module, push_size("$r")], input=json.dumps(result),
                              capture_output=True, text=True, check=True, timeout=60)
    sizes = json.loads(measured.stdout)
    assert sizes["exact"] <= sizes["counted"] <= 4 * sizes["exact"], sizes


def test_run_time_force_reaches_tasks_inside_an_inline_map(make_engine):
    """The force variable is read once at the start; inner scopes see it."""
    definition = {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemProcessor": {"StartAt": "Work", "States": {"Work": {
            "Type": "Task", "Resource": function_arn("work"), "End": True}}}}}}
    engine = make_engine({"work": lambda e: {"seen": e}})
    wrapped = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN)).definition
    engine.run(wrapped, {"items": [1, 2]})
    engine.run(wrapped, {"items": [1, 2]})
    assert engine.calls["work"] == 2
    forced = engine.run(wrapped, {"items": [1, 2], "sfn_cache": {"force": ["Work"]}})
    assert forced.output == [{"seen": 1}, {"seen": 2}] and engine.calls["work"] == 4


def test_what_a_push_merges_from_its_pull_stays_within_the_constant(aws):
    """Since protocol 4 the push carries the pull's whole miss answer beside the result, so that answer plus
    the push's own fields must fit in OVERHEAD, at the longest ARNs Step Functions allows (names of 80
    characters) and with the longest reason a key part can be unresolved for (a missing object whose
    key is 1,024 characters of backslashes or of CJK, each several bytes once escaped)."""
    from sfn_cache.local.engine import ACCOUNT, CACHE_BUCKET, REGION
    from sfn_cache.runtime.handler import lambda_handler
    from sfn_cache.runtime.protocol import PROTOCOL

    name = "n" * 80
    executions = [f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{name}:{name}",
                  f"arn:aws:states:{REGION}:{ACCOUNT}:express:{name}:{name}:{'0' * 36}"]
    state = "S" * 80
    for execution in executions:
        for missing_key in ("\\" * 1024, "月" * 1024):
            pull = {"sfn_cache": "pull", "protocol": PROTOCOL, "state": state, "bundle": "b" * 80, "ttl": 86400,
                    "resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{'f' * 64}", "key_s3": "etag",
                    "input": {"data": f"s3://{CACHE_BUCKET}/{missing_key}"}, "execution": execution}
            answer = lambda_handler(dict(pull))
            assert answer["key"] is None and answer["unresolved"], "a miss without a key, saying why"
            kept = lambda_handler({k: v for k, v in pull.items() if k not in ("key_s3", "input")} | {"input": {}})
            assert kept["key"], "and a miss that keys"
            failed = lambda_handler({**pull, "bucket": f"s3://{CACHE_BUCKET}/{missing_key}"})
            assert failed["key"] is None and failed["failed"].startswith("CacheConfigError"), (
                "a failed pull (protocol 5)")
            for merged in (answer, kept, failed):
                push = {**merged, "sfn_cache": "push", "protocol": PROTOCOL, "state": state, "bundle": "b" * 80,
                        "ttl": 86400, "result": None, "fits": True}
                size = len(json.dumps(push, ensure_ascii=False, separators=(",", ":")).encode())
                assert size <= OVERHEAD, f"{size} bytes beside the result ({execution[:60]}..., {missing_key[:3]})"
