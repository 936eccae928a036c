"""``sfn-cache wrap`` as users run it: options, formats, errors, determinism, --check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.cli import states_of, wrap
from tests.support.paths import EXAMPLE


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
    assert states["TrainModel"]["Next"] == "cache_check_TrainModel"  # issue 27: the size check, then the push
    assert states["cache_check_TrainModel"]["Choices"][0]["Next"] == "cache_push_TrainModel"
    assert states["cache_push_TrainModel"]["Next"] == "cache_pull_EvaluateModel"


def test_default_lambda_arn_is_a_substitution_placeholder():
    result = wrap(EXAMPLE)
    assert result.exit_code == 0
    assert '"Resource": "${SfnCacheFunctionArn}"' in result.output  # literally, for DefinitionSubstitutions


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
    pull = states["cache_pull_TrainModel"]
    keys = states["cache_keys_TrainModel"]  # issue 27: JSONata reads the key paths, the pull stays JSONPath
    assert keys["QueryLanguage"] == "JSONata", "key paths are read by a state that cannot fail on a missing one"
    payload = pull["Parameters"] | next(iter(keys["Assign"].values()))
    assert payload["bundle"] == "model"
    assert sorted(payload["input"]) == ["$.hyperparameters", "$.region"]
    assert all(value.startswith("{% ($v := $states.input;") for value in payload["input"].values())
    assert payload["ttl"] == 12 * 3600
    assert payload["cache_version"] == "v2"
    assert payload["force"] is True
    assert "excluded        EvaluateModel  (excluded by --exclude Evaluate*)" in result.stderr
    assert "excluded        PrepareFeatures  (not matched by --include Train*,Evaluate*)" in result.stderr


def test_key_code_and_key_s3_options_globally_per_state_and_from_the_config(tmp_path):
    document = json.loads(wrap(EXAMPLE, "--key-code", "off", "--key-code", "TrainModel=auto",
                               "--key-s3", "etag", "--no-config").stdout)
    pulls = {n: s["Parameters"] for n, s in states_of(document).items() if n.startswith("cache_pull_")}
    assert pulls["cache_pull_TrainModel"]["key_code"] == "auto"
    assert all("key_code" not in p for n, p in pulls.items() if n != "cache_pull_TrainModel")
    assert all(p["key_s3"] == "etag" for p in pulls.values())
    original = states_of(json.loads(EXAMPLE.read_text()))
    default = states_of(json.loads(wrap(EXAMPLE, "--no-config").stdout))
    keyed = {n[len("cache_pull_"):] for n, s in default.items()
             if n.startswith("cache_pull_") and s["Parameters"].get("key_code") == "auto"}
    lambdas = {n for n, s in original.items() if s.get("Resource", "").startswith("arn:aws:lambda:")}
    assert lambdas and keyed == lambdas, "by default only Lambda targets name their code"
    assert all("key_s3" not in s["Parameters"] for n, s in default.items() if n.startswith("cache_pull_"))
    every = states_of(json.loads(wrap(EXAMPLE, "--key-code", "auto", "--no-config").stdout))
    assert every["cache_pull_PrepareFeatures"]["Parameters"]["key_code"] == "auto", "auto asked: Glue too"
    assert not any("key_code" in s["Parameters"] for n, s in every.items()
                   if n.startswith("cache_pull_") and ":sns:" in original[n[len("cache_pull_"):]]["Resource"])
    bad = wrap(EXAMPLE, "--key-s3", "md5", "--no-config")
    assert bad.exit_code == 2 and "expected one of etag, off" in bad.output
    config = tmp_path / "sfn-cache.yaml"
    config.write_text("key-code: 'off'\nkey-s3: etag\nstates:\n  TrainModel:\n    key-code: auto\n")
    from_file = json.loads(wrap(EXAMPLE, "--config", str(config)).stdout)
    pulls = {n: s["Parameters"] for n, s in states_of(from_file).items() if n.startswith("cache_pull_")}
    assert pulls["cache_pull_TrainModel"]["key_code"] == "auto" and pulls["cache_pull_TrainModel"]["key_s3"] == "etag"
    assert "key_code" not in pulls["cache_pull_PrepareFeatures"]
    config.write_text("key-s3: md5\n")
    refused = wrap(EXAMPLE, "--config", str(config))
    assert refused.exit_code == 2 and "key-s3: must be one of etag, off" in refused.stderr


def test_force_rerun_without_a_state_forces_every_task():
    document = json.loads(wrap(EXAMPLE, "--force-rerun").stdout)
    pulls = [s for n, s in states_of(document).items() if n.startswith("cache_pull_")]
    assert len(pulls) == 5 and all(p["Parameters"]["force"] is True for p in pulls)  # not NotifyFailure's sns:publish


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
    ('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}',
     "state 'A': Next names a state that does not exist"),
    ('{"StartAt": "B", "States": {"A": {"Type": "Pass", "End": true}}}', "StartAt names a state that does not exist"),
    ('{"States": {"A": {"Type": "Pass", "End": true}}}', "has no StartAt"),
    ('{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "A": {"Type": "Pass", "End": true}}}',
     "duplicate key 'A'"),
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
    assert wrap(out, "--check").exit_code == 0, "without -o, --check compares FILE itself (black's way)"
    assert wrap(EXAMPLE, "--check").exit_code == 1, "the example is not wrapped"
    assert wrap("-", "--check", input=EXAMPLE.read_text()).exit_code == 2, "stdin has no file to compare with"


def test_rewrapping_is_a_no_op(tmp_path):
    once, twice = tmp_path / "once.json", tmp_path / "twice.json"
    wrap(EXAMPLE, "-o", once)
    result = wrap(once, "-o", twice, "-v")
    assert once.read_bytes() == twice.read_bytes()
    assert result.stderr.count("already wrapped") == 5  # the sixth task, NotifyFailure, is a side effect


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
    assert proc.returncode == 0 and (
        json.loads(proc.stdout)["States"]["cache_force"]["Next"] == "cache_pull_PrepareFeatures")


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


def test_key_paths_and_the_refs_they_keep_must_be_plain_paths():
    """A key path is read by an expression that cannot fail; only plain paths can be read that way."""
    def refusal(task: dict, path: str = "$.x") -> str:
        definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "End": True, **task}}}
        result = wrap("-", "--key-path", f"T={path}", input=json.dumps(definition))
        assert result.exit_code == 2 and result.stdout == ""
        return result.stderr.strip()

    lambda_task = {"Resource": "arn:aws:lambda:us-east-1:1:function:f"}
    assert refusal(lambda_task, "$.items[*].id") == \
        "error: <stdin>: state 'T': a key path must be a plain path like $.a.b[0], not '$.items[*].id'"
    invoke = {"Resource": "arn:aws:states:::lambda:invoke",
              "Parameters": {"FunctionName.$": "States.Format('fn-{}', $.env)", "Payload.$": "$"}}
    assert refusal(invoke) == ("error: <stdin>: state 'T': with --key-path, \"States.Format('fn-{}', $.env)\" must "
                               "be a plain path: it names the task's target or credentials, which stay in the key")
    role = {**lambda_task, "Credentials": {"RoleArn.$": "States.Format('arn:{}', $.r)"}}
    assert "names the task's target or credentials" in refusal(role)


@pytest.mark.parametrize("partial", [False, True])
def test_a_machine_wrapped_under_another_protocol_is_refused_not_mixed(tmp_path, partial):
    """Review of protocol 4: re-wrapping a protocol-3 output (wholly, or where --include left tasks out)
    gave a machine whose cache states no one Lambda serves. It is refused, naming the state."""
    first = tmp_path / "cached.asl.json"
    include = ["--include", "PrepareFeatures"] if partial else []
    assert wrap(EXAMPLE, "-o", first, "--no-config", *include).exit_code == 0
    older = json.loads(first.read_text())
    older["States"]["cache_pull_PrepareFeatures"]["Parameters"]["protocol"] = 4  # as the previous release wrote it
    first.write_text(json.dumps(older, indent=2))
    out = tmp_path / "again.asl.json"
    result = wrap(first, "-o", out, "--no-config")
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr.strip() == (
        f"error: {first}: state 'cache_pull_PrepareFeatures': written by an sfn-cache of cache protocol 4; "
        "this one writes protocol 5, and no caching Lambda serves both: wrap the unwrapped definition again")


def test_a_rewrap_that_caches_more_tasks_never_reuses_a_variable(tmp_path):
    """Review of protocol 4: a re-wrap did not know the variables of the tasks already wrapped, so a
    digest shared with one of them (a rare clash, simulated here) gave two tasks one variable. A re-wrap
    now wraps the original again (docs/upgrading.md): the output is what wrapping the source gives,
    whatever variable the wrapped file held."""
    from sfn_cache.rewrite.naming import NameAllocator

    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:a", "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:b", "End": True}}}
    source, first, again = tmp_path / "m.asl.json", tmp_path / "first.asl.json", tmp_path / "again.asl.json"
    direct = tmp_path / "direct.asl.json"
    source.write_text(json.dumps(definition, indent=2))
    assert wrap(source, "-o", first, "--no-config", "--include", "A").exit_code == 0
    var_a, var_b = NameAllocator(set()).variable("A"), NameAllocator(set()).variable("B")
    first.write_text(first.read_text().replace(var_a, var_b))  # A now holds the variable B would get
    assert wrap(first, "-o", again, "--no-config").exit_code == 0
    assert wrap(source, "-o", direct, "--no-config").exit_code == 0
    assert again.read_bytes() == direct.read_bytes()
    states = json.loads(again.read_text())["States"]
    pulled_into = {name: next(iter(state["Assign"])).removesuffix(".$") for name, state in states.items()
                   if name.startswith("cache_pull_")}
    assert pulled_into == {"cache_pull_A": var_a, "cache_pull_B": var_b}


def test_a_user_pass_that_assigns_the_force_variable_is_refused(tmp_path):
    """Review of protocol 4: a Pass assigning only sfncache_force was taken for the force reader."""
    source = tmp_path / "m.asl.json"
    source.write_text(json.dumps({"StartAt": "Setup", "States": {
        "Setup": {"Type": "Pass", "Assign": {"sfncache_force": True}, "Next": "Work"},
        "Work": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:w", "End": True}}}))
    result = wrap(source, "-o", tmp_path / "out.json", "--no-config")
    assert result.exit_code == 2 and "state 'Setup'" in result.stderr and "reserves" in result.stderr


def test_data_named_like_generated_states_keeps_its_layout(tmp_path):
    """Only the States of a scope hold states: a Pass's Result with a "States" key is data, indented."""
    source, out = tmp_path / "m.asl.json", tmp_path / "out.asl.json"
    source.write_text(json.dumps({"StartAt": "W", "States": {
        "W": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:w", "Next": "P"},
        "P": {"Type": "Pass", "Result": {"States": {"cache_pull_W": {"a": [1, 2]}}}, "End": True}}}, indent=2))
    assert wrap(source, "-o", out, "--no-config").exit_code == 0
    assert '"cache_pull_W": {\n' in out.read_text() and '"cache_pull_W": {"a"' not in out.read_text()
