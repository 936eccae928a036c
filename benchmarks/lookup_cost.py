"""S3 requests per cache lookup when one bundle name has 1, 100 and 10,000 stored versions.

Runs the real handler against moto's S3 (in-process). Every S3 API call is counted, including the
ones disdat and s3transfer make, by wrapping botocore's single dispatch point
(``BaseClient._make_api_call``). The local disdat context is emptied before each lookup, as on a
cold Lambda. Lineage is on (the default), so each hit also PUTs one execution-log object.

A real push costs a disdat commit and push, so only the first versions are real pushes through the
handler. Later versions are copies of a real pushed bundle's S3 objects under new uuids, each with
an index entry for another key. That gives the same layout in a fraction of the time. The script
exits non-zero if the handler's request counts change with the number of versions. It also prints
each lookup's wall time (in-process moto, so it is the handler's own work, not S3's latency) and that
every hit answered with the stored result and every miss was a miss (checked, not assumed).

    python benchmarks/lookup_cost.py        # LOOKUP_SIZES=1,100 for a quick run
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid as uuids
from typing import Any, Callable

import boto3
import botocore.client
from moto import mock_aws

from sfn_cache.runtime.protocol import PROTOCOL  # the events' shape of this tree's handler

BUCKET, BUNDLE = "bench-cache", "features"
SIZES = tuple(int(n) for n in os.environ.get("LOOKUP_SIZES", "1,100,10000").split(","))
DISDAT_COMPARE_MAX = int(os.environ.get("DISDAT_COMPARE_MAX", "100"))  # disdat's pull reads every version
SMALL, LARGE = {"ok": 1}, {"rows": list(range(1000))}  # inlined / too large to inline (limit 1000 bytes)

REQUESTS: collections.Counter = collections.Counter()
_LOCK = threading.Lock()  # disdat lists and downloads from worker threads
_original_call = botocore.client.BaseClient._make_api_call


def _counting_call(self, operation_name: str, api_params: dict) -> Any:
    if self.meta.service_model.service_name == "s3":
        with _LOCK:
            REQUESTS[operation_name] += 1
    return _original_call(self, operation_name, api_params)


def counted(call: Callable[[], Any]) -> tuple[Any, collections.Counter]:
    """Run ``call``. Return its answer and the S3 requests it made, by operation."""
    REQUESTS.clear()
    answer = call()
    return answer, collections.Counter(REQUESTS)


def spelled(requests: collections.Counter | None) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(requests.items())) if requests else "-"


def event(op: str, context: str, which: str, **fields: Any) -> dict:
    """A cache_pull/cache_push event for BUNDLE in its own disdat context (bucket prefix = context name)."""
    return {"sfn_cache": op, "protocol": PROTOCOL, "state": "Features", "bundle": BUNDLE, "ttl": None,
            "bucket": f"s3://{BUCKET}/{context}", "context": context,
            "execution": f"arn:aws:states:us-east-1:1:execution:m:{context}-{which}", **fields}


def pull_event(context: str, which: str) -> dict:
    return event("pull", context, which, resource="arn:aws:lambda:us-east-1:1:function:features",
                 cache_version="", force=False, input={"which": which})


def disdat(context: str):
    """disdat's api, bound to the context exactly as the handler binds it."""
    from sfn_cache.runtime.bundles import _api
    from sfn_cache.runtime.config import config_for

    return _api(config_for(event("pull", context, "")))


def empty_locally(context: str) -> None:
    """Remove every bundle from the local disdat context, so the next read fetches from S3 like a cold Lambda."""
    api = disdat(context)
    for found in api.search(context):
        api.rm(context, uuid=found.uuid)
    assert not api.search(context)


def push(lambda_handler: Callable, context: str, which: str, result: dict) -> str:
    """Store ``result`` for input ``which`` with a real miss and push through the handler. Return the uuid."""
    miss = lambda_handler(pull_event(context, which))
    pushed = lambda_handler(event("push", context, which, key=miss["key"], base=miss["base"], result=result))
    return pushed["uuid"]


def fill(s3, context: str, template: str, count: int) -> None:
    """Copy bundle ``template``'s objects under new uuids until BUNDLE has ``count`` versions in ``context``."""
    from sfn_cache.runtime.keys import cache_key

    objects = f"{context}/context/{context}/objects/"
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=objects)
    have = {item["Key"][len(objects):].split("/")[0] for page in pages for item in page.get("Contents", [])}
    sources = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{objects}{template}/")["Contents"]]
    index = [item["Key"]
             for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{context}/sfn-cache/index/")["Contents"]]
    entries = [json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) for key in index]
    entry_key, entry = next((k, e) for k, e in zip(index, entries) if e["uuid"] == template)
    for n in range(len(have), count):
        new_uuid = str(uuids.uuid4())
        for key in sources:
            s3.copy_object(Bucket=BUCKET, CopySource={"Bucket": BUCKET, "Key": key},
                           Key=key.replace(template, new_uuid))
        material = {**entry["material"], "input": {"copy": n}}
        key = cache_key(material)
        s3.put_object(Bucket=BUCKET, Key=entry_key.replace(entry["key"], key),
                      Body=json.dumps({**entry, "key": key, "uuid": new_uuid, "material": material}).encode())


WALL_RUNS = 5
WALL: dict[tuple[int, str], float] = {}  # (versions, lookup) -> median seconds of the handler call


def lookup(lambda_handler: Callable, context: str, which: str, expect_hit: bool, size: int,
           label: str) -> collections.Counter:
    """The S3 requests of one pull, from an empty local context; the median wall time of WALL_RUNS such
    pulls goes to WALL."""
    costs, seconds = [], []
    for _ in range(WALL_RUNS):
        empty_locally(context)
        started = time.perf_counter()
        answer, cost = counted(lambda: lambda_handler(pull_event(context, which)))
        seconds.append(time.perf_counter() - started)
        costs.append(cost)
        assert answer["hit"] is expect_hit, answer
        if expect_hit:
            assert answer["data"] == (SMALL if which == "small" else LARGE)
    WALL[size, label] = statistics.median(seconds)
    return costs[-1]


def disdat_pull_by_name(context: str, size: int) -> collections.Counter | None:
    """The S3 requests of disdat's own lookup by name: pull every version of the name into a fresh local
    context bound to the same remote context (kept apart: the copies all name the template's uuid inside)."""
    from sfn_cache.runtime.index import bundle_slug

    if size > DISDAT_COMPARE_MAX:
        return None
    api, local = disdat(context), f"{context}-by-name-{size}"
    with contextlib.redirect_stdout(io.StringIO()):
        api.context(local)
        api.remote(local, context, f"s3://{BUCKET}/{context}")
    _, cost = counted(lambda: api.pull(local, bundle_name=bundle_slug(BUNDLE)))
    return cost


def main() -> int:
    started = time.monotonic()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                      SFN_CACHE_BUCKET=f"s3://{BUCKET}", SFN_CACHE_INLINE_MAX_BYTES="1000",
                      SFN_CACHE_LOCAL_ROOT=tempfile.mkdtemp(prefix="lookup-cost-"))
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "SFN_CACHE_LINEAGE", "SFN_CACHE_TTL"):
        os.environ.pop(name, None)
    botocore.client.BaseClient._make_api_call = _counting_call
    rows = []
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        from sfn_cache.runtime.handler import lambda_handler

        # One version each: the inlined and the bundle-read hit need their own context.
        push(lambda_handler, "one-inline", "small", SMALL)
        push(lambda_handler, "one-bundle", "large", LARGE)
        # Many versions: two real pushes, then copies of the large one's objects.
        push(lambda_handler, "many", "small", SMALL)
        template = push(lambda_handler, "many", "large", LARGE)
        for size in SIZES:
            inline_ctx, bundle_ctx = ("one-inline", "one-bundle") if size == 1 else ("many", "many")
            if size > 1:
                fill(s3, "many", template, size)
            rows.append((size, lookup(lambda_handler, inline_ctx, "small", True, size, "hit (inline)"),
                         lookup(lambda_handler, bundle_ctx, "large", True, size, "hit (bundle)"),
                         lookup(lambda_handler, bundle_ctx, f"new-{size}", False, size, "miss"),
                         disdat_pull_by_name(bundle_ctx, size)))
            print(f"  {size} versions measured ({time.monotonic() - started:.0f} s)", file=sys.stderr)

    print("S3 requests per cache lookup: real handler, moto S3 in-process, empty local disdat context, lineage on")
    print("1 version: one real push per context. More versions: two real pushes (one inlined, one not); the rest")
    print("were made by COPYING the real pushed bundle's S3 objects (hframe + frame) under new uuids, each with an")
    print("index entry for another key.")
    print()
    print(f"{'versions':>8} | {'hit (inline)':>12} | {'hit (bundle)':>12} | {'miss':>4} | disdat pull by name")
    for size, *costs, by_name in rows:
        inline, bundle, miss = (sum(c.values()) for c in costs)
        print(f"{size:>8} | {inline:>12} | {bundle:>12} | {miss:>4} | "
              f"{sum(by_name.values()) if by_name else f'not run (> {DISDAT_COMPARE_MAX} versions)'}")
    print()
    for title, column in (("hit (inline)", 1), ("hit (bundle)", 2), ("miss", 3), ("disdat pull by name", 4)):
        measured = [row for row in rows if row[column] is not None]
        for spelling in dict.fromkeys(spelled(row[column]) for row in measured):
            sizes = ", ".join(str(row[0]) for row in measured if spelled(row[column]) == spelling)
            print(f"{title + ':':<21} {spelling}   (versions: {sizes})")
    print("disdat's pull by name reads every version. On the copies it reads one version fewer: the real")
    print("template's hframe is skipped because a copy (which holds the template's uuid inside) came first.")
    print()
    print(f"Wall time of a lookup in ms, median of {WALL_RUNS} (handler call, moto S3 in-process, empty local")
    print("context). Status: every hit returned the stored result, every miss was a miss (checked).")
    print(f"{'versions':>8} | {'hit (inline)':>12} | {'hit (bundle)':>12} | {'miss':>6}")
    for size, *_ in rows:
        print(f"{size:>8} | " + " | ".join(f"{WALL[size, label] * 1000:>{width}.1f}" for label, width in
                                          (("hit (inline)", 12), ("hit (bundle)", 12), ("miss", 6))))
    print(f"({time.monotonic() - started:.0f} s)")
    if len({tuple(spelled(cost) for cost in row[1:4]) for row in rows}) != 1:
        print("FAIL: the handler's request count depends on the number of stored versions", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
