"""Issue 27 point 9, read from the template: a state machine the template declares Express gets the Express
cache timeouts without ``--express``, through the console script.

An Express execution ends after 5 minutes with States.Timeout (AWS Step Functions developer guide,
"Choosing workflow type" and "Step Functions service quotas": maximum execution time of an Express workflow,
5 minutes). A template says so in CloudFormation's ``StateMachineType: EXPRESS``
(AWS::StepFunctions::StateMachine, "StateMachineType: STANDARD | EXPRESS", default STANDARD), SAM's
``Type: EXPRESS`` (AWS::Serverless::StateMachine) or the serverless-step-functions plugin's ``type: EXPRESS``
(its schema: ``type: Joi.string().valid('STANDARD', 'EXPRESS')``, copied to StateMachineType;
lib/deploy/stepFunctions/compileStateMachines.js in serverless-operations/serverless-step-functions)."""

from __future__ import annotations

import json

import pytest
import yaml

from sfn_cache.asl.loader import load_text
from sfn_cache.runtime.protocol import CACHE_TIMEOUT_SECONDS, EXPRESS_CACHE_TIMEOUT_SECONDS, EXPRESS_EXECUTION_SECONDS
from tests.support.cli import SAM_TEMPLATE, one_line_refusal, sfn_cache

CACHE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:sfn-cache"
TASKS = 3


def chain(prefix: str) -> dict:
    """TASKS Lambda tasks in a row: 2 * TASKS cache states, each hung up to its TimeoutSeconds at worst."""
    return {"StartAt": f"{prefix}0", "States": {
        f"{prefix}{i}": {"Type": "Task", "Resource": f"arn:aws:lambda:us-east-1:123456789012:function:{prefix}{i}",
                         **({"Next": f"{prefix}{i + 1}"} if i + 1 < TASKS else {"End": True})}
        for i in range(TASKS)}}


def cache_timeouts(definition: dict) -> list[int]:
    return [state["TimeoutSeconds"] for name, state in definition["States"].items()
            if name.startswith(("cache_pull_", "cache_push_"))]


def assert_express(definition: dict) -> None:
    timeouts = cache_timeouts(definition)
    assert timeouts == [EXPRESS_CACHE_TIMEOUT_SECONDS] * 2 * TASKS
    assert sum(timeouts) <= EXPRESS_EXECUTION_SECONDS / 2  # hung cache calls leave the tasks their time


def assert_standard(definition: dict) -> None:
    assert cache_timeouts(definition) == [CACHE_TIMEOUT_SECONDS] * 2 * TASKS


def cloudformation(tail: str = "") -> str:
    """Four machines: Express by Definition and by DefinitionString, Standard written and by default."""
    resources = {
        "FastObject": {"Type": "AWS::StepFunctions::StateMachine",
                       "Properties": {"StateMachineType": "EXPRESS", "Definition": chain("A")}},
        "FastString": {"Type": "AWS::StepFunctions::StateMachine",
                       "Properties": {"StateMachineType": "EXPRESS", "DefinitionString": json.dumps(chain("B"))}},
        "Slow": {"Type": "AWS::StepFunctions::StateMachine",
                 "Properties": {"StateMachineType": "STANDARD", "Definition": chain("C")}},
        "Default": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"Definition": chain("D")}},
    }
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}, indent=2) + tail


def test_cloudformation_state_machine_type_express(tmp_path):
    (tmp_path / "template.json").write_text(cloudformation())
    result = sfn_cache("wrap", "template.json", "--no-config", "--lambda-arn", CACHE_ARN, "-o", "out.json",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    resources = json.loads((tmp_path / "out.json").read_text())["Resources"]
    assert_express(resources["FastObject"]["Properties"]["Definition"])
    assert_express(json.loads(resources["FastString"]["Properties"]["DefinitionString"]))
    assert_standard(resources["Slow"]["Properties"]["Definition"])
    assert_standard(resources["Default"]["Properties"]["Definition"])


def test_sam_type_express_with_a_definition_uri_file_and_a_standard_machine_beside_it(tmp_path):
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / "pipeline.asl.json").write_text(json.dumps(chain("P"), indent=2))
    standard = ("  Nightly:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      Type: STANDARD\n"
                "      Definition:\n" + "".join(f"        {line}\n" for line in yaml.safe_dump(
                    chain("N"), sort_keys=False).splitlines()))
    template = SAM_TEMPLATE.replace("      DefinitionUri: statemachine/pipeline.asl.json\n",
                                    "      Type: EXPRESS\n      DefinitionUri: statemachine/pipeline.asl.json\n")
    (tmp_path / "template.yaml").write_text(template + standard)
    result = sfn_cache("wrap", "template.yaml", "--no-config", "-o", "template.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    wrapped = load_text((tmp_path / "template.yaml").read_text(), "template.yaml")["Resources"]
    assert wrapped["Pipeline"]["Properties"]["DefinitionUri"] == "statemachine/pipeline.cached.asl.json"
    assert_express(json.loads((tmp_path / "statemachine" / "pipeline.cached.asl.json").read_text()))
    assert_standard(wrapped["Nightly"]["Properties"]["Definition"])


@pytest.mark.parametrize("written", ["EXPRESS", "express"])
def test_serverless_type_express(tmp_path, written):
    machines = {"fast": {"type": written, "definition": chain("F")}, "slow": {"definition": chain("S")}}
    text = yaml.safe_dump({"service": "etl", "provider": {"name": "aws"},
                           "stepFunctions": {"stateMachines": machines},
                           "plugins": ["serverless-step-functions"]}, sort_keys=False)
    (tmp_path / "serverless.yml").write_text(text)
    result = sfn_cache("wrap", "serverless.yml", "--no-config", "--lambda-arn", CACHE_ARN, "-o", "out.yml",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    wrapped = yaml.safe_load((tmp_path / "out.yml").read_text())["stepFunctions"]["stateMachines"]
    assert_express(wrapped["fast"]["definition"])
    assert_standard(wrapped["slow"]["definition"])


def test_an_express_machine_with_concurrent_wait_is_refused_naming_it(tmp_path):
    (tmp_path / "template.json").write_text(cloudformation())
    result = sfn_cache("wrap", "template.json", "--no-config", "--lambda-arn", CACHE_ARN, "--concurrent", "wait",
                       "-o", "out.json", cwd=tmp_path)
    line = one_line_refusal(result)
    assert line.startswith("error: template.json: resource 'FastObject' is an Express workflow "
                           "(StateMachineType: EXPRESS), which does not go with --concurrent wait: "), line
    assert not (tmp_path / "out.json").exists()
    # the Standard machine alone still takes --concurrent wait
    alone = sfn_cache("wrap", "template.json", "--no-config", "--lambda-arn", CACHE_ARN, "--concurrent", "wait",
                      "--resource", "Slow", cwd=tmp_path)
    assert alone.returncode == 0, alone.stderr
    assert_standard(json.loads(alone.stdout)["Resources"]["Slow"]["Properties"]["Definition"])


def test_a_computed_type_keeps_the_standard_timeouts_with_a_note(tmp_path):
    text = cloudformation().replace('"StateMachineType": "STANDARD"', '"StateMachineType": {"Ref": "Kind"}')
    (tmp_path / "template.json").write_text(text)
    result = sfn_cache("wrap", "template.json", "--no-config", "--lambda-arn", CACHE_ARN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_standard(json.loads(result.stdout)["Resources"]["Slow"]["Properties"]["Definition"])
    assert ("note: template.json: resource 'Slow': StateMachineType is {\"Ref\": \"Kind\"}, not a value sfn-cache "
            "can read: if the machine deploys as EXPRESS, pass --express") in result.stderr


def test_explain_names_the_express_machines(tmp_path):
    (tmp_path / "template.json").write_text(cloudformation())
    result = sfn_cache("explain", "template.json", "--no-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "Express" in line]
    assert notes == [f"note: template.json: state machine '{name}' is an Express workflow (StateMachineType: "
                     f"EXPRESS): wrap gives its cache states a {EXPRESS_CACHE_TIMEOUT_SECONDS} s timeout"
                     for name in ("FastObject", "FastString")]


def test_unwrap_gives_back_the_express_machines(tmp_path):
    original = cloudformation()
    (tmp_path / "template.json").write_text(original)
    assert sfn_cache("wrap", "template.json", "--no-config", "--lambda-arn", CACHE_ARN, "-o", "template.json",
                     cwd=tmp_path).returncode == 0
    result = sfn_cache("unwrap", "template.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    unwrapped, resources = json.loads(result.stdout), json.loads(original)["Resources"]
    string = unwrapped["Resources"]["FastString"]["Properties"]  # written again, as wrap writes JSON
    assert json.loads(string["DefinitionString"]) == json.loads(resources["FastString"]["Properties"].pop(
        "DefinitionString"))
    del string["DefinitionString"]
    assert unwrapped["Resources"] == resources
