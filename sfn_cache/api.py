"""The library API, in the shape the seed project's users already call.

    caching = Caching(lambda_arn, bucket, context)
    definition = Caching.cache_step(definition, "Train", bundle_name="model")   # one task
    definition = PipelineCaching(definition, caching).cache()                    # every task
"""

from __future__ import annotations

from dataclasses import replace

from sfn_cache.errors import SfnCacheError
from sfn_cache.model import parse, walk
from sfn_cache.options import StateRule, WrapOptions
from sfn_cache.wrap import wrap_definition


class Caching:
    """Where the cache lives and how it behaves; shared by every wrapped state."""

    def __init__(self, lambda_arn: str, bucket: str | None = None, context: str | None = None,
                 force_rerun: bool = False, verbose: bool = False, **options):
        self.options = WrapOptions(lambda_arn=lambda_arn, bucket=bucket, context=context,
                                   force=force_rerun, **options)
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
