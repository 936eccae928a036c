"""Wrap options: global settings plus per-state rules, merged into one answer per state.

The command line, the project configuration file and the Python API all build a ``WrapOptions``;
the rewriter only ever asks ``options.for_state(name)``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

DEFAULT_LAMBDA_ARN = "${SfnCacheFunctionArn}"
PATTERNS = ("variables", "classic")  # the cached forms (rewrite/forms/)


@dataclass(frozen=True)
class StateRule:
    """Settings for the states whose name matches ``pattern`` (an exact name or a glob).

    ``None`` means "not set by this rule".
    """

    pattern: str
    include: bool | None = None
    bundle_name: str | None = None
    key_paths: tuple[str, ...] | None = None
    ttl: int | None = None
    cache_version: str | None = None
    force: bool | None = None
    origin: str | None = None  # where the rule was written, for explain's reasons
    key_code: str | None = None
    key_s3: str | None = None
    allow_context_reads: bool | None = None

    def matches(self, state_name: str) -> bool:
        return state_name == self.pattern or fnmatch.fnmatchcase(state_name, self.pattern)

    @property
    def is_glob(self) -> bool:
        return any(ch in self.pattern for ch in "*?[")


@dataclass(frozen=True)
class StateOptions:
    """What the rewriter needs to know about one Task state."""

    selected: bool
    reason: str
    bundle_name: str
    key_paths: tuple[str, ...]
    ttl: int | None
    cache_version: str
    force: bool
    key_code: str | None = None  # None: the default, auto for Lambda targets only (key_spec.code_keyed)
    key_s3: str = "off"
    allow_context_reads: bool = False  # cache even when T's Assign/Output/... read State or Task context


@dataclass(frozen=True)
class WrapOptions:
    lambda_arn: str = DEFAULT_LAMBDA_ARN
    bucket: str | None = None
    context: str | None = None
    pattern: str = "variables"
    fail_closed: bool = False
    express: bool = False  # an Express workflow: cache states time out sooner (cache_timeout)
    concurrent: str = "run"
    runtime_force: bool = True
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    force: bool = False
    ttl: int | None = None
    cache_version: str = ""
    key_code: str | None = None  # None: the default, auto for Lambda targets only (key_spec.code_keyed)
    key_s3: str = "off"
    allow_context_reads: bool = False
    rules: tuple[StateRule, ...] = field(default_factory=tuple)
    include_origin: str = "--include {}"  # where include/exclude came from, for explain's reasons
    exclude_origin: str = "--exclude {}"
    comments: bool = False  # a "sfn-cache: ..." Comment on every generated state (--comments)

    def for_state(self, state_name: str) -> StateOptions:
        """Merge global options and matching rules; exact-name rules beat globs, later beats earlier."""
        matching = [r for r in self.rules if r.matches(state_name)]
        ordered = [r for r in matching if r.is_glob] + [r for r in matching if not r.is_glob]

        def pick(attr: str, default: Any) -> Any:
            value = default
            for rule in ordered:
                if getattr(rule, attr) is not None:
                    value = getattr(rule, attr)
            return value

        selected, reason = True, "wrapped"
        if self.include and not any(fnmatch.fnmatchcase(state_name, g) for g in self.include):
            selected, reason = False, "not matched by " + self.include_origin.format(",".join(self.include))
        for glob in self.exclude:
            if fnmatch.fnmatchcase(state_name, glob):
                selected, reason = False, "excluded by " + self.exclude_origin.format(glob)
        deciding = [rule for rule in ordered if rule.include is not None]
        if deciding:
            rule = deciding[-1]
            selected = bool(rule.include)
            reason = "wrapped" if selected else f"excluded by {rule.origin or f'the rule for {rule.pattern!r}'}"
        return StateOptions(
            selected=selected,
            reason=reason,
            bundle_name=pick("bundle_name", None) or state_name,
            key_paths=tuple(pick("key_paths", ()) or ()),
            ttl=pick("ttl", self.ttl),
            cache_version=str(pick("cache_version", self.cache_version)),
            force=bool(pick("force", self.force)),
            key_code=pick("key_code", self.key_code),
            key_s3=pick("key_s3", self.key_s3),
            allow_context_reads=bool(pick("allow_context_reads", self.allow_context_reads)),
        )
