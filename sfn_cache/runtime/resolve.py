"""Key parts that name code and data: ``--key-code auto`` and ``--key-s3 etag`` (docs/protocol.md).

A redeploy is the usual way a cache lies: same input, new code, old result. So the caching Lambda
asks AWS what code the target runs (one read call) and what the ``s3://`` objects in the key hold
(one HEAD each), and puts the answers in the key material. Code answers are kept in the warm
container for ``SFN_CACHE_RESOLVE_TTL`` seconds (default 60, 0 = never kept) so that most hits cost
no extra call; S3 answers are not kept (data changes between runs are what ``--key-s3`` is for).

Code is looked up where the task runs: in the execution's region (from the state machine ARN), and a
bare Lambda ``FunctionName`` as the full ARN of the function in that region and in the account the
task runs in (its ``Credentials`` role's account, else the execution's). Glue, ECS and Batch names
are looked up in the execution's region; a task whose Credentials name another account is not
looked up (``Unresolved``: this Lambda cannot read another account's jobs). Without a state machine
ARN the caching Lambda's own account and region are asked, as before.

Anything that cannot be resolved raises ``Unresolved``: the pull answers a miss without a key, so
the task runs and nothing is stored under a key that does not name its code or data. The push
resolves the same parts again (``changed_parts``), bypassing the memo, and stores nothing when the
code or data changed while the task ran.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, Callable, Iterator

from sfn_cache.runtime import clients
from sfn_cache.runtime.keys import LAMBDA_ARN, canonical_json, code_kind, execution_scope, target_parameters

S3_PREFIX_LIMIT = 1000  # objects listed for one s3://bucket/prefix/ in the key; more is a miss
_PARTIAL_LAMBDA_ARN = re.compile(r"^(\d{12}):function:(.+)$")  # "123456789012:function:name", a Lambda spelling
_SERVICE_ARN = re.compile(r"^arn:aws[a-z-]*:(?:ecs|batch):([a-z0-9-]+):\d{12}:")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/")
_PARTITION = re.compile(r"^arn:(aws[a-z-]*):states:")
_TARGET_NAMES = ("FunctionName", "Qualifier", "JobName", "TaskDefinition", "JobDefinition")
_memo: dict[tuple[Any, ...], tuple[float, Any]] = {}


class Unresolved(Exception):
    """A key part could not be resolved: the pull is a miss without a key (fail-open).

    ``part`` is the key part that failed (``code`` or ``s3``), ``kind`` what was asked (``lambda``,
    ``glue``, ``ecs``, ``batch``, or the ``s3://`` URL), for the log line and the metric."""

    def __init__(self, message: str, part: str = "code", kind: str | None = None):
        super().__init__(message)
        self.part = part
        self.kind = kind


def task_scope(event: dict[str, Any]) -> dict[str, Any] | None:
    """Where the task runs: partition and region of the execution, the execution's account, and the
    account its ``Credentials`` role belongs to (the execution's when it has none). None when the
    event names no state machine ARN (the caching Lambda's own account and region are asked)."""
    state_machine = event.get("state_machine")
    scope = execution_scope(state_machine)
    if scope["region"] is None:
        return None
    credentials = event.get("credentials")
    role = None
    if isinstance(credentials, dict):
        role = credentials.get("role_arn", credentials.get("RoleArn"))
    match = _ROLE_ARN.match(role) if isinstance(role, str) else None
    partition = _PARTITION.match(str(state_machine))  # execution_scope matched it: a states ARN
    assert partition is not None
    return {"partition": partition.group(1), "region": scope["region"],
            "execution_account": scope["account"], "account": match.group(1) if match else scope["account"]}


def resolved_parts(event: dict[str, Any], parameters: dict[str, Any], s3: Any, fresh: bool = False) -> dict[str, Any]:
    """The ``code`` and ``s3`` key parts this pull asks for (empty when it asks for none).
    ``fresh``: ask AWS even when the warm container remembers the answer (the push's re-check)."""
    parts = {}
    if event.get("key_code") == "auto":
        kind = code_kind(event.get("resource"), parameters)
        if kind:
            scope = task_scope(event)
            names = tuple(str(parameters.get(n)) for n in _TARGET_NAMES)
            where = tuple(sorted(scope.items())) if scope else ()
            parts["code"] = {kind: _remembered((kind, event["resource"]) + names + where,
                                               lambda: _guarded(kind, event["resource"], parameters, s3, scope),
                                               fresh)}
    if event.get("key_s3") == "etag":
        urls = sorted(set(_s3_urls([event.get("input"), event.get("target")])))
        if urls:
            parts["s3"] = {url: s3_identity(s3, url) for url in urls}
    return parts


def changed_parts(material: dict[str, Any], state_machine: Any, s3: Any) -> list[str]:
    """The ``code`` and ``s3`` parts of a pull's kept ``material`` that resolve differently now
    (bypassing the memo; a fresh code answer replaces the remembered one). Raises Unresolved (or
    whatever AWS raises) when a part no longer resolves."""
    event = {"resource": material.get("resource"), "input": material.get("input"), "state_machine": state_machine}
    for part in ("target", "credentials"):
        if part in material:
            event[part] = material[part]
    if "code" in material:
        event["key_code"] = "auto"
    if "s3" in material:
        event["key_s3"] = "etag"
    now = resolved_parts(event, target_parameters(event), s3, fresh=True)
    return [part for part in ("code", "s3")
            if part in material and canonical_json(now.get(part)) != canonical_json(material[part])]


def _guarded(kind: str, resource: str, parameters: dict[str, Any], s3: Any, scope: dict[str, Any] | None) -> Any:
    """An AWS error (not found, access denied, throttled) is Unresolved: fail-open, never an error."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return _CODE[kind](resource, parameters, s3, scope)
    except (ClientError, BotoCoreError) as error:
        raise Unresolved(f"--key-code: {type(error).__name__}: {error}", "code", kind) from None
    except Unresolved as error:
        error.part, error.kind = "code", kind
        raise


def _remembered(key: tuple[Any, ...], resolve: Callable[[], Any], fresh: bool = False) -> Any:
    ttl = float(os.environ.get("SFN_CACHE_RESOLVE_TTL", "60"))
    now = time.monotonic()
    if ttl > 0 and not fresh and key in _memo and _memo[key][0] > now:
        return _memo[key][1]
    value = resolve()
    if ttl > 0:
        _memo[key] = (now + ttl, value)
    return value


def _client(service: str, region: str | None = None) -> Any:
    """The warm container's client (clients.py), in the target's region when its ARN names one."""
    return clients.client(service, region=region)


def _text(parameters: dict[str, Any], name: str) -> str:
    value = parameters.get(name)
    if not isinstance(value, str) or not value:
        raise Unresolved(f"--key-code: the task names no {name}")
    return value


def _lambda(resource: str, parameters: dict[str, Any], s3: Any, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """CodeSha256 and Version of the function (an alias or version qualifier resolves to its version).
    A bare or partial name is asked as the full ARN of the function where the task runs (``scope``)."""
    name = resource if LAMBDA_ARN.match(resource) else _text(parameters, "FunctionName")
    if scope and not LAMBDA_ARN.match(name):
        partial = _PARTIAL_LAMBDA_ARN.match(name)
        account, function = partial.groups() if partial else (scope["account"], name)
        name = f"arn:{scope['partition']}:lambda:{scope['region']}:{account}:function:{function}"
    match = LAMBDA_ARN.match(name)
    request = {"FunctionName": name}
    if isinstance(parameters.get("Qualifier"), str) and not LAMBDA_ARN.match(resource):
        request["Qualifier"] = parameters["Qualifier"]
    config = _client("lambda", match.group(1) if match else None).get_function_configuration(**request)
    return {"CodeSha256": config["CodeSha256"], "Version": config["Version"]}


def _region(service: str, scope: dict[str, Any] | None, name: str = "") -> str | None:
    """The region to ask ``service`` in: the one a full ARN names, else the execution's. A task whose
    Credentials role is in another account than the execution is Unresolved: its jobs and definitions
    are that account's, which the caching Lambda's role cannot read."""
    if scope and scope["account"] != scope["execution_account"]:
        raise Unresolved(f"--key-code: the task's Credentials run it in account {scope['account']}, not the "
                         f"execution's ({scope['execution_account']}): its {service} code is not looked up "
                         "across accounts (use --key-code off for this task, or --cache-version)")
    match = _SERVICE_ARN.match(name)
    if match:
        return match.group(1)
    return scope["region"] if scope else None


def _glue(resource: str, parameters: dict[str, Any], s3: Any, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """The job's script object: its ETag (GetJob, then one HEAD)."""
    region = _region("Glue", scope)
    job = _client("glue", region).get_job(JobName=_text(parameters, "JobName"))["Job"]
    script = job.get("Command", {}).get("ScriptLocation")
    if not isinstance(script, str) or not script.startswith("s3://"):
        raise Unresolved(f"--key-code: Glue job {job.get('Name')!r} has no s3:// script")
    try:
        return {"ScriptLocation": script, **s3_identity(s3, script)}
    except Unresolved as error:  # said as the code part it is, not as a --key-s3 string
        why = str(error).removeprefix("--key-s3: ")
        raise Unresolved(f"--key-code: Glue job {job.get('Name')!r}: {why}", "code", "glue") from None


def _ecs(resource: str, parameters: dict[str, Any], s3: Any, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """The task definition's full ARN: family and the revision a bare family name runs today."""
    name = _text(parameters, "TaskDefinition")
    described = _client("ecs", _region("ECS", scope, name)).describe_task_definition(taskDefinition=name)
    return {"TaskDefinitionArn": described["taskDefinition"]["taskDefinitionArn"]}


def _batch(resource: str, parameters: dict[str, Any], s3: Any, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """The job definition's full ARN: the latest ACTIVE revision when the task names only the name."""
    name = _text(parameters, "JobDefinition")
    request = {"jobDefinitions": [name]} if ":" in name else {"jobDefinitionName": name, "status": "ACTIVE"}
    found = _client("batch", _region("Batch", scope, name)).describe_job_definitions(**request)["jobDefinitions"]
    active = [d for d in found if d.get("status", "ACTIVE") == "ACTIVE"]
    if not active:
        raise Unresolved(f"--key-code: no active Batch job definition {name!r}")
    return {"JobDefinitionArn": max(active, key=lambda d: d["revision"])["jobDefinitionArn"]}


_CODE = {"lambda": _lambda, "glue": _glue, "ecs": _ecs, "batch": _batch}


def _s3_urls(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value.startswith("s3://") and len(value) > 5:
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _s3_urls(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _s3_urls(inner)


def s3_identity(s3: Any, url: str) -> dict[str, Any]:
    """ETag (and VersionId when versioned) of one object; for a prefix ending in ``/``, of every
    object under it (at most S3_PREFIX_LIMIT). A missing object or bucket is Unresolved."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = url[5:].partition("/")
    try:
        if not key or key.endswith("/"):
            return {"objects": _listing(s3, bucket, key, url)}
        head = s3.head_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as error:
        raise Unresolved(f"--key-s3: cannot read {url}: {error}", "s3", url) from None
    identity = {"ETag": head["ETag"]}
    if head.get("VersionId") and head["VersionId"] != "null":
        identity["VersionId"] = head["VersionId"]
    return identity


def _listing(s3: Any, bucket: str, prefix: str, url: str) -> list[list[str]]:
    objects: list[list[str]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        objects.extend([item["Key"], item["ETag"]] for item in page.get("Contents", []))
        if len(objects) > S3_PREFIX_LIMIT:
            raise Unresolved(f"--key-s3: more than {S3_PREFIX_LIMIT} objects under {url}: "
                             "name fewer objects in the key, or use --key-s3 off for this task", "s3", url)
    return objects
