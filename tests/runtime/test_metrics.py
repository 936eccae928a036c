"""The caching Lambda's CloudWatch Embedded Metric Format lines, checked with the format's own rules.

The schema and the reference rules below are transcribed from AWS's "Specification: Embedded metric
format" (CloudWatch User Guide): a root ``_aws`` metadata object with an integer ``Timestamp`` and
``CloudWatchMetrics`` directives (Namespace, DimensionSets of at most 30 names, Metrics with a Name
and an optional Unit from CloudWatch's list); every dimension a directive names is a root member with
a string value (CloudWatch's Dimension rules: 1-1024 ASCII characters, no control characters, not
only whitespace), every metric a root member with a number value.
"""

from __future__ import annotations

import json
import logging
import os
import time

import boto3
import jsonschema
import pytest

from sfn_cache.local.engine import CACHE_ARN, CACHE_BUCKET, REGION, function_arn
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition
from sfn_cache.runtime import metrics
from sfn_cache.runtime.config import config_for
from sfn_cache.runtime.handler import lambda_handler
from sfn_cache.runtime.index import entry_key
from tests.support.events import pull_event

UNITS = ["Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
         "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
         "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
         "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
         "Count/Second", "None"]
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {"_aws": {
        "type": "object",
        "required": ["Timestamp", "CloudWatchMetrics"],
        "properties": {
            "Timestamp": {"type": "integer", "minimum": 0},
            "CloudWatchMetrics": {"type": "array", "items": {
                "type": "object",
                "required": ["Namespace", "Dimensions", "Metrics"],
                "additionalProperties": False,
                "properties": {
                    "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                    "Dimensions": {"type": "array", "items": {
                        "type": "array", "maxItems": 30,
                        "items": {"type": "string", "minLength": 1, "maxLength": 250}}},
                    "Metrics": {"type": "array", "maxItems": 100, "items": {
                        "type": "object", "required": ["Name"], "additionalProperties": False,
                        "properties": {"Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                       "Unit": {"enum": UNITS},
                                       "StorageResolution": {"enum": [1, 60]}}}},
                }}},
        }}},
}


def parse_emf(text: str) -> list[dict]:
    """Every stdout line that is an EMF document, validated against the specification."""
    documents = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        # a LogEvent holding EMF must be one RFC 8259 JSON object, nothing around it (no NaN/Infinity)
        document = json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} is not JSON: {line}"))
        if "_aws" not in document:
            continue
        jsonschema.validate(document, EMF_SCHEMA)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                for name in dimension_set:
                    value = document.get(name)
                    assert isinstance(value, str) and 0 < len(value) <= 1024, f"dimension {name}: {value!r}"
                    # CloudWatch's Dimension: ASCII only, no control characters, one non-whitespace character
                    assert value.isascii() and value.isprintable() and value.strip(), f"dimension {name}: {value!r}"
            for metric in directive["Metrics"]:
                value = document.get(metric["Name"])
                assert isinstance(value, (int, float)) and not isinstance(value, bool), f"metric {metric}: {value!r}"
        documents.append(document)
    return documents


def metric_values(documents: list[dict]) -> list[dict]:
    return [{m["Name"]: d[m["Name"]] for directive in d["_aws"]["CloudWatchMetrics"] for m in directive["Metrics"]}
            for d in documents]


@pytest.fixture(autouse=True)
def fresh_counters(monkeypatch):
    monkeypatch.setattr(metrics, "_failed_in_a_row", {"pull": 0, "push": 0})
    monkeypatch.setattr(metrics, "_alarm_raised", {"pull": False, "push": False})


def pull(**fields) -> dict:
    """test_runtime's pull event, with real execution and state machine ARNs."""
    return pull_event(**{"execution": "arn:aws:states:us-east-1:1:execution:ml:run",
                         "state_machine": "arn:aws:states:us-east-1:123456789012:stateMachine:ml-pipeline", **fields})


def test_miss_store_hit_lines_and_seconds_saved(aws, capsys):
    miss = lambda_handler(pull())
    began = time.time() - 2.5  # as if the task had run for 2.5 s after its pull
    lambda_handler({**pull(), "sfn_cache": "push", "key": miss["key"], "base": miss["base"], "result": {"auc": 0.9},
                    "pulled": began})
    hit = lambda_handler(pull())
    assert hit["hit"] is True and "saved" not in hit  # the answer's shape is the protocol's
    documents = parse_emf(capsys.readouterr().out)
    values = metric_values(documents)
    assert values[0] == {"Misses": 1}
    assert values[1] == {"Stores": 1}
    assert set(values[2]) == {"Hits", "SecondsSaved"} and values[2]["Hits"] == 1
    assert 2.5 <= values[2]["SecondsSaved"] < 10
    assert {(d["StateMachine"], d["Bundle"]) for d in documents} == {("ml-pipeline", "model")}
    entry = json.loads(boto3.client("s3", region_name=REGION).get_object(
        Bucket=CACHE_BUCKET, Key=entry_key(config_for({}), "model", miss["key"]))["Body"].read())
    assert 2.5 <= entry["duration"] < 10


@pytest.mark.parametrize("pulled", [None, "yesterday", True, -5, 4102444800])  # absent, wrong, in the future
def test_a_push_without_a_usable_pull_time_stores_no_duration(aws, capsys, pulled):
    miss = lambda_handler(pull())
    push = {**pull(), "sfn_cache": "push", "key": miss["key"], "base": miss["base"], "result": {"a": 1}}
    if pulled is not None:
        push["pulled"] = pulled
    assert lambda_handler(push)["stored"] is True
    lambda_handler(pull())
    assert metric_values(parse_emf(capsys.readouterr().out))[-1] == {"Hits": 1, "SecondsSaved": 0}


def test_failures_are_counted_and_a_run_of_failed_stores_is_one_error(aws, capsys, caplog, monkeypatch):
    miss = lambda_handler(pull())
    monkeypatch.setenv("SFN_CACHE_BUCKET", "s3://no-such-bucket/cache")
    push = {**pull(), "sfn_cache": "push", "key": miss["key"], "base": miss["base"], "result": {"a": 1}}
    with caplog.at_level(logging.ERROR, logger="sfn_cache.runtime.metrics"):
        for _ in range(5):  # answered, not raised: counted once per call
            assert lambda_handler(dict(push))["reason"] == "failed"
        assert lambda_handler(pull())["failed"].startswith("NoSuchBucket")
    values = metric_values(parse_emf(capsys.readouterr().out))
    assert values[1:] == [{"StoreFailures": 1}] * 5 + [{"LookupFailures": 1}]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "sfn_cache.runtime.metrics"]
    assert len(errors) == 1, "one ERROR per cold start, not one per failure"
    assert "NoSuchBucket" in errors[0].getMessage() and "3 stores in a row" in errors[0].getMessage()


def test_failed_lookups_alarm_too_and_a_pull_that_succeeds_does_not_hide_failed_stores(
        aws, capsys, caplog, monkeypatch):
    """A missing bucket fails every pull first (their pushes then have no key and fail nothing), and a
    bucket that lets pulls through but denies the bundle upload fails only pushes, between good pulls."""
    with caplog.at_level(logging.ERROR, logger="sfn_cache.runtime.metrics"):
        configured = os.environ["SFN_CACHE_BUCKET"]
        monkeypatch.setenv("SFN_CACHE_BUCKET", "s3://no-such-bucket/cache")
        for _ in range(4):
            assert lambda_handler(pull())["failed"].startswith("NoSuchBucket")
        monkeypatch.setenv("SFN_CACHE_BUCKET", configured)
        monkeypatch.setattr("sfn_cache.runtime.bundles.write_bundle", _denied)
        for n in range(3):
            miss = lambda_handler(pull(input={"n": n}))
            push = {**pull(), "sfn_cache": "push", "key": miss["key"], "base": miss["base"], "result": {"a": n}}
            assert lambda_handler(push)["failed"].startswith("AccessDenied")
    values = metric_values(parse_emf(capsys.readouterr().out))
    assert values == [{"LookupFailures": 1}] * 4 + [{"Misses": 1}, {"StoreFailures": 1}] * 3
    errors = [r.getMessage() for r in caplog.records if r.name == "sfn_cache.runtime.metrics"]
    assert len(errors) == 2 and "3 lookups in a row failed" in errors[0] and "NoSuchBucket" in errors[0]
    assert "3 stores in a row failed" in errors[1] and "AccessDenied" in errors[1]


def _denied(*args, **kwargs):
    from botocore.exceptions import ClientError
    raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")


@pytest.mark.parametrize("event,metric", [
    ({"protocol": 6}, "LookupFailures"),
    ({"bucket": "s3://someone-else/cache"}, "LookupFailures"),
    ({"sfn_cache": "push", "key": "0" * 64, "result": 1, "ttl": "1h"}, "StoreFailures"),
])
def test_a_malformed_event_or_a_refused_bucket_is_counted_too(aws, capsys, event, metric):
    """Answered without raising, such a call is no Lambda error either: the metric is what tells."""
    assert "failed" in lambda_handler({**pull(), **event})
    assert metric_values(parse_emf(capsys.readouterr().out)) == [{metric: 1}]


def test_a_malformed_ttl_in_the_environment_is_counted_as_a_failed_lookup(aws, capsys, monkeypatch):
    """Not a failed cold start any more (tests/runtime/test_store.py): each pull answers it, and counts it."""
    monkeypatch.setenv("SFN_CACHE_TTL", "a fortnight")
    assert "SFN_CACHE_TTL='a fortnight' is not a duration" in lambda_handler(pull())["failed"]
    assert metric_values(parse_emf(capsys.readouterr().out)) == [{"LookupFailures": 1}]


def test_metrics_can_be_switched_off(aws, capsys, monkeypatch):
    monkeypatch.setenv("SFN_CACHE_METRICS", "off")
    lambda_handler(pull())
    assert parse_emf(capsys.readouterr().out) == []


def test_unknown_metric_names_are_refused():
    with pytest.raises(ValueError, match="Hitz"):
        metrics.emf_line({"Hitz": 1}, state_machine="m", bundle="b")


@pytest.mark.parametrize("pattern", ["variables", "classic"])
def test_a_wrapped_machine_measures_the_task_between_pull_and_push(make_engine, capsys, pattern):
    """In a real execution the push carries the pull's clock: the stored duration covers the task."""
    def slow_train(event):
        time.sleep(0.3)
        return {"model": event["rate"] * 2}

    definition = {"StartAt": "Train", "States": {"Train": {
        "Type": "Task", "Resource": function_arn("train"), "Parameters": {"rate.$": "$.rate"}, "End": True}}}
    engine = make_engine({"train": slow_train})
    wrapped = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern)).definition
    assert engine.run(wrapped, {"rate": 2}).output == {"model": 4}
    assert engine.run(wrapped, {"rate": 2}).output == {"model": 4}
    assert engine.calls["train"] == 1
    hits = [v for v in metric_values(parse_emf(capsys.readouterr().out)) if "Hits" in v]
    assert len(hits) == 1 and 0.3 <= hits[0]["SecondsSaved"] < 30


def test_the_stored_duration_is_the_task_not_the_push(aws, monkeypatch):
    """The push's own work (disdat import, bundle upload, lineage) is not task time: counting it would
    inflate SecondsSaved by the cost of storing on every later hit."""
    from sfn_cache.runtime import bundles

    real_write = bundles.write_bundle

    def slow_write(*args, **kwargs):  # the real write, made reliably slower than the margin below
        time.sleep(0.5)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(bundles, "write_bundle", slow_write)
    miss = lambda_handler(pull())
    received = time.time()
    lambda_handler({**pull(), "sfn_cache": "push", "key": miss["key"],
                    "result": {"rows": list(range(20000))}, "pulled": received - 2.0})
    entry = json.loads(boto3.client("s3", region_name=REGION).get_object(
        Bucket=CACHE_BUCKET, Key=entry_key(config_for({}), "model", miss["key"]))["Body"].read())
    # counted to the end of the push it would be at least 2.5; it stops where the push begins
    assert 2.0 <= entry["duration"] < 2.25


def test_dimension_values_are_what_cloudwatch_accepts(aws, capsys):
    """A bundle is named after its state by default, and ASL state names may be any Unicode: the
    dimension must still be ASCII (else CloudWatch drops the metrics), and distinct names stay distinct."""
    for bundle in ("Modèle 训练", "Model", "   ", "x" * 2000):
        lambda_handler(pull(bundle=bundle, state=bundle))
    bundles = [document["Bundle"] for document in parse_emf(capsys.readouterr().out)]
    assert bundles[1] == "Model" and len(set(bundles)) == 4
    assert "Mod" in bundles[0] and "le" in bundles[0]


def test_a_corrupt_duration_does_not_spoil_the_hits_line(aws, capsys):
    """1e999 is valid JSON that Python reads as infinity: printed back it would be ``Infinity``, not
    JSON, and CloudWatch would drop the line with its Hits count."""
    miss = lambda_handler(pull())
    lambda_handler({**pull(), "sfn_cache": "push", "key": miss["key"],
                    "result": {"auc": 0.9}, "pulled": time.time() - 2})
    s3 = boto3.client("s3", region_name=REGION)
    key = entry_key(config_for({}), "model", miss["key"])
    text = s3.get_object(Bucket=CACHE_BUCKET, Key=key)["Body"].read().decode()
    entry = json.loads(text)
    corrupt = text.replace(f'"duration":{json.dumps(entry["duration"])}', '"duration":1e999')
    corrupt = corrupt.replace(f'"duration": {json.dumps(entry["duration"])}', '"duration": 1e999')
    assert corrupt != text
    s3.put_object(Bucket=CACHE_BUCKET, Key=key, Body=corrupt.encode())
    assert lambda_handler(pull())["hit"] is True
    assert metric_values(parse_emf(capsys.readouterr().out))[-1] == {"Hits": 1, "SecondsSaved": 0}


@pytest.mark.parametrize("fields", [{"bundle": "\ud800" * 200}, {"bundle": "a" * 1100 + "\ud800"},
                                    {"state_machine": "arn:aws:states:x:1:stateMachine:" + "\udc00" * 200}])
def test_a_dimension_utf_8_cannot_encode_is_still_a_metric_and_never_an_error(aws, capsys, fields):
    """Review of protocol 5: a lone surrogate (valid JSON) in a long name made the metric raise, and
    that turned an answered call into a Lambda error, retried three times."""
    for extra in ({}, {"bucket": "s3://someone-else/cache"}):  # a pull that works, one that fails
        answer = lambda_handler({**pull(), **fields, **extra})
        assert answer["hit"] is False
    documents = parse_emf(capsys.readouterr().out)
    assert metric_values(documents)[-1] == {"LookupFailures": 1}
    assert all(len(d["Bundle"]) <= 1024 and d["Bundle"].isascii() for d in documents)
