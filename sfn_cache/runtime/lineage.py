"""Lineage without the execution-history API: a small per-execution log next to the bundles.

Every bundle an execution produces (push) or reuses (hit) leaves one empty S3 object whose name says
what it was; a push lists the log (one LIST) and records the most recent entries as the new
bundle's disdat dependencies. Exact for sequential chains. Across Parallel branches and Map
iterations it records whatever the execution had produced or reused *before* the push, on any
branch: best effort, an over-approximation, never a miss.

    s3://<bucket>/<prefix>/sfn-cache/executions/<sha256(execution id)[:32]>/<rank>~<uuid>~<processing name>

``rank`` counts down with time, so one LIST page returns the newest records first: a push reads at
most ``DEPENDENCIES_MAX`` of them whatever the execution's size (a Map of N cached iterations costs N
LIST requests, not N^2 keys), and the index entry holds only a reference to the log (prefix and the
push's rank), never the list itself. Lineage is best effort: a failed lineage request is logged and
ignored, it never fails a pull or a push.

Costs: one PUT per hit and per push, one LIST per push. SFN_CACHE_LINEAGE=off turns it off (a hit on
an inlined result is then exactly one GET).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from sfn_cache.runtime.config import CacheConfig

LOG = logging.getLogger(__name__)
EXECUTIONS_DIR = "sfn-cache/executions"
DEPENDENCIES_MAX = 100
_RANK_BASE = 10 ** 20


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("SFN_CACHE_LINEAGE", "on").lower() not in ("off", "0", "false", "no")


def log_prefix(config: CacheConfig, execution: str) -> str:
    digest = hashlib.sha256(execution.encode("utf-8")).hexdigest()[:32]
    return config.s3_key(EXECUTIONS_DIR, digest) + "/"


def rank_now() -> str:
    """Newest sorts first: the rank falls as time goes on."""
    return f"{_RANK_BASE - time.time_ns():020d}"


def record(s3: Any, config: CacheConfig, execution: str | None, uuid: str, processing_name: str) -> str | None:
    """Log one bundle of ``execution``; its rank, or None when nothing was logged (failures too)."""
    if not execution:
        return None
    rank = rank_now()
    try:
        s3.put_object(Bucket=config.bucket, Key=f"{log_prefix(config, execution)}{rank}~{uuid}~{processing_name}",
                      Body=b"")
    except Exception as error:  # best effort: a lost record must not throw away a hit or a stored result
        LOG.warning("sfn-cache: lineage record for %s not written (%s): ignored", uuid, error)
        return None
    return rank


def earlier(s3: Any, config: CacheConfig, execution: str | None, limit: int = DEPENDENCIES_MAX,
            after: str | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` bundles this execution produced or reused, newest first in S3, returned oldest
    first, each once; ``after`` (a rank) skips what was logged later than it. One LIST request."""
    if not execution:
        return []
    prefix = log_prefix(config, execution)
    request = {"Bucket": config.bucket, "Prefix": prefix, "MaxKeys": limit}
    if after:
        request["StartAfter"] = prefix + after
    try:
        page = s3.list_objects_v2(**request)
    except Exception as error:
        LOG.warning("sfn-cache: lineage log of %s not read (%s): no dependencies recorded", execution, error)
        return []
    found: dict[str, dict[str, Any]] = {}
    for item in page.get("Contents", []):
        parts = _record_parts(item["Key"])
        if parts and (after is None or parts[0] > after):  # StartAfter still lists ``after`` itself
            found.setdefault(parts[1], {"uuid": parts[1], "processing_name": parts[2]})
    return list(reversed(found.values()))


def _record_parts(s3_key: str) -> tuple[str, str, str] | None:
    """(rank, uuid, processing name) of a lineage record ``<rank>~<uuid>~<processing name>``, else None."""
    parts = s3_key.rsplit("/", 1)[-1].split("~", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def lineage_uuid(s3_key: str) -> str | None:
    """The bundle uuid a lineage record names (what ``sfn-cache rm`` deletes with the bundle)."""
    parts = _record_parts(s3_key)
    return parts[1] if parts else None
