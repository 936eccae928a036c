"""Every AWS request the cache makes is allowed by the policy build-lambda writes, and nothing more is granted.

moto does not check that a PutObject carrying an ACL header also needs ``s3:PutObjectAcl``, nor
condition keys, so a policy test that runs the handler as an IAM user in moto cannot see a missing
permission of that kind. Here every request is recorded where botocore makes it (all clients: ours,
disdat's, s3transfer's) and checked against the generated policy with a table of operation ->
required actions written from the AWS documentation ("Actions, resources, and condition keys for
Amazon S3", and the Permissions section of each S3 API page), not from our code. A request whose
operation is not in the table fails the test: a new call must be looked up and added.
"""

from __future__ import annotations

import fnmatch
import json

import pytest
from click.testing import CliRunner

from sfn_cache.cli import cli
from sfn_cache.deploy.deploy_files import iam_policy, operator_policy
from sfn_cache.local.engine import CACHE_BUCKET
from sfn_cache.runtime.handler import lambda_handler
from tests.support.events import pull_event

CACHE_URL = f"s3://{CACHE_BUCKET}/cache"  # the aws fixture's SFN_CACHE_BUCKET
ACL_PARAMS = ("ACL", "GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP")


def _object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _upload(params: dict) -> list[tuple[str, str, dict]]:
    """PutObject / CreateMultipartUpload / the destination of CopyObject (API_PutObject, Permissions)."""
    target = _object(params["Bucket"], params["Key"])
    needed = [("s3:PutObject", target, {})]
    if any(name in params for name in ACL_PARAMS):
        needed.append(("s3:PutObjectAcl", target, {"s3:x-amz-acl": params.get("ACL")}))
    if "Tagging" in params:
        needed.append(("s3:PutObjectTagging", target, {}))
    if params.get("ServerSideEncryption") == "aws:kms":
        needed.append(("kms:GenerateDataKey", params.get("SSEKMSKeyId", "*"), {}))
    return needed


REQUIRED = {
    ("s3", "GetObject"): lambda p: [("s3:GetObject", _object(p["Bucket"], p["Key"]), {})],
    ("s3", "HeadObject"): lambda p: [("s3:GetObject", _object(p["Bucket"], p["Key"]), {})],
    ("s3", "PutObject"): _upload,
    ("s3", "CreateMultipartUpload"): _upload,
    ("s3", "UploadPart"): lambda p: [("s3:PutObject", _object(p["Bucket"], p["Key"]), {})],
    ("s3", "CompleteMultipartUpload"): lambda p: [("s3:PutObject", _object(p["Bucket"], p["Key"]), {})],
    ("s3", "AbortMultipartUpload"): lambda p: [("s3:AbortMultipartUpload", _object(p["Bucket"], p["Key"]), {})],
    ("s3", "CopyObject"): lambda p: _upload(p) + [
        ("s3:GetObject", _object(p["CopySource"]["Bucket"], p["CopySource"]["Key"]), {})],
    ("s3", "ListObjectsV2"): lambda p: [
        ("s3:ListBucket", f"arn:aws:s3:::{p['Bucket']}", {"s3:prefix": p.get("Prefix")})],
    ("s3", "ListObjects"): lambda p: [("s3:ListBucket", f"arn:aws:s3:::{p['Bucket']}", {"s3:prefix": p.get("Prefix")})],
    ("s3", "HeadBucket"): lambda p: [("s3:ListBucket", f"arn:aws:s3:::{p['Bucket']}", {"s3:prefix": None})],
    ("s3", "DeleteObject"): lambda p: [("s3:DeleteObject", _object(p["Bucket"], p["Key"]), {})],
    ("s3", "DeleteObjects"): lambda p: [("s3:DeleteObject", _object(p["Bucket"], o["Key"]), {})
                                        for o in p["Delete"]["Objects"]],
    ("lambda", "GetFunctionConfiguration"): lambda p: [("lambda:GetFunctionConfiguration", p["FunctionName"], {})],
    ("sts", "GetCallerIdentity"): lambda p: [],  # needs no permission (AWS STS API reference)
}


def _condition_holds(operator: str, expected: dict, context: dict) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if base not in ("StringEquals", "StringLike"):
        raise AssertionError(f"the policy uses condition operator {operator}: teach this test its rule")
    for key, allowed in expected.items():
        value = context.get(key)
        if value is None:
            if not if_exists:
                return False
            continue
        patterns = allowed if isinstance(allowed, list) else [allowed]
        match = (lambda v, p: v == p) if base == "StringEquals" else fnmatch.fnmatchcase
        if not any(match(value, pattern) for pattern in patterns):
            return False
    return True


def allowing_statements(policy: dict, action: str, resource: str, context: dict) -> list[dict]:
    """The Allow statements that grant ``action`` on ``resource`` in ``context`` (IAM's evaluation
    for identity policies without Deny: any matching Allow)."""
    found = []
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Effect"] != "Allow":
            continue
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in resources):
            continue
        if all(_condition_holds(op, expected, context) for op, expected in statement.get("Condition", {}).items()):
            found.append(statement)
    return found


def check_against(policy: dict, made: list[tuple[str, str, dict]]) -> set[str]:
    """Assert every request is allowed; return the actions the requests needed."""
    used = set()
    for service, operation, params in made:
        assert (service, operation) in REQUIRED, (
            f"{service}:{operation} is not in the table: look up the actions it needs in the AWS docs and add it")
        for action, resource, context in REQUIRED[(service, operation)](params):
            assert allowing_statements(policy, action, resource, context), (
                f"{operation} {params.get('Key') or params.get('Prefix') or ''} needs {action} on {resource} "
                f"{context or ''}, which the generated policy does not grant")
            used.add(action)
    return used


def granted_actions(policy: dict) -> set[str]:
    actions = set()
    for statement in policy["Statement"]:
        actions.update(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    return actions


def pull(**fields) -> dict:
    """test_runtime's pull event, with real execution and state machine ARNs."""
    return pull_event(**{"execution": "arn:aws:states:us-east-1:1:execution:m:run",
                         "state_machine": "arn:aws:states:us-east-1:1:stateMachine:m", **fields})


def test_runtime_requests_are_exactly_what_the_function_policy_grants(aws, requests):
    """Miss, push (a bundle), hit on an inlined result, hit read from the bundle, lineage on."""
    miss = lambda_handler(pull())
    lambda_handler({**pull(), "sfn_cache": "push", "key": miss["key"], "base": miss["base"], "result": {"auc": 0.9}})
    assert lambda_handler(pull())["hit"] is True
    big_miss = lambda_handler(pull(input={"x": 2}))
    big = {"rows": list(range(10000))}  # over the inline limit: the hit pulls the disdat bundle
    lambda_handler({**pull(input={"x": 2}), "sfn_cache": "push", "key": big_miss["key"],
                    "base": big_miss["base"], "result": big})
    assert lambda_handler(pull(input={"x": 2}))["data"] == big
    leader = pull(input={"x": 3}, concurrent="wait", lease=60)  # a lease taken, then released by the push
    led = lambda_handler(leader)
    lambda_handler({**leader, "sfn_cache": "push", "key": led["key"], "base": led["base"], "result": {"auc": 0.5}})

    operations = {operation for _, operation, _ in requests}
    assert {"GetObject", "PutObject", "ListObjectsV2", "DeleteObject"} <= operations
    assert "HeadBucket" not in operations, "disdat's bucket check is skipped (issue 12 point 13)"
    assert any("ACL" in params for _, op, params in requests if op == "PutObject"), \
        "disdat uploads with a canned ACL: the test must see it to check s3:PutObjectAcl"
    policy = iam_policy(CACHE_URL, key_code=False)  # key-part reads: tests/runtime/test_key_parts.py checks them alike
    used = check_against(policy, requests)
    assert granted_actions(policy) == used, f"granted but never needed: {granted_actions(policy) - used}"
    # ListBucket is granted StringLikeIfExists (HeadBucket names no prefix), so a listing without a
    # prefix would pass the policy check above while reading the whole bucket's keys: none may
    assert all(params.get("Prefix") for _, op, params in requests if op.startswith("ListObjects"))


def test_a_missing_permission_is_caught():
    """The check itself: the policy without PutObjectAcl fails on disdat's upload."""
    policy = iam_policy(CACHE_URL)
    policy["Statement"] = [s for s in policy["Statement"] if s["Action"] != "s3:PutObjectAcl"]
    upload = ("s3", "PutObject", {"Bucket": CACHE_BUCKET, "Key": "cache/context/x", "ACL": "bucket-owner-full-control"})
    with pytest.raises(AssertionError, match="s3:PutObjectAcl"):
        check_against(policy, [upload])
    other_acl = ("s3", "PutObject", {"Bucket": CACHE_BUCKET, "Key": "cache/context/x", "ACL": "public-read"})
    with pytest.raises(AssertionError, match="s3:PutObjectAcl"):
        check_against(iam_policy(CACHE_URL), [other_acl])
    outside = ("s3", "GetObject", {"Bucket": CACHE_BUCKET, "Key": "other-team/x"})
    with pytest.raises(AssertionError, match="does not grant"):
        check_against(iam_policy(CACHE_URL), [outside])
    with pytest.raises(AssertionError, match="not in the table"):
        check_against(iam_policy(CACHE_URL), [("s3", "PutBucketPolicy", {"Bucket": CACHE_BUCKET})])


def test_inspection_commands_need_only_the_operator_policy(aws, requests):
    miss = lambda_handler(pull())
    lambda_handler({**pull(), "sfn_cache": "push", "key": miss["key"], "base": miss["base"], "result": {"auc": 0.9}})
    lambda_handler(pull())
    requests.clear()
    runner = CliRunner()
    for args in (["ls", "--json"], ["show", miss["key"][:12], "--json"], ["stats", "--json"],
                 ["rm", "--key", miss["key"][:12], "--yes"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
    assert json.loads(runner.invoke(cli, ["ls", "--json"]).output) == []
    assert {"DeleteObjects", "ListObjectsV2", "GetObject"} <= {op for _, op, _ in requests}
    check_against(operator_policy(CACHE_URL), requests)
    with pytest.raises(AssertionError, match="s3:DeleteObject"):
        check_against(iam_policy(CACHE_URL), requests)


def test_doctor_needs_only_the_operator_policy(aws, requests):
    """doctor's own requests (a listing under the prefix, the round trip, its clean-up, the function's settings) under
    the operator policy, plus lambda:GetFunctionConfiguration for --lambda-arn as the README says."""
    import boto3

    role = boto3.client("iam").create_role(RoleName="doctor", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function = boto3.client("lambda").create_function(
        FunctionName="cache", Runtime="python3.12", Role=role, Handler="sfn_cache.runtime.handler.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18}, Environment={"Variables": {"SFN_CACHE_BUCKET": CACHE_URL,
                                                                              "SFN_CACHE_CONTEXT": "harness"}},
        Timeout=150)
    requests.clear()
    result = CliRunner().invoke(cli, ["doctor", "--lambda-arn", function["FunctionArn"]])
    assert result.exit_code == 0, result.output
    assert {"ListObjectsV2", "PutObject", "DeleteObjects", "GetFunctionConfiguration"} <= {op for _, op, _ in requests}
    assert "HeadBucket" not in {op for _, op, _ in requests}, "no policy grants a prefix-less bucket check"
    policy = operator_policy(CACHE_URL)
    policy["Statement"].append({"Effect": "Allow", "Action": "lambda:GetFunctionConfiguration",
                                "Resource": function["FunctionArn"]})
    check_against(policy, requests)
    with pytest.raises(AssertionError, match="s3:DeleteObject"):
        check_against(iam_policy(CACHE_URL), requests)
