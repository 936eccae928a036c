"""S3 requests per cache lookup at 1, 100 and 10,000 stored versions of one bundle name.

Runs the real handler against moto's S3 (in-process) and counts every S3 API call made by boto3,
disdat included, by wrapping botocore's one dispatch point. Each lookup starts from an empty local
disdat context, as a cold Lambda does.

Real pushes cost a disdat commit and push each, so the first versions are real pushes through the
handler and the rest are copies of a real pushed bundle's S3 objects under new uuids, with index
entries for other keys: the same layout, at a fraction of the time. Exits non-zero if the handler's
request counts change with the number of versions.

    python benchmarks/lookup_cost.py
"""

from __future__ import annotations

import collections
import json
import os
import sys
import tempfile
import uuid as uuids

import boto3
import botocore.client
from moto import mock_aws

BUCKET, PREFIX, CONTEXT, BUNDLE = "bench-cache", "team", "bench", "features"
SIZES = tuple(int(n) for n in os.environ.get("LOOKUP_SIZES", "1,100,10000").split(","))
REQUESTS: collections.Counter = collections.Counter()
_original_call = botocore.client.BaseClient._make_api_call


def _counting_call(self, operation_name, api_params):
    if self.meta.service_model.service_name == "s3":
        REQUESTS[operation_name] += 1
    return _original_call(self, operation_name, api_params)


def event(op: str, name: str, **fields) -> dict:
    base = {"sfn_cache": op, "protocol": 1, "state": "Features", "bundle": BUNDLE, "ttl": None,
            "execution": f"arn:aws:states:us-east-1:1:execution:m:{name}"}
    return {**base, **fields}


def pull_event(which: str) -> dict:
    return event("pull", which, resource="arn:aws:lambda:us-east-1:1:function:features", cache_version="",
                 force=False, input={"which": which})


def forget_locally(uuid: str) -> None:
    """Drop the bundle from the local disdat context, so the next read fetches it like a cold Lambda."""
    from sfn_cache.runtime.bundles import _api
    from sfn_cache.runtime.config import config_for

    _api(config_for({})).rm(CONTEXT, uuid=uuid)


def counted(call) -> tuple[dict, str]:
    """Run ``call``; returns (its answer, 'N (op n, ...)') counting its S3 requests."""
    REQUESTS.clear()
    answer = call()
    total = sum(REQUESTS.values())
    return answer, f"{total} ({', '.join(f'{op} {n}' for op, n in sorted(REQUESTS.items()))})"


def fill(s3, template_uuid: str, template_key: str, count: int) -> int:
    """Add versions of BUNDLE until ``count`` exist, by copying one real bundle's objects; returns how many exist."""
    objects = f"{PREFIX}/context/{CONTEXT}/objects/"
    source = [item["Key"] for item in
              s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{objects}{template_uuid}/")["Contents"]]
    index_prefix = f"{PREFIX}/sfn-cache/index/"
    entry_key = next(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=index_prefix)["Contents"]
                     if item["Key"].endswith(f"{template_key}.json"))
    entry = json.loads(s3.get_object(Bucket=BUCKET, Key=entry_key)["Body"].read())
    have = len({k["Key"].split("/")[4] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=objects) for k in page.get("Contents", [])})
    for n in range(have, count):
        new_uuid = str(uuids.UUID(int=n + 1))
        for key in source:
            s3.copy_object(Bucket=BUCKET, CopySource={"Bucket": BUCKET, "Key": key},
                           Key=key.replace(template_uuid, new_uuid))
        fake_key = f"{n:064x}"
        s3.put_object(Bucket=BUCKET, Key=entry_key.replace(template_key, fake_key),
                      Body=json.dumps({**entry, "key": fake_key, "uuid": new_uuid}).encode())
    return max(have, count)


def main() -> int:
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                      SFN_CACHE_BUCKET=f"s3://{BUCKET}/{PREFIX}", SFN_CACHE_CONTEXT=CONTEXT,
                      SFN_CACHE_INLINE_MAX_BYTES="1000", SFN_CACHE_LINEAGE="off",
                      SFN_CACHE_LOCAL_ROOT=tempfile.mkdtemp(prefix="lookup-cost-"))
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    botocore.client.BaseClient._make_api_call = _counting_call
    rows, shapes = [], set()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        from sfn_cache.runtime.handler import lambda_handler

        stored = {}
        for which, result in (("small", {"ok": 1}), ("large", {"rows": list(range(1000))})):
            miss = lambda_handler(pull_event(which))
            pushed = lambda_handler(event("push", which, key=miss["key"], material=miss["material"], result=result))
            stored[which] = (miss["key"], pushed["uuid"])
        for size in SIZES:
            size = fill(s3, stored["small"][1], stored["small"][0], size)
            hit_inline, inline_cost = counted(lambda: lambda_handler(pull_event("small")))
            forget_locally(stored["large"][1])
            hit_bundle, bundle_cost = counted(lambda: lambda_handler(pull_event("large")))
            miss, miss_cost = counted(lambda: lambda_handler(pull_event(f"new-{size}")))
            assert hit_inline["hit"] and hit_bundle["hit"] and not miss["hit"]
            assert hit_bundle["data"] == {"rows": list(range(1000))}
            disdat_cost = "(not run above 100 versions: grows linearly)"
            if size <= int(os.environ.get("DISDAT_COMPARE_MAX", "100")):
                from sfn_cache.runtime.bundles import _api
                from sfn_cache.runtime.config import config_for
                from sfn_cache.runtime.index import bundle_slug

                api = _api(config_for({}))
                for found in [*api.search(CONTEXT, bundle_slug(BUNDLE))]:
                    api.rm(CONTEXT, uuid=found.uuid)
                _, disdat_cost = counted(lambda: api.pull(CONTEXT, bundle_name=bundle_slug(BUNDLE)))
            rows.append((size, inline_cost, bundle_cost, miss_cost, disdat_cost))
            shapes.add((inline_cost, bundle_cost, miss_cost))
    print("S3 requests per lookup (real handler, moto S3, cold local disdat context)")
    print("versions beyond the first two were made by copying a real pushed bundle's S3 objects")
    print(f"{'versions':>8} | {'hit, inlined':<16} | {'hit, from bundle':<62} | {'miss':<16} | "
          f"disdat's own pull by name, for comparison")
    for size, inline_cost, bundle_cost, miss_cost, disdat_cost in rows:
        print(f"{size:>8} | {inline_cost:<16} | {bundle_cost:<62} | {miss_cost:<16} | {disdat_cost}")
    if len(shapes) != 1:
        print("FAIL: the number of requests depends on the number of stored versions", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
