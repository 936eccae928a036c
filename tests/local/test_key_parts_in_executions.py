"""Issue 10 in executions: each key part, run through moto's interpreter on both cached forms.

Every case counts the user's task calls: a run that must miss calls the task, a run that may hit
does not. The wrong answer these guard against is a hit that returns another run's result.
"""

from __future__ import annotations

import boto3
import pytest

from sfn_cache.local.engine import ACCOUNT, CACHE_ARN, CACHE_BUCKET, REGION, function_arn
from sfn_cache.rewrite.options import StateRule, WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition
from sfn_cache.runtime import resolve
from sfn_cache.runtime.config import config_for
from sfn_cache.runtime.index import KeyIndex


@pytest.fixture(params=["variables", "classic"])
def pattern(request):
    return request.param


@pytest.fixture(autouse=True)
def forget_resolutions(monkeypatch):
    monkeypatch.setattr(resolve, "_memo", {})


def machine(*, resource: str | None = None, **fields) -> dict:
    task = {"Type": "Task", "Resource": resource or function_arn("compute"), "ResultPath": "$.out", "End": True}
    task.update(fields)
    return {"StartAt": "T", "States": {"T": task}}


def wrapped(definition: dict, pattern: str, **options) -> dict:
    return wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern, **options)).definition


def counter(engine, name: str = "compute"):
    return lambda: engine.calls[name]


def echo(event):
    return {"seen": event}


def test_credentials_tenant_b_never_gets_tenant_a_result(make_engine, pattern):
    engine = make_engine({"compute": lambda event: {"n": event["n"] * 2}})
    definition = wrapped(machine(Parameters={"n.$": "$.n"}, Credentials={"RoleArn.$": "$.role"}), pattern)
    tenant = {r: {"n": 1, "role": f"arn:aws:iam::{ACCOUNT}:role/{r}"} for r in ("a", "b")}
    calls = counter(engine)
    assert engine.run(definition, tenant["a"]).status == "SUCCEEDED" and calls() == 1
    assert engine.run(definition, tenant["b"]).output["out"] == {"n": 2} and calls() == 2
    assert engine.run(definition, tenant["a"]).output["out"] == {"n": 2} and calls() == 2


def test_region_of_the_execution_when_the_target_does_not_name_it(make_engine, pattern):
    engine = make_engine({"compute": echo})
    definition = wrapped(machine(resource="arn:aws:states:::lambda:invoke",
                                 Parameters={"FunctionName": "compute", "Payload.$": "$"},
                                 ResultSelector={"p.$": "$.Payload"}), pattern, key_code="off")
    calls = counter(engine)
    engine.run(definition, {"x": 1})
    engine.run(definition, {"x": 1})
    assert calls() == 1
    engine.client = boto3.client("stepfunctions", region_name="eu-west-1")
    engine._machine_arn = None
    assert engine.run(definition, {"x": 1}).status == "SUCCEEDED"
    assert calls() == 2, "eu-west-1 got us-east-1's answer"
    pulls = [answer for op, answer in engine.cache_answers if op == "pull"]
    material = KeyIndex(boto3.client("s3", region_name=REGION), config_for({})).get_material("T", pulls[-1]["key"])
    assert material["scope"] == {"account": ACCOUNT, "region": "eu-west-1"}


def test_key_path_keeps_the_target(make_engine, pattern):
    engine = make_engine({"train": lambda e: "train", "score": lambda e: "score"})
    rule = StateRule(pattern="T", key_paths=("$.x",))

    def invoking(function: str) -> dict:
        return wrapped(machine(resource="arn:aws:states:::lambda:invoke",
                               Parameters={"FunctionName": function, "Payload.$": "$"},
                               ResultSelector={"p.$": "$.Payload"}), pattern, rules=(rule,))

    assert engine.run(invoking("train"), {"x": 1, "noise": 1}).output["out"] == {"p": "train"}
    assert engine.run(invoking("train"), {"x": 1, "noise": 2}).output["out"] == {"p": "train"}
    assert engine.calls["train"] == 1, "the key path alone decides within one machine"
    assert engine.run(invoking("score"), {"x": 1}).output["out"] == {"p": "score"}
    assert engine.calls["score"] == 1


def test_context_keeps_entries_apart(make_engine, pattern):
    engine = make_engine({"compute": echo})
    calls = counter(engine)
    dev, prod = (wrapped(machine(), pattern, context=name) for name in ("dev", "prod"))
    engine.run(dev, {"x": 1})
    engine.run(prod, {"x": 1})
    assert calls() == 2
    engine.run(dev, {"x": 1})
    engine.run(prod, {"x": 1})
    assert calls() == 2


def history(engine) -> list[dict]:
    return engine.client.get_execution_history(executionArn=engine.last_execution_arn, maxResults=1000)["events"]


def assert_no_failed_state(engine) -> None:
    events = history(engine)
    failed = [e["type"] for e in events if "Failed" in e["type"] or "Aborted" in e["type"] or "TimedOut" in e["type"]]
    assert failed == []
    exited = [e["stateExitedEventDetails"]["name"] for e in events if "stateExitedEventDetails" in e]
    assert "cache_pull_T" in exited


def test_missing_key_path_is_a_key_value_not_a_failure(make_engine, pattern):
    """On AWS a JSONPath that finds nothing is States.Runtime, which no Catch handles: the pull must
    never evaluate one. The history must show no failed state at all, not only a good outcome."""
    engine = make_engine({"compute": echo})
    case = machine(Parameters={"all.$": "$"}, InputPath="$.data")
    cached_form = wrapped(case, pattern, rules=(StateRule(pattern="T", key_paths=("$.x", "$.y.z[0]")),))
    calls = counter(engine)
    original = engine.run(case, {"data": {"w": 1}})
    assert engine.run(cached_form, {"data": {"w": 1}}) == original
    assert calls() == 2
    assert_no_failed_state(engine)
    hit = engine.run(cached_form, {"data": {"w": 2}})
    assert calls() == 2, "absent is a key value: the second run hits"
    assert hit.output == {"data": {"w": 2}, "out": {"seen": {"all": {"w": 1}}}}
    assert_no_failed_state(engine)
    engine.run(cached_form, {"data": {"x": None}})
    assert calls() == 3, "null is not absent"
    engine.run(cached_form, {"data": {"y": {"z": [1]}}})
    assert calls() == 4
    engine.run(cached_form, {"data": {"y": {"z": {"0": 1}}}})
    assert calls() == 4, "an object is not an array: [0] finds nothing there, as in JSONPath"
    assert_no_failed_state(engine)


def test_ttl_zero_on_the_lambda_never_serves(make_engine, pattern, monkeypatch):
    """wrap refuses --ttl 0 (use --force-rerun); SFN_CACHE_TTL=0 on the caching Lambda means "do not
    serve": every run calls the task. The pull's TTL decides (docs/protocol.md): once the Lambda has no
    TTL, what those runs stored is served."""
    engine = make_engine({"compute": echo})
    definition = wrapped(machine(), pattern)
    monkeypatch.setenv("SFN_CACHE_TTL", "0")
    for _ in range(3):
        assert engine.run(definition, {"x": 1}).status == "SUCCEEDED"
    assert engine.calls["compute"] == 3
    monkeypatch.delenv("SFN_CACHE_TTL")
    assert engine.run(definition, {"x": 1}).output["out"] == {"seen": {"x": 1}}
    assert engine.calls["compute"] == 3, "the TTL of the pull decides, not the one it was stored under"


def test_one_and_one_point_zero_are_different_keys(make_engine, pattern):
    engine = make_engine({"compute": lambda event: {"type": type(event["x"]).__name__}})
    definition = wrapped(machine(), pattern)
    assert engine.run(definition, {"x": 1}).output["out"] == {"type": "int"}
    assert engine.run(definition, {"x": 1.0}).output["out"] == {"type": "float"}
    assert engine.run(definition, {"x": 1.0}).output["out"] == {"type": "float"}
    assert engine.calls["compute"] == 2


def test_key_code_redeployed_function_is_a_miss(make_engine, pattern):
    engine = make_engine({"compute": echo})
    for definition in (wrapped(machine(), pattern),
                       wrapped(machine(resource="arn:aws:states:::lambda:invoke",
                                       Parameters={"FunctionName": "compute", "Payload.$": "$"}), pattern)):
        before = engine.calls["compute"]
        engine.run(definition, {"x": 1})
        engine.run(definition, {"x": 1})
        assert engine.calls["compute"] == before + 1
        engine.redeploy("compute", f"# version {before}")
        resolve._memo.clear()  # a new warm container, or SFN_CACHE_RESOLVE_TTL later
        engine.run(definition, {"x": 1})
        assert engine.calls["compute"] == before + 2, "new code, old result"
    off = wrapped(machine(), pattern, key_code="off")
    engine.run(off, {"x": 1})
    engine.redeploy("compute", "# again")
    resolve._memo.clear()
    engine.run(off, {"x": 1})
    assert engine.calls["compute"] == 5, "--key-code off: the key does not see the code"


def test_key_s3_changed_object_is_a_miss(make_engine, pattern):
    engine = make_engine({"compute": echo})
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=CACHE_BUCKET, Key="in/data.csv", Body=b"1")
    run_input = {"file": f"s3://{CACHE_BUCKET}/in/data.csv"}
    definition = wrapped(machine(), pattern, key_s3="etag")
    engine.run(definition, run_input)
    engine.run(definition, run_input)
    assert engine.calls["compute"] == 1
    s3.put_object(Bucket=CACHE_BUCKET, Key="in/data.csv", Body=b"2")
    engine.run(definition, run_input)
    assert engine.calls["compute"] == 2
    s3.delete_object(Bucket=CACHE_BUCKET, Key="in/data.csv")
    assert engine.run(definition, run_input).status == "SUCCEEDED"
    assert engine.calls["compute"] == 3, "a missing object is a miss, never an error"


def test_missing_key_path_of_a_jsonata_task(make_engine):
    engine = make_engine({"compute": echo})
    case = {"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
        "Arguments": {"FunctionName": "compute", "Payload": "{% $states.input %}"},
        "Output": "{% $states.result.Payload %}"}}}
    cached_form = wrapped(case, "variables", rules=(StateRule(pattern="T", key_paths=("$.x",)),))
    payload = cached_form["States"]["cache_pull_T"]["Arguments"]
    assert payload["target"] == {"FunctionName": "compute"}
    original = engine.run(case, {"w": 1})
    assert engine.run(cached_form, {"w": 1}) == original
    assert_no_failed_state(engine)
    assert engine.run(cached_form, {"w": 2}).output == {"seen": {"w": 1}}
    assert engine.calls["compute"] == 2
    engine.run(cached_form, {"x": 1})
    assert engine.calls["compute"] == 3


def test_the_history_check_sees_a_failed_jsonpath_read(make_engine):
    """The check above can fail: a protocol-1 style pull (``"x.$": "$.x"``) on an input without x
    leaves failure events in the history (moto: a catchable error; AWS: States.Runtime)."""
    engine = make_engine({"compute": echo})
    old_pull = {"StartAt": "cache_pull_T", "States": {
        "cache_pull_T": {"Type": "Task", "Resource": function_arn("compute"), "Parameters": {"x.$": "$.x"},
                         "End": True}}}
    assert engine.run(old_pull, {"w": 1}).status == "FAILED"
    with pytest.raises(AssertionError):
        assert_no_failed_state(engine)


def pull_parameters(definition: dict) -> dict:
    """The pull's payload; a JSONPath task's key-path parts are read by cache_keys_T (issue 27 point 3)."""
    pull = definition["States"]["cache_pull_T"]
    payload = dict(pull.get("Arguments", pull.get("Parameters")))
    for keys in [definition["States"].get("cache_keys_T")] if "cache_keys_T" in definition["States"] else []:
        payload.update(next(iter(keys["Assign"].values())))
    return payload


@pytest.mark.parametrize("arguments", [
    {"FunctionName": "train", "Payload": 1},
    {"FunctionName": "{% $states.input.fn %}", "Payload": 1},
    "{% {'FunctionName': $states.input.fn, 'Payload': $states.input} %}",
])
def test_default_key_code_names_the_code_of_every_jsonata_lambda_target(arguments):
    """A FunctionName written as an expression, or Arguments written as one, still names a function."""
    definition = {"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Arguments": arguments, "End": True}}}
    assert pull_parameters(wrapped(definition, "variables")).get("key_code") == "auto"


@pytest.mark.parametrize("resource,parameters,naming", [
    ("arn:aws:states:::dynamodb:getItem", {"TableName.$": "$.table", "Key": {"id": {"S.$": "$.id"}}}, "TableName"),
    ("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket.$": "$.bucket", "Key.$": "$.id"}, "Bucket"),
    ("arn:aws:states:::sqs:sendMessage", {"QueueUrl.$": "$.queue", "MessageBody.$": "$.id"}, "QueueUrl"),
    ("arn:aws:states:::sagemaker:invokeEndpoint", {"EndpointName.$": "$.endpoint", "Body.$": "$.id"},
     "EndpointName"),
])
def test_key_path_keeps_a_dynamic_table_bucket_queue_or_endpoint(resource, parameters, naming):
    """Another table, bucket, queue or endpoint is another result, whatever --key-path picks."""
    definition = wrapped(machine(resource=resource, Parameters=parameters), "variables", include=("T",),
                         rules=(StateRule(pattern="T", key_paths=("$.id",)),))  # include: sqs:sendMessage by name
    assert naming in pull_parameters(definition)["target"]


def test_a_static_value_that_looks_like_jsonata_stays_a_value_in_a_key_path_pull(make_engine, pattern):
    """With --key-path the pull is JSONata: a JSONPath task's static "{% ... %}" text must not be
    evaluated there (it would fail the pull, or key another value)."""
    engine = make_engine({"compute": echo})
    definition = wrapped(machine(Parameters={"template": "{% not an expression %}", "x.$": "$.x"}), pattern,
                         rules=(StateRule(pattern="T", key_paths=("$.x",)),))
    calls = counter(engine)
    first = engine.run(definition, {"x": 1})
    second = engine.run(definition, {"x": 1})
    assert first.status == second.status == "SUCCEEDED"
    assert second.output["out"] == {"seen": {"template": "{% not an expression %}", "x": 1}}
    assert calls() == 1, "the second run is a hit: the pull evaluated the static text without failing"


def test_a_context_step_named_like_a_jsonata_keyword_is_read_with_a_key_path(make_engine, pattern):
    """A Credentials reference into the context object whose steps are JSONata words (true, null)."""
    definition = wrapped(machine(Parameters={"x.$": "$.x"},
                                 Credentials={"RoleArn.$": "$$.Execution.Input.null"}), pattern,
                         rules=(StateRule(pattern="T", key_paths=("$.x",)),))
    engine = make_engine({"compute": echo})
    role = f"arn:aws:iam::{ACCOUNT}:role/r"
    calls = counter(engine)
    assert engine.run(definition, {"x": 1, "null": role}).status == "SUCCEEDED"
    assert engine.run(definition, {"x": 1, "null": role}).status == "SUCCEEDED"
    assert calls() == 1
