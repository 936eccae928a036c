"""Tasks whose effect is the point: not cached unless a user names them (design.md section 8).

A cache hit skips the task. For a computation that is the aim (same input, same result, less time);
for a notification, a queue message, an event or a write, a hit means the alert is not sent again and
the row is not written. So those integrations are left as written by default, and ``--include STATE``
(or ``include`` in the configuration, or the API's ``include``/``cache_step``) naming the state
caches it anyway.

The one list, by how the ``Resource`` names the call (``arn:<partition>:states:::<integration>``,
however it is written: resource_shape.py), after these AWS documents (Step Functions Developer Guide):
"Integrating services with Step Functions" (integrate-services) and "Optimized integrations for Step
Functions" (connect-supported-services: the optimized APIs and their patterns), "Discover service
integration patterns" (connect-to-resource: request-response, ``.sync``, ``.waitForTaskToken``), "AWS
SDK service integrations" (supported-services-awssdk: ``aws-sdk:<service>:<apiAction>``, any API of
the SDK), "Call HTTPS APIs" (call-https-apis: ``http:invoke`` and its ``Method``), "API Gateway"
(connect-api-gateway: ``apigateway:invoke`` and its ``Method``), "Amazon EKS" (connect-eks:
``eks:call`` and its ``Method``) and "Start a new Step Functions state machine" (connect-stepfunctions:
``states:startExecution`` with and without ``.sync``/``.sync:2``):

- an HTTP call (``http:invoke``, ``apigateway:invoke``, ``eks:call``) is a side effect unless its
  ``Method`` is written as ``GET`` (a method chosen at run time may be any);
- ``states:startExecution`` (and ``aws-sdk:sfn:startExecution``) without ``.sync``: the child runs on
  its own, its start is the effect; with ``.sync``/``.sync:2`` the child's output is the result;
- ``COMPUTE``: jobs and queries whose product is their result (or the data the next states read),
  cached in every pattern, like the pipeline-level caching this project follows: Lambda, Batch, ECS,
  Glue and DataBrew jobs, Athena queries (``startQueryExecution``, whatever the SQL: a CTAS or INSERT
  writes the data product, as a Glue job does), EMR steps, EMR on EKS and EMR Serverless job runs,
  CodeBuild builds, SageMaker training/transform/processing/tuning/labeling jobs, EKS ``runJob``,
  MediaConvert jobs, Bedrock model calls, customization and evaluation jobs, CloudWatch Logs Insights
  queries, synchronous Express executions (``startSyncExecution``), and the ``start*`` analysis jobs
  of Rekognition, Textract, Transcribe, Comprehend, Polly and Translate (``ANALYSIS_SERVICES``);
- DynamoDB ``executeStatement`` is a write unless its ``Statement`` is written as a ``SELECT``;
- a whole Resource substituted at deploy time (``${DDBPutItem}``: SAM's DefinitionSubstitutions,
  Terraform) is what the substitution names: its value is not in the definition, so its *name* is
  read like an API action: a name with a write verb and no ``Function``/``Fn``/``Lambda``/``Handler``
  in it (``${SNSTopicPublishAction}``, ``${DDBUpdateItem}``, ``${SQSSendMessageAction}``, the way
  SAM's examples name their integrations) is a side effect; any other (``${ProcessFunctionArn}``) is
  a function, cached;
- any other API whose verb (its first word; after ``batch``/``transact`` the second) writes:
  ``WRITE_VERBS``: SNS ``publish``, SQS ``sendMessage`` (and ``receiveMessage``: it hides the message
  from other readers), EventBridge ``putEvents``, SES ``sendEmail``, DynamoDB ``putItem``,
  ``updateItem``, ``deleteItem``, ``batchWriteItem``, ``transactWriteItems``, S3 ``putObject``,
  ``deleteObject(s)``, ``copyObject``, EMR ``createCluster``/``terminateCluster``, SageMaker
  ``createEndpoint``/``createModel``, EC2 ``runInstances``, ... Reads (``get``, ``list``,
  ``describe``, ``head``, ``query``, ``scan``, ``batchGet``, ...) and other verbs (``invoke``,
  ``detect``, ``translate``, ...) are computations, cached.

Beside them, reads whose result is a secret or credentials (``SECRET_READS``: Secrets Manager
``getSecretValue``, SSM ``getParameter(s)``, KMS ``decrypt``/``generateDataKey``, STS ``assumeRole``
and session tokens; and an AWS SDK action named as getting, generating or initiating a token,
credentials, a secret, a password or an authorization)
are not cached by default either: a cached result would be stored in the cache bucket as a shared,
versioned data product, and served after the secret is rotated or the credentials expire.
"""

from __future__ import annotations

import re
from typing import Any

from sfn_cache.rewrite.resource_shape import target

HTTP_CALLS = frozenset({"http:invoke", "apigateway:invoke", "eks:call"})  # their Method decides
CHILD_EXECUTIONS = frozenset({"states:startExecution", "aws-sdk:sfn:startExecution"})
LAMBDA_INVOKES = frozenset({"lambda:invoke", "aws-sdk:lambda:invoke"})  # with InvocationType Event: fire and forget
ASYNC_INVOKES = frozenset({"aws-sdk:lambda:invokeAsync"})
COMPUTE = frozenset({
    # optimized integrations (connect-supported-services)
    "lambda:invoke", "batch:submitJob", "ecs:runTask", "glue:startJobRun", "databrew:startJobRun",
    "athena:startQueryExecution", "elasticmapreduce:addStep", "emr-containers:startJobRun",
    "emr-serverless:startJobRun", "codebuild:startBuild", "codebuild:startBuildBatch", "eks:runJob",
    "sagemaker:createTrainingJob", "sagemaker:createTransformJob", "sagemaker:createProcessingJob",
    "sagemaker:createHyperParameterTuningJob", "sagemaker:createLabelingJob", "mediaconvert:createJob",
    "bedrock:invokeModel", "bedrock:createModelCustomizationJob",
    # the same through the AWS SDK integrations (supported-services-awssdk), and a few more jobs
    "aws-sdk:lambda:invoke", "aws-sdk:batch:submitJob", "aws-sdk:ecs:runTask", "aws-sdk:glue:startJobRun",
    "aws-sdk:databrew:startJobRun", "aws-sdk:athena:startQueryExecution", "aws-sdk:emr:addJobFlowSteps",
    "aws-sdk:emrcontainers:startJobRun", "aws-sdk:emrserverless:startJobRun", "aws-sdk:codebuild:startBuild",
    "aws-sdk:sagemaker:createTrainingJob", "aws-sdk:sagemaker:createTransformJob",
    "aws-sdk:sagemaker:createProcessingJob", "aws-sdk:sagemaker:createHyperParameterTuningJob",
    "aws-sdk:bedrockruntime:invokeModel", "aws-sdk:bedrockruntime:converse", "aws-sdk:logs:startQuery",
    "aws-sdk:bedrock:createEvaluationJob", "aws-sdk:bedrock:createModelCustomizationJob",
    "aws-sdk:sfn:startSyncExecution",
})
# AI services whose start* APIs start an analysis job (its product read back by a get*), not a change
ANALYSIS_SERVICES = frozenset({"aws-sdk:rekognition", "aws-sdk:textract", "aws-sdk:transcribe", "aws-sdk:comprehend",
                               "aws-sdk:comprehendmedical", "aws-sdk:polly", "aws-sdk:translate"})
WRITE_VERBS = frozenset({
    "abort", "accept", "acknowledge", "activate", "add", "allocate", "apply", "archive", "assign", "associate",
    "attach", "authorize", "cancel", "change", "claim", "commit", "complete", "confirm", "copy", "create",
    "deactivate", "decrease", "delete", "deploy", "deregister", "detach", "disable", "disassociate", "enable",
    "execute", "import", "increase", "increment", "initiate", "insert", "invalidate", "invite", "lock", "merge",
    "modify", "move", "notify", "pause", "promote", "provision", "publish", "purge", "put", "reboot", "receive",
    "redrive", "register", "reject", "release", "remove", "rename", "renew", "replace", "request", "reset",
    "respond", "restart", "restore", "resume", "revoke", "rotate", "run", "schedule", "send", "set", "signal",
    "start", "stop", "submit", "subscribe", "suspend", "tag", "terminate", "transfer", "unarchive", "unlink",
    "unlock", "unsubscribe", "untag", "update", "upgrade", "upload", "write",
    # found by review (admin*, post, grant, failover, rollback, ...): calls whose effect is the point
    "approve", "close", "deny", "dispatch", "emit", "escalate", "failover", "flush", "forget", "grant", "issue",
    "link", "open", "post", "push", "rebuild", "recover", "refresh", "reload", "retry", "revert", "rollback",
    "trigger",
})
PREFIX_WORDS = ("batch", "transact", "admin")  # batchWriteItem, transactWriteItems, adminDeleteUser: the next word
SECRET_WORDS = frozenset({"secret", "secrets", "credentials", "token", "password", "authorization", "auth"})
SECRET_VERBS = frozenset({"get", "generate", "initiate"})  # getAuthorizationToken, generateDbAuthToken, ...
SECRET_READS = frozenset({
    "aws-sdk:secretsmanager:getSecretValue", "aws-sdk:secretsmanager:batchGetSecretValue",
    "aws-sdk:ssm:getParameter", "aws-sdk:ssm:getParameters", "aws-sdk:ssm:getParametersByPath",
    "aws-sdk:kms:decrypt", "aws-sdk:sts:assumeRole", "aws-sdk:sts:assumeRoleWithWebIdentity",
    "aws-sdk:sts:assumeRoleWithSAML", "aws-sdk:sts:getSessionToken", "aws-sdk:sts:getFederationToken",
    "aws-sdk:kms:generateDataKey", "aws-sdk:kms:generateDataKeyPair", "aws-sdk:ssm:getParameterHistory",
})
_WORD = re.compile(r"[a-z]+|[A-Z][a-z]*")
_FUNCTION_WORDS = frozenset({"function", "fn", "func", "lambda", "handler"})
_SELECT = re.compile(r"^\s*SELECT\b", re.IGNORECASE)


def side_effect(state: dict[str, Any], language: str) -> str | None:
    """What makes this Task a side effect, in words (``sns:publish``, ``http:invoke with Method
    POST``), or None when it is a computation (or not a service integration at all: a Lambda
    function ARN, an activity, an ARN filled in at deploy time)."""
    found = target(state.get("Resource"))
    if found.kind == "deploy-time":
        return _named_like_a_write(found.placeholder)
    if found.kind != "service":
        return None
    integration = found.integration
    parameters = state.get("Parameters" if language == "JSONPath" else "Arguments")
    if integration in HTTP_CALLS:
        method = _static(parameters, "Method", language)
        if isinstance(method, str) and method.upper() == "GET":
            return None
        shown = method if isinstance(method, str) else "chosen at run time"
        return f"{integration} with Method {shown}"
    if integration in CHILD_EXECUTIONS:
        return None if found.pattern.startswith("sync") else f"{integration} without .sync (the child runs on its own)"
    if integration in ASYNC_INVOKES or (integration in LAMBDA_INVOKES and _static(
            parameters, "InvocationType", language) == "Event"):
        return f"{integration} with InvocationType Event (the function runs on its own)"
    if integration in COMPUTE:
        return None
    service, _, action = integration.rpartition(":")
    if service in ANALYSIS_SERVICES and verb(action) == "start":
        return None
    if service.endswith("dynamodb") and action == "executeStatement":
        statement = _static(parameters, "Statement", language)
        return None if isinstance(statement, str) and _SELECT.match(statement) else integration
    return integration if verb(action) in WRITE_VERBS else None


def secret_read(state: dict[str, Any]) -> str | None:
    """The API, when this Task reads a secret or credentials, else None: ``SECRET_READS``, or an action
    that gets, generates or initiates one by its name (``getAuthorizationToken``, ``generateDbAuthToken``,
    ``adminInitiateAuth``, ``getClusterCredentials``, ``getRandomPassword``)."""
    found = target(state.get("Resource"))
    if found.kind != "service" or not found.integration.startswith("aws-sdk:"):
        return None
    words = _words(found.integration.rpartition(":")[2])
    if found.integration in SECRET_READS or (verb(found.integration.rpartition(":")[2]) in SECRET_VERBS
                                             and SECRET_WORDS & set(words)):
        return found.integration
    return None


def _named_like_a_write(placeholder: str) -> str | None:
    words = {word.lower() for word in _WORD.findall(placeholder)}
    if not words or words & _FUNCTION_WORDS or not words & WRITE_VERBS:
        return None
    return f"${{{placeholder}}}, a Resource filled in at deploy time, named like a write"


def _words(action: str) -> list[str]:
    return [str(word).lower() for word in _WORD.findall(action)]


def verb(action: str) -> str:
    """The verb of an API action: ``putObject`` -> ``put``; ``batchWriteItem`` -> ``write``;
    ``adminDeleteUser`` -> ``delete``."""
    words = _words(action)
    if len(words) > 1 and words[0] in PREFIX_WORDS:
        return words[1]
    return words[0] if words else ""


def _static(parameters: Any, name: str, language: str) -> Any:
    """A parameter's value when it is written in the definition, else None (chosen at run time)."""
    if not isinstance(parameters, dict):
        return None
    value = parameters.get(name)
    if language == "JSONata" and isinstance(value, str) and value.strip().startswith("{%"):
        return None
    return value
