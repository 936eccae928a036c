"""In-progress leases: one execution computes a missed key while the others wait (``--concurrent wait``).

The leader of a key is whoever creates its lease object with ``If-None-Match: *``; the lease names
the leader's execution and expires after the task's ``TimeoutSeconds`` (or ``protocol.DEFAULT_LEASE_SECONDS``).
A follower is told to wait and pulls again later. A follower takes the lease over (conditional
replace on the lease's ETag, so only one does) when it has expired, or when the leader's execution
is no longer running (one ``DescribeExecution``; if that call is not allowed or fails, the expiry
alone decides). The leader's push deletes its lease once the result is indexed.

    s3://<bucket>/<prefix>/sfn-cache/leases/<bundle slug>/<key>.json
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from sfn_cache.runtime.config import CacheConfig
from sfn_cache.runtime.index import bundle_slug, error_code

LOG = logging.getLogger(__name__)
LEASES_DIR = "sfn-cache/leases"
LEASE_MAX_BYTES = 4096
LeaderRunning = Callable[[str | None], "bool | None"]  # True, False, or None: unknown
_LOST = ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409")


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: lead (run the task) or wait (``seconds`` left on the lease)."""

    lead: bool
    seconds: float = 0.0


def lease_key(config: CacheConfig, bundle: str, key: str) -> str:
    return config.s3_key(LEASES_DIR, bundle_slug(bundle), f"{key}.json")


def claim(s3: Any, config: CacheConfig, bundle: str, key: str, execution: str | None, seconds: int,
          leader_running: LeaderRunning | None = None) -> Claim:
    """Take the lease of ``key`` for ``execution`` or learn who holds it.

    ``leader_running(execution) -> bool | None`` says whether the holder still runs (None: unknown).
    """
    where = lease_key(config, bundle, key)
    body = json.dumps({"execution": execution, "expires": time.time() + seconds}).encode("utf-8")
    held = _read(s3, config, where)
    if held is None:
        return Claim(lead=_put(s3, config, where, body, {"IfNoneMatch": "*"}))  # lost: a peer just took it
    holder, etag = held
    left = holder.get("expires", 0) - time.time() if isinstance(holder.get("expires"), (int, float)) else 0
    ours = execution is not None and holder.get("execution") == execution
    leader_gone = (left > 0 and not ours and leader_running is not None
                   and leader_running(holder.get("execution")) is False)
    if ours or left <= 0 or leader_gone:
        if _put(s3, config, where, body, {"IfMatch": etag}):
            return Claim(lead=True)
        return Claim(lead=False, seconds=float(seconds))
    return Claim(lead=False, seconds=left)


def release(s3: Any, config: CacheConfig, bundle: str, key: str, execution: str | None) -> None:
    """Delete the lease if ``execution`` holds it (best effort: an expired lease frees itself)."""
    where = lease_key(config, bundle, key)
    try:
        held = _read(s3, config, where)
        if held is not None and execution is not None and held[0].get("execution") == execution:
            s3.delete_object(Bucket=config.bucket, Key=where)
    except Exception as error:
        LOG.warning("sfn-cache: lease of %s not released (%s): it expires on its own", key, error)


def _read(s3: Any, config: CacheConfig, where: str) -> tuple[dict[str, Any], str] | None:
    try:
        answer = s3.get_object(Bucket=config.bucket, Key=where, Range=f"bytes=0-{LEASE_MAX_BYTES}")
    except ClientError as error:
        if error_code(error) in ("NoSuchKey", "404"):
            return None
        raise
    try:
        holder = json.loads(answer["Body"].read())
    except (UnicodeDecodeError, ValueError):
        holder = {}
    return (holder if isinstance(holder, dict) else {}), answer["ETag"]


def _put(s3: Any, config: CacheConfig, where: str, body: bytes, condition: dict[str, Any]) -> bool:
    try:
        s3.put_object(Bucket=config.bucket, Key=where, Body=body, ContentType="application/json", **condition)
    except ClientError as error:
        if error_code(error) in _LOST:
            return False
        raise
    return True


def execution_running(states_client: Any) -> LeaderRunning:
    """A ``leader_running`` for ``claim``: DescribeExecution's status, or None when it cannot be read."""
    def running(execution: str | None) -> bool | None:
        if not execution:
            return None
        try:
            status = states_client.describe_execution(executionArn=execution)["status"]
            return bool(status == "RUNNING")
        except Exception:  # not allowed, not found, throttled: the lease's expiry decides
            return None
    return running
