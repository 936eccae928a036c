"""The library API, in the shape the seed project's users already call.

    caching = Caching(lambda_arn, bucket, context)
    definition = Caching.cache_step(definition, "Train", bundle_name="model")   # one task
    definition = PipelineCaching(definition, caching).cache()                    # every task
    original = unwrap(definition)                                                # back again
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from sfn_cache.asl.model import parse, walk
from sfn_cache.errors import SfnCacheError
from sfn_cache.options import keywords
from sfn_cache.options.selectors import check_matches
from sfn_cache.options.table import BY_NAME
from sfn_cache.rewrite.options import StateRule, WrapOptions
from sfn_cache.rewrite.unwrap import unwrap_definition
from sfn_cache.rewrite.wrap import wrap_definition


class Caching:
    """Where the cache lives and how it behaves; shared by every wrapped state.

    The keywords are the command line's options (``sfn-cache wrap --help``), spelled as Python names.
    ``include``/``exclude`` take one glob (``"Notify*"``) or a list of them; ``ttl`` takes seconds or a
    duration string (``"7d"``, ``"12h"``); ``cache_version`` a string or an int; ``bucket`` is
    ``s3://bucket[/prefix]``. Anything else raises ``SfnCacheError`` saying what is expected, and so
    does an ``exclude`` glob that matches no state of the definition being wrapped.
    """

    def __init__(self, lambda_arn: str, bucket: str | None = None, context: str | None = None,
                 force_rerun: bool = False, verbose: bool = False, *,
                 include: str | Iterable[str] = (), exclude: str | Iterable[str] = (),
                 ttl: int | str | None = None, cache_version: str | int = "", pattern: str = "variables",
                 fail_closed: bool = False, runtime_force: bool = True, concurrent: str = "run",
                 key_code: str | None = None, key_s3: str = "off", allow_context_reads: bool = False,
                 comments: bool = False, express: bool = False):
        self.options = keywords.wrap_options(locals())  # the table's keywords, checked in its order
        self.verbose = verbose

    def cache_step(self, definition: dict, state_name: str, bundle_name: str | None = None,
                   force_rerun: bool | None = None) -> dict:
        """Return ``definition`` with ``state_name`` wrapped (again, when it was); the tasks a previous
        cache_step wrapped keep their cached form, other states are untouched."""
        states = {ref.name: ref.state for ref in walk(parse(definition))}
        if states.get(state_name, {}).get("Type") != "Task":
            raise SfnCacheError("no Task state of that name", state=state_name)
        only_this = replace(self.options, rules=self.options.rules + (
            StateRule(pattern="*", include=False),
            StateRule(pattern=state_name, include=True, bundle_name=bundle_name, force=force_rerun),
        ))
        return self._wrap(definition, only_this, keep=frozenset(unwrap_definition(definition).tasks) - {state_name})

    def _wrap(self, definition: dict, options: WrapOptions, keep: frozenset[str] = frozenset()) -> dict:
        exclude = BY_NAME["exclude"].flag  # the command line's error, word for word, and before any work
        check_matches([(f"{exclude} {glob}", glob, None) for glob in options.exclude], [(definition, "<definition>")],
                      "<definition>")
        result = wrap_definition(definition, options, keep=keep)
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


def unwrap(definition: dict) -> dict:
    """The definition a wrapped ``definition`` was wrapped from (``sfn-cache unwrap``); raises
    ``SfnCacheError`` naming the state where a generated state was edited so that it cannot tell."""
    return unwrap_definition(definition).definition
