"""Lineage without the execution-history API: a small per-execution log next to the bundles.

Every bundle an execution produces (push) or reuses (hit) leaves one empty S3 object whose name says
what it was; a push lists the log (one LIST) and records everything already in it as the new
bundle's disdat dependencies. Exact for sequential chains. Across Parallel branches and Map
iterations it records whatever the execution had produced or reused *before* the push, on any
branch: best effort, an over-approximation, never a miss.

    s3://<bucket>/<prefix>/sfn-cache/executions/<sha256(execution id)[:32]>/<ns>~<uuid>~<processing name>

Costs: one PUT per hit and per push, one LIST per push. SFN_CACHE_LINEAGE=off turns it off (a hit on
an inlined result is then exactly one GET).
"""

from __future__ import annotations

import hashlib
import os
import time

from sfn_cache.runtime.config import CacheConfig

EXECUTIONS_DIR = "sfn-cache/executions"


def enabled(environ=os.environ) -> bool:
    return environ.get("SFN_CACHE_LINEAGE", "on").lower() not in ("off", "0", "false", "no")


def _log_prefix(config: CacheConfig, execution: str) -> str:
    digest = hashlib.sha256(execution.encode("utf-8")).hexdigest()[:32]
    return config.s3_key(EXECUTIONS_DIR, digest) + "/"


def record(s3, config: CacheConfig, execution: str | None, uuid: str, processing_name: str) -> None:
    if not execution:
        return
    name = f"{time.time_ns():020d}~{uuid}~{processing_name}"
    s3.put_object(Bucket=config.bucket, Key=_log_prefix(config, execution) + name, Body=b"")


def earlier(s3, config: CacheConfig, execution: str | None) -> list[dict]:
    """The bundles this execution produced or reused so far, oldest first, each once."""
    if not execution:
        return []
    found: dict[str, dict] = {}
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=config.bucket, Prefix=_log_prefix(config, execution))
    for page in pages:
        for item in page.get("Contents", []):
            parts = _record_parts(item["Key"])
            if parts:
                found.setdefault(parts[0], {"uuid": parts[0], "processing_name": parts[1]})
    return list(found.values())


def _record_parts(s3_key: str) -> tuple[str, str] | None:
    """(uuid, processing name) of a lineage record ``<ns>~<uuid>~<processing name>``, else None."""
    parts = s3_key.rsplit("/", 1)[-1].split("~", 2)
    return (parts[1], parts[2]) if len(parts) == 3 else None


def lineage_uuid(s3_key: str) -> str | None:
    """The bundle uuid a lineage record names (what ``sfn-cache rm`` deletes with the bundle)."""
    parts = _record_parts(s3_key)
    return parts[0] if parts else None
