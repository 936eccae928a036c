"""What happens to each Task state: the rows of ``sfn-cache explain`` and of wrap's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Action(str, Enum):
    """A task's outcome; a str, so reports print and compare as the words themselves."""

    WRAPPED = "wrapped"
    EXCLUDED = "excluded"  # not selected by --include/--exclude or a rule
    REFUSED = "refused"  # caching it could change what the machine does
    ALREADY_WRAPPED = "already wrapped"  # behind a cache_pull state of a previous wrap

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass
class TaskReport:
    """What happens to one Task state, and the settings it is cached with."""

    state: str
    scope: str
    action: Action
    reason: str
    bundle_name: str | None = None
    key_fields: str = ""
    ttl: int | None = None
    cache_version: str = ""
    force: bool = False
    key_parts: list[str] = field(default_factory=list)
    generated: tuple[str, ...] = ()
