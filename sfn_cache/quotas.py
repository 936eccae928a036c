"""Step Functions' definition-size quota, measured on what ``wrap`` writes.

Wrapping grows a definition (several states per cached task), and Step Functions refuses a
definition over 1,048,576 bytes at deploy time. ``wrap`` measures its output first: an error (exit 2)
naming the size and how to get under it, or a warning when the output is near the quota.
"""

from __future__ import annotations

import json

from sfn_cache.errors import SfnCacheError
from sfn_cache.options import DEFAULT_LAMBDA_ARN

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
    if size > DEFINITION_QUOTA_BYTES:
        compact = definition_bytes(json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")))
        ways = []
        if compact_hint and compact <= DEFINITION_QUOTA_BYTES:
            ways.append(f"--compact writes it without indentation ({compact:,} bytes)")
        ways.append("cache fewer tasks (--include/--exclude) or split the state machine")
        raise SfnCacheError(f"the wrapped definition is {size:,} bytes, over Step Functions' "
                            f"{DEFINITION_QUOTA_BYTES:,}-byte limit: " + "; or ".join(ways), file=source)
    if size >= NEAR_FRACTION * DEFINITION_QUOTA_BYTES:
        return [f"{source}: the wrapped definition is {size:,} bytes, {100 * size / DEFINITION_QUOTA_BYTES:.0f}% "
                f"of Step Functions' {DEFINITION_QUOTA_BYTES:,}-byte limit"]
    return []
