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

from sfn_cache.runtime.config import CacheConfig, check_bucket_override, config_for
from sfn_cache.runtime.events import CacheEventError, validate_event
from sfn_cache.runtime import hit_log, lineage, metrics
from sfn_cache.runtime.index import ENTRY_VERSION, KeyIndex, bundle_slug
from sfn_cache.runtime.keys import cache_key, canonical_json, key_material

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

__all__ = ["CacheEventError", "lambda_handler", "pull", "push"]


def lambda_handler(event: Any, context: Any = None) -> dict:
    operation = validate_event(event)
    if event.get("bucket"):
        check_bucket_override(event["bucket"])
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


def pull(event: dict, config: CacheConfig, s3) -> dict:
    material = key_material(event)
    key = cache_key(material)
    miss = {"hit": False, "key": key, "material": material, "forced": False, "t": round(time.time(), 3)}
    if forced(event):
        return {**miss, "forced": True}
    entry = KeyIndex(s3, config).get(event["bundle"], key)
    if entry is None:
        return miss
    if canonical_json(entry.get("material")) != canonical_json(material):
        LOG.warning("sfn-cache: index entry %s holds other key material: treated as a miss", key)
        return miss
    if entry.get("expires") is not None and time.time() >= entry["expires"]:
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
    if not isinstance(material, dict) or cache_key(material) != key:
        raise CacheEventError("push: key does not match its key material")
    from sfn_cache.runtime.bundles import processing_name, write_bundle

    result_json = json.dumps(event["result"], ensure_ascii=False, separators=(",", ":"))
    tags = {
        "sfn_cache_key": key,
        "state": str(event["state"]),
        "bundle": str(event["bundle"]),
        "cache_version": str(material.get("cache_version", "")),
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
        "expires": now + config.ttl if config.ttl else None,
        "execution": event.get("execution"), "state_machine": event.get("state_machine"),
        "size": len(result_json.encode("utf-8")),
        "duration": task_duration(event, now),
        "lineage": [{"uuid": d["uuid"], "processing_name": d["processing_name"]} for d in upstream],
    }
    if entry["size"] <= config.inline_max_bytes:
        entry["inline"] = event["result"]
    KeyIndex(s3, config).put(entry)
    return {"stored": True, "key": key, "uuid": uuid}
