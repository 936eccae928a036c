"""Issue 26, point 1, through the console: a task whose effect is the point (a notification, a queue
message, an event, a write) is not cached unless an include names it, and wrap -v and explain say why.

Which integrations are side effects follows the Step Functions Developer Guide (connect-supported-services,
supported-services-awssdk, call-https-apis, connect-stepfunctions); rewrite/side_effects.py cites them.
"""

from __future__ import annotations

import json

from tests.support.cli import sfn_cache, states_of, wrap
from tests.support.paths import EXAMPLE

NOTIFY_REASON = "side effect: sns:publish; --include NotifyFailure caches it anyway"


def pulled(document: dict) -> set[str]:
    return {name[len("cache_pull_"):] for name in states_of(document) if name.startswith("cache_pull_")}


def test_the_example_failure_alert_is_not_cached_and_verbose_says_why(tmp_path):
    result = wrap(EXAMPLE, "-v", "--no-config", "-o", tmp_path / "out.json")
    assert result.exit_code == 0, result.stderr
    assert f"excluded        NotifyFailure  ({NOTIFY_REASON})" in result.stderr.splitlines()
    cached = pulled(json.loads((tmp_path / "out.json").read_text()))
    assert cached == {"PrepareFeatures", "TrainModel", "EvaluateModel", "RegisterModel", "WriteReport"}


def test_explain_gives_the_reason(tmp_path):
    result = sfn_cache("explain", EXAMPLE, "--json", "--no-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {row["state"]: row for row in json.loads(result.stdout)}
    assert (rows["NotifyFailure"]["action"], rows["NotifyFailure"]["reason"]) == ("excluded", NOTIFY_REASON)


def test_an_include_naming_it_caches_it_with_a_warning(tmp_path):
    result = wrap(EXAMPLE, "--no-config", "--include", "*", "--include", "NotifyFailure", "-o", tmp_path / "o.json")
    assert result.exit_code == 0, result.stderr
    assert "NotifyFailure" in pulled(json.loads((tmp_path / "o.json").read_text()))
    assert ("state 'NotifyFailure': cached although it is a side effect (sns:publish), because an include names "
            "it: a cache hit skips the call") in result.stderr


def test_a_glob_does_not_name_it(tmp_path):
    result = wrap(EXAMPLE, "--no-config", "--include", "Notify*", "-v", "-o", tmp_path / "o.json")
    assert result.exit_code == 0, result.stderr
    assert f"excluded        NotifyFailure  ({NOTIFY_REASON})" in result.stderr.splitlines()


def test_the_configuration_names_it_without_leaving_the_others_out(tmp_path):
    (tmp_path / "sfn-cache.yaml").write_text("states:\n  NotifyFailure:\n    include: true\n")
    result = sfn_cache("wrap", EXAMPLE, "-o", tmp_path / "o.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert pulled(json.loads((tmp_path / "o.json").read_text())) == {
        "PrepareFeatures", "TrainModel", "EvaluateModel", "RegisterModel", "WriteReport", "NotifyFailure"}


def machine(tmp_path, states: dict, language: str = "JSONPath"):
    path = tmp_path / "m.asl.json"
    first = next(iter(states))
    names = list(states)
    for name, following in zip(names, names[1:] + [None]):
        states[name].update({"Next": following} if following else {"End": True})
    path.write_text(json.dumps({"QueryLanguage": language, "StartAt": first, "States": states}))
    return path


def test_writes_http_methods_and_child_executions(tmp_path):
    path = machine(tmp_path, {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": "t", "Item": {"id": {"S.$": "$.id"}}}},
        "SdkPut": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                   "Parameters": {"Bucket": "b", "Key.$": "$.id", "Body.$": "$"}},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": "t", "Key": {"id": {"S.$": "$.id"}}}},
        "Fetch": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                  "Parameters": {"ApiEndpoint": "https://example.com/x", "Method": "GET", "Authentication": {
                      "ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/1"},
                      "QueryParameters": {"id.$": "$.id"}}},
        "Post": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                 "Parameters": {"ApiEndpoint": "https://example.com/x", "Method": "POST", "Authentication": {
                     "ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/1"}, "RequestBody.$": "$"}},
        "Child": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                  "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:c",
                                 "Input.$": "$"}},
        "ChildSync": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                      "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:c",
                                     "Input.$": "$"}},
        "Query": {"Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
                  "Parameters": {"QueryString.$": "$.sql", "WorkGroup": "primary"}},
    })
    result = sfn_cache("explain", path, "--json", "--no-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reasons = {row["state"]: (row["action"], row["reason"]) for row in json.loads(result.stdout)}
    assert reasons == {
        "Put": ("excluded", "side effect: dynamodb:putItem; --include Put caches it anyway"),
        "SdkPut": ("excluded", "side effect: aws-sdk:s3:putObject; --include SdkPut caches it anyway"),
        "Get": ("wrapped", "wrapped"),
        "Fetch": ("wrapped", "wrapped"),
        "Post": ("excluded", "side effect: http:invoke with Method POST; --include Post caches it anyway"),
        "Child": ("excluded", "side effect: states:startExecution without .sync (the child runs on its own); "
                              "--include Child caches it anyway"),
        "ChildSync": ("wrapped", "wrapped"),
        "Query": ("wrapped", "wrapped"),
    }


def test_a_side_effect_written_with_intrinsics_in_a_sam_definition(tmp_path):
    template = tmp_path / "template.yaml"
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Machine:\n    Type: AWS::Serverless::StateMachine\n"
        "    Properties:\n      Definition:\n        StartAt: Save\n        States:\n          Save:\n"
        "            Type: Task\n            Resource: !Sub arn:${AWS::Partition}:states:::dynamodb:updateItem\n"
        "            Parameters: {TableName: !Ref Table, Key: {id: {'S.$': $.id}}}\n            Next: Tell\n"
        "          Tell:\n            Type: Task\n"
        "            Resource: !Join ['', ['arn:', !Ref AWS::Partition, ':states:::events:putEvents']]\n"
        "            Parameters: {Entries: [{'Detail.$': $, DetailType: done, Source: app}]}\n            End: true\n")
    result = sfn_cache("explain", template, "--json", "--no-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reasons = {row["state"]: row["reason"] for row in json.loads(result.stdout)}
    assert reasons == {"Save": "side effect: dynamodb:updateItem; --include Save caches it anyway",
                       "Tell": "side effect: events:putEvents; --include Tell caches it anyway"}


def test_a_key_that_holds_no_input_is_warned_about(tmp_path):
    path = machine(tmp_path, {
        "Static": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "report", "Payload": {"day": "monday"}}},
        "NoInput": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "InputPath": None},
        "Reads": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                  "Parameters": {"x.$": "$.x"}},
    })
    result = wrap(path, "--no-config", "-o", tmp_path / "o.json")
    assert result.exit_code == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if "holds no input" in line]
    assert warned == [
        f"warning: {path}: state 'Static': its cache key holds no input (its Parameters are all written in the "
        "definition): every execution gets the first result stored, until it expires (--ttl) or --cache-version "
        "changes",
        f"warning: {path}: state 'NoInput': its cache key holds no input (InputPath is null): every execution gets "
        "the first result stored, until it expires (--ttl) or --cache-version changes"]

    explained = sfn_cache("explain", path, "--no-config", "--output-format", "github", cwd=tmp_path)
    assert explained.returncode == 0, explained.stderr  # explain's findings hold the warnings wrap prints
    findings = [line.split("::", 2)[2] for line in explained.stdout.splitlines() if "holds no input" in line]
    assert ["warning: " + finding for finding in findings] == warned
    told = sfn_cache("explain", path, "--no-config", cwd=tmp_path)
    assert [line for line in told.stderr.splitlines() if "holds no input" in line] == warned


LOW_SCORES = '''
def _train_model(event):
    return {"model_uri": "s3://models/" + event["region"], "metrics": {"auc": 0.5}}

TASKS = {
    "train-model": _train_model,
    "evaluate-model": lambda model: {"model_uri": model["model_uri"], "metrics": model["metrics"]},
    "arn:aws:states:::glue:startJobRun.sync": lambda job: {"Id": "jr_1", "JobRunState": "SUCCEEDED"},
    "arn:aws:states:::sns:*": lambda message: {"MessageId": "local"},
}
'''


def test_the_failure_alert_is_sent_again_on_the_second_run(tmp_path):
    """The issue's reproduction: with scores under the bar, ``run --twice`` used to print
    ``NotifyFailure: cache hit: task skipped`` on the second run (the alert was not sent again)."""
    (tmp_path / "tasks.py").write_text(LOW_SCORES)
    result = sfn_cache("run", EXAMPLE, "--input", EXAMPLE.with_name("ml_pipeline.input.json"),
                       "--tasks", tmp_path / "tasks.py", "--twice", "--no-config", cwd=tmp_path)
    second = result.stdout[result.stdout.index("run 2 of"):]
    assert "TrainModel: cache hit: task skipped" in second  # the computations hit
    assert "NotifyFailure: entered" in second and "NotifyFailure: cache hit" not in result.stdout


def test_a_secret_read_is_not_cached_unless_named(tmp_path):
    """Secrets Manager's getSecretValue: a cached result would be a secret stored in the cache bucket."""
    path = machine(tmp_path, {
        "Secret": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:secretsmanager:getSecretValue",
                   "Parameters": {"SecretId.$": "$.secret"}},
        "Use": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:use"}})
    result = sfn_cache("explain", path, "--json", "--no-config", cwd=tmp_path)
    rows = {row["state"]: row for row in json.loads(result.stdout)}
    assert (rows["Secret"]["action"], rows["Secret"]["reason"]) == (
        "excluded", "reads a secret: aws-sdk:secretsmanager:getSecretValue (a cached result would be stored in the "
                    "cache bucket); --include Secret caches it anyway")
    assert rows["Use"]["action"] == "wrapped"
    named = wrap(path, "--no-config", "--include", "*", "--include", "Secret", "-o", tmp_path / "o.json")
    assert named.exit_code == 0, named.stderr
    assert pulled(json.loads((tmp_path / "o.json").read_text())) == {"Secret", "Use"}
    assert "cached although it reads a secret (aws-sdk:secretsmanager:getSecretValue)" in named.stderr
