"""The store never serves a wrong or broken result (issue 12): integrity, repair, TTL, rebinding,
lineage bounds. Real handler, real disdat, moto's S3; hostile records are written into the bucket."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError

from sfn_cache.local.engine import CACHE_BUCKET, REGION
from sfn_cache.runtime import handler as runtime
from sfn_cache.runtime.bundles import BundleStoreError, objects_prefix
from sfn_cache.runtime.config import CacheConfigError, config_for
from sfn_cache.runtime.handler import lambda_handler
from sfn_cache.runtime.index import KeyIndex, entry_key
from sfn_cache.runtime.keys import cache_key
from tests.support.events import pull_event, push_event
from tests.support.s3_faults import S3Requests

LARGE = {"rows": list(range(200))}  # above the inline limit set below: served from the disdat bundle


@pytest.fixture
def s3(aws, monkeypatch):
    monkeypatch.setenv("SFN_CACHE_INLINE_MAX_BYTES", "64")
    return boto3.client("s3", region_name=REGION)


def store(result, **fields):
    answer = lambda_handler(pull_event(**fields))
    assert answer["hit"] is False
    stored = lambda_handler(push_event(answer, result, **{k: v for k, v in fields.items() if k in ("ttl", "bucket")}))
    assert stored["stored"] is True, stored
    return answer["key"], stored["uuid"]


def entry_of(s3, key, bundle="model", event=None):
    return json.loads(
        s3.get_object(Bucket=CACHE_BUCKET, Key=entry_key(config_for(event or {}), bundle, key))["Body"].read())


def write_entry(s3, key, entry, bundle="model"):
    s3.put_object(Bucket=CACHE_BUCKET, Key=entry_key(config_for({}), bundle, key), Body=json.dumps(entry).encode())


def assert_miss_with_key(answer, key):
    assert answer["hit"] is False and answer["key"] == key, answer
    kept = KeyIndex(boto3.client("s3", region_name=REGION), config_for({})).get_material("model", key)
    assert kept is not None and cache_key(kept) == key, "the pull kept its key material for the push"


def assert_repaired(result, **fields):
    """A miss carrying its key lets the push after the task replace the broken entry: then a hit."""
    miss = lambda_handler(pull_event(**fields))
    assert miss["hit"] is False and miss["key"]
    assert lambda_handler(push_event(miss, result))["stored"] is True
    assert lambda_handler(pull_event(**fields))["data"] == result


# -- point 1: a push is stored only when every object of its bundle is ---------------------------------

def test_a_push_whose_data_upload_fails_is_not_reported_stored(s3, monkeypatch):
    requests = S3Requests.install(monkeypatch)
    answer = lambda_handler(pull_event())
    answer = lambda_handler(pull_event(input={"x": 2}))
    requests.arm(lambda call: call.name == "PutObject bundle *_frame.pb", "error")  # the data, not the frame
    with pytest.raises(BundleStoreError, match="was not stored"):
        lambda_handler(push_event(answer, LARGE, fail_closed=True))
    assert "_frame.pb" in requests.failed.path
    assert_miss_with_key(lambda_handler(pull_event(input={"x": 2})), answer["key"])


# -- points 2 and 3: the bundle must name the key; uuids are plain uuids -------------------------------

def test_an_entry_pointing_at_another_keys_bundle_is_a_miss(s3):
    _, other_uuid = store({"other": LARGE}, input={"x": "other"})
    key, _ = store(LARGE)
    entry = entry_of(s3, key)
    write_entry(s3, key, {**entry, "uuid": other_uuid})
    assert_miss_with_key(lambda_handler(pull_event()), key)
    assert_repaired(LARGE)


@pytest.mark.parametrize("uuid", [None, "..", "../../x", "", 7, "00000000-0000-4000-8000-00000000000G"])
def test_hostile_uuids_are_misses_and_leave_the_local_context_intact(s3, uuid):
    key, _ = store(LARGE)
    write_entry(s3, key, {**entry_of(s3, key), "uuid": uuid})
    assert_miss_with_key(lambda_handler(pull_event()), key)
    assert_repaired({"after": uuid})  # the warm container still pushes (its disdat context survived)
    assert store({"n": 2}, input={"x": 3})


# -- point 4: bounded index reads ------------------------------------------------------------------

def test_a_huge_index_object_is_a_bounded_read_and_a_miss(s3, monkeypatch):
    key, _ = store({"v": 1})
    huge = {**entry_of(s3, key), "inline": "x" * 5_000_000}
    write_entry(s3, key, huge)
    requests = S3Requests.install(monkeypatch)
    assert_miss_with_key(lambda_handler(pull_event()), key)
    get = next(c for c in requests.calls if c.operation == "GetObject" and "/index/" in c.path)
    wanted = int(_text(get.headers["Range"]).split("-")[1])
    assert wanted < 100_000, "the GET asks for at most one legitimate entry's size"


# -- point 5: wrongly typed entries are misses --------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"material": "text"}, {"material": None}, {"created": "yesterday"}, {"created": True}, {"uuid": 12},
    {"size": "big"}, {"bundle": ["model"]}, {"v": "2"}, {"key": None},
    # issue 27: Python's json reads NaN and 1e999 (infinity); a NaN or infinite creation time would pass
    # every TTL comparison (NaN compares false) and be served forever
    {"created": float("nan")}, {"created": float("inf")}, {"created": float("-inf")},
])
def test_wrongly_typed_entries_are_misses_with_their_key(s3, change):
    key, _ = store({"v": 1})
    write_entry(s3, key, {**entry_of(s3, key), **change})
    assert_miss_with_key(lambda_handler(pull_event()), key)
    assert_repaired({"v": 2})


def test_an_entry_whose_created_is_nan_is_a_miss_when_no_ttl_applies(s3):
    key, _ = store({"v": 1})
    write_entry(s3, key, {**entry_of(s3, key), "created": float("nan")})  # json.dumps writes NaN
    assert lambda_handler(pull_event(ttl=None))["hit"] is False


def test_an_empty_index_object_is_a_miss_and_is_repaired(s3):
    """S3 answers a ranged GET of a 0-byte object with 416 InvalidRange (moto does too, checked in this test);
    the bounded read must take that as a broken entry, not fail every pull, and the next push replaces it."""
    key, _ = store({"v": 1})
    s3.put_object(Bucket=CACHE_BUCKET, Key=entry_key(config_for({}), "model", key), Body=b"")
    with pytest.raises(ClientError, match="InvalidRange"):
        s3.get_object(Bucket=CACHE_BUCKET, Key=entry_key(config_for({}), "model", key), Range="bytes=0-100")
    assert_miss_with_key(lambda_handler(pull_event()), key)
    assert_repaired({"v": 2})


@pytest.mark.parametrize("result", [{"text": "\ud800"}, {"\udfff": ["a\ud83d"]}, "\udc00" * 100],
                         ids=["high", "low-in-key-and-list", "many"])
def test_a_result_holding_a_lone_surrogate_is_stored_and_served_unchanged(s3, result):
    """A lone surrogate is a legal JSON escape (Step Functions passes it through); UTF-8 cannot encode it.
    Both the inline entry and the disdat bundle must keep it, as the escape it came in."""
    store(result)
    assert lambda_handler(pull_event())["data"] == result


def test_a_large_result_holding_a_lone_surrogate_is_served_from_its_bundle(s3):
    result = {"rows": list(range(200)), "name": "\ud800"}
    store(result)
    hit = lambda_handler(pull_event())
    assert hit["hit"] is True and hit["data"] == result


def test_an_entry_that_is_not_an_object_is_a_miss(s3):
    key, _ = store({"v": 1})
    for body in ([1, 2], "text", 3, None):
        write_entry(s3, key, body)
        assert_miss_with_key(lambda_handler(pull_event()), key)


# -- point 6: an unreadable bundle is a miss with its key, and the next push repairs it --------------

@pytest.mark.parametrize("lost", ["every object", "the data frame", "the bundle frame"])
def test_a_lost_bundle_is_a_miss_and_is_repaired(s3, lost):
    key, uuid = store(LARGE)
    names = [o["Key"]
             for o in s3.list_objects_v2(Bucket=CACHE_BUCKET, Prefix=objects_prefix(config_for({}), uuid))["Contents"]]
    doomed = {"every object": names, "the data frame": [n for n in names if not n.endswith("_hframe.pb")],
              "the bundle frame": [n for n in names if n.endswith("_hframe.pb")]}[lost]
    for name in doomed:
        s3.delete_object(Bucket=CACHE_BUCKET, Key=name)
    assert_miss_with_key(lambda_handler(pull_event()), key)
    assert_repaired({"rows": [9] * 100})


# -- point 7: lineage is best effort -----------------------------------------------------------------

@pytest.mark.parametrize("fault", ["error", "timeout"])
def test_a_failed_lineage_write_keeps_the_hit(s3, monkeypatch, fault):
    key, _ = store(LARGE)
    requests = S3Requests.install(monkeypatch)
    requests.arm("PutObject lineage", fault)
    hit = lambda_handler(pull_event())
    assert requests.failed.name == "PutObject lineage"
    assert hit["hit"] is True and hit["data"] == LARGE


# -- point 10: one warm Lambda, several buckets ------------------------------------------------------

def test_one_warm_runtime_serves_two_buckets_in_turn(s3, monkeypatch):
    s3.create_bucket(Bucket="second-cache")
    monkeypatch.setenv("SFN_CACHE_ALLOWED_BUCKETS", "s3://second-cache/other")  # tasks wrapped with another --bucket
    a, b = f"s3://{CACHE_BUCKET}/cache", "s3://second-cache/other"
    for turn, bucket in enumerate([a, b, a, b]):
        result = {"turn": turn, "rows": list(range(100))}
        answer = lambda_handler(pull_event(bucket=bucket, input={"turn": turn}))
        stored = lambda_handler(push_event(answer, result, bucket=bucket))
        assert stored["stored"] is True
        name, _, prefix = bucket[5:].partition("/")
        config = config_for({"bucket": bucket})
        assert s3.list_objects_v2(Bucket=name, Prefix=objects_prefix(config, stored["uuid"]))["KeyCount"] >= 2
        other = "second-cache" if name == CACHE_BUCKET else CACHE_BUCKET
        assert not s3.list_objects_v2(Bucket=other, Prefix=f"{'other' if name == CACHE_BUCKET else 'cache'}/"
                                      f"context/{config.context}/objects/{stored['uuid']}/").get("KeyCount")
    for turn, bucket in enumerate([a, b, a, b]):
        assert lambda_handler(pull_event(bucket=bucket, input={"turn": turn}))["data"]["turn"] == turn


# -- point 11 and issue 10 point 6: the TTL of the pull decides; 0 never serves ------------------------

def later(monkeypatch, seconds):
    real_time = runtime.time.time
    monkeypatch.setattr(runtime.time, "time", lambda: real_time() + seconds)


def test_a_shorter_ttl_applies_to_results_stored_under_a_longer_one(s3, monkeypatch):
    store({"v": 1}, ttl=7 * 86400)
    later(monkeypatch, 2 * 3600)
    assert lambda_handler(pull_event(ttl=7 * 86400))["hit"] is True
    assert lambda_handler(pull_event(ttl=3600))["hit"] is False  # redeployed with --ttl 1h
    assert lambda_handler(pull_event(ttl=None))["hit"] is True


def test_ttl_zero_never_serves(s3, monkeypatch):
    key, _ = store({"v": 1})
    assert_miss_with_key(lambda_handler(pull_event(ttl=0)), key)
    monkeypatch.setenv("SFN_CACHE_TTL", "0")
    assert_miss_with_key(lambda_handler(pull_event()), key)


def test_a_per_state_ttl_shortens_the_lambdas_default_and_never_lengthens_it(s3, monkeypatch):
    store({"v": 1})
    monkeypatch.setenv("SFN_CACHE_TTL", "7d")
    later(monkeypatch, 2 * 3600)
    assert lambda_handler(pull_event())["hit"] is True
    assert lambda_handler(pull_event(ttl=3600))["hit"] is False
    monkeypatch.setenv("SFN_CACHE_TTL", "1h")
    assert lambda_handler(pull_event(ttl=7 * 86400))["hit"] is False


@pytest.mark.parametrize("text,seconds", [
    ("7d", 604800), ("12h", 43200), ("90m", 5400), ("3600", 3600), ("2w", 1209600)])
def test_sfn_cache_ttl_takes_the_durations_of_wrap_ttl(text, seconds):
    assert config_for({"bucket": "s3://b"}, {"SFN_CACHE_TTL": text}).ttl == seconds


@pytest.mark.parametrize("text", ["7x", "-1", "1.5h", "seven days"])
def test_a_malformed_sfn_cache_ttl_is_refused_with_what_is_expected(text):
    with pytest.raises(CacheConfigError, match=r"SFN_CACHE_TTL=.*expected seconds or a number with s, m, h, d or w"):
        config_for({"bucket": "s3://b"}, {"SFN_CACHE_TTL": text})


def test_a_malformed_sfn_cache_ttl_is_answered_per_call_not_a_failed_cold_start():
    """Protocol 5: a failed init is a Lambda error, which the cache states' States.TaskFailed retrier
    retries three times per call; a failure the handler answers is not retried (and is counted)."""
    env = {"SFN_CACHE_TTL": "7 days", "SFN_CACHE_BUCKET": "s3://b/cache", "SFN_CACHE_METRICS": "off",
           "PATH": "/usr/bin:/bin"}
    code = ("import json; from sfn_cache.runtime.handler import lambda_handler; print(json.dumps(lambda_handler("
            "{'sfn_cache': 'pull', 'protocol': 5, 'state': 'T', 'resource': 'r', 'input': {}})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["hit"] is False and answer["key"] is None
    assert answer["failed"].startswith("CacheConfigError: SFN_CACHE_TTL='7 days' is not a duration")


# -- point 12: entries and pushes stay bounded however long the execution ----------------------------

def test_lineage_stays_bounded_in_entries_and_requests(s3, monkeypatch):
    monkeypatch.setattr(runtime.lineage, "DEPENDENCIES_MAX", 5)
    monkeypatch.setattr(runtime.lineage.earlier, "__defaults__", (5, None))
    requests = S3Requests.install(monkeypatch)
    sizes, listings = [], []
    for n in range(12):  # one execution, twelve cached iterations (a Map)
        answer = lambda_handler(pull_event(input={"item": n}))
        requests.record()
        lambda_handler(push_event(answer, {"item": n}))
        listings.append(sum(1 for c in requests.calls if c.operation == "ListObjectsV2" and "executions" in c.path))
        sizes.append(len(json.dumps(entry_of(s3, answer["key"]))))
    assert listings == [1] * 12, "one LIST per push, whatever the execution's size"
    assert max(sizes) - min(sizes) <= 4, sizes  # constant: a reference to the log, not the list
    from disdat.hyperframe_pb2 import HyperFrame
    last = entry_of(s3, answer["key"])
    frame = s3.get_object(Bucket=CACHE_BUCKET,
                          Key=objects_prefix(config_for({}), last["uuid"]) + f"{last['uuid']}_hframe.pb")
    deps = HyperFrame.FromString(frame["Body"].read()).lineage.depends_on
    assert len(deps) == 5


def _text(value) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else value
