"""``sfn-cache wrap`` as users run it: options, formats, errors, determinism, --check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sfn_cache.cli import cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ml_pipeline.asl.json"


def wrap(*args, input=None):
    return CliRunner().invoke(cli, ["wrap", *map(str, args)], input=input, catch_exceptions=False)


def states_of(definition: dict) -> dict:
    """All states of all scopes, flattened (names are unique machine-wide)."""
    found = {}
    for name, state in definition["States"].items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(states_of(branch))
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                found.update(states_of(state[key]))
    return found


def test_wrap_example_to_a_file(tmp_path):
    out = tmp_path / "cached.asl.json"
    result = wrap(EXAMPLE, "-o", out, "--lambda-arn", "arn:aws:lambda:us-east-1:1:function:cache",
                  "--bucket", "s3://b/p", "--context", "ctx")
    assert result.exit_code == 0, result.output
    states = states_of(json.loads(out.read_text()))
    pull = states["cache_pull_TrainModel"]
    assert pull["Resource"] == "arn:aws:lambda:us-east-1:1:function:cache"
    assert pull["Parameters"]["bucket"] == "s3://b/p" and pull["Parameters"]["context"] == "ctx"
    assert pull["Parameters"]["input"] == states["TrainModel"]["Parameters"]
    assert states["TrainModel"]["Next"] == "cache_push_TrainModel"
    assert states["cache_push_TrainModel"]["Next"] == "cache_pull_EvaluateModel"


def test_default_lambda_arn_is_a_substitution_placeholder():
    result = wrap(EXAMPLE)
    assert result.exit_code == 0
    assert '"Resource": "${SfnCacheFunctionArn}"' in result.output


def test_output_is_deterministic_and_stdin_works(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert wrap(EXAMPLE, "-o", first).exit_code == 0
    assert wrap("-", "-o", second, input=EXAMPLE.read_text()).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def test_yaml_in_yaml_out(tmp_path):
    source = tmp_path / "machine.asl.yaml"
    source.write_text(yaml.safe_dump(json.loads(EXAMPLE.read_text()), sort_keys=False))
    result = wrap(source)
    assert result.exit_code == 0
    document = yaml.safe_load(result.output)
    assert document["States"][document["StartAt"]]["Next"] == "cache_pull_PrepareFeatures"
    as_json = wrap(source, "--format", "json")
    assert json.loads(as_json.output) == document


def test_include_exclude_bundle_name_key_path_ttl_version_force():
    result = wrap(EXAMPLE, "--include", "Train*", "--include", "Evaluate*", "--exclude", "Evaluate*",
                  "--bundle-name", "TrainModel=model", "--key-path", "TrainModel=$.region",
                  "--key-path", "TrainModel=$.hyperparameters", "--ttl", "7d", "--ttl", "TrainModel=12h",
                  "--cache-version", "v2", "--force-rerun", "TrainModel", "-v")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    states = states_of(document)
    assert [name for name in states if name.startswith("cache_pull_")] == ["cache_pull_TrainModel"]
    payload = states["cache_pull_TrainModel"]["Parameters"]
    assert payload["bundle"] == "model"
    assert payload["input"] == {"$.region.$": "$.region", "$.hyperparameters.$": "$.hyperparameters"}
    assert payload["ttl"] == 12 * 3600
    assert payload["cache_version"] == "v2"
    assert payload["force"] is True
    assert "excluded        EvaluateModel  (excluded by --exclude Evaluate*)" in result.stderr
    assert "excluded        PrepareFeatures  (not matched by --include Train*,Evaluate*)" in result.stderr


def test_force_rerun_without_a_state_forces_every_task():
    document = json.loads(wrap(EXAMPLE, "--force-rerun").stdout)
    pulls = [s for n, s in states_of(document).items() if n.startswith("cache_pull_")]
    assert len(pulls) == 6 and all(p["Parameters"]["force"] is True for p in pulls)


def test_context_object_in_parameters_is_reported():
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "Parameters": {"id.$": "$$.Execution.Id", "x.$": "$.x"}, "End": True}}}
    result = wrap("-", input=json.dumps(definition))
    assert result.exit_code == 0
    assert "state 'T': the cache key reads \"$$.Execution.Id\"" in result.stderr
    assert "--key-path 'T=$.field'" in result.stderr
    quiet = wrap("-", "--key-path", "T=$.x", input=json.dumps(definition))
    assert "cache key reads" not in quiet.stderr


def test_no_task_state_is_written_unchanged_with_a_warning(tmp_path):
    """README: a definition with no Task state passes through, exit 0, with one warning."""
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}}
    source = tmp_path / "m.asl.json"
    source.write_text(json.dumps(definition))
    out = tmp_path / "out.json"
    result = wrap(source, "-o", out)
    assert result.exit_code == 0
    assert result.stderr == f"warning: {source}: no Task state: nothing to cache; written unchanged\n"
    assert json.loads(out.read_text()) == definition


def test_no_cacheable_task_is_refused_exit_2(tmp_path):
    """README: Task states exist but none can be cached (here a callback task): exit 2, nothing written."""
    definition = {"StartAt": "A", "States": {"A": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": True}}}
    source = tmp_path / "m.asl.json"
    source.write_text(json.dumps(definition))
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-m", "sfn_cache", "wrap", str(source), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr.startswith(f"error: {source}: state 'A': no task can be cached: callback task")


@pytest.mark.parametrize("text,message", [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "not an Amazon States Language definition"),
    ('{"StartAt": "A", "States": {"A": 3}}', "state 'A': state is not an object"),
    ('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}', "state 'A': Next names a state that does not exist"),
    ('{"StartAt": "B", "States": {"A": {"Type": "Pass", "End": true}}}', "StartAt names a state that does not exist"),
    ('{"States": {"A": {"Type": "Pass", "End": true}}}', "has no StartAt"),
    ('{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "A": {"Type": "Pass", "End": true}}}', "duplicate key 'A'"),
    ('{"StartAt": "A", "States": {"A": {"Type": "Teleport", "End": true}}}', "unknown Type"),
    ('StartAt: A\nStates:\n  A: [unclosed', "invalid YAML"),
])
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, text, message):
    source = tmp_path / "bad.asl.json"
    source.write_text(text)
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-m", "sfn_cache", "wrap", str(source), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: {source}")
    assert message in proc.stderr
    assert not out.exists()


def test_duplicate_names_across_scopes_are_refused():
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}},
        {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}]}}}
    result = wrap("-", input=json.dumps(definition))
    assert result.exit_code == 2 and "state 'X': duplicate state name" in result.stderr


def test_existing_output_is_left_intact_on_error(tmp_path):
    out = tmp_path / "cached.json"
    out.write_text("previous\n")
    result = wrap("-", "-o", out, input="{broken")
    assert result.exit_code == 2
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["cached.json"], "no temp file left behind"


def test_check_mode(tmp_path):
    out = tmp_path / "cached.json"
    assert wrap(EXAMPLE, "-o", out, "--check").exit_code == 1, "missing file is stale"
    assert not out.exists()
    assert wrap(EXAMPLE, "-o", out).exit_code == 0
    assert wrap(EXAMPLE, "-o", out, "--check").exit_code == 0
    assert wrap(EXAMPLE, "-o", out, "--check", "--ttl", "1h").exit_code == 1
    assert wrap(EXAMPLE, "--check").exit_code == 2


def test_rewrapping_is_a_no_op(tmp_path):
    once, twice = tmp_path / "once.json", tmp_path / "twice.json"
    wrap(EXAMPLE, "-o", once)
    result = wrap(once, "-o", twice, "-v")
    assert once.read_bytes() == twice.read_bytes()
    assert result.stderr.count("already wrapped") == 6


def test_long_and_colliding_names_stay_within_80_characters():
    long_name = "T" * 80
    definition = {"StartAt": long_name, "States": {
        long_name: {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "Next": "cache_pull_X"},
        "cache_pull_X": {"Type": "Pass", "Next": "X"},
        "X": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": True}}}
    document = json.loads(wrap("-", input=json.dumps(definition)).stdout)
    names = list(document["States"])
    assert all(len(n) <= 80 for n in names) and len(names) == len(set(names))
    assert document["States"]["cache_pull_X"] == {"Type": "Pass", "Next": names[names.index("X") - 2]}
    assert document["States"]["cache_pull_X"]["Next"].startswith("cache_pull_X~")


def test_console_script_is_installed():
    exe = shutil.which("sfn-cache", path=str(Path(sys.executable).parent))
    assert exe, "the sfn-cache console script is installed with the package"
    proc = subprocess.run([exe, "wrap", str(EXAMPLE)], capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout)["States"]["cache_force_from_input"]["Next"] == "cache_pull_PrepareFeatures"


@pytest.mark.parametrize("pattern", ["variables", "classic"])
def test_rewrapping_jsonata_and_classic_forms_is_a_no_op(tmp_path, pattern):
    jsonata = {"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "Arguments": {"x": "{% $states.input.x %}"}, "Output": "{% $states.result %}", "End": True}}}
    source = tmp_path / "m.json"
    source.write_text(json.dumps(jsonata if pattern == "variables" else {
        "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                                         "End": True}}}))
    once, twice = tmp_path / "once.json", tmp_path / "twice.json"
    assert wrap(source, "-o", once, "--pattern", pattern).exit_code == 0
    result = wrap(once, "-o", twice, "--pattern", pattern, "-v")
    assert once.read_bytes() == twice.read_bytes()
    assert "already wrapped T" in " ".join(result.stderr.split())
