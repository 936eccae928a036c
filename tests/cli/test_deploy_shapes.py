"""Issue 26, point 2, through the console: a Lambda target is code-keyed however its ARN is written.

The shapes are the ones real deployments write (tests/support/deploy_shapes): CDK's synthesized
``Fn::Join`` DefinitionString, a SAM ``DefinitionUri`` with ``DefinitionSubstitutions``, a Terraform
``templatefile``; and in plain definitions ``!GetAtt``, ``!Sub`` with ``${AWS::Partition}``, a dynamic
``FunctionName.$`` and a JSONata ``FunctionName`` expression. ``explain`` names the code part and the
pull asks the caching Lambda to resolve it (``key_code: auto``) from what Step Functions evaluated.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from sfn_cache.asl.loader import load_text
from tests.support.cli import sfn_cache, states_of, wrap
from tests.support.deploy_shapes import CDK, HERE, SAM, TERRAFORM

CODE = "code: Lambda CodeSha256 and Version"
CACHE_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:sfn-cache"  # cdk.out defines none


def explained(path, tmp_path, *flags) -> dict[str, dict]:
    result = sfn_cache("explain", path, "--json", "--no-config", *flags, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return {row["state"]: row for row in json.loads(result.stdout)}


def code_parts(row: dict) -> list[str]:
    return [part for part in row["key_parts"] if part.startswith("code")]


def test_cdk_synth_output(tmp_path):
    rows = explained(CDK, tmp_path)
    assert code_parts(rows["Score"]) == [CODE + " (of the function named at deploy time, resolved at run time)"]
    assert rows["Alert"]["reason"] == "side effect: sns:publish; --include Alert caches it anyway"
    out = tmp_path / "cdk.out.json"
    assert wrap(CDK, "--no-config", "--lambda-arn", CACHE_FUNCTION, "-o", out).exit_code == 0
    machine = json.loads(out.read_text())["Resources"]["Pipeline9C1E4B2A"]
    pieces = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "<" + json.dumps(p) + ">" for p in pieces)
    pull = re.sub(r"\s", "", text[text.index('"cache_pull_Score"'):text.index('"use_cache_Score"')])  # any layout
    assert '"key_code":"auto"' in pull
    assert '"resource":"arn:<{"Ref":"AWS::Partition"}>:states:::lambda:invoke"' in pull  # CloudFormation fills it
    assert '"FunctionName":"<{"Fn::GetAtt":["ScoreFn5E1A2B7C","Arn"]}>"' in pull
    off = explained(CDK, tmp_path, "--key-code", "Score=off")
    assert code_parts(off["Score"]) == ["code: not keyed"]


def test_sam_definition_substitutions(tmp_path):
    shutil.copytree(HERE, tmp_path / "project", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    project = tmp_path / "project"
    rows = explained(project / SAM.name, project)
    assert code_parts(rows["Score"]) == [CODE + " (of the function named at deploy time, resolved at run time)"]
    assert rows["Record"]["action"] == "excluded"
    assert wrap(project / SAM.name, "--no-config", "-o", project / SAM.name).exit_code == 0
    uri = load_text((project / SAM.name).read_text(), SAM.name)["Resources"]["Pipeline"]["Properties"]["DefinitionUri"]
    cached = states_of(json.loads((project / uri).read_text()))
    assert cached["cache_pull_Score"]["Parameters"]["key_code"] == "auto"
    assert cached["cache_pull_Score"]["Parameters"]["resource"] == "${ScoreFunctionArn}"  # filled in at deploy
    assert "cache_pull_Record" not in cached


def test_terraform_templatefile(tmp_path):
    rows = explained(TERRAFORM, tmp_path)
    assert code_parts(rows["Score"]) == code_parts(rows["Rank"]) == [
        CODE + " (of the function named at deploy time, resolved at run time)"]
    assert rows["Notify"]["reason"] == "side effect: sqs:sendMessage; --include Notify caches it anyway"
    result = wrap(TERRAFORM, "--no-config", "--lambda-arn", "${cache_fn_arn}")
    assert result.exit_code == 0, result.stderr
    states = states_of(json.loads(result.stdout))
    assert states["cache_pull_Score"]["Parameters"]["input"]["FunctionName"] == "${score_fn_arn}"
    assert states["cache_pull_Score"]["Parameters"]["key_code"] == "auto"
    assert states["cache_pull_Rank"]["Parameters"]["key_code"] == "auto"


@pytest.mark.parametrize("resource, parameters, language", [
    ({"Fn::GetAtt": ["Fn", "Arn"]}, None, "JSONPath"),
    ({"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Fn}"}, None, "JSONPath"),
    ({"Fn::Sub": "arn:${AWS::Partition}:states:::lambda:invoke"}, {"FunctionName": {"Ref": "Fn"}, "Payload.$": "$"},
     "JSONPath"),
    ({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":states:::lambda:invoke"]]},
     {"FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]}, "Payload.$": "$"}, "JSONPath"),
    ("arn:aws:states:::lambda:invoke", {"FunctionName.$": "$.fn", "Payload.$": "$"}, "JSONPath"),
    ("arn:aws:states:::lambda:invoke", {"FunctionName": "{% $states.input.fn %}", "Payload": "{% $states.input %}"},
     "JSONata"),
])
def test_every_way_a_sam_definition_names_a_function(tmp_path, resource, parameters, language):
    task = {"Type": "Task", "Resource": resource, "End": True}
    if parameters is not None:
        task["Parameters" if language == "JSONPath" else "Arguments"] = parameters
    template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "a.b", "Runtime": "python3.12"}},
        "SfnCacheFunction": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "sfn_cache.runtime."
                             "handler.lambda_handler", "Runtime": "python3.12"}},
        "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": {
            "QueryLanguage": language, "StartAt": "T", "States": {"T": task}}}}}}
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    [code] = code_parts(explained(path, tmp_path)["T"])
    assert code.startswith(CODE)
    out = tmp_path / "out.json"
    assert wrap(path, "--no-config", "-o", out).exit_code == 0
    definition = json.loads(out.read_text())["Resources"]["Machine"]["Properties"]["Definition"]
    pull = definition["States"]["cache_pull_T"]
    assert pull.get("Parameters", pull.get("Arguments"))["key_code"] == "auto"
