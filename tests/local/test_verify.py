"""``sfn-cache verify`` and ``sfn-cache run``: the wrapped machine executed locally, compared, measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfn_cache.cli import cli
from sfn_cache.local.engine import function_arn
from sfn_cache.rewrite.forms import variables
from tests.support.paths import ROOT

EXAMPLE = ROOT / "examples" / "ml_pipeline.asl.json"


def write(tmp_path: Path, name: str, document) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


def verify(*args: str):
    return CliRunner().invoke(cli, ["verify", *args])


PIPELINE = {"StartAt": "Compute", "States": {
    "Compute": {"Type": "Task", "Resource": function_arn("compute"), "Parameters": {"x.$": "$.x"},
                "ResultPath": "$.result", "Next": "Done"},
    "Done": {"Type": "Pass", "End": True}}}


def test_identical_machine_exits_0_with_one_row_per_input_and_the_costs(tmp_path):
    definition = write(tmp_path, "m.json", PIPELINE)
    first, second = write(tmp_path, "a.json", {"x": 1}), write(tmp_path, "b.json", {"x": 2, "keep": "k"})
    result = verify(definition, "--input", first, "--input", second)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["MACHINE", "INPUT", "VERDICT"]
    assert [line.split()[1] for line in lines[1:]] == [first, second]
    # original 2 states; with run-time force (the default) a miss adds 5 and a hit 3
    # (tests/local/test_transition_costs.py BUDGET)
    assert all(line.split()[2:5] == ["identical", "SUCCEEDED/SUCCEEDED/SUCCEEDED", "2/7/5"] for line in lines[1:])


def test_json_reports_calls_saved_payloads_and_sizes(tmp_path):
    definition = write(tmp_path, "m.json", PIPELINE)
    result = verify(definition, "--input", write(tmp_path, "a.json", {"x": 1}), "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    runs = {run["label"]: run for run in row["runs"]}
    assert (row["identical"], row["difference"], row["problems"]) == (True, None, [])
    assert (runs["miss"]["cache_calls"], runs["hit"]["cache_calls"]) == (2, 1)
    assert (runs["original"]["task_calls"], runs["miss"]["task_calls"], runs["hit"]["task_calls"]) == (1, 1, 0)
    assert row["task_calls_saved_on_hit"] == 1
    assert runs["original"]["largest_payload"] == len(json.dumps({"x": 1, "result": {
        "x": 1, "stub": function_arn("compute"), "received": {"x": 1}, "Status": "SUCCEEDED", "StatusCode": 200}},
        separators=(",", ":")))
    assert row["definition_bytes"] == len(json.dumps(PIPELINE)) < row["wrapped_definition_bytes"]


def test_a_rewrite_that_drops_the_result_path_is_caught_and_named(tmp_path, monkeypatch):
    real = variables._jsonpath_hit

    def broken(*args, **kwargs):
        hit = real(*args, **kwargs)
        hit.pop("ResultPath", None)
        return hit

    monkeypatch.setattr(variables, "_jsonpath_hit", broken)
    result = verify(write(tmp_path, "m.json", PIPELINE), "--input", write(tmp_path, "a.json", {"x": 1}))
    assert result.exit_code == 1, result.output
    assert "DIFFERENT" in result.output
    assert "differs at hit: $.output.result (missing)" in result.output


def test_user_tasks_by_name_arn_and_glob_and_their_errors(tmp_path):
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": function_arn("add-one"), "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "ResultPath": "$.b", "Next": "C"},
        "C": {"Type": "Task", "Resource": function_arn("risky-thing"), "Catch": [
            {"ErrorEquals": ["ValueError"], "ResultPath": "$.caught", "Next": "D"}], "End": True},
        "D": {"Type": "Pass", "End": True}}}
    tasks = write(tmp_path, "handlers.py", (
        "def add_one(event):\n    return 'never called: the Lambda is add-one'\n"
        "def _add(event):\n    return event['n'] + 1\n"
        "def _fail(event):\n    raise ValueError('no')\n"
        "TASKS = {'add-one': _add, 'arn:aws:states:::sns:publish': lambda p: {'MessageId': 'm'}, 'risky-*': _fail}\n"))
    result = verify(write(tmp_path, "m.json", definition), "--input", write(tmp_path, "i.json", {"n": 1}),
                    "--tasks", tasks, "--json", "--include", "*", "--include", "B")  # B, an sns:publish, by name
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert row["identical"] and row["task_calls_saved_on_hit"] == 2  # A and B; C failed, so it is never cached


def test_uncatchable_errors_are_not_caught_by_states_all(tmp_path):
    """On AWS, States.ALL does not catch States.Runtime: the execution fails, in every run."""
    definition = {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": function_arn("t"), "ResultSelector": {"v.$": "$.missing"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": True},
        "Caught": {"Type": "Pass", "End": True}}}
    result = verify(write(tmp_path, "m.json", definition), "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert {run["status"] for run in row["runs"]} == {"FAILED"}
    assert all(run["transitions"] for run in row["runs"])


def test_a_payload_over_the_quota_fails_verification(tmp_path):
    """moto checks results and state outputs, not what a task is sent: verify measures every payload."""
    definition = write(tmp_path, "m.json", {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": function_arn("small"), "Parameters": {"a.$": "$.a", "b.$": "$.a"},
              "ResultSelector": {"n.$": "$.n"}, "End": True}}})
    tasks = write(tmp_path, "tasks.py", "def small(event):\n    return {'n': len(event)}\n")
    result = verify(definition, "--tasks", tasks, "--input", write(tmp_path, "i.json", {"a": "x" * (200 * 1024)}))
    assert result.exit_code == 1, result.output
    assert "m.json on " + str(tmp_path / "i.json") + (
        ": original: a payload of 409618 bytes, over AWS's 262144 (States.DataLimitExceeded)") \
        in result.output.splitlines()


def test_a_machine_that_differs_from_itself_is_not_called_identical(tmp_path):
    definition = write(tmp_path, "m.json", {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": function_arn("t"), "Parameters": {"id.$": "States.UUID()"}, "End": True}}})
    result = verify(definition)
    assert result.exit_code == 1
    assert "the original differs from itself between two runs at $.output.id" in result.output


@pytest.mark.parametrize("content,message", [
    ("{not json", "m.json"),
    (json.dumps({"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "r", "Next": "Nope"}}}), "Nope"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, content, message):
    result = verify(write(tmp_path, "m.json", content))
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and message in result.output


def test_a_bad_tasks_file_is_one_line_and_exit_2(tmp_path):
    result = verify(write(tmp_path, "m.json", PIPELINE), "--tasks", write(tmp_path, "t.py", "import nothing_here\n"))
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 't.py'}: cannot import the tasks file: " \
                                    "ModuleNotFoundError: No module named 'nothing_here'"


def test_without_the_extra_verify_says_what_to_install(tmp_path):
    """moto hidden from a fresh interpreter: the command names the extra, in one line."""
    script = ("import sys; sys.modules['moto'] = None\n"
              "from sfn_cache.cli import main; sys.argv = ['sfn-cache', 'verify', sys.argv[1]]; main()")
    done = subprocess.run([sys.executable, "-c", script, write(tmp_path, "m.json", PIPELINE)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr == "error: the local Step Functions interpreter is not installed (moto is missing); " \
                          "run: pip install '.[verify]' from a clone of the repository\n"


def test_run_twice_prints_a_line_per_state_through_the_console_script(tmp_path):
    script = Path(sys.executable).with_name("sfn-cache")
    done = subprocess.run([str(script), "run", str(EXAMPLE), "--input", str(ROOT / "examples/ml_pipeline.input.json"),
                           "--tasks", str(ROOT / "examples/ml_pipeline_tasks.py"), "--twice"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "AWS_PROFILE": "nonexistent"})
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.split("run 2 of ml_pipeline.asl.json:\n")
    assert first.startswith("run 1 of ml_pipeline.asl.json:\n  PrepareFeatures: cache miss (key ")
    assert "  PrepareFeatures: task ran\n  PrepareFeatures: stored (key " in first
    assert first.count(": task ran") == 7 and first.count(": cache hit") == 0, done.stdout + done.stderr  # whole
    assert second.count(": task ran") == 0 and second.count(": cache hit: task skipped") == 7
    assert "  TrainPerRegion: entered\n" in second
    assert "  RegisterModel: " in first and first.splitlines()[-1].startswith("SUCCEEDED"), \
        "AWS reads $.models[0].auc as one number: the pipeline publishes"
    assert first.splitlines()[-1] == second.splitlines()[-1]  # the same outcome on the hit


def test_verify_the_readme_example():
    result = verify(str(EXAMPLE), "--input", str(ROOT / "examples/ml_pipeline.input.json"),
                    "--tasks", str(ROOT / "examples/ml_pipeline_tasks.py"))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].split()[2] == "identical"
