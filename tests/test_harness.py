"""The harness itself: an execution that overruns its time must not outlive its test."""

from __future__ import annotations

import time

import pytest

from harness import function_arn


def test_an_overrunning_execution_is_stopped_and_calls_nothing_afterwards(make_engine, monkeypatch):
    polling_forever = {"StartAt": "Poll", "States": {
        "Poll": {"Type": "Task", "Resource": function_arn("poll"), "Next": "Done?"},
        "Done?": {"Type": "Choice", "Choices": [
            {"Variable": "$.done", "BooleanEquals": True, "Next": "Finished"}], "Default": "Poll"},
        "Finished": {"Type": "Succeed"}}}
    first = make_engine({"poll": lambda event: {"done": False}})
    with pytest.raises(AssertionError, match="still running"):
        first.run(polling_forever, {}, timeout=0.5)
    assert first.calls["poll"] > 1  # it really was looping

    # the next test's engine takes over the Lambda seam; the stopped loop must not reach it
    second = make_engine({"poll": lambda event: {"done": False}})
    time.sleep(0.5)
    assert second.calls == {}
