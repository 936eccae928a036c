"""The IAM policy that ``build-lambda`` writes is enough for the runtime, and nothing more.

moto enforces IAM on S3 here (``set_initial_no_auth_action_count``): the handler runs with the
credentials of a user whose only permissions are the generated policy. Two differences from AWS,
both in moto: it checks actions and resource ARNs but not the ``s3:prefix`` condition, and it asks
for an ``s3:HeadBucket`` action where AWS authorises HeadBucket (which disdat calls) as
``s3:ListBucket`` on the bucket; ``moto_policy`` adds that one statement.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from conftest import fresh_aws_clients
from harness import REGION
from sfn_cache.deploy_files import iam_policy
from sfn_cache.runtime.handler import lambda_handler

PULL = {"sfn_cache": "pull", "protocol": 2, "state": "Train", "bundle": "model", "ttl": None,
        "resource": "arn:aws:lambda:us-east-1:1:function:train", "cache_version": "", "force": False,
        "input": {"x": 1}, "execution": "arn:aws:states:us-east-1:1:execution:m:run"}


def moto_policy(bucket_url: str) -> dict:
    policy = iam_policy(bucket_url)
    listing = next(s for s in policy["Statement"] if s["Action"] == "s3:ListBucket")
    policy["Statement"].append({"Effect": "Allow", "Action": "s3:HeadBucket", "Resource": listing["Resource"]})
    return policy


def as_user_with(policy_for: str, monkeypatch, tmp_path) -> None:
    """Create the bucket, then switch every client to a user holding only ``iam_policy(policy_for)``."""
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
                        PolicyDocument=json.dumps(moto_policy(policy_for)))
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
    miss = lambda_handler(PULL)
    assert miss["hit"] is False
    big = {"rows": list(range(5000))}  # not inlined: the hit reads the disdat bundle
    stored = lambda_handler({**PULL, "sfn_cache": "push", "key": miss["key"],
                             "result": big})
    assert stored["stored"] is True
    assert lambda_handler(PULL)["data"] == big
    with pytest.raises(ClientError, match="AccessDenied"):
        boto3.client("s3", region_name=REGION).put_object(Bucket="cache", Key="elsewhere/x", Body=b"x")


@set_initial_no_auth_action_count(4)
@mock_aws
def test_access_denied_is_an_error_on_pull_and_push(monkeypatch, tmp_path):
    as_user_with("s3://other-bucket/team", monkeypatch, tmp_path)
    with pytest.raises(ClientError, match="AccessDenied"):
        lambda_handler(PULL)
    key_material = {"bundle": "model", "cache_version": "", "form": "raw", "input": {"x": 1},
                    "resource": PULL["resource"]}
    from sfn_cache.runtime.keys import cache_key

    with pytest.raises(Exception, match="AccessDenied|not stored"):
        lambda_handler({**PULL, "sfn_cache": "push", "key": cache_key(key_material), "material": key_material,
                        "result": {"ok": 1}})
