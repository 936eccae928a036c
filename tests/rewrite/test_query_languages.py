"""Issue 27 point 2: a state without QueryLanguage takes the machine's top-level language, never an
enclosing Map's or Parallel's, and every generated state's fields are legal for its own language.

AWS: "If the state does not contain a queryLanguage field, then it will use the query language specified
in the top-level queryLanguage field" (CDK aws_stepfunctions StateBaseProps / MapJsonataProps
``query_language``); "If JSONata is specified at the top level, JSONPath cannot be used in the state
machine definition" (CDK QueryLanguage). Fields per language: AWS Step Functions developer guide,
"Transforming data with JSONata" (JSONPath's InputPath/Parameters/ResultSelector/ResultPath/OutputPath
become Arguments/Output). LocalStack's recorded mixed-language flows
(tests/aws/services/stepfunctions/v2/query_language/test_mixed_query_language.py, validated against AWS)
run JSONPath and JSONata states side by side in one machine.
"""

from __future__ import annotations

import pytest

from sfn_cache.errors import SfnCacheError
from sfn_cache.local.engine import CACHE_ARN, function_arn
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition
from tests.support.cli import wrap

JSONPATH_FIELDS = {"InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "ItemsPath",
                   "TimeoutSecondsPath", "HeartbeatSecondsPath"}
JSONATA_FIELDS = {"Arguments", "Output", "Items"}


def illegal_fields(definition: dict, top: str | None = None) -> list[str]:
    """Every (state, field) whose field its state's own language does not have, read as AWS reads it."""
    top = top or definition.get("QueryLanguage", "JSONPath")
    found = []
    for name, state in definition["States"].items():
        language = state.get("QueryLanguage", top)
        other = JSONATA_FIELDS if language == "JSONPath" else JSONPATH_FIELDS
        holders = [state] + list(state.get("Catch") or []) + list(state.get("Choices") or [])
        for holder in holders:
            found += [f"{name}.{key} ({language})" for key in sorted(other & set(holder))]
        for rule in state.get("Choices") or []:
            if ("Condition" in rule) != (language == "JSONata"):
                found.append(f"{name}.Choices ({language})")
        for branch in state.get("Branches") or []:
            found += illegal_fields(branch, top)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                found += illegal_fields(state[key], top)
    return found


def jsonata_map_in_jsonpath_machine(inner_task: dict) -> dict:
    return {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "QueryLanguage": "JSONata", "Items": "{% $states.input.values %}",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work", "States": {"Work": inner_task}},
        "End": True}}}


CASES = {
    "jsonpath task (no QueryLanguage) in a JSONata Map": {
        "Type": "Task", "Resource": function_arn("work"), "Parameters": {"v.$": "$"},
        "ResultSelector": {"r.$": "$.r"}, "ResultPath": "$.out", "End": True},
    "jsonpath task with a Catch in a JSONata Map": {
        "Type": "Task", "Resource": function_arn("work"), "ResultPath": "$.out", "Assign": {"a.$": "$.r"},
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Failed"}], "Next": "Ok"},
    "jsonata task in a JSONata Map": {
        "Type": "Task", "QueryLanguage": "JSONata", "Resource": function_arn("work"),
        "Arguments": {"v": "{% $states.input %}"}, "Output": "{% $states.result.r %}", "End": True},
    "jsonata task with a Catch in a JSONata Map": {
        "Type": "Task", "QueryLanguage": "JSONata", "Resource": function_arn("work"),
        "Output": "{% $states.result.r %}",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Failed"}],
        "Next": "Ok"},
}


@pytest.mark.parametrize("pattern", ["variables", "classic"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_states_are_legal_for_their_own_language(case, pattern):
    inner = dict(CASES[case])
    definition = jsonata_map_in_jsonpath_machine(inner)
    if "Catch" in inner:
        definition["States"]["Each"]["ItemProcessor"]["States"].update(
            {"Failed": {"Type": "Fail", "Error": "X"}, "Ok": {"Type": "Succeed"}})
    try:
        result = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern))
    except SfnCacheError as error:
        assert pattern == "classic", error
        return
    assert [t.action for t in result.tasks if t.state == "Work"] in (["wrapped"], ["refused"])
    assert illegal_fields(result.definition) == []
    inner_states = result.definition["States"]["Each"]["ItemProcessor"]["States"]
    assert inner_states["Work"].get("QueryLanguage") == inner.get("QueryLanguage"), "T keeps its language"


def test_a_jsonpath_task_in_a_jsonata_map_is_cached_as_jsonpath():
    """Its pull reads T's input with Parameters (JSONPath), not Arguments."""
    definition = jsonata_map_in_jsonpath_machine(CASES["jsonpath task (no QueryLanguage) in a JSONata Map"])
    wrapped = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN)).definition
    inner = wrapped["States"]["Each"]["ItemProcessor"]["States"]
    assert "Parameters" in inner["cache_pull_Work"] and "QueryLanguage" not in inner["cache_pull_Work"]
    assert inner["cache_hit_Work"]["Parameters"] == {"r.$": "$.r"}


def test_a_definition_aws_would_reject_is_refused(tmp_path):
    """A JSONPath state (by the top-level rule) carrying Output: exit 2, one line, no output written."""
    bad = jsonata_map_in_jsonpath_machine({"Type": "Pass", "Output": "{% 1 %}", "End": True})
    bad["States"]["Each"]["Next"] = "Work2"
    del bad["States"]["Each"]["End"]
    bad["States"]["Work2"] = {"Type": "Task", "Resource": function_arn("w"), "End": True}
    path = tmp_path / "m.json"
    import json
    path.write_text(json.dumps(bad))
    result = wrap(path)
    assert result.exit_code == 2
    assert "Output" in result.stderr and "'Work'" in result.stderr and result.stdout == ""


def test_jsonpath_state_in_a_jsonata_machine_is_refused():
    definition = {"QueryLanguage": "JSONata", "StartAt": "W", "States": {"W": {
        "Type": "Task", "QueryLanguage": "JSONPath", "Resource": function_arn("w"), "End": True}}}
    with pytest.raises(SfnCacheError, match="JSONPath in a JSONata state machine"):
        wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN))
