"""The caching Lambda's handler against moto's S3, with real disdat bundles."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import threading

import boto3
import pytest
from botocore.exceptions import ClientError

from sfn_cache.local.engine import CACHE_BUCKET, REGION, function_arn
from sfn_cache.runtime import handler as runtime
from sfn_cache.runtime.bundles import frame_key, read_bundle
from sfn_cache.runtime.config import config_for
from sfn_cache.runtime.handler import CacheEventError, lambda_handler
from sfn_cache.runtime.index import entry_key, material_key
from sfn_cache.runtime.keys import cache_key, canonical_json, key_material
from tests.support.events import pull_event, push_event


def store(result, **fields):
    answer = lambda_handler(pull_event(**fields))
    assert answer["hit"] is False
    stored = lambda_handler(push_event(answer, result, **{k: v for k, v in fields.items() if k == "ttl"}))
    assert stored["stored"] is True
    return answer, stored


def s3():
    return boto3.client("s3", region_name=REGION)


def test_miss_push_hit_inline(aws):
    answer, stored = store({"auc": 0.91, "uri": "s3://models/1"})
    assert answer | {"pulled": None} == {
        "hit": False, "key": cache_key(key_material(pull_event(), "harness")), "forced": False, "pulled": None,
        "base": None, "wait": False, "execution": "arn:exec:1", "state_machine": "arn:sm"}, "what the push echoes"
    hit = lambda_handler(pull_event())
    assert hit == {"hit": True, "data": {"auc": 0.91, "uri": "s3://models/1"}}, "only what the machine needs"
    entry = json.loads(
        s3().get_object(Bucket=CACHE_BUCKET, Key=entry_key(config_for({}), "model", answer["key"]))["Body"].read())
    assert entry["inline"] == {"auc": 0.91, "uri": "s3://models/1"}
    assert entry["material"] == key_material(pull_event(), "harness") and entry["uuid"] == stored["uuid"]


def test_the_push_reads_the_key_material_its_pull_kept(aws):
    """The push payload carries key and result only: the material travels through S3, not the machine."""
    answer = lambda_handler(pull_event())
    kept = s3().get_object(Bucket=CACHE_BUCKET, Key=material_key(config_for({}), "model", answer["key"]))
    assert json.loads(kept["Body"].read()) == key_material(pull_event(), "harness")
    assert "material" not in push_event(answer, {"v": 1})
    assert lambda_handler(push_event(answer, {"v": 1}))["stored"] is True


def test_a_result_too_large_for_a_hit_is_not_stored(aws, caplog):
    """A hit answer over 256 KiB would fail the execution on AWS (States.DataLimitExceeded):
    such a result is not cached, so the task runs uncached for this input, every time."""
    answer = lambda_handler(pull_event())
    big = {"blob": "x" * (256 * 1024 - 30)}  # fits as the task's own result; not with the hit envelope
    assert len(json.dumps(big)) < 256 * 1024
    stored = lambda_handler(push_event(answer, big))
    assert stored == {"stored": False, "reason": "too large for a hit", "key": answer["key"]}
    assert "too large to come back through a hit" in caplog.text and "'Train'" in caplog.text
    assert lambda_handler(pull_event())["hit"] is False
    fits = {"blob": "x" * (256 * 1024 - 40)}
    assert lambda_handler(push_event(answer, fits))["stored"] is True
    assert lambda_handler(pull_event()) == {"hit": True, "data": fits}


def test_large_results_are_read_from_the_disdat_bundle(aws, monkeypatch):
    monkeypatch.setenv("SFN_CACHE_INLINE_MAX_BYTES", "10")
    result = {"rows": list(range(100))}
    answer, stored = store(result)
    config = config_for({})
    entry = json.loads(
        s3().get_object(Bucket=CACHE_BUCKET, Key=entry_key(config, "model", answer["key"]))["Body"].read())
    assert "inline" not in entry
    assert s3().head_object(Bucket=CACHE_BUCKET, Key=frame_key(config, stored["uuid"]))
    assert json.loads(read_bundle(config, stored["uuid"])) == result
    assert lambda_handler(pull_event())["data"] == result


def test_no_bundle_is_kept_in_the_local_context(aws, monkeypatch):
    """A warm Lambda must not pile bundles up in /tmp: disdat's pull gets far costlier past 2000."""
    from sfn_cache.runtime.bundles import _api

    monkeypatch.setenv("SFN_CACHE_INLINE_MAX_BYTES", "10")
    result = {"rows": list(range(100))}
    store(result)
    config = config_for({})
    assert list(_api(config).search(config.context)) == []
    for _ in range(2):  # every hit fetches from S3 again and leaves nothing behind
        assert lambda_handler(pull_event())["data"] == result
        assert list(_api(config).search(config.context)) == []


def test_every_part_of_the_key_matters(aws):
    store({"v": 1})
    assert lambda_handler(pull_event())["hit"] is True
    for change in ({"input": {"x": 2}}, {"input": {"x": 1, "y": None}}, {"resource": "arn:other"},
                   {"bundle": "other"}, {"cache_version": "2"}, {"form": "selected {}"}):
        assert lambda_handler(pull_event(**change))["hit"] is False, change


def test_numbers_keep_their_json_type(aws):
    """1 and 1.0 are different JSON texts and different values for the task's code: different keys.
    Spellings of one double (1.0, 1.00, 10e-1) are one value once parsed: one key."""
    store({"v": 1}, input={"threshold": 1.0, "nested": [2.0]})
    assert lambda_handler(pull_event(input={"nested": [2], "threshold": 1}))["hit"] is False
    assert lambda_handler(pull_event(input=json.loads('{"nested": [2.00], "threshold": 10e-1}')))["hit"] is True
    assert canonical_json({"b": 1.5, "a": "é", "c": 1.0, "d": 1, "e": 1e100}) == \
        '{"a":"é","b":1.5,"c":1.0,"d":1,"e":1e+100}'


def test_ttl_expiry(aws, monkeypatch):
    store({"v": 1}, ttl=60)
    assert lambda_handler(pull_event(ttl=60))["hit"] is True
    real_time = runtime.time.time
    monkeypatch.setattr(runtime.time, "time", lambda: real_time() + 61)
    assert lambda_handler(pull_event(ttl=60))["hit"] is False


def test_ttl_default_from_the_environment(aws, monkeypatch):
    monkeypatch.setenv("SFN_CACHE_TTL", "5")
    store({"v": 1})
    real_time = runtime.time.time
    monkeypatch.setattr(runtime.time, "time", lambda: real_time() + 6)
    assert lambda_handler(pull_event())["hit"] is False


def test_force_at_wrap_time_and_at_run_time(aws):
    store({"v": 1})
    forced = lambda_handler(pull_event(force=True))
    assert forced | {"base": None, "pulled": None} == {
        "hit": False, "key": cache_key(key_material(pull_event(), "harness")), "forced": True,
        "base": None, "wait": False, "pulled": None, "execution": "arn:exec:1", "state_machine": "arn:sm"}
    assert forced["base"], "a forced miss names the entry it will replace"
    assert lambda_handler(pull_event(run_force=True))["forced"] is True
    assert lambda_handler(pull_event(run_force=["Train"]))["forced"] is True
    assert lambda_handler(pull_event(run_force=["model"]))["forced"] is True
    assert lambda_handler(pull_event(run_force=["Other"]))["hit"] is True
    assert lambda_handler(pull_event(run_force="force"))["hit"] is True
    assert lambda_handler(pull_event(run_force=None))["hit"] is True


def test_corrupted_or_foreign_index_entries_are_misses(aws, caplog):
    answer, _ = store({"v": 1})
    key = entry_key(config_for({}), "model", answer["key"])
    s3().put_object(Bucket=CACHE_BUCKET, Key=key, Body=b"{not json")
    assert lambda_handler(pull_event())["hit"] is False
    assert "unreadable index entry" in caplog.text
    s3().put_object(Bucket=CACHE_BUCKET, Key=key, Body=json.dumps(
        {"v": 1, "key": answer["key"], "material": key_material(pull_event(input={"x": 999}), "harness"),
         "inline": {"v": 2}, "uuid": "u", "expires": None}).encode())
    assert lambda_handler(pull_event())["hit"] is False, "material is re-checked on every hit"


@pytest.mark.parametrize("event,message", [
    ([1], "event: expected a JSON object, got \\[1\\]"),
    ({"sfn_cache": "delete", "protocol": 5}, "field 'sfn_cache': expected \"pull\" or \"push\", got \"delete\""),
    ({"protocol": 5}, "field 'sfn_cache': expected \"pull\" or \"push\", got null"),
    ({**pull_event(), "protocol": 2}, "field 'protocol': expected 5 \\(this handler's protocol\\), got 2"),
    ({**pull_event(), "protocol": 4}, "field 'protocol': expected 5 \\(this handler's protocol\\), got 4"),
])
def test_events_that_are_not_ours_or_of_an_older_protocol_raise(aws, event, message):
    """Not a cache event at all, or a machine of protocol 4 or earlier: its Catch (or its failing)
    decides, as it did, and its retrier does not retry what the handler raised."""
    with pytest.raises(CacheEventError, match=message):
        lambda_handler(event)


@pytest.mark.parametrize("event,message", [
    ({**pull_event(), "protocol": 6}, "field 'protocol': expected 5 \\(this handler's protocol\\), got 6"),
    ({k: v for k, v in pull_event().items() if k != "input"}, "field 'input': missing from the pull event"),
    ({**pull_event(), "bundle": ""}, "field 'bundle': expected a non-empty string \\(the bundle name\\), got \"\""),
    ({**push_event({"key": "0" * 64}, 1), "ttl": "1h"}, "field 'ttl': expected a whole number of seconds"),
])
def test_bad_events_are_answered_naming_the_field_or_raise_when_fail_closed(aws, event, message):
    answer = lambda_handler(dict(event))
    if event["sfn_cache"] == "pull":
        assert answer["hit"] is False and answer["key"] is None and answer["wait"] is False
    else:
        assert answer["stored"] is False and answer["reason"] == "failed"
    assert re.match("CacheEventError: " + message, answer["failed"])
    with pytest.raises(CacheEventError, match=message):
        lambda_handler({**event, "fail_closed": True})
    assert not s3().list_objects_v2(Bucket=CACHE_BUCKET).get("Contents"), "nothing is stored"


def test_push_without_key_stores_nothing_and_a_forged_key_is_refused(aws):
    assert lambda_handler(push_event({"key": None}, {"v": 1})) == {"stored": False, "reason": "no key"}
    lambda_handler(pull_event())
    assert lambda_handler(push_event({"key": "0" * 64}, {"v": 1})) == {"stored": False, "reason": "no key material"}
    assert lambda_handler(pull_event())["hit"] is False


def test_a_missing_bucket_is_answered_on_pull_and_push_and_raises_when_fail_closed(aws, monkeypatch):
    answer = lambda_handler(pull_event())
    monkeypatch.setenv("SFN_CACHE_BUCKET", "s3://no-such-bucket-here/cache")
    failed = lambda_handler(pull_event())
    assert failed == {"hit": False, "key": None, "forced": False, "pulled": None, "base": None, "wait": False,
                      "failed": failed["failed"]}
    assert failed["failed"].startswith("NoSuchBucket: ")
    stored = lambda_handler(push_event(answer, {"v": 1}))
    assert stored["stored"] is False and stored["reason"] == "failed" and "NoSuchBucket" in stored["failed"]
    with pytest.raises(ClientError, match="NoSuchBucket"):
        lambda_handler(pull_event(fail_closed=True))
    with pytest.raises(ClientError, match="NoSuchBucket"):
        lambda_handler(push_event(answer, {"v": 1}, fail_closed=True))


def test_no_bucket_configured_is_a_clear_error(aws, monkeypatch):
    monkeypatch.delenv("SFN_CACHE_BUCKET")
    assert "no cache bucket" in lambda_handler(pull_event())["failed"]
    with pytest.raises(ValueError, match="no cache bucket"):
        lambda_handler(pull_event(fail_closed=True))


def test_concurrent_pushes_of_one_key_both_succeed(aws):
    answer = lambda_handler(pull_event())
    outcomes, errors = [], []

    def push(n):
        try:
            outcomes.append(lambda_handler(push_event(answer, {"writer": n})))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len({o["uuid"] for o in outcomes}) == 4
    hit = lambda_handler(pull_event())
    entry = json.loads(
        s3().get_object(Bucket=CACHE_BUCKET, Key=entry_key(config_for({}), "model", answer["key"]))["Body"].read())
    assert entry["uuid"] in {o["uuid"] for o in outcomes}
    assert json.loads(read_bundle(config_for({}), entry["uuid"])) == hit["data"]


def test_importing_the_handler_stays_light():
    code = ("import sys, sfn_cache.runtime.handler; "
            "print(sorted(m for m in ('click', 'yaml', 'disdat', 'pandas', 'sfn_cache.rewrite.wrap') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_hit_on_an_inlined_result_never_imports_disdat(tmp_path):
    script = textwrap.dedent(f"""
        import os, sys, json
        os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="{REGION}",
                          SFN_CACHE_BUCKET="s3://{CACHE_BUCKET}/cache", SFN_CACHE_LOCAL_ROOT={str(tmp_path)!r})
        from moto import mock_aws
        import boto3
        from sfn_cache.runtime.config import config_for
        from sfn_cache.runtime.handler import lambda_handler
        from sfn_cache.runtime.index import KeyIndex
        from sfn_cache.runtime.keys import cache_key, canonical_json, key_material
        event = json.loads({json.dumps(json.dumps(pull_event()))})
        with mock_aws():
            s3 = boto3.client("s3", region_name="{REGION}")
            s3.create_bucket(Bucket="{CACHE_BUCKET}")
            material = key_material(event, config_for(event).context)
            KeyIndex(s3, config_for(event)).put({{"v": 2, "key": cache_key(material), "bundle": "model",
                "material": material, "uuid": "00000000-0000-4000-8000-000000000001", "created": 1.0,
                "size": 10, "inline": {{"auc": 1}}}}, None)
            answer = lambda_handler(event)
        print(json.dumps([answer["hit"], answer["data"], "disdat" in sys.modules, "pandas" in sys.modules]))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, {"auc": 1}, False, False]


def test_key_is_sha256_of_canonical_material():
    material = key_material(pull_event(), "harness")
    import hashlib
    assert cache_key(material) == hashlib.sha256(canonical_json(material).encode()).hexdigest()
    assert len(cache_key(material)) == 64 and set(cache_key(material)) <= set("0123456789abcdef")


def test_a_leader_whose_pull_fails_after_taking_the_lease_releases_it(aws, monkeypatch):
    """Review of protocol 5: its answer has no key, so its push releases nothing; the followers would
    wait out the lease (an hour) for a result that never comes."""
    from sfn_cache.runtime.index import KeyIndex

    wait = {"concurrent": "wait", "lease": 3600}
    with monkeypatch.context() as patched:
        patched.setattr(KeyIndex, "put_material", lambda *args, **kwargs: (_ for _ in ()).throw(OSError("S3 down")))
        answer = lambda_handler(pull_event(**wait))
    assert answer["key"] is None and "S3 down" in answer["failed"]
    follower = lambda_handler(pull_event(**wait, execution="arn:exec:2"))
    assert follower["wait"] is False and follower["key"], "the next pull leads at once"


def test_a_pull_too_late_to_lead_takes_no_lease(aws, monkeypatch):
    """The function times out at 150 s, its state at 120: a pull still running after its state timed
    out must not lead the key, since its machine ran the task without a key and no push releases it."""
    monkeypatch.setattr(runtime, "CLAIM_WITHIN_SECONDS", -1)
    wait = {"concurrent": "wait", "lease": 3600}
    late = lambda_handler(pull_event(**wait))
    assert late["key"] is None and "too late to lead the key" in late["failed"]
    assert not [o["Key"] for o in s3().list_objects_v2(Bucket=CACHE_BUCKET).get("Contents", [])
                if "/leases/" in o["Key"]]
    monkeypatch.setattr(runtime, "CLAIM_WITHIN_SECONDS", 100)
    assert lambda_handler(pull_event(**wait, execution="arn:exec:2"))["wait"] is False


def test_runtime_defaults_give_the_key_and_answer_of_the_explicit_fields(aws):
    short = {"sfn_cache": "pull", "protocol": 5, "state": "Work", "resource": function_arn("work"),
             "input": {"x": 1}, "execution": "arn:exec:1", "state_machine": "arn:sm"}
    explicit = {**short, "bundle": "Work", "ttl": None, "cache_version": "", "form": "raw", "force": False}
    def answer(event: dict) -> dict:  # without the pull's clock, which differs between any two calls
        return {field: value for field, value in lambda_handler(dict(event)).items() if field != "pulled"}

    miss = answer(short)
    assert miss == answer(explicit) and miss["hit"] is False
    stored = lambda_handler({"sfn_cache": "push", "protocol": 5, "state": "Work", "key": miss["key"],
                             "result": {"v": 1}, "execution": "arn:exec:1"})
    assert stored["stored"] is True
    hit = answer(explicit)
    assert hit["hit"] is True and hit["data"] == {"v": 1} and answer(short) == hit
