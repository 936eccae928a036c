"""Key parts that name code and data: ``--key-code auto`` and ``--key-s3 etag`` (docs/protocol.md).

A redeploy is the usual way a cache lies: same input, new code, old result. So the caching Lambda
asks AWS what code the target runs (one read call) and what the ``s3://`` objects in the key hold
(one HEAD each), and puts the answers in the key material. Code answers are kept in the warm
container for ``SFN_CACHE_RESOLVE_TTL`` seconds (default 60, 0 = never kept) so that most hits cost
no extra call; S3 answers are not kept (data changes between runs are what ``--key-s3`` is for).

Anything that cannot be resolved raises ``Unresolved``: the pull answers a miss without a key, so
the task runs and nothing is stored under a key that does not name its code or data.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, Callable

from sfn_cache.runtime import clients
from sfn_cache.runtime.keys import code_kind

S3_PREFIX_LIMIT = 1000  # objects listed for one s3://bucket/prefix/ in the key; more is a miss
_LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:function:")
_TARGET_NAMES = ("FunctionName", "Qualifier", "JobName", "TaskDefinition", "JobDefinition")
_memo: dict[tuple, tuple[float, Any]] = {}


class Unresolved(Exception):
    """A key part could not be resolved: the pull is a miss without a key (fail-open)."""


def resolved_parts(event: dict, parameters: dict, s3) -> dict:
    """The ``code`` and ``s3`` key parts this pull asks for (empty when it asks for none)."""
    parts = {}
    if event.get("key_code") == "auto":
        kind = code_kind(event.get("resource"), parameters)
        if kind:
            names = tuple(str(parameters.get(n)) for n in _TARGET_NAMES)
            parts["code"] = {kind: _remembered((kind, event["resource"]) + names,
                                               lambda: _guarded(_CODE[kind], event["resource"], parameters, s3))}
    if event.get("key_s3") == "etag":
        urls = sorted(set(_s3_urls([event.get("input"), event.get("target")])))
        if urls:
            parts["s3"] = {url: s3_identity(s3, url) for url in urls}
    return parts


def _guarded(resolve: Callable, resource: str, parameters: dict, s3) -> Any:
    """An AWS error (not found, access denied, throttled) is Unresolved: fail-open, never an error."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return resolve(resource, parameters, s3)
    except (ClientError, BotoCoreError) as error:
        raise Unresolved(f"--key-code: {type(error).__name__}: {error}") from None


def _remembered(key: tuple, resolve: Callable[[], Any]) -> Any:
    ttl = float(os.environ.get("SFN_CACHE_RESOLVE_TTL", "60"))
    now = time.monotonic()
    if ttl > 0 and key in _memo and _memo[key][0] > now:
        return _memo[key][1]
    value = resolve()
    if ttl > 0:
        _memo[key] = (now + ttl, value)
    return value


def _client(service: str, region: str | None = None):
    """The warm container's client (clients.py), in the target's region when its ARN names one."""
    return clients.client(service, region=region)


def _text(parameters: dict, name: str) -> str:
    value = parameters.get(name)
    if not isinstance(value, str) or not value:
        raise Unresolved(f"--key-code: the task names no {name}")
    return value


def _lambda(resource: str, parameters: dict, s3) -> dict:
    """CodeSha256 and Version of the function (an alias or version qualifier resolves to its version)."""
    name = resource if _LAMBDA_ARN.match(resource) else _text(parameters, "FunctionName")
    match = _LAMBDA_ARN.match(name)
    request = {"FunctionName": name}
    if isinstance(parameters.get("Qualifier"), str) and not _LAMBDA_ARN.match(resource):
        request["Qualifier"] = parameters["Qualifier"]
    config = _client("lambda", match.group(1) if match else None).get_function_configuration(**request)
    return {"CodeSha256": config["CodeSha256"], "Version": config["Version"]}


def _glue(resource: str, parameters: dict, s3) -> dict:
    """The job's script object: its ETag (GetJob, then one HEAD)."""
    job = _client("glue").get_job(JobName=_text(parameters, "JobName"))["Job"]
    script = job.get("Command", {}).get("ScriptLocation")
    if not isinstance(script, str) or not script.startswith("s3://"):
        raise Unresolved(f"--key-code: Glue job {job.get('Name')!r} has no s3:// script")
    return {"ScriptLocation": script, **s3_identity(s3, script)}


def _ecs(resource: str, parameters: dict, s3) -> dict:
    """The task definition's full ARN: family and the revision a bare family name runs today."""
    described = _client("ecs").describe_task_definition(taskDefinition=_text(parameters, "TaskDefinition"))
    return {"TaskDefinitionArn": described["taskDefinition"]["taskDefinitionArn"]}


def _batch(resource: str, parameters: dict, s3) -> dict:
    """The job definition's full ARN: the latest ACTIVE revision when the task names only the name."""
    name = _text(parameters, "JobDefinition")
    request = {"jobDefinitions": [name]} if ":" in name else {"jobDefinitionName": name, "status": "ACTIVE"}
    found = _client("batch").describe_job_definitions(**request)["jobDefinitions"]
    active = [d for d in found if d.get("status", "ACTIVE") == "ACTIVE"]
    if not active:
        raise Unresolved(f"--key-code: no active Batch job definition {name!r}")
    return {"JobDefinitionArn": max(active, key=lambda d: d["revision"])["jobDefinitionArn"]}


_CODE = {"lambda": _lambda, "glue": _glue, "ecs": _ecs, "batch": _batch}


def _s3_urls(value: Any):
    if isinstance(value, str) and value.startswith("s3://") and len(value) > 5:
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _s3_urls(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _s3_urls(inner)


def s3_identity(s3, url: str) -> dict:
    """ETag (and VersionId when versioned) of one object; for a prefix ending in ``/``, of every
    object under it (at most S3_PREFIX_LIMIT). A missing object or bucket is Unresolved."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = url[5:].partition("/")
    try:
        if not key or key.endswith("/"):
            return {"objects": _listing(s3, bucket, key, url)}
        head = s3.head_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as error:
        raise Unresolved(f"--key-s3: cannot read {url}: {error}") from None
    identity = {"ETag": head["ETag"]}
    if head.get("VersionId") and head["VersionId"] != "null":
        identity["VersionId"] = head["VersionId"]
    return identity


def _listing(s3, bucket: str, prefix: str, url: str) -> list[list[str]]:
    objects: list[list[str]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        objects.extend([item["Key"], item["ETag"]] for item in page.get("Contents", []))
        if len(objects) > S3_PREFIX_LIMIT:
            raise Unresolved(f"--key-s3: more than {S3_PREFIX_LIMIT} objects under {url}: "
                             "name fewer objects in the key, or use --key-s3 off for this task")
    return objects
