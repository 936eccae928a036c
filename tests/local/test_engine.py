"""The local engine itself: executions are bounded by what they do, and a stopped one stays stopped."""

from __future__ import annotations

import time

import pytest

from sfn_cache.local.engine import ExecutionBlocked, ExecutionOverrun, function_arn

POLLING_FOREVER = {"StartAt": "Poll", "States": {
    "Poll": {"Type": "Task", "Resource": function_arn("poll"), "Next": "Done?"},
    "Done?": {"Type": "Choice", "Choices": [
        {"Variable": "$.done", "BooleanEquals": True, "Next": "Finished"}], "Default": "Poll"},
    "Finished": {"Type": "Succeed"}}}


def test_an_endless_execution_is_stopped_by_its_history_events_and_calls_nothing_afterwards(make_engine):
    first = make_engine({"poll": lambda event: {"done": False}})
    with pytest.raises(ExecutionOverrun, match=r"after \d+ history events \(bound 200\)") as stopped:
        first.run(POLLING_FOREVER, {}, max_events=200)
    assert stopped.value.events > 200
    assert first.calls["poll"] >= 200 // 8  # it really was looping: 8 events per round

    # the next test's engine takes over the Lambda seam; the stopped loop must not reach it
    second = make_engine({"poll": lambda event: {"done": False}})
    time.sleep(0.5)
    assert second.calls == {}


def test_the_wall_clock_is_only_a_backstop(make_engine):
    engine = make_engine({"poll": lambda event: {"done": False}})
    with pytest.raises(ExecutionOverrun, match=r"after 0.3s of wall time"):
        engine.run(POLLING_FOREVER, {}, backstop=0.3)


def test_a_long_execution_is_not_cut_short_by_wall_time_under_load(make_engine):
    """A 150-iteration Map writes thousands of events; slowness alone never stops it."""
    definition = {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemProcessor": {"StartAt": "Double", "States": {
            "Double": {"Type": "Task", "Resource": function_arn("double"), "End": True}}}}}}
    engine = make_engine({"double": lambda n: 2 * n})
    outcome = engine.run(definition, {"items": list(range(150))})
    assert outcome.output == [2 * n for n in range(150)]
    assert engine.events > 750


def test_an_execution_waiting_for_a_task_token_is_stopped_at_once(make_engine):
    definition = {"StartAt": "Wait", "States": {"Wait": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": function_arn("ask"), "Payload": {"token.$": "$$.Task.Token"}}, "End": True}}}
    engine = make_engine({"ask": lambda event: None})
    with pytest.raises(ExecutionBlocked, match=r"waits for a task token \(SendTaskSuccess\)"):
        engine.run(definition, {})
    assert engine.calls["ask"] == 1
