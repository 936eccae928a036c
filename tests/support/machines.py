"""Small definitions, a stand-in task, and the original / miss / hit runner of the equivalence tests."""

from __future__ import annotations

import pytest

from sfn_cache.errors import SfnCacheError
from sfn_cache.local.engine import CACHE_ARN, CACHE_FUNCTION, function_arn
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition

# The cached form ``cached`` writes when a case names none; tests/local/test_equivalence.py switches it
# per test (its autouse ``pattern`` fixture) so that every case there runs against both forms.
PATTERN = {"current": "variables"}


def cached(definition: dict, **options) -> dict:
    options.setdefault("pattern", PATTERN["current"])
    try:
        result = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN, **options))
    except SfnCacheError as error:
        if options["pattern"] == "classic":
            pytest.skip(f"the classic pattern refuses this case: {error}")
        raise
    refused = [task.reason for task in result.tasks if task.action == "refused"]
    if refused and options["pattern"] == "classic":
        pytest.skip(f"the classic pattern refuses this case: {refused[0]}")
    return result.definition


def run_three_ways(engine, definition, execution_input, task_names=None, **options):
    """original, miss, hit; asserts they agree and returns (original, user calls on the hit run)."""
    wrapped = cached(definition, **options)
    original = engine.run(definition, execution_input)
    miss = engine.run(wrapped, execution_input)
    before = engine.calls.copy()
    hit = engine.run(wrapped, execution_input)
    user_calls_on_hit = {name: engine.calls[name] - before[name] for name in engine.calls
                         if name != CACHE_FUNCTION and engine.calls[name] != before[name]}
    assert miss == original, "cache miss changed the outcome"
    assert hit == original, "cache hit changed the outcome"
    return original, user_calls_on_hit


def task(name: str, **fields) -> dict:
    return {"Type": "Task", "Resource": function_arn(name), **fields}


def machine(states: dict, start: str | None = None) -> dict:
    return {"StartAt": start or next(iter(states)), "States": states}


def compute(event):
    """A deterministic stand-in for a slow job: its result depends on every part of its input."""
    return {"y": {"seen": event}, "z": 2, "items": [1, 2, 3]}
