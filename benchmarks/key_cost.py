"""AWS requests each cache-key part costs, per hit and per miss.

Runs the real handler in-process against moto (S3, Lambda, Glue, ECS, Batch) and counts every AWS
API call it makes, by service and operation, at botocore's single dispatch point. A miss is a pull
that finds nothing plus the push that stores the result; a hit is a pull that finds it (an inlined
result). "cold" is a new Lambda container (no remembered resolutions), "warm" one that resolved the
same target within SFN_CACHE_RESOLVE_TTL. Lineage is off, so only what the key parts add is left
beside the index reads and writes.

A miss resolves its code and s3 parts twice: at the pull, and again at the push (bypassing the warm
container's memo), so a redeploy or a rewritten object while the task ran is not stored under the old
key. "miss, warm" is a miss for a new key (another cache version) right after: its pull uses the memo,
its push still asks AWS.

Parts computed from the payload alone (context, account and region, credentials, the target under
--key-path, the number rule) add no request; they are the "baseline" row.

    python benchmarks/key_cost.py
"""

from __future__ import annotations

import collections
import json
import os
import sys
import tempfile
from typing import Any

import boto3
import botocore.client
from moto import mock_aws

from sfn_cache.runtime.protocol import PROTOCOL  # the events' shape of this tree's handler

BUCKET = "bench-keys"
REGION = "us-east-1"
ACCOUNT = "123456789012"
REQUESTS: collections.Counter = collections.Counter()
_original_call = botocore.client.BaseClient._make_api_call


def _counting_call(self, operation_name: str, api_params: dict) -> Any:
    REQUESTS[f"{self.meta.service_model.service_name}:{operation_name}"] += 1
    return _original_call(self, operation_name, api_params)


def pull(resource: str, payload: dict, **fields) -> dict:
    return {"sfn_cache": "pull", "protocol": PROTOCOL, "state": "T", "bundle": "T", "ttl": None, "resource": resource,
            "cache_version": "", "force": False, "input": payload,
            "execution": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:m:run",
            "state_machine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m", **fields}


def miss_and_store(handler, event: dict) -> collections.Counter:
    """Requests of one miss: the pull that finds nothing and the push that stores the result."""
    REQUESTS.clear()
    answer = handler(event)
    assert answer["hit"] is False and answer["key"], answer
    stored = handler({"sfn_cache": "push", "protocol": PROTOCOL, "state": "T", "bundle": "T", "ttl": None,
                      "key": answer["key"], "base": answer["base"], "result": {"ok": 1},
                      "execution": event["execution"], "state_machine": event["state_machine"]})
    assert stored["stored"] is True, stored
    return collections.Counter(REQUESTS)


def measure(handler, resolve, event: dict) -> tuple[collections.Counter, ...]:
    """(cold miss = pull + push, cold hit, warm hit, warm miss) requests for a new key."""
    resolve._memo.clear()
    miss = miss_and_store(handler, event)
    resolve._memo.clear()
    REQUESTS.clear()
    assert handler(event)["hit"] is True
    cold = collections.Counter(REQUESTS)
    REQUESTS.clear()
    assert handler(event)["hit"] is True
    warm = collections.Counter(REQUESTS)
    return miss, cold, warm, miss_and_store(handler, {**event, "cache_version": "warm-miss"})


def spelled(counter: collections.Counter) -> str:
    return f"{sum(counter.values())} (" + ", ".join(f"{op} {n}" for op, n in sorted(counter.items())) + ")"


def setup(s3) -> None:
    from sfn_cache.local.engine import function_zip

    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    boto3.client("lambda").create_function(FunctionName="train", Runtime="python3.12", Role=role,
                                           Handler="index.h", Code={"ZipFile": function_zip("def h(e, c): return 1")})
    s3.put_object(Bucket=BUCKET, Key="scripts/etl.py", Body=b"print(1)")
    boto3.client("glue").create_job(Name="etl", Role=role, Command={
        "Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/scripts/etl.py"})
    boto3.client("ecs").register_task_definition(family="t", containerDefinitions=[
        {"name": "c", "image": "i", "memory": 128}])
    boto3.client("batch").register_job_definition(jobDefinitionName="b", type="container", containerProperties={
        "image": "i", "vcpus": 1, "memory": 128})
    for n in range(10):
        s3.put_object(Bucket=BUCKET, Key=f"data/part-{n}.csv", Body=b"x")


def main() -> int:
    os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION=REGION,
                      SFN_CACHE_BUCKET=f"s3://{BUCKET}/cache", SFN_CACHE_LINEAGE="off", SFN_CACHE_HIT_LOG="off",
                      SFN_CACHE_METRICS="off",
                      SFN_CACHE_LOCAL_ROOT=tempfile.mkdtemp(prefix="sfn-cache-bench-"))
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "SFN_CACHE_TTL", "SFN_CACHE_RESOLVE_TTL"):
        os.environ.pop(name, None)
    invoke = "arn:aws:states:::lambda:invoke"
    cases = [
        ("baseline (no resolution)", pull(invoke, {"FunctionName": "train", "Payload": {"x": 1}})),
        ("--key-code auto, Lambda", pull(invoke, {"FunctionName": "train", "Payload": {"x": 2}}, key_code="auto")),
        ("--key-code auto, Glue", pull("arn:aws:states:::glue:startJobRun.sync", {"JobName": "etl", "x": 3},
                                       key_code="auto")),
        ("--key-code auto, ECS", pull("arn:aws:states:::ecs:runTask.sync", {"TaskDefinition": "t", "x": 4},
                                      key_code="auto")),
        ("--key-code auto, Batch", pull("arn:aws:states:::batch:submitJob.sync", {"JobDefinition": "b", "x": 5},
                                        key_code="auto")),
        ("--key-s3 etag, 1 object", pull(invoke, {"FunctionName": "train", "Payload": f"s3://{BUCKET}/data/part-0.csv"},
                                         key_s3="etag")),
        ("--key-s3 etag, prefix of 10", pull(invoke, {"FunctionName": "train", "Payload": f"s3://{BUCKET}/data/"},
                                             key_s3="etag")),
    ]
    botocore.client.BaseClient._make_api_call = _counting_call
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        setup(s3)
        from sfn_cache.runtime import resolve
        from sfn_cache.runtime.handler import lambda_handler

        measure(lambda_handler, resolve, pull(invoke, {"FunctionName": "train", "Payload": "warm-up"}))
        print("(after one warm-up miss and hit: disdat's once-per-process HeadBucket is not counted below)")
        print("AWS requests per cache operation, by key part: real handler, moto in-process, lineage off")
        print(f"{'key parts':<30} | {'miss (pull+push), cold':<60} | {'miss, warm':<60} | "
              f"{'hit, cold container':<50} | hit, warm container")
        for title, event in cases:
            miss, cold, warm, warm_miss = measure(lambda_handler, resolve, event)
            print(f"{title:<30} | {spelled(miss):<60} | {spelled(warm_miss):<60} | {spelled(cold):<50} | "
                  f"{spelled(warm)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
