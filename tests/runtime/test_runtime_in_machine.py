"""The real caching handler inside real executions: lineage of a chain, and fail-open on a missing bucket.

Executions run in moto's ASL interpreter (sfn_cache/local/); bundles land in moto's S3. Lineage is
read back from the disdat frames on S3 (protobuf, parsed here with disdat's own schema), not through
the runtime code that wrote it.
"""

from __future__ import annotations

import json

import boto3
import pytest
from disdat.hyperframe_pb2 import HyperFrame

from sfn_cache.admin import inventory
from sfn_cache.local.engine import CACHE_ARN, CACHE_BUCKET, CACHE_FUNCTION, REGION, TaskFailure, function_arn
from sfn_cache.local.seams import install_service_seams as install_corpus_seams
from sfn_cache.rewrite.forms.common import LAMBDA_TRANSIENT_ERRORS
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition
from sfn_cache.runtime.config import config_for


def chain() -> dict:
    """extract -> clean -> train, each reading the previous result."""
    return {"StartAt": "Extract", "States": {
        "Extract": {"Type": "Task", "Resource": function_arn("extract"), "Parameters": {"table": "events"},
                    "ResultPath": "$.raw", "Next": "Clean"},
        "Clean": {"Type": "Task", "Resource": function_arn("clean"),
                  "Parameters": {"rows.$": "$.raw.rows"}, "ResultPath": "$.clean", "Next": "Train"},
        "Train": {"Type": "Task", "Resource": function_arn("train"),
                  "Parameters": {"rows.$": "$.clean.rows", "rate.$": "$.rate"}, "End": True},
    }}


TASKS = {
    "extract": lambda event: {"rows": [1, 2, 3]},
    "clean": lambda event: {"rows": [r * 10 for r in event["rows"]]},
    "train": lambda event: {"model": sum(event["rows"]) * event["rate"]},
}


def index_entries(s3) -> dict[str, dict]:
    """Index entries by state name (the newest per state)."""
    found = {}
    for item in s3.list_objects_v2(Bucket=CACHE_BUCKET, Prefix="cache/sfn-cache/index/")["Contents"]:
        entry = json.loads(s3.get_object(Bucket=CACHE_BUCKET, Key=item["Key"])["Body"].read())
        if entry["state"] not in found or entry["created"] > found[entry["state"]]["created"]:
            found[entry["state"]] = entry
    return found


def frame_dependencies(s3, uuid: str) -> set[str]:
    """The upstream bundle uuids disdat recorded in bundle ``uuid``'s frame on S3."""
    key = f"cache/context/harness/objects/{uuid}/{uuid}_hframe.pb"
    frame = HyperFrame.FromString(s3.get_object(Bucket=CACHE_BUCKET, Key=key)["Body"].read())
    return {dep.hframe_uuid for dep in frame.lineage.depends_on}


def test_lineage_of_a_three_task_chain(make_engine):
    engine = make_engine(TASKS)
    wrapped = wrap_definition(chain(), WrapOptions(lambda_arn=CACHE_ARN)).definition
    first = engine.run(wrapped, {"rate": 2}, execution_name="first")
    assert first.status == "SUCCEEDED" and first.output == {"model": 120}
    s3 = boto3.client("s3", region_name=REGION)
    entries = index_entries(s3)
    extract, clean, train = (entries[name]["uuid"] for name in ("Extract", "Clean", "Train"))
    assert frame_dependencies(s3, extract) == set()
    assert frame_dependencies(s3, clean) == {extract}
    assert frame_dependencies(s3, train) == {extract, clean}
    # the index entry holds a reference to the execution's lineage log, never the list itself
    assert set(entries["Train"]["lineage"]) == {"log", "after"}
    train_entry = inventory.Entry(s3_key="", key=entries["Train"]["key"], bundle="Train", state="Train", uuid=train,
                                  created=0, expires=None, size=0, inline=True, record=entries["Train"])
    assert [d["uuid"] for d in inventory.lineage_of(s3, config_for({}), train_entry)] == [extract, clean]

    # a second execution reuses Extract and Clean (hits) and computes a new Train: its bundle
    # names the reused bundles, not bundles of the first execution's Train
    second = engine.run(wrapped, {"rate": 3}, execution_name="second")
    assert second.output == {"model": 180}
    assert (engine.calls["extract"], engine.calls["clean"], engine.calls["train"]) == (1, 1, 2)
    new_train = index_entries(s3)["Train"]["uuid"]
    assert new_train != train
    assert frame_dependencies(s3, new_train) == {extract, clean}


def test_lineage_can_be_switched_off(make_engine, monkeypatch):
    monkeypatch.setenv("SFN_CACHE_LINEAGE", "off")
    engine = make_engine(TASKS)
    wrapped = wrap_definition(chain(), WrapOptions(lambda_arn=CACHE_ARN)).definition
    assert engine.run(wrapped, {"rate": 2}, execution_name="quiet").output == {"model": 120}
    s3 = boto3.client("s3", region_name=REGION)
    train = index_entries(s3)["Train"]["uuid"]
    assert frame_dependencies(s3, train) == set()
    assert "Contents" not in s3.list_objects_v2(Bucket=CACHE_BUCKET, Prefix="cache/sfn-cache/executions/")


@pytest.mark.parametrize("pattern", ["variables", "classic"])
def test_missing_bucket_fails_open_with_the_real_handler(make_engine, monkeypatch, pattern):
    monkeypatch.setenv("SFN_CACHE_BUCKET", "s3://no-such-bucket/cache")
    engine = make_engine(TASKS)
    original = engine.run(chain(), {"rate": 2})
    wrapped = wrap_definition(chain(), WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern)).definition
    for _ in range(2):
        assert engine.run(wrapped, {"rate": 2}) == original
    assert original.output == {"model": 120}
    # nothing could be cached: every wrapped run ran every task; every pull failed (answered, not
    # raised: a miss without a key naming the cause), so every push came without a key and stored nothing
    assert engine.calls["train"] == 3
    assert [op for op, _ in engine.cache_answers] == ["pull", "push"] * 6
    assert all(answer["failed"].startswith("NoSuchBucket") for op, answer in engine.cache_answers if op == "pull")
    assert {answer["stored"] for op, answer in engine.cache_answers if op == "push"} == {False}
    # one invocation per cache state: the States.TaskFailed retrier never retries the handler's failures
    assert engine.calls[CACHE_FUNCTION] == 12


@pytest.mark.parametrize("pattern", ["variables", "classic"])
def test_missing_bucket_fails_the_execution_when_fail_closed(make_engine, monkeypatch, pattern):
    monkeypatch.setenv("SFN_CACHE_BUCKET", "s3://no-such-bucket/cache")
    engine = make_engine(TASKS)
    options = WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern, fail_closed=True)
    outcome = engine.run(wrap_definition(chain(), options).definition, {"rate": 2})
    assert outcome.status == "FAILED" and outcome.error == "NoSuchBucket"  # botocore's modelled exception class
    assert engine.calls[CACHE_FUNCTION] == 1 and engine.calls["extract"] == 0


def flaky(failures: int, error: str):
    """The real handler behind ``failures`` Lambda-level failures (throttling, a crash): what still
    fails a cache state now that the handler answers its own failures."""
    from sfn_cache.runtime.handler import lambda_handler
    seen = {"n": 0}

    def handler(event, context):
        seen["n"] += 1
        if seen["n"] <= failures:
            raise TaskFailure(error, "injected")
        return lambda_handler(event, context)
    return handler


@pytest.mark.parametrize("pattern", ["variables", "classic"])
def test_a_throttled_cache_call_is_retried_and_the_cache_still_works(make_engine, pattern):
    engine = make_engine(TASKS, cache_handler=flaky(2, "Lambda.TooManyRequestsException"))
    original = engine.run(chain(), {"rate": 2})
    wrapped = wrap_definition(chain(), WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern)).definition
    assert engine.run(wrapped, {"rate": 2}) == original
    assert engine.run(wrapped, {"rate": 2}) == original
    assert engine.calls["extract"] == 2, "the first pull was retried, not failed open: the second run hit"
    assert engine.calls[CACHE_FUNCTION] == 2 + 6 + 3  # two retried attempts, a miss run, a hit run


def test_a_cache_call_that_keeps_failing_is_retried_three_times_then_fails_open(make_engine):
    engine = make_engine(TASKS, cache_handler=flaky(10 ** 6, "Lambda.Unknown"))
    original = engine.run(chain(), {"rate": 2})
    wrapped = wrap_definition(chain(), WrapOptions(lambda_arn=CACHE_ARN)).definition
    assert engine.run(wrapped, {"rate": 2}) == original
    assert engine.calls[CACHE_FUNCTION] == 6 * 4  # each of 3 pulls and 3 pushes: 1 attempt + 3 retries


def test_a_jsonata_pull_that_fails_where_its_task_would_is_not_retried(make_engine):
    """AWS's States.TaskFailed matches every error but States.Timeout, States.QueryEvaluationError
    included: the pull copies T's Arguments, so it fails first, and deterministically. A retrier of
    MaxAttempts 0 ahead of it sends that to the Catch at once, and T then fails as the original does."""
    machine = {"QueryLanguage": "JSONata", "StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": function_arn("work"), "Arguments": {"n": "{% 'seven' + 1 %}"},
                 "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"],
                            "Output": {"caught": "{% $states.errorOutput.Error %}"}, "Next": "Done"}], "End": True},
        "Done": {"Type": "Pass", "End": True}}}
    engine = make_engine({"work": lambda event: event})
    original = engine.run(machine, {})
    wrapped = wrap_definition(machine, WrapOptions(lambda_arn=CACHE_ARN)).definition
    assert engine.run(wrapped, {}) == original
    assert original.output == {"caught": "States.QueryEvaluationError"}
    pull, push = wrapped["States"]["cache_pull_Work"], wrapped["States"]["cache_push_Work"]
    assert pull["Retry"] == [{"ErrorEquals": ["States.QueryEvaluationError"], "MaxAttempts": 0},
                             {"ErrorEquals": ["States.TaskFailed"]}]
    assert push["Retry"] == [{"ErrorEquals": ["States.TaskFailed"]}], "a push reads only variables"
    jsonpath = wrap_definition(chain(), WrapOptions(lambda_arn=CACHE_ARN)).definition
    assert jsonpath["States"]["cache_pull_Extract"]["Retry"] == [{"ErrorEquals": ["States.TaskFailed"]}]
    closed = wrap_definition(machine, WrapOptions(lambda_arn=CACHE_ARN, fail_closed=True)).definition
    assert closed["States"]["cache_pull_Work"]["Retry"] == [{"ErrorEquals": LAMBDA_TRANSIENT_ERRORS}], \
        "fail-closed names only the Lambda service's errors"


@pytest.mark.parametrize("failures,pull_ran", [(3, True), (4, False)])
def test_cache_retry_retries_a_throttled_pull_three_times(make_engine, monkeypatch, failures, pull_ran):
    """The cache Retry: four tries on a throttled pull, then fail-open."""
    from sfn_cache.runtime.handler import lambda_handler as real

    attempts = {"pull": 0}

    def throttled(event, context):
        if event["sfn_cache"] == "pull" and attempts["pull"] < failures:
            attempts["pull"] += 1
            raise TaskFailure("Lambda.TooManyRequestsException", "rate exceeded")
        return real(event, context)

    one = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": function_arn("work"), "End": True}}}
    engine = make_engine({"work": lambda event: {"done": True}}, cache_handler=throttled)
    install_corpus_seams(monkeypatch, lambda resource, params: None)  # Retry intervals do not sleep
    wrapped = wrap_definition(one, WrapOptions(lambda_arn=CACHE_ARN)).definition
    outcome = engine.run(wrapped, {"x": 1})
    assert (outcome.status, outcome.output) == ("SUCCEEDED", {"done": True})
    pulls_answered = [answer for op, answer in engine.cache_answers if op == "pull"]
    assert engine.calls[CACHE_FUNCTION] == 4 + 1  # four pull attempts, one push
    assert bool(pulls_answered) is pull_ran
