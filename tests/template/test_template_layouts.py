"""Templates as teams write them (issues 26 and 28), through the console script: every byte outside the
rewritten definitions kept, a ``!Sub |`` block kept a block, a template that invokes a caching function it
does not define refused (or given one with --add-function), CDK output flagged, serverless.yml state
machines wrapped in place, and one-line refusals for ``Fn::If`` definitions and template placeholders."""

from __future__ import annotations

import difflib
import importlib.util
import json

import pytest
import yaml

from sfn_cache.runtime.protocol import HANDLER
from tests.support.cli import one_line_refusal, sfn_cache

ARN = "arn:aws:lambda:us-east-1:123456789012:function:work"
CACHE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:sfn-cache"

# Odd but valid formatting everywhere outside the definitions: 4-space indents, comments, `False`,
# flow style, an anchor and its alias, quoting, trailing spaces, a `!Sub |` block
ODD = """\
AWSTemplateFormatVersion: "2010-09-09"   # odd spacing
Transform: AWS::Serverless-2016-10-31
Globals: {{Function: {{Timeout: 30}}}}   # flow style
Parameters:
    Stage: &stage
        Type:    String
        Default: 'dev'
Resources:
    # the machine
    Machine:
        Type: AWS::Serverless::StateMachine
        Properties:
            Tracing:
                Enabled: False
            Definition:
                StartAt: Work   # start
                States:
                    Work:
                        Type: Task
                        Resource: {arn}
                        End: true
            Policies:
            -   LambdaInvokePolicy: {{FunctionName: work}}{trailing}
        # trailing comment

    Topic:
        Type: AWS::SNS::Topic
        Properties: {{TopicName: !Sub "${{AWS::StackName}}-t"}}
    Sub:
        Type: AWS::StepFunctions::StateMachine
        Properties:
            RoleArn: !GetAtt Role.Arn
            DefinitionString: !Sub |
                {{
                  "StartAt": "W",
                  "States": {{"W": {{"Type": "Task", "Resource": "arn:aws:lambda:${{AWS::Region}}:1:function:w",
                                   "End": true}}}}
                }}
            DefinitionSubstitutions:
                Unused: x
    Cache:
        Type: AWS::Serverless::Function
        Properties:
            Handler: {handler}
            CodeUri: build/fn.zip
            Runtime: python3.12
Outputs:
    Copy: *stage
""".format(arn=ARN, handler=HANDLER, trailing="   ")


def rewritten_lines(text: str) -> list[tuple[int, int]]:
    """The line ranges (original numbering) of the values wrap may rewrite: the two definitions."""
    lines = text.splitlines()
    start = lines.index("            Definition:")
    end = lines.index("            Policies:")
    sub = lines.index("            DefinitionString: !Sub |")
    return [(start, end), (sub, lines.index("    Cache:"))]  # the Sub's DefinitionSubstitutions gain a key


def test_every_line_outside_the_rewritten_definitions_is_kept_byte_for_byte(tmp_path):
    (tmp_path / "template.yaml").write_bytes(ODD.encode())
    result = sfn_cache("wrap", "template.yaml", "--no-config", "-o", "out.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = (tmp_path / "out.yaml").read_bytes().decode()
    original, new = ODD.splitlines(keepends=True), out.splitlines(keepends=True)
    allowed = rewritten_lines(ODD)
    matcher = difflib.SequenceMatcher(None, original, new, autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag in ("replace", "delete"):  # an original line changed or gone: only inside the definitions
            assert any(start <= i1 and i2 <= end for start, end in allowed), "".join(original[i1:i2])
    kept = sum(size for _, _, size in matcher.get_matching_blocks())
    assert kept >= len(original) - sum(end - start for start, end in allowed)
    assert "            DefinitionSubstitutions:\n                Unused: x\n" \
           "                SfnCacheFunctionArn: !GetAtt Cache.Arn\n    Cache:\n" in out
    assert "                Enabled: False\n" in out and "{Function: {Timeout: 30}}   # flow style" in out
    assert "-   LambdaInvokePolicy: {FunctionName: work}   \n" in out  # trailing spaces too
    assert "        # trailing comment\n\n    Topic:" in out


def test_a_sub_block_stays_a_readable_block(tmp_path):
    (tmp_path / "template.yaml").write_text(ODD)
    result = sfn_cache("wrap", "template.yaml", "--no-config", "-o", "out.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "out.yaml").read_text().splitlines()
    start = lines.index("            DefinitionString: !Sub |")
    block = lines[start + 1:lines.index("            DefinitionSubstitutions:", start)]
    assert len(block) > 10 and all(line.startswith(" " * 13) for line in block)
    body = json.loads("\n".join(block).replace("${!SfnCacheFunctionArn}", "X"))
    assert body["States"]["W"]["Resource"] == "arn:aws:lambda:${AWS::Region}:1:function:w"
    assert any("cache_pull_W" == name for name in body["States"])


SAM = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Work:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
  Pipeline:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Work
        States:
          Work:
            Type: Task
            Resource: !GetAtt Work.Arn
            End: true
      Policies:
        - LambdaInvokePolicy:
            FunctionName: !Ref Work
"""


def test_a_template_without_the_caching_function_is_refused_naming_the_fix(tmp_path):
    (tmp_path / "template.yaml").write_text(SAM)
    line = one_line_refusal(sfn_cache("wrap", "template.yaml", "--no-config", "-o", "out.yaml", cwd=tmp_path))
    assert line == ("error: template.yaml: state machine 'Pipeline' would invoke 'SfnCacheFunction', which the "
                    "template does not define: pass --add-function CODE_URI to add it (the zip sfn-cache "
                    "build-lambda writes), or --lambda-arn ARN for a function deployed elsewhere")
    assert not (tmp_path / "out.yaml").exists()
    named = sfn_cache("wrap", "template.yaml", "--no-config", "--lambda-arn", CACHE_ARN, "-o", "out.yaml",
                      cwd=tmp_path)
    assert named.returncode == 0 and "SfnCacheFunction" not in (tmp_path / "out.yaml").read_text()


def test_a_plain_cloudformation_template_is_not_told_to_pass_add_function(tmp_path):
    """--add-function is refused without the SAM transform: the refusal names only what works there."""
    (tmp_path / "cfn.yaml").write_text(SAM.replace("Transform: AWS::Serverless-2016-10-31\n", ""))
    line = one_line_refusal(sfn_cache("wrap", "cfn.yaml", "--no-config", "-o", "out.yaml", cwd=tmp_path))
    assert line == ("error: cfn.yaml: state machine 'Pipeline' would invoke 'SfnCacheFunction', which the "
                    "template does not define: define the caching function yourself, or pass --lambda-arn ARN "
                    "for a function deployed elsewhere")


def test_add_function_writes_the_function_and_the_invoke_permission(tmp_path):
    (tmp_path / "template.yaml").write_text(SAM)
    result = sfn_cache("wrap", "template.yaml", "--no-config", "--add-function", "build/sfn-cache.zip",
                       "--bucket", "s3://cache-bucket/team", "-o", "out.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "out.yaml").read_text()
    assert text.startswith(SAM[:SAM.index("      Definition:")])  # the function Work, untouched
    assert "        - LambdaInvokePolicy:\n            FunctionName: !Ref Work\n" \
           "        - LambdaInvokePolicy:\n            FunctionName: !Ref SfnCacheFunction\n" in text
    assert "        SfnCacheFunctionArn: !GetAtt SfnCacheFunction.Arn\n" in text
    function = text[text.index("  SfnCacheFunction:\n"):]
    assert f"      Handler: {HANDLER}\n" in function and "      CodeUri: build/sfn-cache.zip\n" in function
    assert "SFN_CACHE_BUCKET: s3://cache-bucket/team" in function
    assert "arn:aws:s3:::cache-bucket/team/*" in function  # build-lambda's least-privilege policy
    again = sfn_cache("wrap", "out.yaml", "--no-config", "--bucket", "s3://cache-bucket/team", "--check", "-o",
                      "out.yaml", cwd=tmp_path)
    assert again.returncode == 0, again.stderr  # the function is found: nothing more to add (same options)


def test_add_function_needs_a_bucket_and_a_sam_template(tmp_path):
    (tmp_path / "template.yaml").write_text(SAM)
    line = one_line_refusal(sfn_cache("wrap", "template.yaml", "--no-config", "--add-function", "fn.zip",
                                      cwd=tmp_path))
    assert "--add-function needs --bucket" in line
    (tmp_path / "cfn.yaml").write_text(SAM.replace("Transform: AWS::Serverless-2016-10-31\n", ""))
    line = one_line_refusal(sfn_cache("wrap", "cfn.yaml", "--no-config", "--add-function", "fn.zip",
                                      "--bucket", "s3://b", cwd=tmp_path))
    assert "has no 'Transform: AWS::Serverless-2016-10-31'" in line and "--lambda-arn" in line


@pytest.mark.skipif(importlib.util.find_spec("cfnlint") is None, reason="cfn-lint is not installed")
def test_a_template_wrapped_with_add_function_passes_cfn_lint(tmp_path):
    """cfn-lint's E1010 (GetAtt to a resource the template lacks) is what the old note left behind."""
    from cfnlint.api import ManualArgs, lint

    (tmp_path / "template.yaml").write_text(SAM)
    result = sfn_cache("wrap", "template.yaml", "--no-config", "--add-function", "build/sfn-cache.zip",
                       "--bucket", "s3://cache-bucket/team", "-o", "out.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    before = lint(SAM.replace("!GetAtt Work.Arn", "!GetAtt SfnCacheFunction.Arn"),
                  config=ManualArgs(regions=["us-east-1"]))
    assert "E1010" in {match.rule.id for match in before}  # the check can fail
    matches = lint((tmp_path / "out.yaml").read_text(), config=ManualArgs(regions=["us-east-1"]))
    assert [(m.rule.id, m.message) for m in matches if m.rule.id.startswith("E")] == []


def test_a_cdk_synth_template_gets_a_note(tmp_path):
    template = {"Resources": {
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Metadata": {"aws:cdk:path": "Stack/Machine/Resource"},
                    "Properties": {"DefinitionString": json.dumps(
                        {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": ARN, "End": True}}}),
                        "RoleArn": "arn:aws:iam::1:role/r"}}}}
    (tmp_path / "cdk.out").mkdir()
    for path in ("Stack.template.json", "cdk.out/Stack.template.json"):
        (tmp_path / path).write_text(json.dumps(template))
        result = sfn_cache("wrap", path, "--no-config", "--lambda-arn", CACHE_ARN, cwd=tmp_path)
        assert result.returncode == 0
        assert f"note: {path}: CDK synth output: the next cdk synth overwrites this file" in result.stderr


SERVERLESS = """\
service: etl   # the ETL service
provider:
  name: aws
  stage: ${opt:stage, 'dev'}
functions:
  extract:
    handler: handler.extract
custom:
  flag: False
stepFunctions:
  stateMachines:
    etl:
      name: etl-${sls:stage}
      definition:
        StartAt: Extract
        States:
          Extract:
            Type: Task
            Resource:
              Fn::GetAtt: [extract, Arn]
            End: true
plugins:
  - serverless-step-functions
"""


def test_serverless_state_machines_are_wrapped_in_place(tmp_path):
    (tmp_path / "serverless.yml").write_text(SERVERLESS)
    arn = "arn:aws:lambda:${aws:region}:${aws:accountId}:function:sfn-cache"
    result = sfn_cache("wrap", "serverless.yml", "--no-config", "--lambda-arn", arn, "-o", "serverless.yml",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "serverless.yml").read_text()
    head, tail = SERVERLESS.split("      definition:\n")
    assert text.startswith(head + "      definition:\n") and text.endswith("plugins:\n  - serverless-step-functions\n")
    machine = yaml.safe_load(text)["stepFunctions"]["stateMachines"]["etl"]
    assert machine["definition"]["States"]["cache_pull_Extract"]["Resource"] == arn
    assert machine["definition"]["States"]["Extract"]["Resource"] == {"Fn::GetAtt": ["extract", "Arn"]}
    check = sfn_cache("wrap", "serverless.yml", "--no-config", "--lambda-arn", arn, "--check", "-o",
                      "serverless.yml", cwd=tmp_path)
    assert check.returncode == 0, check.stderr


def test_serverless_needs_the_caching_function_arn(tmp_path):
    (tmp_path / "serverless.yml").write_text(SERVERLESS)
    line = one_line_refusal(sfn_cache("wrap", "serverless.yml", "--no-config", cwd=tmp_path))
    assert line == ("error: serverless.yml: state machine 'etl' would invoke ${SfnCacheFunctionArn}, which "
                    "Serverless reads as one of its variables: pass --lambda-arn ARN (the caching function's)")


IF_DEFINITION = "!If [IsProd, {StartAt: A, States: {A: {Type: Pass, End: true}}}, {StartAt: B, States: {}}]"


@pytest.mark.parametrize("name,text,label", [
    ("serverless.yml", "stepFunctions:\n  stateMachines:\n    etl:\n      definition: " + IF_DEFINITION + "\n",
     "state machine 'etl': definition"),
    ("template.yaml", "Resources:\n  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
                      "      Definition: " + IF_DEFINITION + "\n", "resource 'M': Definition"),
])
def test_a_definition_chosen_by_a_condition_is_refused_naming_the_machine(tmp_path, name, text, label):
    (tmp_path / name).write_text(text)
    line = one_line_refusal(sfn_cache("wrap", name, "--no-config", cwd=tmp_path))
    assert f"{name}: {label} is Fn::If: which definition deploys depends on a condition" in line


def test_an_unquoted_terraform_placeholder_is_named_with_the_fix(tmp_path):
    text = '{"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": ${max_concurrency}, "End": true}}}\n'
    (tmp_path / "sfn.json.tpl").write_text(text)
    line = one_line_refusal(sfn_cache("wrap", "sfn.json.tpl", "--no-config", cwd=tmp_path))
    column = text.index("$") + 1
    assert line == (f"error: sfn.json.tpl:1: invalid JSON: ${{max_concurrency}} (column {column}) is an unquoted "
                    "template placeholder (Terraform templatefile, Serverless): quote it, or render the template first "
                    "and wrap the result")


JSON_TEMPLATE = """\
{
    "AWSTemplateFormatVersion": "2010-09-09",
    "Description": "caf\\u00e9 \u00fcnicode",
    "Resources": {
        "Cache": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "%s", "Timeout": 1.50}},
        "M": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": "arn:aws:iam::123456789012:role/r",
                "Definition": {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "%s", "End": true}}}
            }
        }
    }
}
""" % (HANDLER, ARN)


def test_a_json_template_keeps_its_bytes_outside_the_rewritten_values(tmp_path):
    (tmp_path / "template.json").write_text(JSON_TEMPLATE)
    result = sfn_cache("wrap", "template.json", "--no-config", "-o", "out.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = (tmp_path / "out.json").read_text()
    head = JSON_TEMPLATE[:JSON_TEMPLATE.index('{"StartAt"')]  # escapes, 1.50 and the one-line resource kept
    assert out.startswith(head) and out.endswith("\n            }\n        }\n    }\n}\n")
    properties = json.loads(out)["Resources"]["M"]["Properties"]
    assert "cache_pull_W" in properties["Definition"]["States"]
    assert properties["DefinitionSubstitutions"] == {"SfnCacheFunctionArn": {"Fn::GetAtt": ["Cache", "Arn"]}}
    assert '\n                "DefinitionSubstitutions": {\n                    "SfnCacheFunctionArn": {' in out
