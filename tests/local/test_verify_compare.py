"""verify compares what AWS writes (number text, types) and names the documented differences it accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfn_cache.cli import cli
from sfn_cache.local.engine import Outcome, function_arn
from sfn_cache.local.verify import outcome_difference


def succeeded(output) -> Outcome:
    return Outcome(status="SUCCEEDED", output=output, error=None, cause=None)


@pytest.mark.parametrize("original, other, where", [
    ({"v": 1.0}, {"v": 1}, "$.output.v (1, original 1.0)"),
    ({"v": 1}, {"v": True}, "$.output.v (true, original 1)"),
    ([0.0], [0], "$.output[0] (0, original 0.0)"),
    (10.0, 10, "$.output (10, original 10.0)"),
])
def test_outputs_that_python_calls_equal_but_aws_writes_differently_differ(original, other, where):
    """Step Functions writes 1.0 and 1 as different text (recording test_lambda_task.snapshot.json,
    test_invoke_json_values[0.0]: 0.0 stays 0.0); Python's == took them for equal."""
    assert outcome_difference(succeeded(original), succeeded(other)) == where


def test_key_order_is_not_a_difference():
    assert outcome_difference(succeeded({"a": 1, "b": 2.5}), succeeded({"b": 2.5, "a": 1})) is None


def test_a_documented_difference_is_reported_as_documented_naming_the_doc(tmp_path: Path):
    """docs/cached-form.md, "What a hit evaluates", known differences 1 and 3: with --pattern classic an
    InputPath that selects nothing fails in cache_pull_T with the path re-rooted under $.input. verify
    reported that as DIFFERENT (exit 1)."""
    definition = tmp_path / "m.json"
    definition.write_text(json.dumps({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": function_arn("t"), "InputPath": "$.missing", "End": True}}}))
    result = CliRunner().invoke(cli, ["verify", str(definition), "--pattern", "classic"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split()[2:4] == ["documented", "FAILED/FAILED/FAILED"]
    assert lines[2:] == [f"m.json on {{}}: documented: {run}: differs only as docs/cached-form.md"
                         "#what-a-hit-evaluates (known difference 3) documents" for run in ("miss", "hit")]
