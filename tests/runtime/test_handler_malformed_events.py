"""The caching Lambda against malformed events and bucket overrides (issue 15), on moto's S3.

Every malformed event must be refused with an error that names the field and what was expected,
and nothing may be written outside the configured bucket and prefix (or the local disdat root).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import boto3
import pytest

from sfn_cache.local.engine import CACHE_BUCKET, REGION
from sfn_cache.runtime.config import CacheConfigError
from sfn_cache.runtime.events import CacheEventError
from sfn_cache.runtime.handler import lambda_handler
from sfn_cache.runtime.protocol import PROTOCOL

OTHER_BUCKET = "someone-elses-bucket"
PREFIX = "cache"  # conftest's SFN_CACHE_BUCKET is s3://sfn-cache-harness/cache


def pull_event(**fields) -> dict:
    event = {"sfn_cache": "pull", "protocol": PROTOCOL, "state": "Train", "bundle": "model", "ttl": None,
             "resource": "arn:aws:lambda:us-east-1:123456789012:function:train", "cache_version": "",
             "form": "raw", "force": False, "input": {"x": 1}, "execution": "arn:exec:1", "state_machine": "arn:sm"}
    event.update(fields)
    return event


def push_event(**fields) -> dict:
    event = {"sfn_cache": "push", "protocol": PROTOCOL, "state": "Train", "bundle": "model", "ttl": None,
             "key": "0" * 64, "result": {"v": 1},
             "execution": "arn:exec:1", "state_machine": "arn:sm"}
    event.update(fields)
    return event


BAD_VALUES = {
    "state": [None, "", 1, [], {}, True],
    "bundle": [None, "", 7, ["model"], {"a": 1}, False],
    "resource": [None, "", 3, ["arn"], {}],
    "cache_version": [1, [], {}, True],
    "form": [2, [], {}],
    "force": ["yes", 1, [], {}],
    "ttl": ["1h", -1, 1.5, True, [], {}],
    "bucket": [5, [], {}, "bucket-without-scheme", "http://x/y"],
    "context": [5, [], "", "../escape", "a/b", ".hidden", "x" * 200, "ctx/../../etc", "white space"],
    "execution": [5, [], {}],
    "state_machine": [5, [], {}],
}
PUSH_BAD_VALUES = {
    "key": [5, "", "../../etc/passwd", "a b", "k" * 129, [], {}],
}
OVERRIDES = [  # bucket overrides outside the function's own bucket and prefix
    f"s3://{OTHER_BUCKET}", f"s3://{OTHER_BUCKET}/{PREFIX}", f"s3://{CACHE_BUCKET}", f"s3://{CACHE_BUCKET}/",
    f"s3://{CACHE_BUCKET}/cache-other", f"s3://{CACHE_BUCKET}/cach", f"s3://{CACHE_BUCKET}/other/cache",
    f"s3://{CACHE_BUCKET}/cache/../x", f"s3://{CACHE_BUCKET}/cache//x", f"s3://{CACHE_BUCKET}/./cache",
    "s3://", "s3:///cache", "s3://UPPER/cache", f"s3://{CACHE_BUCKET}x/cache",
]


def malformed_events() -> list[tuple[str, object, str]]:
    """(case id, event, the field the error must name)."""
    cases: list[tuple[str, object, str]] = []
    for index, event in enumerate([None, [], "pull", 1, True, [pull_event()]]):
        cases.append((f"not-an-object-{index}", event, "event"))
    for value in [None, "", "PULL", "delete", 1, ["pull"], {"op": "pull"}]:
        cases.append((f"operation-{value!r}", {**pull_event(), "sfn_cache": value}, "sfn_cache"))
    for value in [None, 0, PROTOCOL + 1, str(PROTOCOL), [PROTOCOL], True]:
        cases.append((f"protocol-{value!r}", {**pull_event(), "protocol": value}, "protocol"))
    for name in ("state", "resource", "input"):  # a missing bundle is the state name (protocol 2)
        cases.append((f"pull-missing-{name}", {k: v for k, v in pull_event().items() if k != name}, name))
    for name in ("state", "result"):  # a push without a key (a failed pull's) stores nothing: see below
        cases.append((f"push-missing-{name}", {k: v for k, v in push_event().items() if k != name}, name))
    for name, values in BAD_VALUES.items():
        for index, value in enumerate(values):
            cases.append((f"pull-{name}-{index}", pull_event(**{name: value}), name))
            cases.append((f"push-{name}-{index}", push_event(**{name: value}), name))
    for name, values in PUSH_BAD_VALUES.items():
        for index, value in enumerate(values):
            cases.append((f"push-{name}-{index}", push_event(**{name: value}), name))
    # a forged key is no error since protocol 2: its pull kept no material, so the push stores
    # nothing (tests/runtime/test_handler.py::test_push_without_key_stores_nothing_and_a_forged_key_is_refused)
    for index, url in enumerate(OVERRIDES):
        cases.append((f"pull-bucket-override-{index}", pull_event(bucket=url), "bucket"))
        cases.append((f"push-bucket-override-{index}", push_event(bucket=url), "bucket"))
    return cases


CASES = malformed_events()


def all_objects() -> list[tuple[str, str]]:
    s3 = boto3.client("s3", region_name=REGION)
    found = []
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            found += [(bucket["Name"], item["Key"]) for item in page.get("Contents", [])]
    return found


def files_under(root: Path) -> set[str]:
    return {str(Path(d, f)) for d, _, files in os.walk(root) for f in files}


def test_handler_fuzz_every_malformed_event_names_its_field(aws, tmp_path):
    """Fail-closed (or not a protocol-5 event at all), the error raises naming the field; otherwise
    the same error is answered: a miss without a key, or "not stored", whose ``failed`` starts with it."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=OTHER_BUCKET)
    local_root = Path(os.environ["SFN_CACHE_LOCAL_ROOT"])
    outside_before = files_under(tmp_path) - files_under(local_root)
    assert len(CASES) >= 100
    tally = {"CacheEventError": 0, "CacheConfigError": 0, "answered": 0}
    for case_id, event, field in CASES:
        closed = {**event, "fail_closed": True} if isinstance(event, dict) else event
        with pytest.raises((CacheEventError, CacheConfigError)) as caught:
            lambda_handler(copy.deepcopy(closed))
        message = str(caught.value)
        expected = "event: expected a JSON object" if field == "event" else f"field '{field}'"
        assert message.startswith(expected) or (field == "key" and "key does not match" in message), \
            f"{case_id}: {message}"
        assert "Traceback" not in message and "\n" not in message, case_id
        tally[type(caught.value).__name__] += 1
        ours = (isinstance(event, dict) and event.get("sfn_cache") in ("pull", "push")
                and type(event.get("protocol")) is int and event["protocol"] >= 5)
        if not ours:  # not a cache event, or one of an older protocol: raised whether fail-closed or not
            with pytest.raises(type(caught.value)):
                lambda_handler(copy.deepcopy(event))
            continue
        answer = lambda_handler(copy.deepcopy(event))
        if event["sfn_cache"] == "pull":
            assert (answer["hit"], answer["key"], answer["wait"]) == (False, None, False), case_id
        else:
            assert (answer["stored"], answer["reason"]) == (False, "failed"), case_id
        assert answer["failed"].startswith(f"{type(caught.value).__name__}: {expected}"), f"{case_id}: {answer}"
        assert len(answer["failed"]) <= 160 and answer["failed"].isascii() and answer["failed"].isprintable()
        tally["answered"] += 1
    assert all(bucket == CACHE_BUCKET and key.startswith(PREFIX + "/") for bucket, key in all_objects())
    assert not all_objects(), "a refused event stores nothing at all"
    assert files_under(tmp_path) - files_under(local_root) == outside_before
    assert tally["answered"] >= len(CASES) - 20
    print(f"handler fuzz: {len(CASES)} malformed events refused: {tally}")


def test_a_push_without_a_key_stores_nothing(aws):
    """Since protocol 4 the machine merges a failed pull's value, {"hit": false}, into the push."""
    for keyless in ({k: v for k, v in push_event().items() if k != "key"}, push_event(key=None)):
        assert lambda_handler({**keyless, "hit": False}) == {"stored": False, "reason": "no key"}
    assert not all_objects()


@pytest.mark.parametrize("field,value,message", [
    ("ttl", "1h", "field 'ttl': expected a whole number of seconds >= 0, or null, got \"1h\""),
    ("context", "../escape", "field 'context': expected a disdat context name ([A-Za-z0-9_.-], at most 128 "
                             "characters, no '..'), or null, got \"../escape\""),
    ("bundle", 7, "field 'bundle': expected a non-empty string (the bundle name), got 7"),
    ("force", "yes", "field 'force': expected true, false or null, got \"yes\""),
])
def test_errors_name_the_field_and_what_was_expected(aws, field, value, message):
    with pytest.raises(CacheEventError) as caught:
        lambda_handler(pull_event(**{field: value}, fail_closed=True))
    assert str(caught.value) == message


def test_a_sibling_prefix_or_another_bucket_is_refused_by_default(aws):
    for url in (f"s3://{CACHE_BUCKET}/cache-other", f"s3://{OTHER_BUCKET}/cache"):
        with pytest.raises(CacheConfigError) as caught:
            lambda_handler(pull_event(bucket=url, fail_closed=True))
        assert str(caught.value) == (f"field 'bucket': {url!r} is not allowed: this function stores only under "
                                     f"s3://{CACHE_BUCKET}/cache; add it to SFN_CACHE_ALLOWED_BUCKETS in the "
                                     f"function's environment")


def test_own_prefix_and_below_are_accepted(aws):
    for url in (f"s3://{CACHE_BUCKET}/cache", f"s3://{CACHE_BUCKET}/cache/team-a"):
        assert lambda_handler(pull_event(bucket=url))["hit"] is False


def test_allow_listed_locations_store_there_and_nowhere_else(aws, monkeypatch):
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=OTHER_BUCKET)
    monkeypatch.setenv("SFN_CACHE_ALLOWED_BUCKETS", f"s3://{OTHER_BUCKET}/shared, s3://{CACHE_BUCKET}/archive")
    url = f"s3://{OTHER_BUCKET}/shared/team"
    answer = lambda_handler(pull_event(bucket=url))
    stored = lambda_handler(push_event(bucket=url, key=answer["key"]))
    assert stored["stored"] is True
    assert lambda_handler(pull_event(bucket=url))["hit"] is True
    objects = all_objects()
    assert objects and all(bucket == OTHER_BUCKET and key.startswith("shared/team/") for bucket, key in objects)
    with pytest.raises(CacheConfigError, match="field 'bucket'"):
        lambda_handler(pull_event(bucket=f"s3://{OTHER_BUCKET}/shared-other", fail_closed=True))


def test_without_any_configured_location_the_payload_names_the_only_one(aws, monkeypatch):
    monkeypatch.delenv("SFN_CACHE_BUCKET")
    assert lambda_handler(pull_event(bucket=f"s3://{CACHE_BUCKET}/elsewhere"))["hit"] is False
    monkeypatch.setenv("SFN_CACHE_ALLOWED_BUCKETS", f"s3://{CACHE_BUCKET}/shared")
    with pytest.raises(CacheConfigError, match=f"stores only under s3://{CACHE_BUCKET}/shared;"):
        lambda_handler(pull_event(bucket=f"s3://{CACHE_BUCKET}/elsewhere", fail_closed=True))
