"""Issue 27 point 9: an Express workflow ends after 5 minutes with States.Timeout, so its cache states
must give up in seconds for fail-open to hold (AWS Step Functions developer guide, "Choosing workflow
type": Express workflows run up to five minutes; "Service quotas": maximum execution time of an Express
workflow, 5 minutes). With ``--express`` every cache state times out after
EXPRESS_CACHE_TIMEOUT_SECONDS; a hung caching Lambda in every cache state of a machine of several
cached tasks still leaves the tasks their time."""

from __future__ import annotations

import pytest

from sfn_cache.errors import SfnCacheError
from sfn_cache.local.engine import CACHE_ARN, function_arn
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition
from sfn_cache.runtime.protocol import EXPRESS_EXECUTION_SECONDS
from tests.support.cli import states_of, wrap

TASKS = 6
CHAIN = {"StartAt": "T0", "States": {
    f"T{i}": {"Type": "Task", "Resource": function_arn("work"),
              **({"Next": f"T{i + 1}"} if i + 1 < TASKS else {"End": True})} for i in range(TASKS)}}


def cache_timeouts(definition: dict) -> list[int]:
    return [state["TimeoutSeconds"] for name, state in states_of(definition).items()
            if state.get("Type") == "Task" and name.startswith(("cache_pull_", "cache_push_", "cache_large_"))]


@pytest.mark.parametrize("pattern", ["variables", "classic"])
def test_an_express_machine_spends_at_most_half_its_5_minutes_on_hung_cache_calls(pattern):
    wrapped = wrap_definition(CHAIN, WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern, express=True)).definition
    timeouts = cache_timeouts(wrapped)
    assert len(timeouts) == 2 * TASKS
    assert sum(timeouts) <= EXPRESS_EXECUTION_SECONDS / 2, timeouts  # at 120 s: 1,440 s


def test_a_standard_machine_keeps_the_long_timeout():
    assert set(cache_timeouts(wrap_definition(CHAIN, WrapOptions(lambda_arn=CACHE_ARN)).definition)) == {120}


def test_the_flag(tmp_path):
    import json

    path = tmp_path / "m.json"
    path.write_text(json.dumps(CHAIN))
    assert max(cache_timeouts(json.loads(wrap(path, "--express").stdout))) * 2 * TASKS <= EXPRESS_EXECUTION_SECONDS


def test_express_refuses_concurrent_wait():
    with pytest.raises(SfnCacheError, match="--express and --concurrent wait"):
        wrap_definition(CHAIN, WrapOptions(lambda_arn=CACHE_ARN, express=True, concurrent="wait"))
