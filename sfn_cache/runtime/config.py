"""Where the cache lives: the Lambda's environment, overridden by the fields ``wrap`` wrote into the event."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class CacheConfigError(ValueError):
    """The cache has no bucket, or a malformed one, or a malformed setting."""


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# IAM reads these in a policy ARN as wildcards or policy variables: a prefix holding them would
# grant more than the cache, so they are refused wherever a cache URL is read.
_POLICY_SPECIAL = ("*", "?", "${")


def parse_duration(text: str | int) -> int:
    """Seconds in ``30``, ``30s``, ``15m``, ``12h``, ``7d`` or ``2w``; ValueError otherwise.

    Shared by ``wrap --ttl`` and the Lambda's ``SFN_CACHE_TTL`` so both accept the same spellings.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"duration must not be negative: {text}")
        return text
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 3600, 90m, 12h, 7d, 2w)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True)
class CacheConfig:
    bucket: str
    prefix: str  # no leading or trailing slash; may be ""
    context: str
    ttl: int | None  # seconds a stored result may be served; 0 = never served; None = no limit
    inline_max_bytes: int
    local_root: str

    @property
    def remote_url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def s3_key(self, *parts: str) -> str:
        return "/".join(([self.prefix] if self.prefix else []) + list(parts))


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket[/prefix]``; a prefix with empty, ``.`` or ``..`` parts is refused."""
    if not isinstance(url, str) or not url.startswith("s3://") or len(url) <= 5:
        raise CacheConfigError(f"cache bucket must look like s3://bucket[/prefix], got {url!r}")
    special = [mark for mark in _POLICY_SPECIAL if mark in url]
    if special:
        raise CacheConfigError(f"cache bucket {url!r} contains {' and '.join(special)}: IAM would read it as a "
                               "wildcard or policy variable and grant more than the cache; choose a plain prefix")
    bucket, _, prefix = url[5:].partition("/")
    prefix = prefix.strip("/")
    if not bucket:
        raise CacheConfigError(f"cache bucket must look like s3://bucket[/prefix], got {url!r}")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise CacheConfigError(f"cache prefix in {url!r} has an empty, '.' or '..' part")
    return bucket, prefix


def _within(location: tuple[str, str], allowed: tuple[str, str]) -> bool:
    """Whether (bucket, prefix) lies at or under an allowed (bucket, prefix): ``team/ml`` is under
    ``team`` but ``team-b`` is not (a sibling prefix)."""
    (bucket, prefix), (allowed_bucket, allowed_prefix) = location, allowed
    return bucket == allowed_bucket and (not allowed_prefix or prefix == allowed_prefix
                                         or prefix.startswith(allowed_prefix + "/"))


def allowed_locations(environ: Mapping[str, str] = os.environ) -> list[tuple[str, str]]:
    """Where a payload's bucket override may point: the function's own SFN_CACHE_BUCKET and the
    ``s3://`` URLs listed (comma or space separated) in SFN_CACHE_ALLOWED_BUCKETS."""
    urls = [environ.get("SFN_CACHE_BUCKET") or ""] + re.split(r"[,\s]+", environ.get("SFN_CACHE_ALLOWED_BUCKETS", ""))
    return [parse_s3_url(url) for url in urls if url]


def check_bucket_override(url: str, environ: Mapping[str, str] = os.environ) -> None:
    """Refuse an event's ``bucket`` unless it lies under an allowed location: the caching Lambda must
    not store (or read) wherever a payload says, only where its owner allowed."""
    try:
        location = parse_s3_url(url)
    except CacheConfigError as error:
        raise CacheConfigError(f"field 'bucket': {error}") from None
    allowed = allowed_locations(environ)
    if not allowed:  # a function configured with no location of its own: the payload names the only one
        return
    if not any(_within(location, place) for place in allowed):
        places = ", ".join(f"s3://{b}/{p}".rstrip("/") for b, p in allowed)
        raise CacheConfigError(f"field 'bucket': {url!r} is not allowed: this function stores only under "
                               f"{places}; add it to SFN_CACHE_ALLOWED_BUCKETS in the function's environment")


def environment_ttl(environ: Mapping[str, str] = os.environ) -> int | None:
    """``SFN_CACHE_TTL`` in seconds (same durations as ``wrap --ttl``), or None when unset."""
    text = environ.get("SFN_CACHE_TTL", "").strip()
    if not text:
        return None
    try:
        return parse_duration(text)
    except ValueError as error:
        raise CacheConfigError(f"SFN_CACHE_TTL={text!r} is not a duration: expected seconds or a number with "
                               "s, m, h, d or w (e.g. 3600, 12h, 7d); 0 means never serve a stored result") from error


def effective_ttl(event_ttl: Any, environ: Mapping[str, str] = os.environ) -> int | None:
    """The shorter of the state's TTL (from the event) and the Lambda's default: a per-state TTL can
    shorten the global one, never lengthen it past the Lambda's limit."""
    limits = [environment_ttl(environ)]
    if event_ttl is not None:
        try:
            limits.append(parse_duration(event_ttl))
        except ValueError as error:
            raise CacheConfigError(f"ttl {event_ttl!r} in the event is not a duration") from error
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def config_for(event: dict[str, Any], environ: Mapping[str, str] = os.environ) -> CacheConfig:
    url = event.get("bucket") or environ.get("SFN_CACHE_BUCKET")
    if not url:
        raise CacheConfigError("no cache bucket: set SFN_CACHE_BUCKET on the Lambda or wrap with --bucket")
    bucket, prefix = parse_s3_url(url)
    return CacheConfig(
        bucket=bucket,
        prefix=prefix,
        context=event.get("context") or environ.get("SFN_CACHE_CONTEXT") or "sfn-cache",
        ttl=effective_ttl(event.get("ttl"), environ),
        inline_max_bytes=int(environ.get("SFN_CACHE_INLINE_MAX_BYTES", "32768")),
        local_root=environ.get("SFN_CACHE_LOCAL_ROOT", "/tmp/sfn-cache"),
    )
