"""A count of hits per key, for ``sfn-cache stats``: one empty S3 object per hit.

The index entry is written once, at push time; rewriting it on every hit would race with pushes and
cost a GET+PUT. An empty object per hit costs one PUT, never conflicts, and ``stats`` counts them
with one LIST per 1,000 hits:

    s3://<bucket>/<prefix>/sfn-cache/hits/<bundle slug>/<key>/<time ns>

Best effort: a failed write is logged and the hit is served anyway. SFN_CACHE_HIT_LOG=off turns it
off (a hit on an inlined result with lineage and the hit log off is exactly one GET).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from sfn_cache.runtime.config import CacheConfig
from sfn_cache.runtime.index import bundle_slug

HITS_DIR = "sfn-cache/hits"
LOG = logging.getLogger(__name__)


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("SFN_CACHE_HIT_LOG", "on").lower() not in ("off", "0", "false", "no")


def key_prefix(config: CacheConfig, bundle: str, key: str) -> str:
    return config.s3_key(HITS_DIR, bundle_slug(bundle), key) + "/"


def record(s3: Any, config: CacheConfig, bundle: str, key: str, now_ns: int | None = None) -> None:
    if not enabled():
        return
    name = f"{time.time_ns() if now_ns is None else now_ns:020d}"
    try:
        s3.put_object(Bucket=config.bucket, Key=key_prefix(config, bundle, key) + name, Body=b"")
    except Exception as error:  # the hit is served whatever happens to its count
        LOG.warning("sfn-cache: could not count a hit of %s/%s: %s", bundle, key, error)
