"""The local engine follows AWS where moto's interpreter does not (sfn_cache/local/seams.py), each rule
checked against LocalStack's recordings made on real AWS or the AWS docs named in its test."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from sfn_cache.local.engine import CACHE_ARN, function_arn
from sfn_cache.local.session import local_session
from sfn_cache.local.tasks import TaskTable
from sfn_cache.local.verify import verify
from tests.support.cli import sfn_cache


def identity(event):
    return event


def doubled(event):
    return {"r": event["x"] * 2, "f": 1.0}


def oversized(event):
    return {"s": "é" * 140_000}  # 280,000 UTF-8 bytes: over the 256 KiB a task result may have


@pytest.fixture(scope="module")
def engine():
    """One local session (what verify and run use: stubbed services, the real caching handler)."""
    with local_session(TaskTable({}, [], {"identity": identity, "oversized": oversized, "f": doubled})) as session:
        yield session


START_CHILD = "arn:aws:states:::states:startExecution.sync"


def task(resource: str, parameters: dict | None = None, **fields) -> dict:
    return {"Type": "Task", "Resource": resource, **({"Parameters": parameters} if parameters else {}), **fields}


def one_state(state: dict, **top) -> dict:
    return {**top, "StartAt": "T", "States": {"T": {**state, "End": True}}}


def test_a_sync_task_of_a_callback_service_reads_its_task_token_the_same_in_every_run(engine):
    """Recording test_callback.snapshot.json, test_sync_with_task_token: a states:startExecution.sync task
    passes $$.Task.Token to its child (template sfn_start_execution_sync_with_task_token.json5) and
    succeeds. moto's stubbed services had no Task: the original failed like a pull that reads it."""
    definition = one_state(task(START_CHILD, {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:c",
                                              "Input": {"token.$": "$$.Task.Token"}}))
    first, second = engine.run(definition, {}), engine.run(definition, {})
    assert first.status == "SUCCEEDED", first.cause
    token = first.output["received"]["Input"]["token"]
    assert isinstance(token, str) and len(token) >= 32
    assert second.output == first.output  # verify runs the original twice and compares


def test_a_task_token_does_not_depend_on_the_state_before_it(engine):
    """The wrapped machine enters other states before a callback task (the corpus's
    sfn-textract-callback-ts-cdk: a dynamodb putItem.waitForTaskToken after a cached task); its token
    must read as the original's for verify to compare them."""
    tokens = []
    for before in ("textract", "cache_push_textract"):
        definition = {"StartAt": before, "States": {
            before: {"Type": "Pass", "Next": "Wait"},
            "Wait": task("arn:aws:states:::aws-sdk:dynamodb:putItem.waitForTaskToken",
                         {"Item": {"TT": {"S.$": "$$.Task.Token"}}}, End=True)}}
        tokens.append(engine.run(definition, {}).output["Item"]["TT"]["S"])
    assert tokens[0] == tokens[1]


@pytest.mark.parametrize("resource", [function_arn("identity"), "arn:aws:states:::lambda:invoke",
                                      "arn:aws:states:::glue:startJobRun.sync"])
def test_a_task_without_a_callback_has_no_task_token_and_reading_it_fails_uncatchably(engine, resource):
    """AWS docs, input-output-contextobject: the Task field exists for a task that has a token; a Lambda
    invoke, and a .sync task of a service without callbacks (Glue), have none. A path that selects
    nothing in Parameters is States.Runtime (docs: concepts-error-handling), which States.ALL does not
    catch."""
    parameters = {"FunctionName": "identity", "token.$": "$$.Task.Token"}
    definition = {"StartAt": "T", "States": {
        "T": task(resource, parameters, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], End=True),
        "Caught": {"Type": "Pass", "End": True}}}
    outcome = engine.run(definition, {})
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime")
    assert "'$$.Task.Token' specified for the field 'token.$' could not be found" in outcome.cause


def test_verify_sees_a_pull_that_reads_a_task_token_its_lambda_invoke_does_not_have(engine):
    """Issue 27 point 1: a .sync task reading $$.Task.Token succeeds on AWS (recording above); a pull in
    front of it is a plain Lambda invoke, whose Task is missing: the wrapped machine fails. verify called
    that identical while the stubbed original failed the same way."""
    parameters = {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:c",
                  "Input": {"token.$": "$$.Task.Token"}}
    original = one_state(task(START_CHILD, parameters))
    reads_the_token_in_its_pull = {"StartAt": "cache_pull_T", "States": {
        "cache_pull_T": task("arn:aws:states:::lambda:invoke", {"FunctionName": CACHE_ARN, "Payload": {
            "sfn_cache": "pull", "state": "T", "input": parameters}}, ResultPath=None, Next="T"),
        "T": {**task(START_CHILD, parameters), "End": True}}}
    verdict = verify(engine, "m", original, reads_the_token_in_its_pull, {}, "{}")
    assert verdict.difference is not None and verdict.difference.startswith("miss: $.status (\"FAILED\"")


MAP_OF_JSONATA = {"Type": "Map", "QueryLanguage": "JSONata", "Items": "{% $states.input.xs %}",
                  "ItemProcessor": {"StartAt": "Inner", "States": {}}}


def with_inner(inner: dict, language: str = "JSONPath") -> dict:
    the_map = {**MAP_OF_JSONATA, "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": {**inner, "End": True}}}}
    return {"QueryLanguage": language, "StartAt": "M", "States": {"M": {**the_map, "End": True}}}


def test_a_state_without_query_language_takes_the_machines_language_not_its_maps(engine):
    """AWS CDK docs (aws_stepfunctions State queryLanguage): a state without QueryLanguage "will use the
    query language specified in the top-level queryLanguage field"; the validation recording
    (test_sfn_api_validation.snapshot.json, INVALID_DOWNGRADE_QUERY_LANGUAGE) refuses a JSONPath state
    only when JSONata is "set ... for whole state machine". moto took the Map's JSONata and refused it."""
    outcome = engine.run(with_inner({"Type": "Pass", "Parameters": {"v.$": "$"}}), {"xs": [1, 2]})
    assert (outcome.status, outcome.output) == ("SUCCEEDED", [{"v": 1}, {"v": 2}])


def test_jsonata_fields_in_a_state_that_inherits_jsonpath_are_refused(engine):
    """The same rule the other way: inside a JSONata Map of a JSONPath machine, a state without
    QueryLanguage that carries Output is a JSONPath state with a JSONata field: CreateStateMachine
    refuses it (moto accepted it as JSONata)."""
    with pytest.raises(ClientError, match="Unsupported declaration"):
        engine.run(with_inner({"Type": "Pass", "Output": "{% $states.input %}"}), {"xs": [1]})


def test_a_jsonpath_state_in_a_jsonata_machine_is_refused(engine):
    """Recording test_sfn_api_validation.snapshot.json, INVALID_DOWNGRADE_QUERY_LANGUAGE."""
    with pytest.raises(ClientError, match="can not be 'JSONPath' if set to 'JSONata' for whole state machine"):
        engine.run(one_state({"Type": "Pass", "QueryLanguage": "JSONPath"}, QueryLanguage="JSONata"), {})


def raw_output(engine) -> str:
    return engine.client.describe_execution(executionArn=engine.last_execution_arn)["output"]


def test_jsonata_keeps_64_bit_integers_exact_and_writes_integral_doubles_as_integers(engine):
    """Issue 27 point 3 (Step Functions' JSONata: integers exact within 64 bits, other numbers doubles,
    1.0 written 1). jsonata-python read 2**60 + 1 as a double (...976) and wrote 1e300 as a 301-digit
    integer."""
    values = {"exact": 2**60 + 1, "ten": 10.0, "half": 0.5, "huge": 1e300, "past_64_bits": 12345678901234567890,
              "yes": True}
    outcome = engine.run(one_state({"Type": "Pass", "Output": "{% $states.input %}"}, QueryLanguage="JSONata"), values)
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert json.loads(raw_output(engine)) == outcome.output
    assert {key: (type(value).__name__, value) for key, value in outcome.output.items()} == {
        "exact": ("int", 1152921504606846977), "ten": ("int", 10), "half": ("float", 0.5),
        "huge": ("float", 1e300), "past_64_bits": ("float", 1.2345678901234567e19), "yes": ("bool", True)}


def test_jsonata_arithmetic_on_64_bit_integers_keeps_them_integers(engine):
    engine.run(one_state({"Type": "Pass", "Output": "{% $states.input.n + 1 %}"}, QueryLanguage="JSONata"), {"n": 41})
    assert raw_output(engine) == "42"


def test_a_jsonpath_lambda_task_keeps_number_text_as_written(engine):
    """Recording test_lambda_task.snapshot.json, test_invoke_json_values[0.0]: input 0.0 comes back 0.0."""
    outcome = engine.run(one_state(task(function_arn("identity"))), 0.0)
    assert outcome.status == "SUCCEEDED"
    assert raw_output(engine) == "0.0"
    engine.run(one_state(task(function_arn("identity"))), {"a": 10.0, "b": 10})
    assert raw_output(engine) == '{"a": 10.0, "b": 10}'


def test_a_jsonpath_read_of_a_variable_keeps_the_value_as_assigned(engine):
    """Issue 27 point 3. A JSONPath state reads a variable as it reads its input (recordings
    test_assign_reference_variables.snapshot.json, BASE_REFERENCE_IN_INPUTPATH, BASE_REFERENCE_IN_PARAMETERS
    and BASE_REFERENCE_IN_CHOICE: ``$theAnswer``, ``"result.$": "$result"``, ``Variable: "$guess"`` give the
    value assigned),
    and a JSONPath machine keeps number text as written (test_lambda_task.snapshot.json,
    test_invoke_json_values[0.0]). moto read variables through JSONata: 10.0 came back 10 and a value
    past 64 bits as a double."""
    values = {"ten": 10.0, "big": 2**60 + 1, "huge": 12345678901234567890}
    definition = {"StartAt": "Keep", "States": {
        "Keep": {"Type": "Pass", "Assign": {"v.$": "$"}, "Next": "Read"},
        "Read": {"Type": "Pass", "InputPath": "$v", "Next": "Select"},
        "Select": {"Type": "Pass", "Parameters": {"read.$": "$", "ten.$": "$v.ten", "big.$": "$v.big"},
                   "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [{"And": [
            {"Variable": "$v.huge", "NumericEqualsPath": "$.read.huge"},
            {"Variable": "$v.big", "NumericEqualsPath": "$.big"},
            {"Variable": "$v.ten", "NumericEquals": 10}], "Next": "Done"}], "Default": "Differs"},
        "Done": {"Type": "Pass", "End": True},
        "Differs": {"Type": "Fail", "Error": "Differs"}}}
    outcome = engine.run(definition, values)
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert raw_output(engine) == ('{"read": {"ten": 10.0, "big": 1152921504606846977, "huge": 12345678901234567890}, '
                                  '"ten": 10.0, "big": 1152921504606846977}')


CAUSE = "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit."


@pytest.mark.parametrize("state, named, failed_event", [
    (task(function_arn("oversized")), function_arn("oversized"), "LambdaFunctionFailed"),
    (task("arn:aws:states:::lambda:invoke", {"FunctionName": "oversized"}), "lambda", "TaskFailed"),
], ids=["function ARN", "lambda:invoke"])
def test_states_all_catches_a_lambda_result_over_the_quota(engine, state, named, failed_event):
    """Recording test_states_errors.snapshot.json,
    test_task_lambda_catch_state_all_data_limit_exceeded_on_large_utf8_response and
    test_service_task_lambada_catch_state_all_data_limit_exceeded_on_large_utf8_response: the task
    fails with States.DataLimitExceeded, the States.ALL catcher takes it, the execution succeeds.
    moto took the 280,000-byte result."""
    definition = {"StartAt": "T", "States": {
        "T": {**state, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}], "End": True},
        "Handle": {"Type": "Pass", "End": True}}}
    outcome = engine.run(definition, {})
    assert outcome.status == "SUCCEEDED"
    assert outcome.output == {"Error": "States.DataLimitExceeded", "Cause": CAUSE.format(named)}
    assert [event["type"] for event in engine.history()][4:7] == [failed_event, "TaskStateExited", "PassStateEntered"]


def test_verify_does_not_call_a_caught_data_limit_exceeded_a_problem(engine):
    """verify took every States.DataLimitExceeded for terminal; the recording above shows one caught."""
    definition = {"StartAt": "T", "States": {
        "T": task(function_arn("oversized"), Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Handle"}], End=True),
        "Handle": {"Type": "Pass", "End": True}}}
    verdict = verify(engine, "m", definition, definition, {}, "{}")
    assert (verdict.difference, verdict.problems) == (None, [])
    assert verdict.runs[0].outcome.output["Error"] == "States.DataLimitExceeded"


def test_verify_reports_a_miss_whose_jsonata_wrote_1_for_1_0(engine):
    """Issue 27 points 3 and 12: a JSONata state after a JSONPath task writes its 1.0 as 1 (rule above);
    verify compared outputs with Python's ==, for which 1.0 == 1, and called the two identical."""
    original = one_state({"Type": "Pass", "Result": {"v": 1.0}})
    through_jsonata = {"StartAt": "T", "States": {
        "T": {"Type": "Pass", "Result": {"v": 1.0}, "Next": "cache_push_T"},
        "cache_push_T": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input %}", "End": True}}}
    verdict = verify(engine, "m", original, through_jsonata, {}, "{}")
    assert verdict.difference == "miss: $.output.v (1, original 1.0)"


def test_a_jsonata_pass_without_output_passes_its_input_through_unchanged(engine):
    """docs/testing.md, settled rule 1 (docs: concepts-input-output-filtering, "Your state inputs will
    pass through as state output by default"): no JSONata expression, no JSONata number handling."""
    engine.run(one_state({"Type": "Pass"}, QueryLanguage="JSONata"), {"a": 1.0, "b": 2**60 + 1})
    assert raw_output(engine) == '{"a": 1.0, "b": 1152921504606846977}'


def test_a_jsonpath_tasks_assign_reads_the_raw_result_before_result_selector(engine):
    """docs/testing.md, settled rule 2 (LocalStack's evaluation order; recording
    BASE_EVALUATION_ORDER_PASS_STATE shows a Pass's Assign reading its Result)."""
    definition = {"StartAt": "T", "States": {
        "T": task(function_arn("identity"), ResultSelector={"r.$": "$.v"}, Assign={"seen.$": "$"}, Next="U"),
        "U": {"Type": "Pass", "Parameters": {"seen.$": "$seen"}, "End": True}}}
    assert engine.run(definition, {"v": 1, "w": 2}).output == {"seen": {"v": 1, "w": 2}}


def test_the_cli_session_undoes_the_jsonata_seams_on_exit():
    """verify and run patch jsonata-python for the session only (Patcher), staticmethods included."""
    from jsonata import tokenizer, utils

    from sfn_cache.local.seams import Patcher, install_jsonata_number_reading

    before, reader = vars(utils.Utils)["convert_number"], vars(tokenizer).get("float", float)  # (another session's)
    with Patcher() as patcher:
        install_jsonata_number_reading(patcher)
        assert utils.Utils.convert_number(2.0**70) == 2.0**70 and tokenizer.float("1") == 1
    assert vars(utils.Utils)["convert_number"] is before and tokenizer.float is reader


ASSIGN_AFTER_OUTPUT = {"StartAt": "Init", "States": {
    "Init": {"Type": "Pass", "Assign": {"v": 1}, "Next": "T"},
    "T": {"Type": "Task", "Resource": function_arn("f"), "ResultSelector": {"r.$": "$.r", "old.$": "$v"},
          "ResultPath": "$.res", "OutputPath": "$.res", "Assign": {"v.$": "$.r", "w.$": "$v"},
          "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Show"}], "Next": "Show"},
    "Show": {"Type": "Pass", "Parameters": {"in.$": "$", "v.$": "$v", "w.$": "$w"}, "End": True}}}


def test_a_states_fields_read_the_variables_as_of_entering_it_and_assign_lands_after_output(engine):
    """Issue 27 point 7. Recordings test_assign_reference_variables.snapshot.json:
    test_state_assign_evaluation_order[BASE_EVALUATION_ORDER_PASS_STATE] (State1's ``OutputPath: "$answer"``
    reads 42, the value before its own Assign; test below), BASE_ASSIGN_FROM_PARAMETERS (an Assign reads
    the old value of the variable it sets) and BASE_ASSIGN_FROM_LAMBDA_TASK_RESULT (a Task's Assign reads
    the raw result). moto wrote the Assign before ResultSelector, whose ``$v`` then read 6."""
    outcome = engine.run(ASSIGN_AFTER_OUTPUT, {"x": 3})
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output == {"in": {"r": 6, "old": 1}, "v": 6, "w": 1}


def test_verify_finds_a_cached_task_with_assign_and_result_selector_identical(tmp_path):
    """The cached form runs the Assign after the hit's Pass (as AWS orders it, test above); verify
    reported DIFFERENT ($.output.in.old 1, original 6) while the engine wrote the Assign early."""
    (tmp_path / "asg.json").write_text(json.dumps(ASSIGN_AFTER_OUTPUT))
    (tmp_path / "x3.json").write_text('{"x": 3}')
    (tmp_path / "tasks2.py").write_text('def f(event):\n    return {"r": event["x"] * 2, "f": 1.0}\n')
    result = sfn_cache("verify", "asg.json", "--input", "x3.json", "--tasks", "tasks2.py", cwd=tmp_path)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "identical" in result.stdout.lower() and "DIFFERENT" not in result.stdout


def test_the_recorded_evaluation_order_machine_outputs_the_value_before_its_own_assign(engine):
    """Recording test_assign_reference_variables.snapshot.json,
    test_state_assign_evaluation_order[BASE_EVALUATION_ORDER_PASS_STATE]: State1's output is 42 (its
    InputPath and OutputPath read ``$answer`` as of entering it) and its exit event assigns "<omitted>"."""
    definition = {"StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Result": {"theQuestion": "What is the answer to life the universe and everything?"},
                   "Assign": {"question.$": "$.theQuestion", "answer": 42}, "Next": "State1"},
        "State1": {"Type": "Pass", "InputPath": "$answer", "ResultPath": "$.theAnswer", "OutputPath": "$answer",
                   "Assign": {"answer": "<omitted>"}, "End": True}}}
    outcome = engine.run(definition, {})
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output == 42
    exited = [event["stateExitedEventDetails"] for event in engine.history() if "stateExitedEventDetails" in event]
    assert exited[-1]["assignedVariables"] == {"answer": '"<omitted>"'}
