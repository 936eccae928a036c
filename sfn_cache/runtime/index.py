"""The key index: one small S3 object per cache key, next to the disdat bundles.

It makes a lookup cost one GET however many versions exist (disdat's own search reads every bundle),
and carries small results inline so that a hit on them needs neither disdat nor pandas.

    s3://<bucket>/<prefix>/sfn-cache/index/<context slug>/<bundle slug>/<key>.json
    s3://<bucket>/<prefix>/sfn-cache/material/<context slug>/<bundle slug>/<key>.json   a miss's key material

Per disdat context: a pull in one context never reads another's entry (its bundle is not there).
An entry is trusted only after its shape is checked (a wrong field type is a miss, never an error),
and it is read with a bounded GET: a legitimate entry is at most the inline limit plus the key
material. Writes are conditional (``If-None-Match: *`` when the pull saw no entry, ``If-Match:
<ETag>`` otherwise), so a result computed from an older pull never replaces a newer one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from sfn_cache.runtime.config import CacheConfig
from sfn_cache.runtime.keys import json_bytes
from sfn_cache.runtime.protocol import IndexEntry, well_formed

LOG = logging.getLogger(__name__)
INDEX_DIR = "sfn-cache/index"
MATERIAL_DIR = "sfn-cache/material"
ENTRY_OVERHEAD_BYTES = 8192  # every field of an entry but the inline result and the key material


def bundle_slug(bundle: str) -> str:
    """A safe, collision-free folder name for a bundle name: ``[A-Za-z0-9_-]`` plus a digest."""
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", bundle)[:60]
    return f"{readable}-{hashlib.sha256(bundle.encode('utf-8')).hexdigest()[:8]}"


def index_root(config: CacheConfig) -> str:
    """The index folder of the config's disdat context."""
    return config.s3_key(INDEX_DIR, bundle_slug(config.context))


def entry_key(config: CacheConfig, bundle: str, key: str) -> str:
    return f"{index_root(config)}/{bundle_slug(bundle)}/{key}.json"


def error_code(error: Exception) -> str:
    return error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""


@dataclass(frozen=True)
class Lookup:
    """What the index holds for a key: the entry if it is well formed, and the object's ETag either
    way (a broken entry's ETag lets the next push replace it: repair)."""

    entry: IndexEntry | None
    etag: str | None


def material_root(config: CacheConfig) -> str:
    """The key-material folder of the config's disdat context."""
    return config.s3_key(MATERIAL_DIR, bundle_slug(config.context))


def material_key(config: CacheConfig, bundle: str, key: str) -> str:
    return f"{material_root(config)}/{bundle_slug(bundle)}/{key}.json"


class KeyIndex:
    def __init__(self, s3: Any, config: CacheConfig):
        self.s3 = s3
        self.config = config

    def get(self, bundle: str, key: str, max_bytes: int) -> Lookup:
        """The entry for ``key`` (None when absent, oversized or malformed: logged, a miss)."""
        try:
            answer = self.s3.get_object(Bucket=self.config.bucket, Key=entry_key(self.config, bundle, key),
                                        Range=f"bytes=0-{max_bytes}")
        except ClientError as error:
            if error_code(error) in ("NoSuchKey", "404"):
                return Lookup(None, None)
            if error_code(error) in ("InvalidRange", "416"):  # S3's answer to a range on a 0-byte object
                return self._broken(bundle, key, "empty")
            raise
        etag = answer.get("ETag")
        total = int(str(answer.get("ContentRange", "")).rpartition("/")[2] or answer.get("ContentLength", 0))
        if total > max_bytes:
            LOG.warning("sfn-cache: index entry for %s/%s is %d bytes (limit %d): treated as a miss",
                        bundle, key, total, max_bytes)
            return Lookup(None, etag)
        try:
            entry = json.loads(answer["Body"].read())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            LOG.warning("sfn-cache: unreadable index entry for %s/%s (%s): treated as a miss", bundle, key, error)
            return Lookup(None, etag)
        if not well_formed(entry, key):
            LOG.warning("sfn-cache: malformed index entry for %s/%s: treated as a miss", bundle, key)
            return Lookup(None, etag)
        return Lookup(entry, etag)

    def _broken(self, bundle: str, key: str, why: str) -> Lookup:
        """A miss whose ETag lets the next push replace the broken object (repair)."""
        LOG.warning("sfn-cache: %s index entry for %s/%s: treated as a miss", why, bundle, key)
        try:
            head = self.s3.head_object(Bucket=self.config.bucket, Key=entry_key(self.config, bundle, key))
        except ClientError as error:
            if error_code(error) in ("NoSuchKey", "404"):  # removed since the GET
                return Lookup(None, None)
            raise
        return Lookup(None, head.get("ETag"))

    def put(self, entry: IndexEntry, base: str | None) -> bool:
        """Write ``entry`` if the index still holds what the pull saw (``base``: its ETag, or None for
        no entry). False when a newer push got there first: that result stays."""
        body = json_bytes(entry)
        condition = {"IfMatch": base} if base else {"IfNoneMatch": "*"}
        try:
            self.s3.put_object(Bucket=self.config.bucket, Key=entry_key(self.config, entry["bundle"], entry["key"]),
                               Body=body, ContentType="application/json", **condition)
        except ClientError as error:
            if error_code(error) in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409"):
                return False
            raise
        return True

    def put_material(self, bundle: str, key: str, material: dict[str, Any]) -> None:
        """Keep a miss's key material in S3 for its push, so the push payload need not carry it.

        Content-addressed (``key`` is the material's digest): concurrent misses write the same bytes.
        """
        body = json_bytes(material)
        self.s3.put_object(Bucket=self.config.bucket, Key=material_key(self.config, bundle, key), Body=body,
                           ContentType="application/json")

    def get_material(self, bundle: str, key: str) -> Any:
        """The key material a pull kept for ``key``, or None when there is none or it is unreadable."""
        try:
            where = material_key(self.config, bundle, key)
            body = self.s3.get_object(Bucket=self.config.bucket, Key=where)["Body"].read()
        except ClientError as error:
            if error_code(error) in ("NoSuchKey", "404"):
                return None
            raise
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
