"""Issue 27 point 7: a hit fails where T would, with the same error.

T evaluates its TimeoutSecondsPath/HeartbeatSecondsPath (JSONata: TimeoutSeconds/HeartbeatSeconds
expressions) before it runs; a path that is not in the input fails the execution with States.Runtime,
which no Catch handles (AWS Step Functions developer guide, "Error handling": States.Runtime; LocalStack's
recording of AWS tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json,
``test_catch_states_runtime``). A hit, which does not run T, must fail the same way: the pull evaluates
T's timeout paths (before T's input, in T's order).
"""

from __future__ import annotations

from tests.support.machines import cached, machine, task


def echo(event):
    return {"seen": event}


def test_a_missing_timeout_path_fails_a_hit_as_it_fails_the_original(make_engine):
    engine = make_engine({"work": echo})
    definition = machine({"Work": task("work", Parameters={"x.$": "$.x"}, TimeoutSecondsPath="$.timeout",
                                       ResultPath="$.out", End=True)})
    original = engine.run(definition, {"x": 1})
    assert original.status == "FAILED" and original.error == "States.Runtime", original
    wrapped = cached(definition, pattern="variables")
    assert engine.run(wrapped, {"x": 1, "timeout": 30}).status == "SUCCEEDED"  # stores x=1's result
    calls = engine.calls["work"]
    outcome = engine.run(wrapped, {"x": 1})
    assert engine.calls["work"] == calls, "T did not run: the pull (or a hit) decided"
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime"), outcome
