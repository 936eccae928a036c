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
from sfn_cache.runtime.index import ENTRY_VERSION, KeyIndex, bundle_slug, entry_duration
from sfn_cache.runtime.keys import cache_key, canonical_json, key_material

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

__all__ = ["CacheEventError", "lambda_handler", "pull", "push"]
# Step Functions' quota on a task's result (and on a workflow variable): 256 KiB of UTF-8 JSON.
PAYLOAD_QUOTA_BYTES = 256 * 1024


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
    """Wrap-time force, or run-time force: ``run_force`` is the execution input's ``sfn_cache.force``,
    read once per execution by the wrapped machine (docs/protocol.md), never the whole input."""
    if event.get("force") is True:
        return True
    wanted = event.get("run_force")
    if wanted is True:
        return True
    return isinstance(wanted, list) and (event["state"] in wanted or event["bundle"] in wanted)


def hit_answer_bytes(result: Any) -> int:
    """The size of the hit answer that would carry ``result``, as the Lambda runtime serialises it
    (default separators: an over-estimate of the compact form, so the check errs on the safe side)."""
    return len(json.dumps({"hit": True, "data": result}, ensure_ascii=False).encode("utf-8"))


def pull(event: dict, config: CacheConfig, s3) -> dict:
    """Hit: ``{"hit": true, "data": result}`` and nothing else the machine would carry.
    Miss: ``{"hit": false, "key", "forced", "t"}``; the key material stays in S3 for the push."""
    material = key_material(event)
    key = cache_key(material)
    index = KeyIndex(s3, config)
    miss = {"hit": False, "key": key, "forced": False, "t": round(time.time(), 3)}
    if forced(event):
        index.put_material(event["bundle"], key, material)
        return {**miss, "forced": True}
    entry = index.get(event["bundle"], key)
    if entry is not None and canonical_json(entry.get("material")) != canonical_json(material):
        LOG.warning("sfn-cache: index entry %s holds other key material: treated as a miss", key)
        entry = None
    if entry is not None and entry.get("expires") is not None and time.time() >= entry["expires"]:
        entry = None
    if entry is None:
        index.put_material(event["bundle"], key, material)
        return miss
    if "inline" in entry:
        data = entry["inline"]
    else:
        from sfn_cache.runtime.bundles import read_bundle

        data = json.loads(read_bundle(config, entry["uuid"]))
    if lineage.enabled():
        lineage.record(s3, config, event.get("execution"), entry["uuid"], f"{bundle_slug(event['bundle'])}_{key}")
    hit_log.record(s3, config, event["bundle"], key)
    return {"hit": True, "data": data,  # "saved" is for the metrics; lambda_handler removes it
            "saved": entry_duration(entry) or 0.0}


def task_duration(event: dict, now: float) -> float | None:
    """Seconds between the miss and this push (the task's run time), from the pull's ``t`` echoed back."""
    pulled = event.get("pulled")
    if isinstance(pulled, bool) or not isinstance(pulled, (int, float)) or not 0 < pulled <= now:
        return None
    return round(now - pulled, 3)


def push(event: dict, config: CacheConfig, s3) -> dict:
    key = event["key"]
    received = time.time()  # the task ended before this push: storing it is not task time
    if key is None:
        return {"stored": False, "reason": "no key"}
    if event.get("fits") is False:  # the wrapped machine left the result out: over its size limit
        LOG.warning("sfn-cache: result of state %r is over the size a push may carry within the payload "
                    "quota: not cached, the task runs uncached for this input", event["state"])
        return {"stored": False, "reason": "too large for a hit", "key": key}
    index = KeyIndex(s3, config)
    material = index.get_material(event["bundle"], key)
    if not isinstance(material, dict) or cache_key(material) != key:
        LOG.warning("sfn-cache: push of %s for state %r: no key material kept by its pull; not stored",
                    key, event["state"])
        return {"stored": False, "reason": "no key material"}
    size = hit_answer_bytes(event["result"])
    if size > PAYLOAD_QUOTA_BYTES:
        LOG.warning("sfn-cache: result of state %r is too large to come back through a hit (%d bytes of hit "
                    "answer, quota %d): not cached, the task runs uncached for this input",
                    event["state"], size, PAYLOAD_QUOTA_BYTES)
        return {"stored": False, "reason": "too large for a hit", "key": key}
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
        "duration": task_duration(event, received),
        "lineage": [{"uuid": d["uuid"], "processing_name": d["processing_name"]} for d in upstream],
    }
    if entry["size"] <= config.inline_max_bytes:
        entry["inline"] = event["result"]
    index.put(entry)
    return {"stored": True, "key": key, "uuid": uuid}
