"""``sfn-cache wrap`` on CloudFormation/SAM templates: every definition form, short-form YAML kept,
DefinitionUri files, and nothing else in the template touched (every corpus template:
tests/corpus/test_templates.py)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from sfn_cache.asl.loader import load_text
from sfn_cache.asl.model import parse, walk
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.recognise import cache_operation
from sfn_cache.rewrite.wrap import wrap_definition
from sfn_cache.runtime.protocol import HANDLER
from tests.support.cli import CACHING_FUNCTION_YAML
from tests.support.cli import wrap as wrap_cli

wrap = functools.partial(wrap_cli, "--no-config")  # a template wraps the same wherever the test runs


def load(path: Path) -> dict:
    return load_text(path.read_text(encoding="utf-8"), str(path))


def pulls(definition: dict) -> set[str]:
    return {ref.name for ref in walk(parse(definition)) if cache_operation(ref.state) == "pull"}


def sub(text: str, values: dict) -> str:
    """What CloudFormation's Fn::Sub makes of ``text`` (test's own implementation)."""
    def one(match):
        name = match.group(1)
        return "${" + name[1:] + "}" if name.startswith("!") else values[name]
    return re.sub(r"\$\{([^}]*)\}", one, text)


CACHING_FUNCTION = {"Type": "AWS::Lambda::Function", "Properties": {"Handler": HANDLER}}
ADD_FUNCTION = ("--add-function", "build/sfn-cache-function.zip", "--bucket", "s3://cache-bucket/sfn")


# --- the definition forms -------------------------------------------------------------------------

SHORT_FORM = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
# The pipeline of the ML team
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  TrainFunction:
    Type: AWS::Serverless::Function   # trains the model
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          TABLE: !Ref Table
          URL: !Sub 'https://${Api}.execute-api.${AWS::Region}.amazonaws.com/${Stage}'
  Pipeline:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: !Join ['-', [pipeline, !Ref Stage]]
      Policies:
        - LambdaInvokePolicy:
            FunctionName: !Ref TrainFunction
      Definition:
        StartAt: Train   # first step
        States:
          Train:
            Type: Task
            Resource: !GetAtt TrainFunction.Arn
            Parameters:
              dataset.$: $.dataset
              stage: !Ref Stage
            End: true
Outputs:
  Arn:
    Value: !Ref Pipeline   # the state machine
"""


def test_short_form_yaml_round_trip_keeps_comments_and_intrinsics(tmp_path):
    source = tmp_path / "template.yaml"
    source.write_text(SHORT_FORM)
    out = tmp_path / "out.yaml"
    result = wrap(source, "-o", out, *ADD_FUNCTION)
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    original_lines = SHORT_FORM.splitlines()
    kept = [line for line in original_lines if line.strip() and "Definition:" not in line
            and not line.startswith(" " * 8)]
    for line in kept:  # everything outside the definition, comments and short forms included
        assert line in text.splitlines(), line
    assert "StartAt: Train   # first step" not in text or "cache_pull" in text
    assert "Resource: !GetAtt TrainFunction.Arn" in text and "stage: !Ref Stage" in text
    assert "SfnCacheFunctionArn: !GetAtt SfnCacheFunction.Arn" in text
    after = load(out)
    before = load(source)
    definition = after["Resources"]["Pipeline"]["Properties"]["Definition"]
    expected = wrap_definition(before["Resources"]["Pipeline"]["Properties"]["Definition"],
                               WrapOptions(bucket="s3://cache-bucket/sfn")).definition
    assert definition == expected
    added = after["Resources"]["SfnCacheFunction"]["Properties"]
    assert added["Handler"] == HANDLER and added["CodeUri"] == "build/sfn-cache-function.zip"
    assert added["Environment"]["Variables"]["SFN_CACHE_BUCKET"] == "s3://cache-bucket/sfn"
    assert after["Resources"]["Pipeline"]["Properties"]["Policies"][-1] == {
        "LambdaInvokePolicy": {"FunctionName": {"Ref": "SfnCacheFunction"}}}


FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"  # what F.Arn resolves to


def test_definition_string_plain_sub_and_join_keep_their_intrinsics(tmp_path):
    """F.Arn resolves to a Lambda function ARN: wrapping then resolving equals resolving then wrapping,
    code key included (a Resource filled in at deploy time is keyed by the function's code)."""
    machine = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${Fn}", "TimeoutSeconds": 0,
                                                  "End": True}}}
    sub_text = json.dumps(machine, indent=2).replace('"TimeoutSeconds": 0', '"TimeoutSeconds": ${Timeout}')
    join_parts = ['{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "', {"Fn::GetAtt": ["F", "Arn"]},
                  '", "TimeoutSeconds": ', {"Ref": "Timeout"}, ', "End": true}}}']
    template = {"Resources": {
        "Plain": {"Type": "AWS::StepFunctions::StateMachine",
                  "Properties": {"DefinitionString": json.dumps(machine).replace("${Fn}", FUNCTION_ARN),
                                 "RoleArn": "arn:role"}},
        "Sub": {"Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionString": {"Fn::Sub": sub_text}, "RoleArn": {"Fn::GetAtt": ["R", "Arn"]}}},
        "Join": {"Type": "AWS::StepFunctions::StateMachine",
                 "Properties": {"DefinitionString": {"Fn::Join": ["", join_parts]}, "RoleArn": "arn:role"}},
        "F": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "x.y"}},
        "SfnCacheFunction": CACHING_FUNCTION,
    }}
    source = tmp_path / "template.json"
    source.write_text(json.dumps(template, indent=2))
    out = tmp_path / "out.json"
    result = wrap(source, "-o", out)
    assert result.exit_code == 0, result.stderr
    after = json.loads(out.read_text())["Resources"]
    resolved = dict(machine, States={"T": dict(machine["States"]["T"], Resource=FUNCTION_ARN, TimeoutSeconds=30)})
    expected = wrap_definition(resolved, WrapOptions()).definition

    plain = json.loads(after["Plain"]["Properties"]["DefinitionString"])
    assert plain == wrap_definition(json.loads(template["Resources"]["Plain"]["Properties"]["DefinitionString"]),
                                    WrapOptions()).definition
    # CloudFormation resolves the Sub; ${!SfnCacheFunctionArn} becomes the placeholder that
    # DefinitionSubstitutions then fills
    sub_result = after["Sub"]["Properties"]["DefinitionString"]["Fn::Sub"]
    assert json.loads(sub(sub_result, {"Fn": FUNCTION_ARN, "Timeout": "30"})) == expected
    assert after["Sub"]["Properties"]["RoleArn"] == {"Fn::GetAtt": ["R", "Arn"]}
    pieces = after["Join"]["Properties"]["DefinitionString"]["Fn::Join"][1]
    assert {"Fn::GetAtt": ["F", "Arn"]} in pieces and {"Ref": "Timeout"} in pieces
    joined = "".join(p if isinstance(p, str) else (FUNCTION_ARN if "Fn::GetAtt" in p else "30") for p in pieces)
    assert json.loads(joined) == expected
    for name in ("Plain", "Sub", "Join"):
        assert after[name]["Properties"]["DefinitionSubstitutions"] == {
            "SfnCacheFunctionArn": {"Fn::GetAtt": ["SfnCacheFunction", "Arn"]}}


def test_other_definition_string_intrinsics_are_refused_by_resource(tmp_path):
    template = {"Resources": {"M": {"Type": "AWS::StepFunctions::StateMachine",
                                    "Properties": {"DefinitionString": {"Fn::If": ["C", "a", "b"]}}}}}
    source = tmp_path / "t.json"
    source.write_text(json.dumps(template))
    result = wrap(source, "-o", tmp_path / "out.json")
    assert result.exit_code == 2
    assert "resource 'M'" in result.stderr and "Fn::If" in result.stderr
    assert not (tmp_path / "out.json").exists()


def uri_template(directory: Path, caching_function: bool = True) -> Path:
    (directory / "statemachine").mkdir(parents=True)
    definition = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${AFn}", "End": True}}}
    (directory / "statemachine" / "sm.asl.json").write_text(json.dumps(definition, indent=2) + "\n")
    extra = ""
    if caching_function:
        extra = ("  Cache:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                 "      Handler: sfn_cache.runtime.handler.lambda_handler\n")
    (directory / "template.yaml").write_text(
        "Resources:\n" + extra +
        "  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
        "      DefinitionUri: statemachine/sm.asl.json\n"
        "      DefinitionSubstitutions:\n        AFn: !GetAtt A.Arn\n")
    return directory / "template.yaml"


def test_definition_uri_copy_beside_the_template(tmp_path):
    source = uri_template(tmp_path)
    original = (tmp_path / "statemachine" / "sm.asl.json").read_text()
    result = wrap(source, "-o", source)
    assert result.exit_code == 0, result.stderr
    after = load(source)["Resources"]["M"]["Properties"]
    assert after["DefinitionUri"] == "statemachine/sm.cached.asl.json"
    assert after["DefinitionSubstitutions"]["AFn"] == {"Fn::GetAtt": ["A", "Arn"]}
    assert (tmp_path / "statemachine" / "sm.asl.json").read_text() == original
    wrapped = load(tmp_path / "statemachine" / "sm.cached.asl.json")
    assert wrapped == wrap_definition(json.loads(original), WrapOptions()).definition
    assert wrap(source, "--check", "-o", source).exit_code == 0  # and rewrapping is stable
    assert not (tmp_path / "statemachine" / "sm.cached.cached.asl.json").exists()


def test_definition_uri_into_a_build_directory_and_in_place(tmp_path):
    source = uri_template(tmp_path / "src", caching_function=True)
    result = wrap(source, "-o", tmp_path / "build" / "template.yaml")
    assert result.exit_code == 0, result.stderr
    built = load(tmp_path / "build" / "template.yaml")["Resources"]["M"]["Properties"]
    assert built["DefinitionUri"] == "statemachine/sm.asl.json"
    assert pulls(load(tmp_path / "build" / "statemachine" / "sm.asl.json"))
    assert built["DefinitionSubstitutions"]["SfnCacheFunctionArn"] == {"Fn::GetAtt": ["Cache", "Arn"]}
    assert "has no caching function" not in result.stderr and "allow the state machine to invoke 'Cache'" in \
        result.stderr
    result = wrap(source, "-o", source, "--definition-uri", "in-place")
    assert result.exit_code == 0, result.stderr
    assert pulls(load(tmp_path / "src" / "statemachine" / "sm.asl.json"))
    assert load(source)["Resources"]["M"]["Properties"]["DefinitionUri"] == "statemachine/sm.asl.json"


def test_resource_picks_one_state_machine(tmp_path):
    machine = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:a", "End": True}}}
    template = {"Resources": {name: {"Type": "AWS::StepFunctions::StateMachine",
                                     "Properties": {"Definition": machine}} for name in ("One", "Two")}}
    template["Resources"]["SfnCacheFunction"] = CACHING_FUNCTION
    source = tmp_path / "t.json"
    source.write_text(json.dumps(template))
    assert wrap(source, "-o", tmp_path / "o.json", "--resource", "Two").exit_code == 0
    after = json.loads((tmp_path / "o.json").read_text())["Resources"]
    assert after["One"] == template["Resources"]["One"] and pulls(after["Two"]["Properties"]["Definition"])
    missing = wrap(source, "-o", tmp_path / "p.json", "--resource", "Three")
    assert missing.exit_code == 2 and "no resource 'Three'" in missing.stderr


def test_check_and_diff_on_templates_and_definitions(tmp_path):
    source = tmp_path / "template.yaml"
    source.write_text(SHORT_FORM)
    out = tmp_path / "out.yaml"
    assert wrap(source, *ADD_FUNCTION, "--check", "-o", out).exit_code == 1  # missing
    diff = wrap(source, *ADD_FUNCTION, "--diff")
    assert diff.exit_code == 1 and "+          cache_pull_Train:" in diff.stdout
    assert diff.stdout.startswith(f"--- {source}\n+++ {source}\n")
    assert not out.exists()
    assert wrap(source, *ADD_FUNCTION, "-o", out).exit_code == 0
    assert wrap(source, *ADD_FUNCTION, "--check", "-o", out).exit_code == 0
    assert wrap(source, *ADD_FUNCTION, "--diff", "-o", out).exit_code == 0
    out.write_text(out.read_text().replace("Stage", "Stag"))
    assert wrap(source, *ADD_FUNCTION, "--check", "-o", out).exit_code == 1
    stale = wrap(source, *ADD_FUNCTION, "--diff", "-o", out)
    assert stale.exit_code == 1 and "-      Name: !Join ['-', [pipeline, !Ref Stag]]" in stale.stdout
    definition = tmp_path / "d.json"
    definition.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:a",
                                                                     "End": True}}}))
    changed = wrap(definition, "--diff")
    assert changed.exit_code == 1 and '+    "cache_pull_A": {' in changed.stdout


ANCHORED_BOOLEAN = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Pipeline:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Work
        States:
          Work:
            Type: Task
            Resource: arn:aws:lambda:us-east-1:123456789012:function:work
            Parameters: {dry: &dry true, again: *dry, x.$: $.x}
            End: true
""" + CACHING_FUNCTION_YAML


def test_an_anchored_boolean_in_a_template_definition_stays_a_boolean(tmp_path):
    """ruamel reads an anchored ``true`` as ScalarBoolean, an int subclass: the template reader took it
    for the integer 1, so the pull keyed (and T was sent) ``"dry": 1`` where Step Functions sends true."""
    (tmp_path / "template.yaml").write_text(ANCHORED_BOOLEAN)
    result = wrap_cli(tmp_path / "template.yaml", "--no-config", "-o", tmp_path / "out.yaml")
    assert result.exit_code == 0, result.stderr
    states = load_text((tmp_path / "out.yaml").read_text(), "out.yaml")["Resources"]["Pipeline"]["Properties"][
        "Definition"]["States"]
    assert states["Work"]["Parameters"]["dry"] is True and states["Work"]["Parameters"]["again"] is True
    assert states["cache_pull_Work"]["Parameters"]["input"]["dry"] is True
