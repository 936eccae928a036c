"""Read and prune the cache in its S3 context: what ``sfn-cache ls / show / rm`` do.

Works on the key index the runtime writes (sfn_cache/runtime/index.py) and on the disdat bundles it
points to. Listing reads every index entry under the prefix: these are inspection commands, not the
lookup path (which stays one GET).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Iterator

from sfn_cache.errors import SfnCacheError
from sfn_cache.runtime import hit_log, lineage
from sfn_cache.runtime.bundles import read_bundle
from sfn_cache.runtime.config import CacheConfig, CacheConfigError, config_for
from sfn_cache.runtime.index import bundle_slug, index_root, material_key
from sfn_cache.runtime.lineage import EXECUTIONS_DIR, lineage_uuid
from sfn_cache.runtime.protocol import listed_entry


@dataclass(frozen=True)
class Entry:
    """One cached result, as ``ls`` shows it."""

    s3_key: str
    key: str
    bundle: str
    state: str
    uuid: str
    created: float
    expires: float | None
    size: int
    inline: bool
    record: dict

    @classmethod
    def listed(cls, s3_key: str, record: dict) -> "Entry":
        """The entry ``ls`` shows for an index object: fields an older or damaged writer left out
        read as ``?`` or 0, so that it can still be listed and removed."""
        return cls(s3_key=s3_key, key=record["key"], bundle=record.get("bundle", "?"),
                   state=record.get("state", "?"), uuid=record.get("uuid", "?"),
                   created=float(record.get("created") or 0), expires=record.get("expires"),
                   size=int(record.get("size") or 0), inline="inline" in record, record=record)

    def summary(self, now: float) -> dict:
        return {"key": self.key, "bundle": self.bundle, "state": self.state, "uuid": self.uuid,
                "age_seconds": round(now - self.created), "size": self.size,
                "stored": "inline+bundle" if self.inline else "bundle",
                "expired": self.expires is not None and now >= self.expires}


def cache_config(bucket: str | None, context: str | None) -> CacheConfig:
    event = {key: value for key, value in (("bucket", bucket), ("context", context)) if value}
    try:
        return config_for(event)
    except CacheConfigError as error:
        raise SfnCacheError(str(error)) from None


def s3_error(error: Exception, config: CacheConfig) -> SfnCacheError:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
    return SfnCacheError(f"{config.remote_url}: {code}: {error}")


def index_prefix(config: CacheConfig, bundle: str | None = None) -> str:
    return f"{index_root(config)}/{bundle_slug(bundle)}/" if bundle else f"{index_root(config)}/"


def entries(s3, config: CacheConfig, bundle: str | None = None, key_prefix: str = "") -> Iterator[Entry]:
    """Every readable index entry (optionally of one bundle, or whose key starts with ``key_prefix``)."""
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=config.bucket, Prefix=index_prefix(config, bundle))
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if not name.endswith(".json") or not name.startswith(key_prefix):
                    continue
                record = _read(s3, config, item["Key"])
                if record is not None:
                    yield Entry.listed(item["Key"], record)
    except SfnCacheError:
        raise
    except Exception as error:  # botocore ClientError, NoCredentialsError, EndpointConnectionError
        raise s3_error(error, config) from None


def _read(s3, config: CacheConfig, s3_key: str) -> dict | None:
    try:
        record = json.loads(s3.get_object(Bucket=config.bucket, Key=s3_key)["Body"].read())
    except (ValueError, UnicodeDecodeError):
        return None
    return listed_entry(record)


def find(s3, config: CacheConfig, key: str, bundle: str | None = None) -> Entry:
    """The entry whose key is ``key`` or starts with it (at least 6 characters, unambiguous)."""
    if len(key) < 6:
        raise SfnCacheError(f"key {key!r} is too short: give at least 6 characters")
    matches = list(entries(s3, config, bundle, key_prefix=key))
    if not matches:
        raise SfnCacheError(f"no cached result with key {key} in {config.remote_url}")
    if len(matches) > 1:
        raise SfnCacheError(f"key {key} is ambiguous: {', '.join(m.key[:16] for m in matches[:5])}")
    return matches[0]


def result_of(config: CacheConfig, entry: Entry):
    if entry.inline:
        return entry.record["inline"]
    return json.loads(read_bundle(config, entry.uuid))


def lineage_of(s3, config: CacheConfig, entry: Entry) -> list[dict]:
    """The bundles the same execution produced or reused before this result, oldest first: read from
    the execution's lineage log the entry refers to (entries hold a reference, never the list)."""
    reference = entry.record.get("lineage")
    if not isinstance(reference, dict) or not isinstance(reference.get("after"), str):
        return []
    return lineage.earlier(s3, config, entry.record.get("execution"), limit=1000, after=reference["after"])


def remove(s3, config: CacheConfig, targets: list[Entry]) -> int:
    """Delete the index entries, their disdat bundles' objects, their hit counts, the key material their
    pull kept and the lineage records that name those bundles (nothing of a removed result stays
    behind); returns objects deleted."""
    keys: list[str] = []
    try:
        for entry in targets:
            keys.append(entry.s3_key)
            keys += _listed(s3, config, config.s3_key("context", config.context, "objects", entry.uuid) + "/")
            keys += _listed(s3, config, hit_log.key_prefix(config, entry.bundle, entry.key))
            keys += _listed(s3, config, material_key(config, entry.bundle, entry.key))
        removed = {entry.uuid for entry in targets}
        if removed:
            keys += [key for key in _listed(s3, config, config.s3_key(EXECUTIONS_DIR) + "/")
                     if lineage_uuid(key) in removed]
        for start in range(0, len(keys), 1000):
            answer = s3.delete_objects(Bucket=config.bucket,
                                       Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]]})
            if answer.get("Errors"):  # DeleteObjects answers 200 and lists the keys it refused
                first = answer["Errors"][0]
                raise SfnCacheError(f"{config.remote_url}: {first.get('Code')}: {len(answer['Errors'])} object(s) "
                                    f"not deleted, e.g. {first.get('Key')}: {first.get('Message')}")
    except SfnCacheError:
        raise
    except Exception as error:
        raise s3_error(error, config) from None
    return len(keys)


def _listed(s3, config: CacheConfig, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=config.bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def now() -> float:
    return time.time()
