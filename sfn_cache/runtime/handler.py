"""The caching Lambda: answers the cache_pull and cache_push states of a wrapped state machine.

The contract is docs/protocol.md. This module imports only the standard library and boto3 (which
the Lambda runtime provides); disdat is imported lazily, only when a bundle is written or when a
hit's result is too large to sit inline in the key index.

An error raises: the state machine's Catch turns it into a miss (fail-open, the default) or a failed
execution (--fail-closed). Once a pull knows its key, anything wrong with what is stored (a
malformed, oversized or foreign entry, a bundle that cannot be read or names another key) is a
miss that carries the key, so the push after the task repairs the entry.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sfn_cache.runtime import clients, hit_log, leases, lineage, metrics
from sfn_cache.runtime.config import CacheConfig, config_for, environment_ttl
from sfn_cache.runtime.index import ENTRY_OVERHEAD_BYTES, ENTRY_VERSION, KEY, KeyIndex, Lookup, bundle_slug
from sfn_cache.runtime.keys import PROTOCOL, cache_key, canonical_json, key_material

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

REQUIRED = {
    "pull": ("state", "bundle", "resource", "input"),
    "push": ("state", "bundle", "key", "material", "base", "result"),
}
CONCURRENT = ("run", "wait")

environment_ttl()  # cold start: a malformed SFN_CACHE_TTL fails the Lambda's init with a clear message


class CacheEventError(ValueError):
    """The event is not a cache_pull/cache_push request this handler understands."""


def lambda_handler(event: Any, context: Any = None) -> dict:
    operation = validate(event)
    config = config_for(event)
    s3 = clients.client("s3")
    if operation == "pull":
        try:
            answer = pull(event, config, s3)
        except Exception:
            metrics.emit(event, LookupFailures=1)
            raise
        if answer["hit"]:
            metrics.emit(event, Hits=1, SecondsSaved=answer.pop("saved", 0.0))
        else:
            metrics.emit(event, Misses=1)
        return answer
    try:
        answer = push(event, config, s3)
    except Exception as error:
        metrics.store_failed(error)
        metrics.emit(event, StoreFailures=1)
        raise
    if answer["stored"]:
        metrics.store_succeeded()
        metrics.emit(event, Stores=1)
    return answer


def validate(event: Any) -> str:
    if not isinstance(event, dict):
        raise CacheEventError(f"expected a JSON object, got {type(event).__name__}")
    operation = event.get("sfn_cache")
    if operation not in REQUIRED:
        raise CacheEventError(f"unknown operation {operation!r}: expected 'pull' or 'push' in field 'sfn_cache'")
    if event.get("protocol") != PROTOCOL:
        raise CacheEventError(f"unsupported protocol {event.get('protocol')!r}: this handler speaks {PROTOCOL}; "
                              "re-run sfn-cache wrap or deploy the matching Lambda")
    missing = [name for name in REQUIRED[operation] if name not in event]
    if missing:
        raise CacheEventError(f"{operation} event lacks {', '.join(missing)}")
    if not isinstance(event["bundle"], str) or not event["bundle"]:
        raise CacheEventError("bundle must be a non-empty string")
    if event.get("concurrent", "run") not in CONCURRENT:
        raise CacheEventError(f"concurrent must be one of {', '.join(CONCURRENT)}")
    if operation == "push" and event["base"] is not None and not isinstance(event["base"], str):
        raise CacheEventError("push: base must be the ETag string the pull answered, or null")
    return operation


def forced(event: dict) -> bool:
    """Wrap-time force, or run-time force from the execution input's reserved ``sfn_cache`` field."""
    if event.get("force") is True:
        return True
    run = event.get("run")
    request = run.get("sfn_cache") if isinstance(run, dict) else None
    wanted = request.get("force") if isinstance(request, dict) else None
    if wanted is True:
        return True
    return isinstance(wanted, list) and (event["state"] in wanted or event["bundle"] in wanted)


def entry_limit(config: CacheConfig, material: dict) -> int:
    """The largest index entry a legitimate push writes for ``material``: read no more than that."""
    return config.inline_max_bytes + 2 * len(canonical_json(material).encode("utf-8")) + ENTRY_OVERHEAD_BYTES


def pull(event: dict, config: CacheConfig, s3) -> dict:
    material = key_material(event)
    key = cache_key(material)
    found = KeyIndex(s3, config).get(event["bundle"], key, entry_limit(config, material))
    miss = {"hit": False, "key": key, "material": material, "forced": False, "t": round(time.time(), 3),
            "base": found.etag, "wait": False}
    if forced(event):
        return {**miss, "forced": True}
    data = _served(found, key, material, config)
    if data is not None:
        if lineage.enabled():
            lineage.record(s3, config, event.get("execution"), found.entry["uuid"],
                           f"{bundle_slug(event['bundle'])}_{key}")
        hit_log.record(s3, config, event["bundle"], key)
        saved = found.entry.get("duration")
        return {"hit": True, "key": key, "data": data[0], "uuid": found.entry["uuid"],
                "saved": float(saved) if isinstance(saved, (int, float)) and not isinstance(saved, bool)
                and saved > 0 else 0.0}
    if event.get("concurrent") == "wait":
        seconds = int(event.get("lease") or leases.DEFAULT_SECONDS)
        claim = leases.claim(s3, config, event["bundle"], key, event.get("execution"), seconds,
                             leases.execution_running(clients.client("stepfunctions")))
        if not claim.lead:
            return {**miss, "wait": True}
    return miss


def _served(found: Lookup, key: str, material: dict, config: CacheConfig) -> tuple[Any] | None:
    """``(data,)`` when the entry may be served; None (logged) when it is a miss."""
    entry = found.entry
    if entry is None:
        return None
    if canonical_json(entry["material"]) != canonical_json(material):
        LOG.warning("sfn-cache: index entry %s holds other key material: treated as a miss", key)
        return None
    if config.ttl is not None and time.time() - entry["created"] >= config.ttl:
        return None  # the TTL of this pull decides, not the one in force when the result was stored
    if "inline" in entry:
        return (entry["inline"],)
    from sfn_cache.runtime.bundles import read_bundle

    try:
        return (json.loads(read_bundle(config, entry["uuid"], key)),)
    except Exception as error:  # a lost, partial or foreign bundle: the next push repairs the entry
        LOG.warning("sfn-cache: bundle %s of entry %s unreadable (%s): treated as a miss", entry["uuid"], key, error)
        return None


def task_duration(event: dict, now: float) -> float | None:
    """Seconds between the miss and this push (the task's run time), from the pull's ``t`` echoed back."""
    pulled = event.get("pulled")
    if isinstance(pulled, bool) or not isinstance(pulled, (int, float)) or not 0 < pulled <= now:
        return None
    return round(now - pulled, 3)


def push(event: dict, config: CacheConfig, s3) -> dict:
    key, material = event["key"], event["material"]
    if key is None:
        return {"stored": False, "reason": "no key"}
    if not isinstance(key, str) or not KEY.match(key) or not isinstance(material, dict) or cache_key(material) != key:
        raise CacheEventError("push: key does not match its key material")
    from sfn_cache.runtime.bundles import processing_name, write_bundle

    result_json = json.dumps(event["result"], ensure_ascii=False, separators=(",", ":"))
    execution = event.get("execution")
    tags = {
        "sfn_cache_key": key,
        "state": str(event["state"]),
        "bundle": str(event["bundle"]),
        "cache_version": str(material.get("cache_version", "")),
        "execution": str(execution or ""),
        "state_machine": str(event.get("state_machine") or ""),
    }
    tracked = lineage.enabled() and bool(execution)
    upstream = lineage.earlier(s3, config, execution) if tracked else []
    uuid = write_bundle(s3, config, bundle=event["bundle"], key=key, result_json=result_json, tags=tags,
                        dependencies=upstream)
    rank = lineage.record(s3, config, execution, uuid, processing_name(event["bundle"], key)) if tracked else None
    now = time.time()
    entry = {
        "v": ENTRY_VERSION, "key": key, "bundle": event["bundle"], "state": event["state"], "uuid": uuid,
        "material": material, "created": now,
        "execution": execution, "state_machine": event.get("state_machine"),
        "size": len(result_json.encode("utf-8")),
        "duration": task_duration(event, now),
        "lineage": {"log": lineage.log_prefix(config, execution), "after": rank} if rank else None,
    }
    if entry["size"] <= config.inline_max_bytes:
        entry["inline"] = event["result"]
    stored = KeyIndex(s3, config).put(entry, event["base"])
    if event.get("concurrent") == "wait":
        leases.release(s3, config, event["bundle"], key, execution)
    if not stored:
        LOG.info("sfn-cache: entry %s changed since this execution's pull: the newer result stays", key)
        return {"stored": False, "reason": "superseded", "key": key, "uuid": uuid}
    return {"stored": True, "key": key, "uuid": uuid}
