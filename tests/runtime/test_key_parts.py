"""Key parts at run time (issue 10): context, account and region, credentials, target, numbers, and the
code and data identities the caching Lambda resolves (moto's Lambda, Glue, ECS, Batch and S3 answer)."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from sfn_cache.local.engine import ACCOUNT, CACHE_BUCKET, REGION, ROLE_ARN, function_zip
from sfn_cache.runtime import resolve
from sfn_cache.runtime.config import config_for
from sfn_cache.runtime.handler import lambda_handler
from sfn_cache.runtime.index import KeyIndex
from sfn_cache.runtime.protocol import PROTOCOL

MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:pipeline"
INVOKE = "arn:aws:states:::lambda:invoke"


def pull(**fields):
    event = {"sfn_cache": "pull", "protocol": PROTOCOL, "state": "T", "bundle": "T", "ttl": None,
             "resource": INVOKE, "cache_version": "", "force": False,
             "input": {"FunctionName": "train", "Payload": {"x": 1}},
             "execution": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:pipeline:run", "state_machine": MACHINE}
    event.update(fields)
    return event


def kept(event, answer) -> dict:
    """The key material the pull kept in S3 for its push (the pull answer carries none)."""
    return KeyIndex(boto3.client("s3"), config_for(event)).get_material(event["bundle"], answer["key"])


def store(event, result):
    answer = lambda_handler(event)
    assert answer["hit"] is False and answer["key"]
    push = {"sfn_cache": "push", "protocol": PROTOCOL, "state": event["state"], "bundle": event["bundle"],
            "ttl": event.get("ttl"), "key": answer["key"], "base": answer["base"], "result": result,
            "execution": event["execution"], "state_machine": event["state_machine"]}
    for name in ("bucket", "context"):
        if name in event:
            push[name] = event[name]
    assert lambda_handler(push)["stored"] is True
    return {**answer, "material": kept(event, answer)}


@pytest.fixture(autouse=True)
def forget_resolutions(monkeypatch):
    monkeypatch.setattr(resolve, "_memo", {})


def test_context_is_in_the_key_and_the_index(aws):
    store(pull(context="dev"), {"v": "dev"})
    assert lambda_handler(pull(context="dev"))["data"] == {"v": "dev"}
    prod = lambda_handler(pull(context="prod"))
    assert prod["hit"] is False and kept(pull(context="prod"), prod)["context"] == "prod"
    listed = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=CACHE_BUCKET)["Contents"]]
    index = [key for key in listed if "/index/" in key]
    assert len(index) == 1 and "/index/dev-" in index[0]
    material = sorted(key for key in listed if "/material/" in key)
    assert len(material) == 2 and "/material/dev-" in material[0] and "/material/prod-" in material[1], \
        "the material a pull keeps for its push is per context too"


def test_account_and_region_unless_the_target_names_them(aws):
    store(pull(), {"v": "us"})
    other_region = MACHINE.replace(REGION, "eu-west-1")
    other_account = MACHINE.replace(ACCOUNT, "210987654321")
    assert lambda_handler(pull(state_machine=other_region))["hit"] is False
    assert lambda_handler(pull(state_machine=other_account))["hit"] is False
    assert lambda_handler(pull())["hit"] is True
    named = {"FunctionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:train", "Payload": {"x": 1}}
    answer = store(pull(input=named), {"v": "named"})
    assert "scope" not in answer["material"]
    assert lambda_handler(pull(input=named, state_machine=other_region))["data"] == {"v": "named"}
    direct = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:train"
    assert "scope" not in store(pull(resource=direct, input={"x": 1}), {"v": 1})["material"]
    sdk = store(pull(resource="arn:aws:states:::aws-sdk:s3:getObject", input={"Bucket": "b", "Key": "k"}), {})
    assert sdk["material"]["scope"] == {"account": ACCOUNT, "region": REGION}


def test_credentials_and_target_are_in_the_key(aws):
    tenant_a = {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/tenant-a"}
    store(pull(credentials=tenant_a), {"v": "a"})
    assert lambda_handler(pull(credentials=tenant_a))["data"] == {"v": "a"}
    assert lambda_handler(pull(credentials={"RoleArn": "arn:aws:iam::111111111111:role/tenant-b"}))["hit"] is False
    assert lambda_handler(pull())["hit"] is False
    store(pull(input={"$.x": {"v": 1}}, target={"FunctionName": "train"}), {"v": "train"})
    assert lambda_handler(pull(input={"$.x": {"v": 1}}, target={"FunctionName": "train"}))["hit"] is True
    assert lambda_handler(pull(input={"$.x": {"v": 1}}, target={"FunctionName": "score"}))["hit"] is False
    assert lambda_handler(pull(input={"$.x": {}}, target={"FunctionName": "train"}))["hit"] is False


def test_old_protocol_entries_are_misses(aws):
    """An entry written under protocol 1 (old index path, old material) is never read as a hit."""
    answer = lambda_handler(pull())
    s3 = boto3.client("s3")
    old = {"v": 1, "key": answer["key"], "bundle": "T", "uuid": "u", "expires": None, "inline": {"v": "old"},
           "material": {**kept(pull(), answer), "protocol": 1}}
    s3.put_object(Bucket=CACHE_BUCKET, Key=f"cache/sfn-cache/index/T/{answer['key']}.json", Body=json.dumps(old))
    assert lambda_handler(pull())["hit"] is False


def test_entries_stored_under_protocol_2_are_misses(aws, monkeypatch):
    """Key format 3 changed what a key names: a result stored by a protocol-2 Lambda is never served."""
    from sfn_cache.runtime import events, keys

    with monkeypatch.context() as older_lambda:
        older_lambda.setattr(keys, "KEY_FORMAT", 2)
        older_lambda.setattr(events, "PROTOCOL", 2)
        older = lambda_handler({**pull(), "protocol": 2})
        push = {"sfn_cache": "push", "protocol": 2, "state": "T", "key": older["key"], "base": older["base"],
                "result": {"v": "old"}}
        assert lambda_handler(push)["stored"] is True
        assert lambda_handler({**pull(), "protocol": 2}) == {"hit": True, "data": {"v": "old"}}
    answer = lambda_handler(pull())
    assert answer["hit"] is False and answer["key"] != older["key"]


def test_protocol_4_keeps_the_keys_of_protocol_3(aws):
    """Protocol 4 changed only the events' shape (the push merges the pull's answer), not the key:
    results stored by protocol-3 Lambdas are still served. The key is spelled here by hand, as a
    protocol-3 Lambda spelled it (sorted keys, no spaces), not by keys.py."""
    event = pull(resource=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:train", input={"x": 1})
    spelled = ('{"bundle":"T","cache_version":"","context":"harness","form":"raw","input":{"x":1},'
               '"protocol":3,"resource":"%s"}' % event["resource"])
    assert lambda_handler(dict(event))["key"] == hashlib.sha256(spelled.encode()).hexdigest()


@pytest.mark.parametrize("execution", [
    f"arn:aws:states:{REGION}:{ACCOUNT}:execution:pipeline:run-1",  # a standard execution
    f"arn:aws:states:{REGION}:{ACCOUNT}:express:pipeline:run-1:0a1b2c3d",  # an express one
    f"arn:aws:states:{REGION}:{ACCOUNT}:execution:pipeline/ProcessItems:0a1b2c3d",  # a distributed Map's child run
])
def test_a_pull_without_its_state_machine_gets_it_from_the_execution(aws, execution):
    """Protocol 4 pulls send the execution ARN only: the state machine it names gives the same key
    (account and region) and the same lineage name as the explicit ARN protocol 3 sent."""
    stated = lambda_handler(pull(execution=execution))
    derived = lambda_handler({k: v for k, v in pull(execution=execution).items() if k != "state_machine"})
    assert derived["key"] == stated["key"] and derived["state_machine"] == MACHINE
    other_region = execution.replace(REGION, "eu-west-1")
    elsewhere = lambda_handler({k: v for k, v in pull(execution=other_region).items() if k != "state_machine"})
    assert elsewhere["key"] != stated["key"], "the region of the execution is in the key"


def _role() -> str:
    iam = boto3.client("iam")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "lambda.amazonaws.com"}}]}
    return iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(policy))["Role"]["Arn"]


def test_key_code_lambda_code_sha256_redeploy_is_a_miss(aws, monkeypatch):
    client = boto3.client("lambda", region_name=REGION)
    client.create_function(FunctionName="train", Runtime="python3.12", Role=_role(), Handler="index.h",
                           Code={"ZipFile": function_zip("def h(e, c): return 1")})
    calls = []
    real = resolve._lambda
    monkeypatch.setattr(resolve, "_CODE", {**resolve._CODE, "lambda": lambda *a: calls.append(a) or real(*a)})
    answer = store(pull(key_code="auto"), {"v": 1})
    code = answer["material"]["code"]["lambda"]
    assert code["CodeSha256"] == client.get_function(FunctionName="train")["Configuration"]["CodeSha256"]
    assert len(calls) == 2, "the pull resolved, and the push again (the memo bypassed)"
    assert lambda_handler(pull(key_code="auto"))["hit"] is True
    assert len(calls) == 2, "the second pull used the warm container's answer"

    client.update_function_code(FunctionName="train", ZipFile=function_zip("def h(e, c): return 2"))
    assert lambda_handler(pull(key_code="auto"))["hit"] is True, "within SFN_CACHE_RESOLVE_TTL"
    monkeypatch.setattr(resolve, "_memo", {})
    assert lambda_handler(pull(key_code="auto"))["hit"] is False, "the redeployed code is a new key"
    assert len(calls) == 3
    monkeypatch.setenv("SFN_CACHE_RESOLVE_TTL", "0")
    lambda_handler(pull(key_code="auto"))
    lambda_handler(pull(key_code="auto"))
    assert len(calls) == 5, "TTL 0: every pull resolves"


def test_key_code_lambda_qualifier_and_direct_arn(aws):
    client = boto3.client("lambda", region_name=REGION)
    arn = client.create_function(FunctionName="train", Runtime="python3.12", Role=_role(), Handler="index.h",
                                 Code={"ZipFile": function_zip("1")}, Publish=True)["FunctionArn"]
    direct = store(pull(resource=arn, input={"x": 1}, key_code="auto"), {})
    assert direct["material"]["code"]["lambda"]["Version"] == "$LATEST"
    version = store(pull(input={"FunctionName": "train", "Qualifier": "1", "Payload": {}}, key_code="auto"), {})
    assert version["material"]["code"]["lambda"]["Version"] == "1"


def test_key_code_failure_is_a_miss_without_key(aws):
    answer = lambda_handler(pull(key_code="auto", input={"FunctionName": "missing", "Payload": {}}))
    assert answer["hit"] is False and answer["key"] is None and "ResourceNotFoundException" in answer["unresolved"]
    push = {"sfn_cache": "push", "protocol": PROTOCOL, "state": "T", "bundle": "T", "ttl": None, "key": None,
            "base": None, "result": {}, "execution": "e", "state_machine": MACHINE}
    assert lambda_handler(push) == {"stored": False, "reason": "no key"}


@pytest.mark.parametrize("field,value", [("key_code", "on"), ("key_s3", "md5"), ("key_s3", True)])
def test_a_key_part_switch_it_does_not_know_is_refused_naming_the_field(aws, field, value):
    """A misspelt switch must not quietly leave the code or data out of the key."""
    from sfn_cache.runtime.events import CacheEventError

    with pytest.raises(CacheEventError, match=f"field '{field}': expected"):
        lambda_handler(pull(**{field: value}, fail_closed=True))
    assert lambda_handler(pull(**{field: value}))["failed"].startswith(f"CacheEventError: field '{field}': expected")


def test_key_code_glue_ecs_batch(aws):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=CACHE_BUCKET, Key="scripts/job.py", Body=b"print(1)")
    glue = boto3.client("glue", region_name=REGION)
    glue.create_job(Name="etl", Role=ROLE_ARN, Command={"Name": "glueetl",
                                                          "ScriptLocation": f"s3://{CACHE_BUCKET}/scripts/job.py"})
    event = pull(resource="arn:aws:states:::glue:startJobRun.sync", input={"JobName": "etl"}, key_code="auto")
    first = store(event, {"JobRunState": "SUCCEEDED"})
    script_etag = s3.head_object(Bucket=CACHE_BUCKET, Key="scripts/job.py")["ETag"]
    assert first["material"]["code"]["glue"]["ETag"] == script_etag
    s3.put_object(Bucket=CACHE_BUCKET, Key="scripts/job.py", Body=b"print(2)")
    resolve._memo.clear()
    assert lambda_handler(event)["hit"] is False

    ecs = boto3.client("ecs", region_name=REGION)
    ecs.register_task_definition(family="train", containerDefinitions=[{"name": "c", "image": "img:1", "memory": 128}])
    event = pull(resource="arn:aws:states:::ecs:runTask.sync", input={"TaskDefinition": "train"}, key_code="auto")
    assert store(event, {})["material"]["code"]["ecs"]["TaskDefinitionArn"].endswith("task-definition/train:1")
    ecs.register_task_definition(family="train", containerDefinitions=[{"name": "c", "image": "img:2", "memory": 128}])
    resolve._memo.clear()
    assert kept(event, lambda_handler(event))["code"]["ecs"]["TaskDefinitionArn"].endswith(":2")

    batch = boto3.client("batch", region_name=REGION)
    batch.register_job_definition(jobDefinitionName="score", type="container",
                                  containerProperties={"image": "img:1", "vcpus": 1, "memory": 128})
    event = pull(resource="arn:aws:states:::batch:submitJob.sync",
                 input={"JobDefinition": "score", "JobName": "j", "JobQueue": "q"}, key_code="auto")
    assert store(event, {})["material"]["code"]["batch"]["JobDefinitionArn"].endswith("job-definition/score:1")
    batch.register_job_definition(jobDefinitionName="score", type="container",
                                  containerProperties={"image": "img:2", "vcpus": 1, "memory": 128})
    resolve._memo.clear()
    assert lambda_handler(event)["hit"] is False


def test_key_s3_etag_objects_prefixes_and_missing(aws, monkeypatch):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=CACHE_BUCKET, Key="data/a.csv", Body=b"1")
    s3.put_object(Bucket=CACHE_BUCKET, Key="data/b.csv", Body=b"2")
    one = pull(input={"FunctionName": "train", "Payload": {"file": f"s3://{CACHE_BUCKET}/data/a.csv"}}, key_s3="etag")
    folder = pull(input={"FunctionName": "train", "Payload": {"dir": f"s3://{CACHE_BUCKET}/data/"}}, key_s3="etag")
    store(one, {"v": 1})
    store(folder, {"v": 2})
    assert lambda_handler(one)["hit"] is True and lambda_handler(folder)["hit"] is True
    assert lambda_handler({**one, "key_s3": None})["hit"] is False, "off keys on the string only"
    s3.put_object(Bucket=CACHE_BUCKET, Key="data/a.csv", Body=b"changed")
    assert lambda_handler(one)["hit"] is False
    assert lambda_handler(folder)["hit"] is False
    s3.put_object(Bucket=CACHE_BUCKET, Key="data/c.csv", Body=b"3")
    store(folder, {"v": 3})
    monkeypatch.setattr(resolve, "S3_PREFIX_LIMIT", 2)
    too_many = lambda_handler(folder)
    assert too_many["key"] is None and "more than 2 objects" in too_many["unresolved"]
    missing = lambda_handler(pull(input={"FunctionName": "train", "Payload": f"s3://{CACHE_BUCKET}/nope"},
                                  key_s3="etag"))
    assert missing["hit"] is False and missing["key"] is None and "s3://" in missing["unresolved"]


def test_key_s3_versioned_object_names_its_version(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket="versioned", Key="k", Body=b"1")["VersionId"]
    event = pull(input={"FunctionName": "f", "Payload": "s3://versioned/k"}, key_s3="etag")
    assert kept(event, lambda_handler(event))["s3"]["s3://versioned/k"]["VersionId"] == version


def test_iam_policy_grants_exactly_the_reads_the_resolvers_make(aws, monkeypatch):
    """Every AWS call a key-part resolution makes is an action of the policy build-lambda writes, and
    every key-part action of that policy is made by some resolution (no more, no less)."""
    from sfn_cache.deploy.deploy_files import iam_policy, key_part_statements

    made = set()
    real_client = resolve._client

    def recording(service, region=None):
        client = real_client(service, region)
        client.meta.events.register("before-call", lambda model, **kw: made.add(
            f"{model.service_model.signing_name}:{model.name}"))
        return client

    monkeypatch.setattr(resolve, "_client", recording)
    s3 = boto3.client("s3")
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="train", Runtime="python3.12", Role=_role(), Handler="index.h",
        Code={"ZipFile": function_zip("1")})
    s3.put_object(Bucket=CACHE_BUCKET, Key="job.py", Body=b"1")
    boto3.client("glue", region_name=REGION).create_job(
        Name="etl", Role=ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": f"s3://{CACHE_BUCKET}/job.py"})
    boto3.client("ecs", region_name=REGION).register_task_definition(
        family="t", containerDefinitions=[{"name": "c", "image": "i", "memory": 128}])
    boto3.client("batch", region_name=REGION).register_job_definition(
        jobDefinitionName="b", type="container", containerProperties={"image": "i", "vcpus": 1, "memory": 128})
    events = [pull(key_code="auto"),
              pull(resource="arn:aws:states:::glue:startJobRun.sync", input={"JobName": "etl"}, key_code="auto"),
              pull(resource="arn:aws:states:::ecs:runTask.sync", input={"TaskDefinition": "t"}, key_code="auto"),
              pull(resource="arn:aws:states:::batch:submitJob.sync", input={"JobDefinition": "b"}, key_code="auto"),
              pull(input={"FunctionName": "train", "Payload": [f"s3://{CACHE_BUCKET}/job.py",
                                                                f"s3://{CACHE_BUCKET}/d/"]}, key_s3="etag")]
    s3 = boto3.client("s3")
    s3.meta.events.register("before-call", lambda model, **kw: made.add(
        "s3:GetObject" if model.name == "HeadObject" else "s3:ListBucket" if model.name == "ListObjectsV2"
        else f"s3:{model.name}"))
    for event in events:
        assert resolve.resolved_parts(event, event["input"], s3)
    granted = set()
    for statement in key_part_statements(True, (CACHE_BUCKET,)):
        granted |= {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])
    assert made == granted
    assert key_part_statements(True, ())[0] in iam_policy("s3://b/p")["Statement"]
    assert not key_part_statements(False, ())


def _function(name="train", body="1", region=REGION):
    client = boto3.client("lambda", region_name=region)
    if region == REGION:
        role = _role()
    else:
        role = f"arn:aws:iam::{ACCOUNT}:role/fn"
    client.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.h",
                           Code={"ZipFile": function_zip(body)})
    return client


def _push_for(event, answer, result):
    return {"sfn_cache": "push", "protocol": PROTOCOL, "state": event["state"], "bundle": event["bundle"],
            "ttl": None, "key": answer["key"], "base": answer["base"], "result": result,
            "execution": event["execution"], "state_machine": event["state_machine"]}


def test_push_rechecks_the_code_resolved_at_pull(aws, monkeypatch):
    """R1: code A at the pull, B deployed before the task runs: B's result must not be stored under A's
    key (after a rollback to A, same CodeSha256, it would be served). The push re-resolves the code,
    bypassing the warm container's memo (the pull's answer is remembered for 60 s here)."""
    client = _function(body="A")
    calls = []
    real = resolve._lambda
    monkeypatch.setattr(resolve, "_CODE", {**resolve._CODE, "lambda": lambda *a: calls.append(a) or real(*a)})
    event = pull(key_code="auto")
    miss = lambda_handler(event)
    client.update_function_code(FunctionName="train", ZipFile=function_zip("B"))
    answer = lambda_handler(_push_for(event, miss, {"by": "B"}))
    assert answer == {"stored": False, "reason": "key part changed during the task", "key": miss["key"]}
    assert len(calls) == 2, "one describe call at the pull, one at the push (not the memo)"
    client.update_function_code(FunctionName="train", ZipFile=function_zip("A"))  # roll back: A's key again
    monkeypatch.setattr(resolve, "_memo", {})
    again = lambda_handler(event)
    assert again["hit"] is False and again["key"] == miss["key"], "nothing was stored under A's key"
    assert lambda_handler(_push_for(event, again, {"by": "A"}))["stored"] is True
    assert lambda_handler(event) == {"hit": True, "data": {"by": "A"}}


def test_a_push_refused_by_the_recheck_releases_its_lease(aws):
    """With --concurrent wait, followers wait on the leader's lease: a push that stores nothing
    because the data changed must still free it."""
    from sfn_cache.runtime.leases import lease_key

    s3 = boto3.client("s3")
    s3.put_object(Bucket=CACHE_BUCKET, Key="data/a.csv", Body=b"1")
    event = pull(input={"FunctionName": "train", "Payload": f"s3://{CACHE_BUCKET}/data/a.csv"}, key_s3="etag",
                 concurrent="wait", lease=600)
    miss = lambda_handler(event)
    lease = lease_key(config_for(event), "T", miss["key"])
    assert s3.head_object(Bucket=CACHE_BUCKET, Key=lease)
    s3.put_object(Bucket=CACHE_BUCKET, Key="data/a.csv", Body=b"2")
    answer = lambda_handler({**_push_for(event, miss, {"v": 2}), "concurrent": "wait"})
    assert answer["reason"] == "key part changed during the task"
    assert "Contents" not in s3.list_objects_v2(Bucket=CACHE_BUCKET, Prefix=lease)


def test_push_rechecks_s3_parts_and_fails_open(aws):
    """R1: an object rewritten between pull and push is not stored under its old ETag; a part that
    no longer resolves at the push (the function deleted) is not stored either, and never raises."""
    s3 = boto3.client("s3")
    s3.put_object(Bucket=CACHE_BUCKET, Key="data/a.csv", Body=b"1")
    event = pull(input={"FunctionName": "train", "Payload": f"s3://{CACHE_BUCKET}/data/a.csv"}, key_s3="etag")
    miss = lambda_handler(event)
    s3.put_object(Bucket=CACHE_BUCKET, Key="data/a.csv", Body=b"2")
    assert lambda_handler(_push_for(event, miss, {"v": 2})) == {
        "stored": False, "reason": "key part changed during the task", "key": miss["key"]}
    s3.put_object(Bucket=CACHE_BUCKET, Key="data/a.csv", Body=b"1")
    assert lambda_handler(event)["hit"] is False

    client = _function()
    code = pull(key_code="auto")
    miss = lambda_handler(code)
    client.delete_function(FunctionName="train")
    assert lambda_handler(_push_for(code, miss, {"v": 1})) == {
        "stored": False, "reason": "key part unresolved at push", "key": miss["key"]}


def test_lambda_code_is_resolved_where_the_task_runs(aws, monkeypatch):
    """R2: a bare FunctionName names the function in the execution's region, and in the account of the
    task's Credentials (role ARN) when it has them, not in the caching Lambda's own account/region."""
    local = _function(body="local").get_function(FunctionName="train")["Configuration"]["CodeSha256"]
    asked = []
    real_client = resolve._client

    def recording(service, region=None):
        client = real_client(service, region)
        client.meta.events.register("provide-client-params.lambda.GetFunctionConfiguration",
                                    lambda params, **kw: asked.append((region, params["FunctionName"])))
        return client

    monkeypatch.setattr(resolve, "_client", recording)
    assert store(pull(key_code="auto"), {})["material"]["code"]["lambda"]["CodeSha256"] == local
    assert asked[-1] == (REGION, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:train")

    other = {"role_arn": "arn:aws:iam::210987654321:role/tenant-b"}
    lambda_handler(pull(key_code="auto", credentials=other))
    # The function asked for is tenant B's. (moto ignores the account of a function ARN and answers with
    # its own 'train'; AWS answers B's function, or AccessDenied without B's grant: a miss without a key.)
    assert asked[-1] == (REGION, f"arn:aws:lambda:{REGION}:210987654321:function:train")
    lambda_handler(pull(key_code="auto", credentials=other, input={"FunctionName": "111111111111:function:f"}))
    assert asked[-1] == (REGION, f"arn:aws:lambda:{REGION}:111111111111:function:f"), "a partial ARN keeps its account"

    eu_machine = MACHINE.replace(REGION, "eu-west-1")
    eu = pull(key_code="auto", state_machine=eu_machine)
    assert lambda_handler(eu)["key"] is None, "no 'train' in eu-west-1 yet"
    assert asked[-1] == ("eu-west-1", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:train")
    eu_code = _function(body="eu", region="eu-west-1").get_function(FunctionName="train")
    assert store(eu, {})["material"]["code"]["lambda"]["CodeSha256"] == eu_code["Configuration"]["CodeSha256"]
    assert eu_code["Configuration"]["CodeSha256"] != local
    assert lambda_handler(pull(key_code="auto"))["hit"] is True, "the memo is per region: us-east-1 kept"

    unknown = pull(key_code="auto", state_machine=None, execution=None)
    assert kept(unknown, lambda_handler(unknown))["code"]["lambda"]["CodeSha256"] == local, \
        "no state machine or execution ARN: the caching Lambda's own region, as before"
    assert asked[-1] == (None, "train")


def test_glue_ecs_batch_are_looked_up_in_the_executions_region_never_across_accounts(aws):
    """R2: the .sync integrations' code in the execution's region; with Credentials of another account
    the caching Lambda cannot look it up: a miss without a key, saying so."""
    for region in (REGION, "eu-west-1"):
        boto3.client("ecs", region_name=region).register_task_definition(
            family="train", containerDefinitions=[{"name": "c", "image": "img", "memory": 128}])
    boto3.client("ecs", region_name="eu-west-1").register_task_definition(
        family="train", containerDefinitions=[{"name": "c", "image": "img:2", "memory": 128}])
    event = pull(resource="arn:aws:states:::ecs:runTask.sync", input={"TaskDefinition": "train"}, key_code="auto",
                 state_machine=MACHINE.replace(REGION, "eu-west-1"))
    arn = kept(event, lambda_handler(event))["code"]["ecs"]["TaskDefinitionArn"]
    assert ":eu-west-1:" in arn and arn.endswith("task-definition/train:2")
    across = lambda_handler({**event, "credentials": {"role_arn": "arn:aws:iam::210987654321:role/x"}})
    assert across["key"] is None and "210987654321" in across["unresolved"]
    same = lambda_handler({**event, "credentials": {"role_arn": f"arn:aws:iam::{ACCOUNT}:role/x"}})
    assert same["key"] is not None
    glue = pull(resource="arn:aws:states:::glue:startJobRun.sync", input={"JobName": "etl"}, key_code="auto",
                credentials={"RoleArn": "arn:aws:iam::210987654321:role/x"})
    assert "210987654321" in lambda_handler(glue)["unresolved"]
    boto3.client("glue", region_name=REGION).create_job(
        Name="etl", Role=ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": f"s3://{CACHE_BUCKET}/gone.py"})
    missing = lambda_handler({**glue, "credentials": {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/x"}})["unresolved"]
    assert missing.startswith(f"--key-code: Glue job 'etl': cannot read s3://{CACHE_BUCKET}/gone.py"), missing
    batch = pull(resource="arn:aws:states:::batch:submitJob.sync", input={"JobDefinition": "b"}, key_code="auto",
                 credentials={"role_arn": "arn:aws:iam::210987654321:role/x"})
    assert "210987654321" in lambda_handler(batch)["unresolved"]


def test_a_keyless_miss_is_counted_and_names_its_part(aws, capsys, caplog):
    """R5: an unresolved key part is a miss *and* an Unresolved metric, and the log says which part."""
    import logging

    caplog.set_level(logging.WARNING)
    answer = lambda_handler(pull(key_code="auto", input={"FunctionName": "missing", "Payload": {}}))
    assert answer["key"] is None
    line = json.loads([out_line for out_line in capsys.readouterr().out.splitlines() if '"_aws"' in out_line][-1])
    assert line["Misses"] == 1 and line["Unresolved"] == 1
    assert {"Name": "Unresolved", "Unit": "Count"} in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    assert "state 'T': key part 'code' (lambda) unresolved" in caplog.text
    caplog.clear()
    lambda_handler(pull(input={"FunctionName": "f", "Payload": f"s3://{CACHE_BUCKET}/nope"}, key_s3="etag"))
    assert f"key part 's3' (s3://{CACHE_BUCKET}/nope) unresolved" in caplog.text
    lambda_handler(pull())
    assert "Unresolved" not in capsys.readouterr().out.splitlines()[-1], "a keyed miss is no Unresolved"


def test_a_lone_surrogate_still_has_a_key(aws):
    """A JSON text may escape a lone surrogate ("\\ud800"); Python's json reads it into a str that UTF-8
    cannot encode. The key is still computed (surrogatepass) and the round trip works."""
    from sfn_cache.runtime.keys import cache_key

    assert len(cache_key({"input": "\ud800"})) == 64
    assert cache_key({"input": "\ud800"}) != cache_key({"input": "\ud801"})
    event = pull(input=json.loads('{"FunctionName": "train", "Payload": "\\ud800"}'))
    store(event, {"v": 1})
    assert lambda_handler(event) == {"hit": True, "data": {"v": 1}}


def test_key_code_of_a_deployed_function_and_of_aws_sdk_lambda_invoke(aws):
    """What the pull sees once deployed: the Resource and FunctionName as CloudFormation or
    DefinitionSubstitutions filled them in (issue 26). The AWS SDK integration names its function by
    the same FunctionName parameter (supported-services-awssdk: parameters in PascalCase), so it is keyed
    by the function's code too."""
    client = boto3.client("lambda", region_name=REGION)
    arn = client.create_function(FunctionName="train", Runtime="python3.12", Role=_role(), Handler="index.h",
                                 Code={"ZipFile": function_zip("1")})["FunctionArn"]
    sdk = pull(resource="arn:aws:states:::aws-sdk:lambda:invoke", key_code="auto",
               input={"FunctionName": arn, "Payload": "{}"})
    events = {"Resource ${FnArn}": pull(resource=arn, input={"x": 1}, key_code="auto"),
              "FunctionName Fn::GetAtt": pull(input={"FunctionName": arn, "Payload": {}}, key_code="auto"),
              "aws-sdk:lambda:invoke": sdk}
    before = {name: store(event, {"v": 1})["material"]["code"]["lambda"] for name, event in events.items()}
    deployed = client.get_function(FunctionName="train")["Configuration"]["CodeSha256"]
    assert {code["CodeSha256"] for code in before.values()} == {deployed}
    client.update_function_code(FunctionName="train", ZipFile=function_zip("2"))
    resolve._memo.clear()
    assert {name: lambda_handler(event)["hit"] for name, event in events.items()} == dict.fromkeys(events, False)
