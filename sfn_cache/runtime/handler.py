"""The caching Lambda: answers the cache_pull and cache_push states of a wrapped state machine.

The contract is docs/protocol.md. This module imports only the standard library and boto3 (which
the Lambda runtime provides); disdat is imported lazily, only when a bundle is written or when a
hit's result is too large to sit inline in the key index.

A failure is answered, not raised (fail-open, the default): a pull that fails
answers a miss without a key and a push that fails answers "not stored", logged and counted once.
So whatever the Lambda service or runtime raises (throttling, a crash, an out-of-memory) is
transient, and the wrapped machine's one retrier (``States.TaskFailed``) retries only that. With
``--fail-closed`` the event says ``fail_closed`` and the error raises, failing the execution.
Once a pull knows its key, anything wrong with what is stored (a malformed, oversized or foreign
entry, a bundle that cannot be read or names another key) is a miss that carries the key, so the
push after the task repairs the entry.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sfn_cache.runtime import clients, hit_log, leases, lineage, metrics, resolve
from sfn_cache.runtime.config import CacheConfig, CacheConfigError, check_bucket_override, config_for
from sfn_cache.runtime.events import CacheEventError, operation_of, read_envelope, read_fields
from sfn_cache.runtime.index import ENTRY_OVERHEAD_BYTES, KeyIndex, Lookup, bundle_slug
from sfn_cache.runtime.keys import cache_key, canonical_json, json_bytes, key_material, target_parameters
from sfn_cache.runtime.protocol import (
    ANSWERS_FAILURES_SINCE,
    CLAIM_WITHIN_SECONDS,
    DEFAULT_LEASE_SECONDS,
    HEX_KEY,
    PAYLOAD_QUOTA_BYTES,
    entry_duration,
    new_entry,
)

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

__all__ = ["CacheEventError", "lambda_handler", "pull", "push"]


def lambda_handler(event: Any, context: Any = None) -> dict[str, Any]:
    started = time.monotonic()
    read = event  # the event as far as it was read: a failure is counted and answered from that
    try:
        operation, read = read_envelope(event)
        read = read_fields(read)
        return _serve(read, operation, started)
    except (Exception, SystemExit) as error:  # disdat may sys.exit() on a broken install
        named = operation_of(read)
        if named is not None:
            _count_failure(read, named, error)
        if named is None or not answers_failures(read) or read.get("fail_closed") is True:
            raise  # not ours, a machine of an older protocol (its Catch decides), or --fail-closed
        return failed_answer(read, named, error)


def answers_failures(event: dict[str, Any]) -> bool:
    """True for a pull or push of protocol 5 or later, whose machine expects a failure as an answer
    (its retrier retries every task error); a protocol other than this handler's is such a failure."""
    protocol = event.get("protocol")
    return isinstance(protocol, int) and not isinstance(protocol, bool) and protocol >= ANSWERS_FAILURES_SINCE


def _count_failure(event: dict[str, Any], operation: str, error: BaseException) -> None:
    """Once per call, whatever failed (the event, the configuration, S3, disdat): a metric and the
    "N in a row" alarm. A malformed event's fields may be anything: the dimensions cope with that."""
    metrics.failed(operation, error)
    metrics.emit(event, **{"LookupFailures" if operation == "pull" else "StoreFailures": 1})


def keyless_miss(**why: str) -> dict[str, Any]:
    """A pull's miss without a key (``why``: ``unresolved`` or ``failed``, and the reason): the push
    after the task then stores nothing. Every field of a keyed miss that the machine reads is there."""
    return {"hit": False, "key": None, "forced": False, "pulled": None, "base": None, "wait": False, **why}


def failed_answer(event: dict[str, Any], operation: str, error: BaseException) -> dict[str, Any]:
    """A failed pull's answer is a miss without a key; a failed push's is "not stored". Logged whole;
    the answer carries the start of the reason."""
    LOG.error("sfn-cache: %s for state %r failed, %s: %s", operation, event.get("state"),
              "a miss without a key" if operation == "pull" else "not stored", metrics.describe(error),
              exc_info=not isinstance(error, (CacheEventError, CacheConfigError)))
    reason = answer_reason(metrics.describe(error))
    if operation == "pull":
        return keyless_miss(failed=reason)
    return {"stored": False, "reason": "failed", "failed": reason}


def _serve(event: dict[str, Any], operation: str, started: float) -> dict[str, Any]:
    if event.get("bucket"):
        check_bucket_override(event["bucket"])
    config = config_for(event)
    s3 = clients.client("s3")
    if operation == "pull":
        answer = pull(event, config, s3, started)
        metrics.succeeded("pull")
        if answer["hit"]:
            metrics.emit(event, Hits=1, SecondsSaved=answer.pop("saved", 0.0))
        elif "unresolved" in answer:
            metrics.emit(event, Misses=1, Unresolved=1)  # a keyless miss: nothing will be stored
        else:
            metrics.emit(event, Misses=1)
        return answer
    answer = push(event, config, s3)
    if answer["stored"]:
        metrics.succeeded("push")
        metrics.emit(event, Stores=1)
    return answer


def forced(event: dict[str, Any]) -> bool:
    """Wrap-time force, or run-time force: ``run_force`` is the execution input's ``sfn_cache.force``,
    read once per execution by the wrapped machine (docs/protocol.md), never the whole input."""
    if event.get("force") is True:
        return True
    wanted = event.get("run_force")
    if wanted is True:
        return True
    return isinstance(wanted, list) and (event["state"] in wanted or event["bundle"] in wanted)


REASON_CHARS = 160


def answer_reason(error: Exception | str) -> str:
    """Why a key part is unresolved (or a call failed), for the answer: the start of the message (the
    whole one is logged) in printable ASCII, so at most 6 JSON bytes per character. The push merges the
    pull's answer beside the result, within the 2 KiB the size guard leaves; an S3 key or a
    botocore message in full has no bound (tests/local/test_payload_quota.py measures the worst case)."""
    text = str(error).encode("ascii", "backslashreplace").decode("ascii")
    return "".join(c if c.isprintable() else "?" for c in text)[:REASON_CHARS]


def entry_limit(config: CacheConfig, material: dict[str, Any]) -> int:
    """The largest index entry a legitimate push writes for ``material``: read no more than that."""
    return config.inline_max_bytes + 2 * len(json_bytes(material)) + ENTRY_OVERHEAD_BYTES


def hit_answer_bytes(result: Any) -> int:
    """The size of the hit answer that would carry ``result``, as the Lambda runtime serialises it
    (default separators: an over-estimate of the compact form, so the check errs on the safe side)."""
    return len(json.dumps({"hit": True, "data": result}, ensure_ascii=False).encode("utf-8", "backslashreplace"))


def pull(event: dict[str, Any], config: CacheConfig, s3: Any, started: float | None = None) -> dict[str, Any]:
    """Hit: ``{"hit": true, "data": result}`` and nothing else the machine would carry.
    Miss: ``{"hit": false, "key", "forced", "pulled", "base", "wait", "execution", "state_machine"}``:
    what the push needs back, so that the wrapped machine merges the answer into the push whole
    (docs/protocol.md). The key material stays in S3 for the push; ``base`` is the index entry's ETag
    the push's conditional write expects; ``pulled`` is this clock, for the task's duration. A key
    part that cannot be resolved (``--key-code``, ``--key-s3``) is a miss without a key: nothing is stored.
    ``started``: when the invocation began (time.monotonic), for CLAIM_WITHIN_SECONDS."""
    material = key_material(event, config.context)
    try:
        material.update(resolve.resolved_parts(event, target_parameters(event), s3))
    except resolve.Unresolved as error:
        LOG.warning("sfn-cache: state %r: key part %r%s unresolved (%s): a miss without a key, nothing will "
                    "be stored", event["state"], error.part, f" ({error.kind})" if error.kind else "", error)
        return keyless_miss(unresolved=answer_reason(error))
    key = cache_key(material)
    index = KeyIndex(s3, config)
    found = index.get(event["bundle"], key, entry_limit(config, material))
    miss = {"hit": False, "key": key, "forced": False, "pulled": round(time.time(), 3), "base": found.etag,
            "wait": False, "execution": event.get("execution"), "state_machine": event.get("state_machine")}
    if forced(event):
        index.put_material(event["bundle"], key, material)
        return {**miss, "forced": True}
    data = _served(found, key, material, config)
    if data is not None and found.entry is not None:
        if lineage.enabled():
            lineage.record(s3, config, event.get("execution"), found.entry["uuid"],
                           f"{bundle_slug(event['bundle'])}_{key}")
        hit_log.record(s3, config, event["bundle"], key)
        return {"hit": True, "data": data[0],  # "saved" is for the metrics; lambda_handler removes it
                "saved": entry_duration(found.entry) or 0.0}
    if event.get("concurrent") == "wait":
        if started is not None and time.monotonic() - started > CLAIM_WITHIN_SECONDS:
            raise TimeoutError(f"{CLAIM_WITHIN_SECONDS} s into the pull, too late to lead the key: its state "
                               f"may have timed out, and then no push releases the lease")
        seconds = int(event.get("lease") or DEFAULT_LEASE_SECONDS)
        claim = leases.claim(s3, config, event["bundle"], key, event.get("execution"), seconds,
                             leases.execution_running(clients.client("stepfunctions")))
        if not claim.lead:
            return {**miss, "wait": True}
        try:
            index.put_material(event["bundle"], key, material)
        except Exception:  # this leader's push will come without a key: let the followers go on now
            leases.release(s3, config, event["bundle"], key, event.get("execution"))
            raise
        return miss
    index.put_material(event["bundle"], key, material)
    return miss


def _served(found: Lookup, key: str, material: dict[str, Any], config: CacheConfig) -> tuple[Any] | None:
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


def task_duration(event: dict[str, Any], now: float) -> float | None:
    """Seconds between the miss and this push (the task's run time), from the pull's ``pulled`` echoed back."""
    pulled = event.get("pulled")
    if isinstance(pulled, bool) or not isinstance(pulled, (int, float)) or not 0 < pulled <= now:
        return None
    return round(now - pulled, 3)


def _key_parts_unchanged(event: dict[str, Any], s3: Any, key: str, material: dict[str, Any]) -> dict[str, Any] | None:
    """None when the material has no ``code``/``s3`` part or they resolve now as at the pull; else the
    push's answer. The pull resolved them (maybe from the warm container's memo) before the task ran:
    a redeploy or a rewritten object in between means the result is the new code's (or data's), which
    must not be stored under the old key (a rollback would then serve it). Costs one describe call per
    code part (Glue: GetJob and a HEAD) and one HEAD (a LIST for a prefix) per s3 string, per miss.
    Fail-open: a part that no longer resolves is not stored, never an error."""
    if "code" not in material and "s3" not in material:
        return None
    try:
        changed = resolve.changed_parts(material, event.get("state_machine"), s3)
    except Exception as error:
        LOG.warning("sfn-cache: push of %s for state %r: a key part does not resolve any more (%s): not stored",
                    key, event["state"], error)
        answer = {"stored": False, "reason": "key part unresolved at push", "key": key}
    else:
        if not changed:
            return None
        LOG.warning("sfn-cache: push of %s for state %r: key part(s) %s changed during the task (redeployed "
                    "code or rewritten data): not stored under the key of what the pull saw",
                    key, event["state"], ", ".join(changed))
        answer = {"stored": False, "reason": "key part changed during the task", "key": key}
    return answer


def push(event: dict[str, Any], config: CacheConfig, s3: Any) -> dict[str, Any]:
    key = event.get("key")
    received = time.time()  # the task ended before this push: storing it is not task time
    if key is None:
        return {"stored": False, "reason": "no key"}
    if not isinstance(key, str) or not HEX_KEY.match(key):
        raise CacheEventError(f"field 'key': expected the pull's key (64 hex digits), got {key!r}")
    try:
        return _store(event, config, s3, key, received)
    finally:  # stored, superseded, refused or failed: the followers waiting on this key go on
        if event.get("concurrent") == "wait":
            leases.release(s3, config, event["bundle"], key, event.get("execution"))


def _store(event: dict[str, Any], config: CacheConfig, s3: Any, key: str, received: float) -> dict[str, Any]:
    """The push's work once its key is known: checks, then the bundle, then the index entry."""
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
    unchanged = _key_parts_unchanged(event, s3, key, material)
    if unchanged is not None:
        return unchanged
    from sfn_cache.runtime.bundles import processing_name, write_bundle

    result_json = json_bytes(event["result"]).decode("utf-8")  # a lone surrogate stays its JSON escape
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
    entry = new_entry(
        key=key, bundle=event["bundle"], state=event["state"], uuid=uuid, material=material, created=now,
        execution=execution, state_machine=event.get("state_machine"), size=len(result_json.encode("utf-8")),
        duration=task_duration(event, received),
        lineage={"log": lineage.log_prefix(config, execution), "after": rank} if rank and execution else None,
    )
    if entry["size"] <= config.inline_max_bytes:
        entry["inline"] = event["result"]
    stored = index.put(entry, event.get("base"))
    if not stored:
        LOG.info("sfn-cache: entry %s changed since this execution's pull: the newer result stays", key)
        return {"stored": False, "reason": "superseded", "key": key, "uuid": uuid}
    return {"stored": True, "key": key, "uuid": uuid}
