"""Validate a cache_pull/cache_push event field by field, before anything touches S3.

Why: the event comes from a state machine someone may have edited by hand, or from any caller
allowed to invoke the function. An error must name the field and what was expected, so the
execution history shows what to fix (not a Python exception text), and nothing is read or written
on the strength of a malformed event. Fields this handler does not know are ignored (a newer
``sfn-cache wrap`` may add some).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from sfn_cache.runtime.choices import CONCURRENT, KEY_CODE, KEY_S3, one_of
from sfn_cache.runtime.keys import state_machine_of
from sfn_cache.runtime.protocol import PROTOCOL, SAFE_KEY

CONTEXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class CacheEventError(ValueError):
    """The event is not a cache_pull/cache_push request this handler understands."""


def _text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _seconds(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def _context(value: Any) -> bool:
    return value is None or (isinstance(value, str) and CONTEXT_NAME.fullmatch(value) is not None
                             and ".." not in value)


def _bucket(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.startswith("s3://"))


def _key(value: Any) -> bool:
    return value is None or (isinstance(value, str) and SAFE_KEY.fullmatch(value) is not None)


# field -> (check, what was expected); checked when present
FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "state": (_text, "a non-empty string (the state name)"),
    "bundle": (_text, "a non-empty string (the bundle name)"),
    "resource": (_text, "a non-empty string (the task's Resource)"),
    "cache_version": (_optional_text, "a string or null"),
    "form": (_optional_text, "a string or null"),
    "force": (lambda v: v is None or isinstance(v, bool), "true, false or null"),
    "fail_closed": (lambda v: v is None or isinstance(v, bool), "true, false or null"),
    "ttl": (_seconds, "a whole number of seconds >= 0, or null"),
    "bucket": (_bucket, "an s3://bucket[/prefix] URL, or null"),
    "context": (_context, "a disdat context name ([A-Za-z0-9_.-], at most 128 characters, no '..'), or null"),
    "execution": (_optional_text, "a string (the execution ARN) or null"),
    "state_machine": (_optional_text, "a string (the state machine ARN) or null"),
    "base": (_optional_text, "the ETag string the pull answered, or null"),
    "concurrent": (lambda v: v is None or v in CONCURRENT, one_of(CONCURRENT)),
    "lease": (_seconds, "a whole number of seconds >= 0, or null"),
    "key": (_key, "the pull's key ([A-Za-z0-9_-], at most 128 characters) or null"),
    "key_code": (lambda v: v is None or v in KEY_CODE, one_of(KEY_CODE)),
    "key_s3": (lambda v: v is None or v in KEY_S3, one_of(KEY_S3)),
}
REQUIRED = {  # "bundle" may be left out: it is then the state name (docs/protocol.md)
    "pull": ("state", "resource", "input"),
    "push": ("state", "result"),  # no key: the pull failed and the machine failed open
}


def shown(value: Any, limit: int = 60) -> str:
    """``value`` as short JSON for an error message."""
    text = json.dumps(value, default=lambda v: f"<{type(v).__name__}>", ensure_ascii=True)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def operation_of(event: Any) -> str | None:
    """``pull`` or ``push`` when the event names one, however malformed the rest; else None (not ours)."""
    operation = event.get("sfn_cache") if isinstance(event, dict) else None
    return operation if isinstance(operation, str) and operation in REQUIRED else None


def read_envelope(event: Any) -> tuple[str, dict[str, Any]]:
    """The operation (``pull`` or ``push``) of an event of this protocol with every required field, and
    a copy with the bundle filled in (wrap writes it only when it is not the state name); CacheEventError
    naming the field otherwise. The caller's event is left as it is."""
    if not isinstance(event, dict):
        raise CacheEventError(f"event: expected a JSON object, got {shown(event)}")
    operation = operation_of(event)
    if operation is None:
        raise CacheEventError(f"field 'sfn_cache': expected \"pull\" or \"push\", "
                              f"got {shown(event.get('sfn_cache'))}")
    protocol = event.get("protocol")
    if protocol != PROTOCOL or isinstance(protocol, bool):
        raise CacheEventError(f"field 'protocol': expected {PROTOCOL} (this handler's protocol), got "
                              f"{shown(protocol)}; re-run sfn-cache wrap or deploy the matching Lambda")
    missing = [name for name in REQUIRED[operation] if name not in event]
    if missing:
        raise CacheEventError(f"field '{missing[0]}': missing from the {operation} event"
                              + (f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""))
    read = dict(event)
    read.setdefault("bundle", event["state"])
    return operation, read


def read_fields(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of an event ``read_envelope`` returned, once every known field holds what it should, with
    the state machine filled in (wrap leaves it out: the execution ARN names it); CacheEventError
    naming the field otherwise. The caller's event is left as it is."""
    for name, (check, expected) in FIELDS.items():
        if name in event and not check(event[name]):
            raise CacheEventError(f"field '{name}': expected {expected}, got {shown(event[name])}")
    read = dict(event)
    if read.get("state_machine") is None:
        read["state_machine"] = state_machine_of(event.get("execution"))
    return read
