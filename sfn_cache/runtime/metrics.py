"""What the caching Lambda tells CloudWatch: Embedded Metric Format lines on stdout.

Lambda ships every stdout line to CloudWatch Logs, and CloudWatch turns a line in the Embedded
Metric Format (EMF) into metrics: no API call, no extra dependency, nothing on the lookup's path but
one ``print``. One line per cache operation, in namespace ``sfn-cache``, with the dimensions
``StateMachine`` and ``Bundle`` (and a roll-up per ``Bundle`` alone):

    Hits, Misses, Stores, StoreFailures, LookupFailures   (Count)
    Unresolved                                            (Count; with Misses=1: a --key-code or
                                                            --key-s3 part did not resolve, the miss
                                                            has no key and nothing will be stored)
    SecondsSaved                                          (Seconds; on a hit: how long the task
                                                            took when its result was stored)

A run of consecutive failed stores, or of failed lookups (by default 3 each), logs one ERROR
naming the cause, once per cold start each: with fail-open a denied or missing bucket would
otherwise stop caching with nobody told. A missing bucket fails the pulls first, and their pushes
then come without a key and fail nothing, hence the lookups' own count.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

NAMESPACE = "sfn-cache"
METRICS = {"Hits": "Count", "Misses": "Count", "Stores": "Count", "StoreFailures": "Count",
           "LookupFailures": "Count", "Unresolved": "Count", "SecondsSaved": "Seconds"}
FAILURES_BEFORE_ALARM = 3
WHAT_FAILED = {"pull": "lookups", "push": "stores"}

LOG = logging.getLogger(__name__)
_failed_in_a_row = {"pull": 0, "push": 0}
_alarm_raised = {"pull": False, "push": False}

def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("SFN_CACHE_METRICS", "on").lower() not in ("off", "0", "false", "no")


def emf_line(values: dict[str, float], *, state_machine: str, bundle: str, now_ms: int | None = None) -> str:
    """One EMF document: ``values`` (metric name -> number) with the cache's dimensions."""
    unknown = set(values) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metric(s): {', '.join(sorted(unknown))}")
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if now_ms is None else now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["StateMachine", "Bundle"], ["Bundle"]],
                "Metrics": [{"Name": name, "Unit": METRICS[name]} for name in values],
            }],
        },
        "StateMachine": dimension_value(state_machine),
        "Bundle": dimension_value(bundle),
        **values,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def dimension_value(name: str) -> str:
    """``name`` as CloudWatch accepts a dimension value: 1-1024 ASCII characters, no control characters,
    not only whitespace. Bundles are named after states by default and ASL state names may be any
    Unicode; a value CloudWatch refuses loses the line's metrics. Plain names are kept; others are
    escaped (distinct names stay distinct), and an over-long one is cut and suffixed with its digest."""
    if not name:
        return "unknown"
    value = name.encode("unicode_escape").decode("ascii")
    if not value.strip():
        value = value.replace(" ", "\\x20")
    if len(value) > 1024:
        value = value[:1015] + "~" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return value


def emit(event: dict[str, Any], **values: float) -> None:
    """Print one EMF line for ``event``'s state machine and bundle (nothing when metrics are off).
    Never raises: a metric must not change what the call answers (logged instead)."""
    try:
        _emit(event, values)
    except Exception:
        LOG.exception("sfn-cache: metrics line %s not written", sorted(values))


def _emit(event: dict[str, Any], values: dict[str, Any]) -> None:
    if not enabled():
        return
    line = emf_line(values, state_machine=_short_arn(event.get("state_machine")), bundle=str(event.get("bundle") or ""))
    print(line, file=sys.stdout, flush=True)


def succeeded(operation: str) -> None:
    """A pull answered, or a push stored: that operation's run of failures is over."""
    _failed_in_a_row[operation] = 0


def failed(operation: str, error: BaseException) -> None:
    """Count a failed pull or push; the Nth in a row logs one ERROR (once per container) naming the cause."""
    _failed_in_a_row[operation] += 1
    if _failed_in_a_row[operation] >= FAILURES_BEFORE_ALARM and not _alarm_raised[operation]:
        _alarm_raised[operation] = True
        LOG.error("sfn-cache: %d %s in a row failed, caching is off until this is fixed; last cause: %s",
                  _failed_in_a_row[operation], WHAT_FAILED[operation], describe(error))


def describe(error: BaseException) -> str:
    """``AccessDenied: ...`` for an AWS error, else the exception's class and text."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Code"):
        details = response["Error"]
        return f"{details['Code']}: {details.get('Message') or error}"
    return f"{type(error).__name__}: {error}"


def _short_arn(arn: Any) -> str:
    """The state machine's name: the dimension stays the same across executions and versions."""
    if not isinstance(arn, str) or not arn:
        return ""
    name = arn.split(":stateMachine:", 1)[-1]
    return name.split(":", 1)[0]
