"""Issue 27 point 3: no JSONPath task's input or output passes through a JSONata expression.

AWS keeps a JSONPath machine's number text as written: LocalStack's recordings of AWS
(tests/aws/services/stepfunctions/v2/base/test_base.snapshot.json and the Lambda-task recordings of
tests/aws/services/stepfunctions/v2/services/test_lambda_task.snapshot.json: an input ``0.0`` comes back
``0.0``). JSONata (jsonata-js 2.0.6, which Step Functions runs) reads numbers as doubles: ``10.0`` is
written ``10`` and integers past 2^53 are rounded. So a JSONPath task's cached form may not send its
input, its result or its output through a JSONata expression: a miss and a hit must return the
original's number text.
"""

from __future__ import annotations

import json

import pytest

from sfn_cache.local.engine import CACHE_FUNCTION
from sfn_cache.rewrite.options import StateRule
from tests.support.machines import cached, machine, task

BIG = 12345678901234567890  # past 2^53: a double cannot hold it
RESULT = {"ratio": 10.0, "one": 1.0, "big": BIG, "small": 0.1}


def result_task(event):
    return dict(RESULT)


CASES = {
    "output is the result": task("work", End=True),
    "result under ResultPath": task("work", ResultPath="$.out", End=True),
    "result selected": task("work", ResultSelector={"r.$": "$.ratio", "b.$": "$.big"}, ResultPath="$.sel",
                            End=True),
    "key paths": task("work", ResultPath="$.out", End=True),
}


def three_runs(engine, case):
    """(original, miss, hit) of CASES[case], the hit checked to be one."""
    definition = machine({"Work": CASES[case]})
    options = {"pattern": "variables"} | (
        {"rules": (StateRule("Work", key_paths=("$.id",)),)} if case == "key paths" else {})
    execution_input = {"id": 1, "price": 2.50, "count": 3.0, "huge": BIG}
    original = engine.run(definition, execution_input)
    assert original.status == "SUCCEEDED", original
    wrapped = cached(definition, **options)
    miss = engine.run(wrapped, execution_input)
    before = engine.calls["work"]
    hit = engine.run(wrapped, execution_input)
    assert engine.calls["work"] == before, "the third run is a hit"
    assert engine.calls[CACHE_FUNCTION] >= 3
    return original, miss, hit


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_miss_keeps_number_text(make_engine, case):
    original, miss, _ = three_runs(make_engine({"work": result_task}), case)
    expected = json.dumps(original.output)
    assert "10.0" in expected or "3.0" in expected
    assert json.dumps(miss.output) == expected, "a miss changed the number text"


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hit_keeps_number_text(make_engine, case):
    original, _, hit = three_runs(make_engine({"work": result_task}), case)
    assert json.dumps(hit.output) == json.dumps(original.output), "a hit changed the number text"

