"""The command line's rough edges from issue 28, each through the console script: exit codes in every
``--help``, a suggestion for a mistyped command, --lambda-arn checked, explain's configuration line and
width, the cache commands' wording, and one wording of a task's key in wrap -v and explain."""

from __future__ import annotations

import json
import re

import pytest

from sfn_cache.cli import COMMANDS
from sfn_cache.runtime.handler import lambda_handler
from tests.support.cli import one_line_refusal, sfn_cache, sfn_cache_in, states_of
from tests.support.paths import EXAMPLE

JSONATA_TASK = {"QueryLanguage": "JSONata", "StartAt": "Fit", "States": {
    "Fit": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "fit", "Payload": "{% $states.input %}"}, "End": True}}}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_lists_its_exit_codes(command):
    result = sfn_cache(command, "--help")
    assert result.returncode == 0, result.stderr
    codes = result.stdout.split("Exit codes:\n", 1)[1].splitlines()
    assert codes[0].split() == ["0", "success"] and codes[-1].split()[0] == "2"
    assert any(line.split()[0] == "1" for line in codes) == (command in ("wrap", "verify", "doctor"))


def test_a_mistyped_command_gets_the_nearest_one(tmp_path):
    assert one_line_refusal(sfn_cache("wrapp", "x.json", cwd=tmp_path)) == \
        "error: sfn-cache: No such command 'wrapp'. Did you mean wrap? (see sfn-cache --help)"
    assert "Did you mean" not in one_line_refusal(sfn_cache("zzz", cwd=tmp_path))


@pytest.mark.parametrize("arn", ["arn:aws:lambda:eu-west-1:123456789012:function:cache",
                                 "arn:aws:lambda:eu-west-1:123456789012:function:cache:live",
                                 "${CacheFunctionArn}",
                                 "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Stage}-c"])
def test_lambda_arn_takes_a_function_arn_or_a_placeholder(tmp_path, arn):
    result = sfn_cache("wrap", EXAMPLE, "--no-config", "--lambda-arn", arn, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    resources = {state.get("Resource") for state in states_of(json.loads(result.stdout)).values()}
    assert arn in resources, "the cache states invoke the function named"


@pytest.mark.parametrize("arn", ["not-an-arn", "arn:aws:states:::lambda:invoke", "cache",
                                 "arn:aws:lambda:eu-west-1:123456789012:layer:x"])
def test_lambda_arn_refuses_anything_else_in_one_line(tmp_path, arn):
    line = one_line_refusal(sfn_cache("wrap", EXAMPLE, "--no-config", "--lambda-arn", arn, cwd=tmp_path))
    assert "--lambda-arn" in line and "expected a Lambda function ARN" in line
    (tmp_path / "sfn-cache.yaml").write_text(f"lambda-arn: '{arn}'\n")
    from_config = one_line_refusal(sfn_cache("wrap", EXAMPLE, cwd=tmp_path))
    assert from_config.startswith("error: sfn-cache.yaml: lambda-arn: expected a Lambda function ARN")


def test_explain_says_which_configuration_only_when_one_applies(tmp_path):
    bare = sfn_cache("explain", EXAMPLE, cwd=tmp_path)
    assert bare.returncode == 0 and "configuration" not in bare.stderr
    (tmp_path / "sfn-cache.yaml").write_text("ttl: 1d\n")
    configured = sfn_cache("explain", EXAMPLE, cwd=tmp_path)
    assert configured.stderr.splitlines()[0] == "configuration: sfn-cache.yaml"


@pytest.mark.parametrize("columns", [80, 100])
def test_explain_fits_the_terminal_width(tmp_path, columns):
    """Before: 166 to 200 columns at COLUMNS=80. Cells wrap onto more lines; no text is lost."""
    args = ("explain", EXAMPLE, "--no-config", "--exclude", "Notify*", "--ttl", "TrainModel=7d")
    fitted = sfn_cache(*args, cwd=tmp_path, env={"COLUMNS": str(columns)}).stdout
    assert max(map(len, fitted.splitlines())) <= columns
    whole = sfn_cache(*args, cwd=tmp_path, env={"COLUMNS": "1000"}).stdout
    assert max(map(len, whole.splitlines())) > 160
    for state in ("PrepareFeatures", "NotifyFailure", "TrainModel", "EvaluateModel", "RegisterModel", "WriteReport"):
        assert [line.split()[0] for line in whole.splitlines() if line.startswith(state + " ")] == [state]
        assert [line.split()[0] for line in fitted.splitlines() if line.startswith(state + " ")] == [state]
    assert " 7d" in fitted and "excluded" in fitted


def test_wrap_verbose_and_explain_word_a_jsonata_tasks_key_alike(tmp_path):
    path = tmp_path / "m.asl.json"
    path.write_text(json.dumps(JSONATA_TASK))
    wrapped = sfn_cache("wrap", path, "-v", "--no-config", cwd=tmp_path)
    assert "key: Arguments;" in wrapped.stderr or "key: Arguments)" in wrapped.stderr, wrapped.stderr
    explained = json.loads(sfn_cache("explain", path, "--json", "--no-config", cwd=tmp_path).stdout)[0]
    assert explained["key_fields"] == "Arguments" and "input: Arguments" in explained["key_parts"]


def test_runtime_force_help_and_output_agree_that_the_input_is_never_sent(tmp_path):
    """The pull carries only sfn_cache.force of the execution input (docs/protocol.md), never the input."""
    assert "never receives the execution input" in " ".join(sfn_cache("wrap", "--help").stdout.split())
    reads = re.findall(r"Execution\.Input[\w.]*", sfn_cache("wrap", EXAMPLE, "--no-config", cwd=tmp_path).stdout)
    assert reads == ["Execution.Input.sfn_cache.force"]
    off = sfn_cache("wrap", EXAMPLE, "--no-config", "--no-runtime-force", cwd=tmp_path).stdout
    assert "Execution.Input" not in off


def test_cache_commands_word_the_bucket_the_count_and_the_formats(cache_env):
    no_bucket = {k: v for k, v in cache_env.items() if k != "SFN_CACHE_BUCKET"}
    line = one_line_refusal(sfn_cache_in(no_bucket, "ls", "--no-config"))
    assert "--bucket" in line and "$SFN_CACHE_BUCKET" in line and "on the Lambda" not in line

    none = sfn_cache_in(cache_env, "rm", "--bundle", "model", "--no-config")
    assert none.returncode == 0 and none.stderr == "0 results would be removed; add --yes to delete\n"
    pull = {"sfn_cache": "pull", "protocol": 5, "state": "Train", "bundle": "model", "ttl": None,
            "resource": "arn:aws:lambda:us-east-1:1:function:f", "cache_version": "", "force": False,
            "input": {"x": 1}, "execution": "arn:exec:7"}
    answer = lambda_handler(pull)
    lambda_handler({**pull, "sfn_cache": "push", "key": answer["key"], "base": answer["base"], "result": 1})
    one = sfn_cache_in(cache_env, "rm", "--bundle", "model", "--no-config")
    assert one.stderr == "1 result would be removed; add --yes to delete\n"

    shown = sfn_cache_in(cache_env, "show", answer["key"], "--no-config")
    assert shown.returncode == 0, shown.stderr
    fmt = next(line for line in shown.stdout.splitlines() if line.startswith("format:"))
    stored = json.loads(sfn_cache_in(cache_env, "show", answer["key"], "--json", "--no-config").stdout)
    assert fmt.startswith(f"format:     index entry v{stored['entry_version']}, key format "
                          f"{stored['material']['protocol']} ")
    assert "machine's protocol is not stored" in fmt and stored["key_format"] == stored["material"]["protocol"]
