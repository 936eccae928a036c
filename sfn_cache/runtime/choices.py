"""The values a wrapped machine may send for the choice fields of a cache event.

The Lambda validates them (``events.FIELDS``) and ``sfn-cache wrap`` offers them as options: both
read these tuples, so a value the options accept is one the runtime understands. Stdlib only, like
the rest of the runtime.
"""

from __future__ import annotations

CONCURRENT = ("run", "wait")  # what an execution does on a miss another one is computing
KEY_CODE = ("auto", "off")  # whether the key names the target's code
KEY_S3 = ("etag", "off")  # whether an s3:// string in the key is keyed by its object's ETag


def one_of(choices: tuple[str, ...]) -> str:
    """``"run", "wait" or null``: what an event field with these choices expects, for its error."""
    return ", ".join(f'"{choice}"' for choice in choices) + " or null"
