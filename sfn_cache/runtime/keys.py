"""Cache keys: canonical JSON of the key material, hashed with SHA-256.

One spelling per value: sorted keys, no insignificant whitespace, integral floats written as
integers (Step Functions may hand the same number over as 1 or 1.0), UTF-8 kept as is.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

PROTOCOL = 2


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _normalise(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_normalise(inner) for inner in value]
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(_normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def key_material(event: dict) -> dict:
    """Everything that decides a task's result, as the cache_pull payload states it (docs/protocol.md)."""
    return {
        "protocol": PROTOCOL,
        "resource": event.get("resource"),
        "bundle": event["bundle"],
        "cache_version": str(event.get("cache_version") or ""),
        "form": event.get("form") or "raw",
        "input": event.get("input"),
    }


def cache_key(material: dict) -> str:
    """Lowercase hex SHA-256: safe in S3 keys and disdat names."""
    return hashlib.sha256(canonical_json(material).encode("utf-8")).hexdigest()
