"""Where the cache lives: the Lambda's environment, overridden by the fields ``wrap`` wrote into the event."""

from __future__ import annotations

import os
from dataclasses import dataclass


class CacheConfigError(ValueError):
    """The cache has no bucket, or a malformed one."""


@dataclass(frozen=True)
class CacheConfig:
    bucket: str
    prefix: str  # no leading or trailing slash; may be ""
    context: str
    ttl: int | None
    inline_max_bytes: int
    local_root: str

    @property
    def remote_url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def s3_key(self, *parts: str) -> str:
        return "/".join(([self.prefix] if self.prefix else []) + list(parts))


def parse_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://") or len(url) <= 5:
        raise CacheConfigError(f"cache bucket must look like s3://bucket[/prefix], got {url!r}")
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix.strip("/")


def config_for(event: dict, environ=os.environ) -> CacheConfig:
    url = event.get("bucket") or environ.get("SFN_CACHE_BUCKET")
    if not url:
        raise CacheConfigError("no cache bucket: set SFN_CACHE_BUCKET on the Lambda or wrap with --bucket")
    bucket, prefix = parse_s3_url(url)
    ttl = event.get("ttl")
    if ttl is None and environ.get("SFN_CACHE_TTL"):
        ttl = int(environ["SFN_CACHE_TTL"])
    return CacheConfig(
        bucket=bucket,
        prefix=prefix,
        context=event.get("context") or environ.get("SFN_CACHE_CONTEXT") or "sfn-cache",
        ttl=int(ttl) if ttl is not None else None,
        inline_max_bytes=int(environ.get("SFN_CACHE_INLINE_MAX_BYTES", "32768")),
        local_root=environ.get("SFN_CACHE_LOCAL_ROOT", "/tmp/sfn-cache"),
    )
