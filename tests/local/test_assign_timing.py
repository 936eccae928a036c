"""Issue 27 point 6: a state's fields read the variables as of entering it, whatever its own Assign sets.

LocalStack's recording of AWS ``BASE_EVALUATION_ORDER_PASS_STATE``
(tests/aws/services/stepfunctions/v2/assign/test_assign_base.snapshot.json; template
templates/assign/statemachines/base_evaluation_order_pass_state.json5): a Pass whose InputPath and
OutputPath read ``$answer`` while its Assign sets ``answer`` outputs the old value. So on a hit, T's
ResultSelector, ResultPath and OutputPath must read the values T would have read, not those its
Assign sets.
"""

from __future__ import annotations

from tests.support.machines import cached, machine, task


def result(event):
    return {"n": 7}


def test_result_selector_reads_the_variable_as_before_t_assigns_it(make_engine):
    engine = make_engine({"work": result})
    definition = machine({
        "Set": {"Type": "Pass", "Assign": {"counter": "old"}, "Next": "Work"},
        "Work": task("work", ResultSelector={"n.$": "$.n", "counter.$": "$counter"}, ResultPath="$.out",
                     Assign={"counter.$": "$.n"}, Next="Read"),
        "Read": {"Type": "Pass", "Parameters": {"out.$": "$.out", "counter.$": "$counter"}, "End": True},
    })
    aws = {"out": {"n": 7, "counter": "old"}, "counter": 7}  # the recording's rule, applied by hand
    wrapped = cached(definition, pattern="variables")
    miss = engine.run(wrapped, {})
    calls = engine.calls["work"]
    hit = engine.run(wrapped, {})
    assert engine.calls["work"] == calls, "the third run is a hit"
    assert hit.output == aws, "the hit read the value T's Assign sets"
    original = engine.run(definition, {})
    if original.output == aws:  # an engine that evaluates T's fields as AWS does: all three agree
        assert miss == original == hit
