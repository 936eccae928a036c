"""The key index: one small S3 object per cache key, next to the disdat bundles.

It makes a lookup cost one GET however many versions exist (disdat's own search reads every bundle),
and carries small results inline so that a hit on them needs neither disdat nor pandas.

    s3://<bucket>/<prefix>/sfn-cache/index/<bundle slug>/<key>.json
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from typing import Any

from botocore.exceptions import ClientError

from sfn_cache.runtime.config import CacheConfig

LOG = logging.getLogger(__name__)
INDEX_DIR = "sfn-cache/index"
MATERIAL_DIR = "sfn-cache/material"
ENTRY_VERSION = 1


def entry_duration(entry: dict) -> float | None:
    """The task's run time an entry stores, if it is a usable number: older entries have none, and a
    corrupt one (``1e999`` reads as infinity) must not reach a metric or a total."""
    value = entry.get("duration")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def bundle_slug(bundle: str) -> str:
    """A safe, collision-free folder name for a bundle name: ``[A-Za-z0-9_-]`` plus a digest."""
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", bundle)[:60]
    return f"{readable}-{hashlib.sha256(bundle.encode('utf-8')).hexdigest()[:8]}"


def entry_key(config: CacheConfig, bundle: str, key: str) -> str:
    return config.s3_key(INDEX_DIR, bundle_slug(bundle), f"{key}.json")


def material_key(config: CacheConfig, bundle: str, key: str) -> str:
    return config.s3_key(MATERIAL_DIR, bundle_slug(bundle), f"{key}.json")


class KeyIndex:
    def __init__(self, s3, config: CacheConfig):
        self.s3 = s3
        self.config = config

    def _read(self, s3_key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist (any other S3 error raises)."""
        try:
            return self.s3.get_object(Bucket=self.config.bucket, Key=s3_key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def get(self, bundle: str, key: str) -> dict | None:
        """The entry for ``key``, or None when there is none or it cannot be read (logged, a miss)."""
        body = self._read(entry_key(self.config, bundle, key))
        if body is None:
            return None
        try:
            entry = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            LOG.warning("sfn-cache: unreadable index entry for %s/%s (%s): treated as a miss", bundle, key, error)
            return None
        if not isinstance(entry, dict) or entry.get("v") != ENTRY_VERSION or entry.get("key") != key:
            LOG.warning("sfn-cache: malformed index entry for %s/%s: treated as a miss", bundle, key)
            return None
        return entry

    def put(self, entry: dict[str, Any]) -> None:
        body = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.s3.put_object(Bucket=self.config.bucket, Key=entry_key(self.config, entry["bundle"], entry["key"]),
                           Body=body, ContentType="application/json")

    def put_material(self, bundle: str, key: str, material: dict) -> None:
        """Keep a miss's key material in S3 for its push, so the push payload need not carry it.

        Content-addressed (``key`` is the material's digest): concurrent misses write the same bytes.
        """
        body = json.dumps(material, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.s3.put_object(Bucket=self.config.bucket, Key=material_key(self.config, bundle, key), Body=body,
                           ContentType="application/json")

    def get_material(self, bundle: str, key: str) -> Any:
        """The key material a pull kept for ``key``, or None when there is none or it is unreadable."""
        body = self._read(material_key(self.config, bundle, key))
        try:
            return None if body is None else json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
