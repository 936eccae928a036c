"""The IAM policy that ``build-lambda`` writes is enough for the runtime, and nothing more.

moto enforces IAM on S3 here (``set_initial_no_auth_action_count``): the handler runs with the
credentials of a user whose only permissions are the generated policy. moto checks actions and
resource ARNs but not the ``s3:prefix`` condition, so the requests themselves are recorded and
checked: no HeadBucket, and no listing outside the cache prefix (issue 12 point 13).
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from sfn_cache.deploy.deploy_files import iam_policy, operator_policy
from sfn_cache.local.engine import REGION
from sfn_cache.local.world import fresh_aws_clients
from sfn_cache.runtime.handler import lambda_handler
from tests.support.s3_faults import S3Requests

PULL = {"sfn_cache": "pull", "protocol": 5, "state": "Train", "bundle": "model", "ttl": None,
        "resource": "arn:aws:lambda:us-east-1:1:function:train", "cache_version": "", "force": False,
        "input": {"x": 1}, "execution": "arn:aws:states:us-east-1:1:execution:m:run"}


def moto_policy(bucket_url: str, policy: dict | None = None) -> dict:
    policy = policy or iam_policy(bucket_url)
    listing = next(s for s in policy["Statement"] if s["Action"] == "s3:ListBucket")
    policy["Statement"].append({"Effect": "Allow", "Action": "s3:HeadBucket", "Resource": listing["Resource"]})
    objects = policy["Statement"][0]["Resource"]  # the whole cache prefix
    if any(s["Action"] == "s3:DeleteObject" and s["Resource"] == objects for s in policy["Statement"]):
        # moto authorises a DeleteObjects request as s3:DeleteObject on the bucket before checking each
        # key; AWS checks s3:DeleteObject per key only (API_DeleteObjects, Permissions)
        policy["Statement"].append({"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": listing["Resource"]})
    return policy


def as_user_with(policy_for: str, monkeypatch, tmp_path, policy: dict | None = None) -> None:
    """Create the bucket, then switch every client to a user holding only ``policy`` (by default
    ``iam_policy(policy_for)``)."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    fresh_aws_clients(monkeypatch)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="cache")
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="cache-lambda")
    iam.put_user_policy(UserName="cache-lambda", PolicyName="sfn-cache",
                        PolicyDocument=json.dumps(moto_policy(policy_for, policy)))
    key = iam.create_access_key(UserName="cache-lambda")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.setenv("SFN_CACHE_BUCKET", "s3://cache/team")
    monkeypatch.setenv("SFN_CACHE_LOCAL_ROOT", str(tmp_path / "local"))
    fresh_aws_clients(monkeypatch)


@set_initial_no_auth_action_count(4)
@mock_aws
def test_the_generated_policy_allows_miss_push_and_hit(monkeypatch, tmp_path):
    as_user_with("s3://cache/team", monkeypatch, tmp_path)
    requests = S3Requests.install(monkeypatch)
    leader = {**PULL, "concurrent": "wait", "lease": 60}  # leases too: taken, then released by the push
    miss = lambda_handler(leader)
    assert miss["hit"] is False and miss["wait"] is False
    big = {"rows": list(range(5000))}  # not inlined: the hit reads the disdat bundle
    stored = lambda_handler({**leader, "sfn_cache": "push", "key": miss["key"], "base": miss["base"], "result": big})
    assert stored["stored"] is True
    assert lambda_handler(PULL)["data"] == big
    s3 = boto3.client("s3", region_name=REGION)
    assert "Contents" not in s3.list_objects_v2(Bucket="cache", Prefix="team/sfn-cache/leases/")
    operations = {call.operation for call in requests.calls}
    assert "HeadBucket" not in operations and {"GetObject", "PutObject", "DeleteObject"} <= operations
    listings = [call.path for call in requests.calls if call.operation.startswith("ListObjects")]
    assert listings and all("prefix=team/" in path for path in listings), listings
    with pytest.raises(ClientError, match="AccessDenied"):
        boto3.client("s3", region_name=REGION).put_object(Bucket="cache", Key="elsewhere/x", Body=b"x")


@set_initial_no_auth_action_count(4)
@mock_aws
def test_access_denied_is_an_error_on_pull_and_push(monkeypatch, tmp_path):
    as_user_with("s3://other-bucket/team", monkeypatch, tmp_path)
    with pytest.raises(ClientError, match="AccessDenied"):
        lambda_handler({**PULL, "fail_closed": True})
    key_material = {"bundle": "model", "cache_version": "", "form": "raw", "input": {"x": 1},
                    "resource": PULL["resource"]}
    from sfn_cache.runtime.keys import cache_key

    with pytest.raises(Exception, match="AccessDenied|not stored"):
        lambda_handler({**PULL, "sfn_cache": "push", "key": cache_key(key_material), "material": key_material,
                        "base": None, "result": {"ok": 1}, "fail_closed": True})


@set_initial_no_auth_action_count(4)
@mock_aws
def test_doctor_removes_its_probe_when_the_round_trip_fails(monkeypatch, tmp_path):
    """A broken round trip (here: bundle objects cannot be read back) is reported, and what the probe
    wrote is removed all the same: no doctor bundle left in ls/stats."""
    from sfn_cache.admin import doctor
    from sfn_cache.runtime.config import config_for

    policy = operator_policy("s3://cache/team")
    policy["Statement"].append({"Effect": "Deny", "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::cache/team/context/*"})
    as_user_with("s3://cache/team", monkeypatch, tmp_path, policy)
    checks = {check.name: check for check in doctor.run(config_for({}))}
    assert not checks["round trip"].ok
    # an unreadable bundle is a miss, never an error (issue 12): the stored result does not come back
    assert "did not come back" in checks["round trip"].detail
    left = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket="cache", Prefix="team/").get("Contents", [])
    assert [item["Key"] for item in left] == []


@set_initial_no_auth_action_count(4)
@mock_aws
def test_doctor_without_delete_permission_does_not_claim_it_cleaned_up(monkeypatch, tmp_path):
    """DeleteObjects answers 200 with a per-key AccessDenied: with only the function's policy, doctor
    must say the clean-up failed instead of "removed again", and rm must not count objects it kept."""
    from sfn_cache.admin import doctor, inventory
    from sfn_cache.errors import SfnCacheError
    from sfn_cache.runtime.config import config_for

    as_user_with("s3://cache/team", monkeypatch, tmp_path)  # iam_policy: no s3:DeleteObject
    round_trip = {check.name: check for check in doctor.run(config_for({}))}["round trip"]
    assert not round_trip.ok and "clean up" in round_trip.detail and "AccessDenied" in round_trip.detail
    s3 = boto3.client("s3", region_name=REGION)
    entry = next(inventory.entries(s3, config_for({})))
    with pytest.raises(SfnCacheError, match="AccessDenied"):
        inventory.remove(s3, config_for({}), [entry])


@pytest.mark.parametrize("url", ["s3://cache/team*", "s3://cache/te?m", "s3://cache/${aws:username}", "s3://cache*"])
def test_wildcards_in_the_cache_url_are_refused_not_granted(url):
    from sfn_cache.runtime.config import CacheConfigError

    with pytest.raises(CacheConfigError, match="wildcard or policy variable"):
        iam_policy(url)


def test_the_listing_grant_is_conditioned_on_the_prefix_without_ifexists():
    policy = iam_policy("s3://cache/team")
    listing = next(s for s in policy["Statement"] if s["Action"] == "s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["team", "team/*"]}}
    deletes = [s for s in policy["Statement"] if "DeleteObject" in json.dumps(s["Action"])]
    assert [s["Resource"] for s in deletes] == ["arn:aws:s3:::cache/team/sfn-cache/leases/*"]
