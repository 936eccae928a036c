"""The cost budget of design.md section 3, counted from the execution history (not timed)."""

from __future__ import annotations

import pytest

from sfn_cache.local.engine import CACHE_ARN, CACHE_FUNCTION, function_arn
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition

ONE_TASK = {"StartAt": "Work", "States": {"Work": {
    "Type": "Task", "Resource": function_arn("work"), "ResultPath": "$.out", "Next": "Done"},
    "Done": {"Type": "Succeed"}}}

# (pattern, run-time force, extra transitions on a miss, on a hit); Lambda calls: 2 on a miss, 1 on a hit.
# Per task: +4/+2 (variables, a JSONPath task; +3/+2 for a JSONata one), +5/+3 (classic); per execution: +1
# for the run-time force reader.
# a JSONPath task's miss: pull, choice, size check, push (issue 27 point 3: the push is JSONPath)
BUDGET = [("variables", True, 4 + 1, 2 + 1), ("variables", False, 4, 2), ("classic", True, 5, 3)]


@pytest.mark.parametrize("pattern,runtime_force,miss_extra,hit_extra", BUDGET)
def test_transitions_and_lambda_calls(make_engine, pattern, runtime_force, miss_extra, hit_extra):
    engine = make_engine({"work": lambda event: {"done": True}})
    wrapped = wrap_definition(ONE_TASK, WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern,
                                                    runtime_force=runtime_force)).definition
    engine.run(ONE_TASK, {"x": 1})
    original = engine.state_transitions()
    assert original == 2
    engine.run(wrapped, {"x": 1})
    assert engine.state_transitions() - original == miss_extra
    assert engine.calls[CACHE_FUNCTION] == 2
    engine.run(wrapped, {"x": 1})
    assert engine.state_transitions() - original == hit_extra
    assert engine.calls[CACHE_FUNCTION] == 3 and engine.calls["work"] == 2
