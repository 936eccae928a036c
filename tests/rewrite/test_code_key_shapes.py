"""The rewriter reads a Lambda target from its Resource's shape, not only from a literal ARN (issue 26):
the pull then asks the caching Lambda for the code of whatever function the deployed value names.
Shapes after the Step Functions Developer Guide ("Invoke Lambda with Step Functions", connect-lambda:
a function ARN as Resource, or ``arn:aws:states:::lambda:invoke`` with ``FunctionName``) and
CloudFormation's intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::Join)."""

from __future__ import annotations

import pytest

from sfn_cache.rewrite.key_checks import no_input
from sfn_cache.rewrite.key_spec import code_keyed
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import plan_definition


@pytest.mark.parametrize("resource, parameters, kind", [
    ("${FnArn}", None, "lambda"),
    ({"Fn::GetAtt": ["Fn", "Arn"]}, None, "lambda"),
    ({"Ref": "FnArnParameter"}, None, "lambda"),
    ("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Fn}", None, "lambda"),
    ("arn:__sfn_cache_token_0__:states:::lambda:invoke", {"FunctionName": "__sfn_cache_token_1__"}, "lambda"),
    ({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":states:::lambda:invoke"]]},
     {"FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]}}, "lambda"),
    ("arn:aws:states:::aws-sdk:lambda:invoke", {"FunctionName": "train"}, "lambda"),
    ("arn:${AWS::Partition}:states:::lambda:invoke", {"Payload.$": "$"}, None),  # no function named
    ("arn:${AWS::Partition}:states:::sns:publish", {"TopicArn": "t"}, None),
    ("arn:${AWS::Partition}:states:::glue:startJobRun.sync", {"JobName": "j"}, None),  # only with auto
])
def test_code_keyed_by_shape(resource, parameters, kind):
    task = {"Type": "Task", "Resource": resource, "End": True}
    if parameters is not None:
        task["Parameters"] = parameters
    assert code_keyed(task, "JSONPath", None) == kind
    assert code_keyed(task, "JSONPath", "off") is None


def test_glue_written_with_a_substitution_is_keyed_with_auto():
    task = {"Type": "Task", "Resource": {"Fn::Sub": "arn:${AWS::Partition}:states:::glue:startJobRun.sync"},
            "Parameters": {"JobName": "j"}, "End": True}
    assert code_keyed(task, "JSONPath", "auto") == "glue"


def test_a_callback_written_with_an_intrinsic_is_refused():
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": {"Fn::Sub": "arn:${AWS::Partition}:states:::lambda:invoke.waitForTaskToken"},
        "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}}, "End": True},
        "U": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:u", "End": True}}}
    reports = {r.state: (r.action, r.reason) for r in plan_definition(definition, WrapOptions())}
    assert reports["T"] == ("refused", "callback task (.waitForTaskToken): its result comes from outside the task")


@pytest.mark.parametrize("task, language, key_paths, why", [
    ({"Parameters": {"a": 1}}, "JSONPath", (), "its Parameters are all written in the definition"),
    ({"Parameters": {"a.$": "$.a"}}, "JSONPath", (), None),
    ({"Parameters": {"a": {"b.$": "States.UUID()"}}}, "JSONPath", (), None),
    ({"InputPath": None}, "JSONPath", (), "InputPath is null"),
    ({"InputPath": None}, "JSONPath", ("$.x",), "InputPath is null"),
    ({}, "JSONPath", (), None),
    ({"Arguments": {"a": [1, "x"]}}, "JSONata", (), "its Arguments are all written in the definition"),
    ({"Arguments": {"a": ["{% $states.input.a %}"]}}, "JSONata", (), None),
    ({"Arguments": "{% $states.input %}"}, "JSONata", (), None),
    ({}, "JSONata", (), None),
])
def test_a_key_without_input(task, language, key_paths, why):
    assert no_input({"Type": "Task", "Resource": "r", **task}, language, key_paths) == why
