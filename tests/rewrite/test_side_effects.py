"""Which integrations are side effects (not cached unless named), whatever shape their Resource has.

Expected classes come from the AWS Step Functions Developer Guide, not from the code under test:
"Optimized integrations for Step Functions" (connect-supported-services) for the optimized APIs,
"Discover service integration patterns" (connect-to-resource) for ``.sync``/``.waitForTaskToken``,
"AWS SDK service integrations" (supported-services-awssdk) for ``aws-sdk:<service>:<apiAction>``,
"Call HTTPS APIs" (call-https-apis) for ``http:invoke`` and its ``Method``, "API Gateway"
(connect-api-gateway) and "Start a new Step Functions state machine" (connect-stepfunctions: the
request-response pattern returns once the child has started; ``.sync``/``.sync:2`` wait for its output).
"""

from __future__ import annotations

import pytest

from sfn_cache.rewrite.resource_shape import target
from sfn_cache.rewrite.side_effects import secret_read, side_effect, verb

STATES = "arn:aws:states:::"


def task(resource, parameters=None, language="JSONPath"):
    state = {"Type": "Task", "Resource": resource, "End": True}
    if parameters is not None:
        state["Parameters" if language == "JSONPath" else "Arguments"] = parameters
    return state


@pytest.mark.parametrize("resource, parameters, effect", [
    (STATES + "sns:publish", {"TopicArn": "t", "Message.$": "$"}, "sns:publish"),
    (STATES + "sqs:sendMessage", {"QueueUrl": "q", "MessageBody.$": "$"}, "sqs:sendMessage"),
    (STATES + "events:putEvents", {"Entries": []}, "events:putEvents"),
    (STATES + "dynamodb:putItem", {"TableName": "t", "Item": {}}, "dynamodb:putItem"),
    (STATES + "dynamodb:updateItem", {"TableName": "t", "Key": {}}, "dynamodb:updateItem"),
    (STATES + "dynamodb:deleteItem", {"TableName": "t", "Key": {}}, "dynamodb:deleteItem"),
    (STATES + "aws-sdk:dynamodb:putItem", {"TableName": "t"}, "aws-sdk:dynamodb:putItem"),
    (STATES + "aws-sdk:dynamodb:batchWriteItem", {}, "aws-sdk:dynamodb:batchWriteItem"),
    (STATES + "aws-sdk:dynamodb:transactWriteItems", {}, "aws-sdk:dynamodb:transactWriteItems"),
    (STATES + "aws-sdk:dynamodb:executeStatement", {"Statement": "UPDATE t SET a=1"},
     "aws-sdk:dynamodb:executeStatement"),
    (STATES + "aws-sdk:s3:putObject", {"Bucket": "b", "Key": "k"}, "aws-sdk:s3:putObject"),
    (STATES + "aws-sdk:s3:deleteObject", {"Bucket": "b", "Key": "k"}, "aws-sdk:s3:deleteObject"),
    (STATES + "aws-sdk:s3:copyObject", {"Bucket": "b", "Key": "k"}, "aws-sdk:s3:copyObject"),
    (STATES + "aws-sdk:ses:sendEmail", {}, "aws-sdk:ses:sendEmail"),
    (STATES + "aws-sdk:sesv2:sendEmail", {}, "aws-sdk:sesv2:sendEmail"),
    (STATES + "aws-sdk:sqs:receiveMessage", {}, "aws-sdk:sqs:receiveMessage"),
    (STATES + "aws-sdk:ec2:terminateInstances", {}, "aws-sdk:ec2:terminateInstances"),
    (STATES + "aws-sdk:sfn:startExecution", {}, "aws-sdk:sfn:startExecution without .sync (the child runs on its own)"),
    (STATES + "states:startExecution", {"StateMachineArn": "m"},
     "states:startExecution without .sync (the child runs on its own)"),
    (STATES + "http:invoke", {"ApiEndpoint": "https://x", "Method": "POST"}, "http:invoke with Method POST"),
    (STATES + "http:invoke", {"ApiEndpoint": "https://x", "Method.$": "$.m"},
     "http:invoke with Method chosen at run time"),
    (STATES + "apigateway:invoke", {"ApiEndpoint": "x", "Method": "DELETE"}, "apigateway:invoke with Method DELETE"),
    (STATES + "elasticmapreduce:terminateCluster", {}, "elasticmapreduce:terminateCluster"),
    (STATES + "sagemaker:createEndpoint", {}, "sagemaker:createEndpoint"),
])
def test_side_effects_are_named(resource, parameters, effect):
    assert side_effect(task(resource, parameters), "JSONPath") == effect


@pytest.mark.parametrize("resource, parameters", [
    ("arn:aws:lambda:us-east-1:123456789012:function:train", None),
    (STATES + "lambda:invoke", {"FunctionName": "train"}),
    (STATES + "glue:startJobRun.sync", {"JobName": "j"}),
    (STATES + "glue:startJobRun", {"JobName": "j"}),
    (STATES + "batch:submitJob.sync", {}),
    (STATES + "ecs:runTask.sync", {}),
    (STATES + "elasticmapreduce:addStep.sync", {}),
    (STATES + "sagemaker:createTrainingJob.sync", {}),
    (STATES + "athena:startQueryExecution.sync", {"QueryString": "SELECT 1"}),
    (STATES + "aws-sdk:athena:startQueryExecution", {"QueryString": "SELECT 1"}),
    (STATES + "states:startExecution.sync", {}),
    (STATES + "states:startExecution.sync:2", {}),
    (STATES + "dynamodb:getItem", {"TableName": "t", "Key": {}}),
    (STATES + "aws-sdk:dynamodb:executeStatement", {"Statement": "select * from t"}),
    (STATES + "aws-sdk:dynamodb:batchGetItem", {}),
    (STATES + "aws-sdk:s3:getObject", {"Bucket": "b", "Key": "k"}),
    (STATES + "aws-sdk:s3:listObjectsV2", {"Bucket": "b"}),
    (STATES + "aws-sdk:rekognition:detectLabels", {}),
    (STATES + "aws-sdk:textract:startDocumentAnalysis", {}),
    (STATES + "aws-sdk:emrserverless:startJobRun", {}),
    (STATES + "http:invoke", {"ApiEndpoint": "https://x", "Method": "GET"}),
    (STATES + "apigateway:invoke", {"ApiEndpoint": "x", "Method": "GET"}),
    ("arn:aws:states:us-east-1:123456789012:activity:work", None),
])
def test_computations_stay_cached(resource, parameters):
    assert side_effect(task(resource, parameters), "JSONPath") is None


@pytest.mark.parametrize("resource", [
    "arn:${AWS::Partition}:states:::sns:publish",  # Fn::Sub text, or DefinitionUri with substitutions
    {"Fn::Sub": "arn:${AWS::Partition}:states:::sns:publish"},  # !Sub in a SAM Definition
    {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":states:::sns:publish"]]},  # CDK, in a Definition
    "arn:__sfn_cache_token_0__:states:::sns:publish",  # CDK's DefinitionString, as the template reader hands it
    "arn:aws:states:us-east-1:123456789012:sns:publish",  # a region and account written in
])
def test_a_side_effect_is_seen_in_every_deployment_shape(resource):
    assert side_effect(task(resource, {"TopicArn": "t", "Message.$": "$"}), "JSONPath") == "sns:publish"


def test_jsonata_method_written_as_an_expression_is_chosen_at_run_time():
    state = task(STATES + "http:invoke", {"ApiEndpoint": "x", "Method": "{% $states.input.m %}"}, "JSONata")
    assert side_effect(state, "JSONata") == "http:invoke with Method chosen at run time"
    state = task(STATES + "http:invoke", {"ApiEndpoint": "x", "Method": "GET"}, "JSONata")
    assert side_effect(state, "JSONata") is None


@pytest.mark.parametrize("placeholder, effect", [
    ("${SNSTopicPublishAction}", True),  # named like SAM's examples name a substituted integration
    ("${DDBUpdateItem}", True),
    ("${SQSSendMessageAction}", True),
    ("${DDBGetItem}", False),
    ("${ProcessFunctionArn}", False),  # a function, whatever its name says
    ("${UpdateUserFunctionArn}", False),
    ("${fn_arn}", False),
])
def test_a_whole_resource_substituted_at_deploy_time_is_read_by_its_name(placeholder, effect):
    assert (side_effect(task(placeholder), "JSONPath") is not None) == effect


@pytest.mark.parametrize("action, expected", [
    ("putObject", "put"), ("batchWriteItem", "write"), ("transactGetItems", "get"), ("listObjectsV2", "list"),
    ("publish", "publish"), ("", ""),
])
def test_verb(action, expected):
    assert verb(action) == expected


@pytest.mark.parametrize("resource, kind, integration, pattern", [
    ("${FnArn}", "deploy-time", "", ""),
    ({"Fn::GetAtt": ["Fn", "Arn"]}, "deploy-time", "", ""),
    ({"Ref": "Fn"}, "deploy-time", "", ""),
    ({"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Fn}"}, "function", "", ""),
    ({"Fn::Sub": ["arn:${P}:states:::lambda:invoke.waitForTaskToken", {"P": "aws"}]}, "service", "lambda:invoke",
     "waitForTaskToken"),
    ("arn:aws:states:::states:startExecution.sync:2", "service", "states:startExecution", "sync:2"),
    ("arn:aws:states:::aws-sdk:s3:putObject", "service", "aws-sdk:s3:putObject", ""),
    ("arn:aws:states:us-east-1:123456789012:activity:a", "activity", "", ""),
    (7, "other", "", ""),
])
def test_resource_shapes(resource, kind, integration, pattern):
    found = target(resource)
    assert (found.kind, found.integration, found.pattern) == (kind, integration, pattern)


@pytest.mark.parametrize("resource", [
    "arn:aws:states:::aws-sdk:secretsmanager:getSecretValue", "arn:aws:states:::aws-sdk:ssm:getParameter",
    {"Fn::Sub": "arn:${AWS::Partition}:states:::aws-sdk:kms:decrypt"}, "arn:aws:states:::aws-sdk:sts:assumeRole",
])
def test_secret_reads_are_named(resource):
    """A cached secret would sit in the cache bucket and outlive its rotation: left uncached by default."""
    assert secret_read(task(resource)) is not None
    assert side_effect(task(resource), "JSONPath") is None, "a read, not a side effect"


@pytest.mark.parametrize("resource", ["arn:aws:states:::aws-sdk:secretsmanager:listSecrets",
                                      "arn:aws:states:::aws-sdk:ssm:describeParameters",
                                      "arn:aws:states:::lambda:invoke"])
def test_other_reads_are_not_secret_reads(resource):
    assert secret_read(task(resource)) is None


@pytest.mark.parametrize("resource", [
    "arn:aws:states:::aws-sdk:cognitoidentityprovider:adminDeleteUser",
    "arn:aws:states:::aws-sdk:cognitoidentityprovider:adminResetUserPassword",
    "arn:aws:states:::aws-sdk:apigatewaymanagementapi:postToConnection",
    "arn:aws:states:::aws-sdk:rds:failoverDbCluster", "arn:aws:states:::aws-sdk:cloudformation:rollbackStack",
    "arn:aws:states:::aws-sdk:lakeformation:grantPermissions",
    "arn:aws:states:::aws-sdk:codepipeline:retryStageExecution", "arn:aws:states:::aws-sdk:lambda:invokeAsync",
])
def test_writes_behind_a_prefix_or_other_verbs_are_side_effects(resource):
    """Found by review: verbs outside the first list, and the verb after ``admin``."""
    assert side_effect(task(resource), "JSONPath") is not None


@pytest.mark.parametrize("resource", ["arn:aws:states:::lambda:invoke", "arn:aws:states:::aws-sdk:lambda:invoke"])
def test_an_asynchronous_lambda_call_is_a_side_effect(resource):
    fire = task(resource, {"FunctionName": "f", "InvocationType": "Event", "Payload.$": "$"})
    assert side_effect(fire, "JSONPath") == f"{resource.rpartition(':::')[2]} with InvocationType Event " \
                                           "(the function runs on its own)"
    assert side_effect(task(resource, {"FunctionName": "f", "Payload.$": "$"}), "JSONPath") is None


@pytest.mark.parametrize("resource", [
    "arn:aws:states:::aws-sdk:kms:generateDataKey", "arn:aws:states:::aws-sdk:ecr:getAuthorizationToken",
    "arn:aws:states:::aws-sdk:rds:generateDbAuthToken",
    "arn:aws:states:::aws-sdk:cognitoidentityprovider:adminInitiateAuth",
    "arn:aws:states:::aws-sdk:cognitoidentity:getCredentialsForIdentity",
    "arn:aws:states:::aws-sdk:codeartifact:getAuthorizationToken",
    "arn:aws:states:::aws-sdk:redshift:getClusterCredentials", "arn:aws:states:::aws-sdk:sso:getRoleCredentials",
    "arn:aws:states:::aws-sdk:secretsmanager:getRandomPassword",
])
def test_credentials_named_by_the_action_are_secret_reads(resource):
    assert secret_read(task(resource)) is not None


@pytest.mark.parametrize("resource", ["arn:aws:states:::aws-sdk:cognitoidentityprovider:adminGetUser",
                                      "arn:aws:states:::aws-sdk:secretsmanager:describeSecret",
                                      "arn:aws:states:::aws-sdk:kms:getPublicKey"])
def test_reads_named_like_secrets_only_by_their_verb_are_not(resource):
    assert secret_read(task(resource)) is None and side_effect(task(resource), "JSONPath") is None
