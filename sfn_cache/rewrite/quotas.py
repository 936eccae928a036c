"""Step Functions' definition-size quota, measured on what ``wrap`` writes.

Wrapping grows a definition (several states per cached task), and Step Functions refuses a
definition over 1,048,576 bytes at deploy time. ``wrap`` measures its output first: an error (exit 2)
naming the size and how to get under it, or a warning when the output is near the quota.
"""

from __future__ import annotations

import json
from typing import Any

from sfn_cache.asl.model import all_scopes, distributed_scopes, map_owner, parse, walk
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.options import DEFAULT_LAMBDA_ARN
from sfn_cache.runtime.protocol import HISTORY_QUOTA_EVENTS

DEFINITION_QUOTA_BYTES = 1_048_576
NEAR_FRACTION = 0.9  # warn from 90 % of the quota
LAMBDA_ARN_MAX_CHARS = 140  # the longest function ARN DefinitionSubstitutions may put in place of the placeholder


def definition_bytes(text: str) -> int:
    """UTF-8 size of a definition's JSON text, with every ``${SfnCacheFunctionArn}`` counted as the
    longest ARN it may be substituted by at deploy time (the quota applies after substitution)."""
    placeholders = text.count(DEFAULT_LAMBDA_ARN)
    return len(text.encode("utf-8")) + placeholders * (LAMBDA_ARN_MAX_CHARS - len(DEFAULT_LAMBDA_ARN))


def check_definition_size(text: str, source: str, *, compact_hint: bool) -> list[str]:
    """Raise when ``text`` (a wrapped definition as JSON) is over the quota; a warning when near it."""
    size = definition_bytes(text)
    if size >= NEAR_FRACTION * DEFINITION_QUOTA_BYTES:
        compact = definition_bytes(json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")))
    if size > DEFINITION_QUOTA_BYTES:
        ways = []
        if compact_hint and compact <= DEFINITION_QUOTA_BYTES:
            ways.append(f"--compact writes it without indentation ({compact:,} bytes)")
        ways.append("cache fewer tasks (--include/--exclude) or split the state machine")
        raise SfnCacheError(f"the wrapped definition is {size:,} bytes, over Step Functions' "
                            f"{DEFINITION_QUOTA_BYTES:,}-byte limit: " + "; or ".join(ways), file=source)
    if size >= NEAR_FRACTION * DEFINITION_QUOTA_BYTES:
        hint = f" (--compact writes it without indentation: {compact:,} bytes)" if compact_hint else ""
        return [f"{source}: the wrapped definition is {size:,} bytes, {100 * size / DEFINITION_QUOTA_BYTES:.0f}% "
                f"of Step Functions' {DEFINITION_QUOTA_BYTES:,}-byte limit{hint}"]
    return []


TASK_EVENTS = 5  # entered, scheduled, started, succeeded, exited
STATE_EVENTS = 2  # entered, exited (Pass, Choice, Wait, ...)
ITERATION_EVENTS = 2  # MapIterationStarted, MapIterationSucceeded
CACHED_MISS_EXTRA_EVENTS = 14  # pull (5) + choice (2) + size check (2) + push (5); a JSONata task: 12, no check
CACHED_HIT_EXTRA_EVENTS = 4  # pull (5) + choice (2) + hit Pass (2) - the task's own 5


def map_history_warnings(definition: dict[str, Any], cached: set[str], source: str) -> list[str]:
    """For each inline Map holding cached tasks: the item count at which, every item a cache miss, one
    execution reaches the 25,000-event history quota (each state counted once per item: an estimate)."""
    top = parse(definition, source)
    distributed = distributed_scopes(top)
    warnings = []
    for scope in all_scopes(top):
        for child in scope.children:
            owner = map_owner(scope, child)
            if owner is None or id(child.body) in distributed:
                continue
            refs = list(walk(child))
            tasks = sum(1 for ref in refs if ref.name in cached)
            if not tasks:
                continue
            per_item = ITERATION_EVENTS + sum(TASK_EVENTS if ref.state["Type"] == "Task" else STATE_EVENTS
                                              for ref in refs)
            per_item_wrapped = per_item + tasks * CACHED_MISS_EXTRA_EVENTS
            warnings.append(
                f"{source}: state '{owner.name}': inline Map with {tasks} cached task(s): on a cache miss each item "
                f"records about {per_item_wrapped} history events instead of {per_item}, so one execution reaches "
                f"the {HISTORY_QUOTA_EVENTS:,}-event quota at about {HISTORY_QUOTA_EVENTS // per_item_wrapped:,} "
                f"items (originally {HISTORY_QUOTA_EVENTS // per_item:,}); a distributed Map gives each item its "
                f"own history")
    return warnings
