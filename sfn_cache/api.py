"""The library API, in the shape the seed project's users already call.

    caching = Caching(lambda_arn, bucket, context)
    definition = Caching.cache_step(definition, "Train", bundle_name="model")   # one task
    definition = PipelineCaching(definition, caching).cache()                    # every task
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable

from sfn_cache.asl.model import parse, walk
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.options import PATTERNS, StateRule, WrapOptions, check_bucket, parse_ttl
from sfn_cache.rewrite.wrap import wrap_definition


class Caching:
    """Where the cache lives and how it behaves; shared by every wrapped state.

    ``include``/``exclude`` take one glob (``"Notify*"``) or a list of them; ``ttl`` takes seconds or a
    duration string (``"7d"``, ``"12h"``); ``cache_version`` a string or an int; ``bucket`` is
    ``s3://bucket[/prefix]``. Anything else raises ``SfnCacheError`` saying what is expected.
    """

    def __init__(self, lambda_arn: str, bucket: str | None = None, context: str | None = None,
                 force_rerun: bool = False, verbose: bool = False, *,
                 include: str | Iterable[str] = (), exclude: str | Iterable[str] = (),
                 ttl: int | str | None = None, cache_version: str | int = "", pattern: str = "variables",
                 fail_closed: bool = False, runtime_force: bool = True):
        _check_type("lambda_arn", lambda_arn, str)
        _check_type("context", context, (str, type(None)))
        if bucket is not None:
            _check_type("bucket", bucket, str)
            try:
                check_bucket(bucket)
            except ValueError as error:
                raise SfnCacheError(f"Caching(bucket=...): {error}") from None
        for name, value in (("force_rerun", force_rerun), ("fail_closed", fail_closed),
                            ("runtime_force", runtime_force)):
            _check_type(name, value, bool)
        _check_type("cache_version", cache_version, (str, int))
        if pattern not in PATTERNS:
            raise SfnCacheError(f"Caching(pattern=...): expected one of {', '.join(PATTERNS)}, got {pattern!r}")
        self.options = WrapOptions(lambda_arn=lambda_arn, bucket=bucket, context=context, force=force_rerun,
                                   include=_globs("include", include), exclude=_globs("exclude", exclude),
                                   ttl=_ttl(ttl), cache_version=str(cache_version), pattern=pattern,
                                   fail_closed=fail_closed, runtime_force=runtime_force)
        self.verbose = verbose

    def cache_step(self, definition: dict, state_name: str, bundle_name: str | None = None,
                   force_rerun: bool | None = None) -> dict:
        """Return ``definition`` with only ``state_name`` wrapped (other states untouched)."""
        states = {ref.name: ref.state for ref in walk(parse(definition))}
        if states.get(state_name, {}).get("Type") != "Task":
            raise SfnCacheError("no Task state of that name", state=state_name)
        only_this = replace(self.options, rules=self.options.rules + (
            StateRule(pattern="*", include=False),
            StateRule(pattern=state_name, include=True, bundle_name=bundle_name, force=force_rerun),
        ))
        return self._wrap(definition, only_this)

    def _wrap(self, definition: dict, options: WrapOptions) -> dict:
        result = wrap_definition(definition, options)
        if self.verbose:
            for warning in result.warnings:
                print(f"warning: {warning}")
            for task in result.tasks:
                print(f"{task.action}: {task.state} ({task.reason})")
        return result.definition


class PipelineCaching:
    """Wrap every Task state of a definition with one ``Caching`` configuration."""

    def __init__(self, definition: dict, caching: Caching):
        self.definition = definition
        self.caching = caching

    def cache(self) -> dict:
        return self.caching._wrap(self.definition, self.caching.options)


def _check_type(name: str, value: Any, expected: type | tuple[type, ...]) -> None:
    types = expected if isinstance(expected, tuple) else (expected,)
    if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
        wanted = " or ".join("None" if t is type(None) else t.__name__ for t in types)
        raise SfnCacheError(f"Caching({name}=...): expected {wanted}, got {type(value).__name__} {value!r}")


def _globs(name: str, value: str | Iterable[str]) -> tuple[str, ...]:
    """One glob or a list of globs; a string is one glob, never a sequence of one-letter globs."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise SfnCacheError(f"Caching({name}=...): expected a glob string or a list of them, got {value!r}")


def _ttl(value: int | str | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SfnCacheError(f"Caching(ttl=...): expected seconds or a duration such as '7d', got {value!r}")
    try:
        return parse_ttl(value)
    except ValueError as error:
        raise SfnCacheError(f"Caching(ttl=...): {error}") from None
