"""The contract between a wrapped state machine and the caching Lambda: one home for every fact both
sides (and the tools around them: deploy, admin, local) must agree on.

Standard library only, so the rewriter, the deploy files and the Lambda package can all import it
without pulling in anything else. docs/protocol.md explains each fact; this module is where it is
written down once.

The three timeouts must stay in this order::

    CLAIM_WITHIN_SECONDS  <  CACHE_TIMEOUT_SECONDS  <  FUNCTION_TIMEOUT_SECONDS
         (100 s)                  (120 s)                    (150 s)

- The function outlives its state: a hung call then ends as ``States.Timeout``, which the cache
  states' ``States.TaskFailed`` retrier does not retry (a Lambda timeout would be retried 3 times).
- A pull leads a key (``--concurrent wait``) only well before its state times out: a pull still
  running after its state timed out would lead a key whose push never comes (the machine ran the
  task without a key), and the followers would wait out the lease.
tests/runtime/test_protocol.py checks the order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, TypedDict, TypeGuard

# -- versions ------------------------------------------------------------------------------------
PROTOCOL = 5  # the events' shape and error contract: a machine and a Lambda of different protocols refuse each other
KEY_FORMAT = 3  # the key material's spelling: separate from PROTOCOL, so older entries still hit
ANSWERS_FAILURES_SINCE = 5  # the first protocol whose machines retry every task error (a failure is answered)

# -- quotas of Step Functions ----------------------------------------------------------------------
PAYLOAD_QUOTA_BYTES = 256 * 1024  # a state's input/output, a task's payload and result, a variable: UTF-8 JSON
HISTORY_QUOTA_EVENTS = 25_000  # history events per execution: AWS fails the execution there

# -- timeouts (their order matters: see the module docstring) --------------------------------------
CLAIM_WITHIN_SECONDS = 100  # a pull takes no lease after running this long
CACHE_TIMEOUT_SECONDS = 120  # TimeoutSeconds of the generated cache_pull / cache_push states
# An Express execution ends after 5 minutes (States.Timeout): a hung caching Lambda may cost a cache
# state this long, so that fail-open holds with several cached tasks (issue 27 point 9)
EXPRESS_CACHE_TIMEOUT_SECONDS = 10
EXPRESS_EXECUTION_SECONDS = 300
FUNCTION_TIMEOUT_SECONDS = 150  # the generated caching function's timeout

# -- leases ----------------------------------------------------------------------------------------
DEFAULT_LEASE_SECONDS = 3600  # --concurrent wait: how long a leader without TimeoutSeconds holds a key

# -- the function --------------------------------------------------------------------------------
HANDLER = "sfn_cache.runtime.handler.lambda_handler"  # the caching Lambda's handler path

# -- keys ------------------------------------------------------------------------------------------
HEX_KEY = re.compile(r"^[0-9a-f]{64}$")  # a cache key as a pull computes it: lowercase hex SHA-256
SAFE_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")  # any key an event may name: safe in S3 keys and disdat names

# -- the key index entry ---------------------------------------------------------------------------
ENTRY_VERSION = 2
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class _StoredEntry(TypedDict):
    v: int
    key: str
    bundle: str
    state: str
    uuid: str  # the disdat bundle holding the result
    material: dict[str, Any]  # the key material: a hit serves the entry only when it is the pull's own
    created: float  # epoch seconds
    execution: str | None
    state_machine: str | None
    size: int  # bytes of the compact result
    duration: float | None  # the task's run time, for the seconds a hit saves
    lineage: dict[str, Any] | None  # {"log", "after"}: where the execution's lineage log continues


class IndexEntry(_StoredEntry, total=False):
    """One key index object (runtime/index.py): written by a push, checked by a pull, listed by admin."""

    inline: Any  # the result itself, when it is small enough to be served without disdat


_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "v": int, "key": str, "bundle": str, "uuid": str, "material": dict, "created": (int, float), "size": int}


def new_entry(*, key: str, bundle: str, state: str, uuid: str, material: dict[str, Any], created: float,
              execution: str | None, state_machine: str | None, size: int, duration: float | None,
              lineage: dict[str, Any] | None) -> IndexEntry:
    """The entry a push writes (its fields in this order: the stored JSON keeps it)."""
    return {"v": ENTRY_VERSION, "key": key, "bundle": bundle, "state": state, "uuid": uuid, "material": material,
            "created": created, "execution": execution, "state_machine": state_machine, "size": size,
            "duration": duration, "lineage": lineage}


def well_formed(entry: Any, key: str) -> TypeGuard[IndexEntry]:
    """What a pull trusts: right version, right key, every field it reads of the right type, a uuid
    disdat cannot misread. Anything else is a miss, never an error."""
    if not isinstance(entry, dict) or entry.get("v") != ENTRY_VERSION or entry.get("key") != key:
        return False
    if any(not isinstance(entry.get(name), kind) or isinstance(entry.get(name), bool)
           for name, kind in _FIELD_TYPES.items()):
        return False
    if not math.isfinite(entry["created"]):  # json reads NaN and 1e999: no TTL comparison would reject them
        return False
    return bool(UUID.match(entry["uuid"]))


def listed_entry(record: Any) -> dict[str, Any] | None:
    """What the cache administration lists: any JSON object with a ``key``, even one a pull would not
    serve (an older writer's, a damaged one), so that ``ls`` shows it and ``rm`` can remove it."""
    return record if isinstance(record, dict) and "key" in record else None


def entry_duration(entry: Mapping[str, object]) -> float | None:
    """The task's run time an entry stores, if it is a usable number: older entries have none, and a
    corrupt one (``1e999`` reads as infinity) must not reach a metric or a total."""
    value = entry.get("duration")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    return float(value)
