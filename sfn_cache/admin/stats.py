"""What the cache holds and what it saved, per bundle name: ``sfn-cache stats``.

Read from the key index and the hit log alone (sfn_cache/runtime/index.py, runtime/hit_log.py):
one LIST per 1,000 entries, one GET per entry, one LIST per 1,000 hits. No disdat import, no bundle read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from sfn_cache.admin.inventory import Entry, entries, s3_error
from sfn_cache.runtime.config import CacheConfig
from sfn_cache.runtime.hit_log import HITS_DIR
from sfn_cache.runtime.index import bundle_slug
from sfn_cache.runtime.protocol import entry_duration


@dataclass
class BundleStats:
    bundle: str
    entries: int = 0
    hits: int = 0
    seconds_saved: float = 0.0
    bytes_stored: int = 0
    oldest: float | None = None
    newest: float | None = None
    unmeasured_hits: int = 0  # hits of entries stored without a duration (older writers)
    states: set[str] = field(default_factory=set)

    def add_hits(self, entry: Entry, hits: int) -> None:
        self.hits += hits
        duration = entry_duration(entry.record)
        if duration is not None:
            self.seconds_saved += hits * duration
        else:
            self.unmeasured_hits += hits

    def add_entry(self, entry: Entry) -> None:
        self.entries += 1
        self.bytes_stored += entry.size
        self.oldest = entry.created if self.oldest is None else min(self.oldest, entry.created)
        self.newest = entry.created if self.newest is None else max(self.newest, entry.created)
        self.states.add(entry.state)

    def summary(self) -> dict:
        return {"bundle": self.bundle, "entries": self.entries, "hits": self.hits,
                "seconds_saved": round(self.seconds_saved, 3), "bytes_stored": self.bytes_stored,
                "oldest": self.oldest, "newest": self.newest, "unmeasured_hits": self.unmeasured_hits,
                "states": sorted(self.states)}


def hit_counts(s3, config: CacheConfig, since: float | None = None,
               bundle: str | None = None) -> dict[tuple[str, str], int]:
    """(bundle slug, key) -> hits recorded at or after ``since`` (epoch seconds), of one bundle or all."""
    counts: dict[tuple[str, str], int] = {}
    prefix = config.s3_key(HITS_DIR) + "/"
    listed = prefix + bundle_slug(bundle) + "/" if bundle else prefix
    floor_ns = int(since * 1e9) if since is not None else None
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=config.bucket, Prefix=listed):
            for item in page.get("Contents", []):
                parts = item["Key"][len(prefix):].split("/")
                if len(parts) != 3 or not parts[2].isdigit():
                    continue
                if floor_ns is not None and int(parts[2]) < floor_ns:
                    continue
                counts[(parts[0], parts[1])] = counts.get((parts[0], parts[1]), 0) + 1
    except Exception as error:
        raise s3_error(error, config) from None
    return counts


def collect(s3, config: CacheConfig, *, since: float | None = None, bundle: str | None = None,
            progress: Callable[[Iterable[Entry]], Iterable[Entry]] = lambda items: items) -> list[BundleStats]:
    """Stats per bundle name, sorted by bundle. With ``since``: entries stored since then, and hits
    served since then (of any entry, however old)."""
    hits = hit_counts(s3, config, since, bundle)
    per_bundle: dict[str, BundleStats] = {}
    for entry in progress(entries(s3, config, bundle)):
        entry_hits = hits.get((bundle_slug(entry.bundle), entry.key), 0)
        recent = since is None or entry.created >= since
        if not (recent or entry_hits):
            continue
        stats = per_bundle.setdefault(entry.bundle, BundleStats(entry.bundle))
        stats.add_hits(entry, entry_hits)
        if recent:
            stats.add_entry(entry)
    return [per_bundle[name] for name in sorted(per_bundle)]
