"""Issue 27 point 4: a wrapped machine stays within the variable quotas its original stays within.

AWS Step Functions "Service quotas" / "Passing data between states with variables": a variable holds
at most 256 KiB, one Assign at most 256 KiB, and the variables of an execution at most 10 MiB together
(a variable lives until the execution ends, or until it is assigned again). The cached form keeps the
pull's answer (a hit's answer holds the whole result) and T's result in variables: each is dropped once
read (the push, the last hit state), so at most one task's answer is live at a time. Measured from the
execution history (assignedVariables of every state exit), as the payload tests measure payloads.
"""

from __future__ import annotations

import json

import pytest

from tests.support.machines import cached, machine, task

TASKS = 4
RESULT_BYTES = 60_000


def big_result(event):
    return {"blob": "x" * RESULT_BYTES}


def live_variable_bytes(engine) -> int:
    """The largest total size of the live variables at any point of the last execution."""
    events = engine.client.get_execution_history(executionArn=engine.last_execution_arn, maxResults=1000)["events"]
    live: dict[str, int] = {}
    most = 0
    for event in events:
        for name, detail in event.items():
            if name.endswith("EventDetails") and isinstance(detail, dict):
                for variable, text in (detail.get("assignedVariables") or {}).items():
                    live[variable] = len(json.dumps(json.loads(text), separators=(",", ":")).encode())
                most = max(most, sum(live.values()))
    return most


@pytest.mark.parametrize("result_path", ["$", "$.out"], ids=["output is the result", "result under ResultPath"])
def test_at_most_one_answer_is_live_at_a_time(make_engine, result_path):
    engine = make_engine({"work": big_result})
    states = {f"T{i}": task("work", Parameters={"i": i}, ResultPath=result_path,
                            **({"Next": f"T{i + 1}"} if i + 1 < TASKS else {"End": True})) for i in range(TASKS)}
    if result_path == "$.out":
        for state in states.values():
            state["ResultSelector"] = {"n.$": "States.StringSplit('a,b', ',')"}  # the output is not the result
    definition = machine(states)
    wrapped = cached(definition, pattern="variables")
    for run in ("miss", "hit"):
        engine.run(wrapped, {})
        assert live_variable_bytes(engine) <= RESULT_BYTES + 2048, f"{run}: the answers of every task stay live"


def test_t_assign_carries_no_copy_of_a_result_that_its_output_holds(make_engine):
    """The per-Assign quota (256 KiB): where T's output holds its raw result (a plain ResultPath, no
    ResultSelector or OutputPath), the push reads it there, so T's own Assign is the user's alone."""
    engine = make_engine({"work": big_result})
    definition = machine({"T": task("work", ResultPath="$.out", Assign={"mine.$": "$.blob"}, End=True)})
    original = engine.run(definition, {"k": 1})
    wrapped = cached(definition, pattern="variables")
    assert engine.run(wrapped, {"k": 1}) == original
    events = engine.client.get_execution_history(executionArn=engine.last_execution_arn, maxResults=1000)["events"]
    assigned_by_t = [set(event["stateExitedEventDetails"].get("assignedVariables") or {}) for event in events
                     if event["type"] == "TaskStateExited" and event["stateExitedEventDetails"]["name"] == "T"]
    assert assigned_by_t == [{"mine"}]
    calls = engine.calls["work"]
    assert engine.run(wrapped, {"k": 1}) == original and engine.calls["work"] == calls, "a hit"
