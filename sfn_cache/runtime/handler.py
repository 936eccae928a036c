"""The caching Lambda: answers the cache_pull and cache_push states of a wrapped state machine.

The contract is docs/protocol.md. This module imports only the standard library and boto3 (which
the Lambda runtime provides); disdat is imported lazily, only when a bundle is written or when a
hit's result is too large to sit inline in the key index.

An error raises: the state machine's Catch turns it into a miss (fail-open, the default) or a failed
execution (--fail-closed). A corrupted index entry is a miss, never an error.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import boto3

from sfn_cache.runtime.config import CacheConfig, config_for
from sfn_cache.runtime import hit_log, lineage, metrics, resolve
from sfn_cache.runtime.index import ENTRY_VERSION, KeyIndex, bundle_slug
from sfn_cache.runtime.keys import PROTOCOL, cache_key, canonical_json, key_material, target_parameters

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

REQUIRED = {
    "pull": ("state", "bundle", "resource", "input"),
    "push": ("state", "bundle", "key", "material", "result"),
}


class CacheEventError(ValueError):
    """The event is not a cache_pull/cache_push request this handler understands."""


def lambda_handler(event: Any, context: Any = None) -> dict:
    operation = validate(event)
    config = config_for(event)
    s3 = boto3.client("s3")
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


def fresh(entry: dict, ttl: int | None) -> bool:
    """Within the TTL it was stored with and within the reader's own TTL (a per-state TTL shortens)."""
    now = time.time()
    if isinstance(entry.get("expires"), (int, float)) and now >= entry["expires"]:
        return False
    created = entry.get("created")
    return ttl is None or (isinstance(created, (int, float)) and now < created + ttl)


def pull(event: dict, config: CacheConfig, s3) -> dict:
    material = key_material(event, config.context)
    try:
        material.update(resolve.resolved_parts(event, target_parameters(event), s3))
    except resolve.Unresolved as error:
        LOG.warning("sfn-cache: %s: a miss without a key (nothing will be stored)", error)
        return {"hit": False, "key": None, "material": None, "forced": False, "t": None,
                "unresolved": str(error)}
    text = canonical_json(material)
    key = cache_key(text)
    miss = {"hit": False, "key": key, "material": text, "forced": False, "t": round(time.time(), 3)}
    if forced(event):
        return {**miss, "forced": True}
    if config.ttl == 0:  # "do not serve": the task runs; its result is stored already expired
        return miss
    entry = KeyIndex(s3, config).get(event["bundle"], key)
    if entry is None:
        return miss
    if entry.get("material") != text:
        LOG.warning("sfn-cache: index entry %s holds other key material: treated as a miss", key)
        return miss
    if not fresh(entry, config.ttl):
        return miss
    if "inline" in entry:
        data = entry["inline"]
    else:
        from sfn_cache.runtime.bundles import read_bundle

        data = json.loads(read_bundle(config, entry["uuid"]))
    if lineage.enabled():
        lineage.record(s3, config, event.get("execution"), entry["uuid"], f"{bundle_slug(event['bundle'])}_{key}")
    hit_log.record(s3, config, event["bundle"], key)
    saved = entry.get("duration")
    return {"hit": True, "key": key, "data": data, "uuid": entry["uuid"],
            "saved": float(saved) if isinstance(saved, (int, float)) and saved > 0 else 0.0}


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
    if not isinstance(material, str) or cache_key(material) != key:
        raise CacheEventError("push: key does not match its key material")
    parsed = json.loads(material)
    from sfn_cache.runtime.bundles import processing_name, write_bundle

    result_json = json.dumps(event["result"], ensure_ascii=False, separators=(",", ":"))
    tags = {
        "sfn_cache_key": key,
        "state": str(event["state"]),
        "bundle": str(event["bundle"]),
        "cache_version": str(parsed.get("cache_version", "")),
        "execution": str(event.get("execution") or ""),
        "state_machine": str(event.get("state_machine") or ""),
    }
    upstream = lineage.earlier(s3, config, event.get("execution")) if lineage.enabled() else []
    uuid = write_bundle(s3, config, bundle=event["bundle"], key=key, result_json=result_json, tags=tags,
                        dependencies=upstream)
    if lineage.enabled():
        lineage.record(s3, config, event.get("execution"), uuid, processing_name(event["bundle"], key))
    now = time.time()
    entry = {
        "v": ENTRY_VERSION, "key": key, "bundle": event["bundle"], "state": event["state"], "uuid": uuid,
        "material": material, "created": now,
        "expires": now + config.ttl if config.ttl is not None else None,  # ttl 0: never served
        "execution": event.get("execution"), "state_machine": event.get("state_machine"),
        "size": len(result_json.encode("utf-8")),
        "duration": task_duration(event, now),
        "lineage": [{"uuid": d["uuid"], "processing_name": d["processing_name"]} for d in upstream],
    }
    if entry["size"] <= config.inline_max_bytes:
        entry["inline"] = event["result"]
    KeyIndex(s3, config).put(entry)
    return {"stored": True, "key": key, "uuid": uuid}
