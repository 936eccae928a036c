"""Context-object reads after the task (ResultSelector, OutputPath, Assign, Output): a hit evaluates
them in a generated state, so each field of the context object (AWS: input-output-contextobject) is
either the same there or leaves the task uncached unless --allow-context-reads says otherwise.

Fields that describe the execution (Execution.*, StateMachine.*) are checked by value: the task's read
must equal what a later state of the same execution reads directly, on a miss and on a hit served to
a *different* execution than the one that stored the result (a stale value would show).
"""

from __future__ import annotations

import pytest

from sfn_cache.errors import SfnCacheError
from sfn_cache.local.engine import CACHE_ARN, CACHE_FUNCTION
from sfn_cache.rewrite.context_reads import differing_context_reads
from sfn_cache.rewrite.options import StateRule, WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition
from tests.support.machines import compute, machine, task

# Executed below. Execution.StartTime, RedriveCount and RedriveTime are not: moto keeps StartTime as a
# Python datetime that fails the original execution too ("Object of type datetime is not JSON
# serializable"; AWS gives ISO 8601 text) and has no redrive fields. They are Execution fields like the
# others, which test_which_jsonpath_reads_count checks wrap treats alike.
SAME_ON_A_HIT = ["Execution.Id", "Execution.Name", "Execution.Input", "Execution.RoleArn",
                 "StateMachine.Id", "StateMachine.Name"]
DIFFERING = ["State.Name", "State.EnteredTime", "State.RetryCount", "Task.Token"]


def jsonpath_reader(field: str, where: str) -> dict:
    """Work reads ``$$.<field>`` after the task (in ``where``); Read reads it directly afterwards."""
    work = task("compute", Parameters={"x.$": "$.x"}, ResultPath="$.out", Next="Read")
    if where == "ResultSelector":
        work["ResultSelector"] = {"seen.$": f"$$.{field}"}
        later = "$.out.seen"
    else:
        work["Assign"] = {"seen.$": f"$$.{field}"}
        later = "$seen"
    return machine({"Work": work, "Read": {"Type": "Pass", "Parameters": {
        "task.$": later, "direct.$": f"$$.{field}"}, "End": True}})


def jsonata_reader(field: str, where: str) -> dict:
    work = task("compute", Arguments={"x": "{% $states.input.x %}"}, Next="Read")
    if where == "Output":
        work["Output"] = {"seen": "{% $states.context." + field + " %}"}
        later = "{% $states.input.seen %}"
    else:
        work["Assign"] = {"seen": "{% $states.context." + field + " %}"}
        later = "{% $seen %}"
    return {"QueryLanguage": "JSONata", "StartAt": "Work", "States": {
        "Work": work, "Read": {"Type": "Pass", "Output": {"task": later,
                                                          "direct": "{% $states.context." + field + " %}"},
                               "End": True}}}


def wrapped(definition: dict, pattern: str = "variables", **options) -> dict:
    result = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern, **options))
    assert [t.action for t in result.tasks] == ["wrapped"]
    return result.definition


CASES = ([("JSONPath", where) for where in ("ResultSelector", "Assign")]
         + [("JSONata", where) for where in ("Output", "Assign")])


@pytest.mark.parametrize("language,where", CASES)
@pytest.mark.parametrize("field", SAME_ON_A_HIT)
def test_execution_fields_read_after_the_task_are_the_current_executions(make_engine, field, language, where):
    engine = make_engine({"compute": compute})
    definition = (jsonpath_reader if language == "JSONPath" else jsonata_reader)(field, where)
    cached = wrapped(definition)
    outcomes = {}
    for label, document, name in (("original", definition, "first"), ("miss", cached, "first"),
                                  ("hit", cached, "second")):
        before = engine.calls["compute"]
        outcome = engine.run(document, {"x": 1}, execution_name=name)
        assert outcome.status == "SUCCEEDED", (label, outcome)
        assert outcome.output["task"] == outcome.output["direct"], label
        outcomes[label] = (outcome, engine.calls["compute"] - before)
    assert outcomes["miss"][1] == 1 and outcomes["hit"][1] == 0, "the second execution is served from the cache"
    assert engine.calls[CACHE_FUNCTION] == 3  # pull + push on the miss, pull on the hit
    if field == "Execution.Name":
        assert outcomes["hit"][0].output["task"] == "second"


@pytest.mark.parametrize("language,where", CASES)
@pytest.mark.parametrize("field", DIFFERING)
def test_state_and_task_fields_leave_the_task_uncached_with_a_warning(field, language, where):
    definition = (jsonpath_reader if language == "JSONPath" else jsonata_reader)(field, where)
    read = definition["States"]["Read"]
    read.pop("End")
    read["Next"] = "Other"
    definition["States"]["Other"] = task("compute", End=True)  # one cacheable task: the refusal is a warning
    result = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN), "m.json")
    report = result.tasks[0]
    written = f"$$.{field}" if language == "JSONPath" else f"$states.context.{field}"
    assert report.action == "refused"
    assert written in report.reason and "--allow-context-reads 'Work'" in report.reason
    assert any(written in w and "--allow-context-reads" in w for w in result.warnings)
    assert result.definition["States"]["Work"] == definition["States"]["Work"]
    assert [t.action for t in result.tasks] == ["refused", "wrapped"]


@pytest.mark.parametrize("definition,expected", [
    ({"ResultSelector": {"a.$": "$$"}}, ["$$"]),
    ({"ResultSelector": {"a.$": "States.Format('{}', $$.State.Name)"}}, ["$$.State.Name"]),
    ({"OutputPath": "$$.State"}, ["$$.State"]),
    ({"Assign": {"n": {"deep.$": "$$.Task.Token"}, "ok.$": "$$.Execution.Id"}}, ["$$.Task.Token"]),
    ({"Parameters": {"p.$": "$$.State.Name"}, "ResultPath": "$.r"}, []),  # before the task: T's own
    ({"ResultSelector": {"a.$": "$$.Execution.StartTime", "b.$": "$$.Execution.RedriveCount",
                         "c.$": "$$.Execution.RedriveTime", "d.$": "$$.Map.Item.Value"}}, []),
    ({"ResultSelector": {"a.$": "$$.State.EnteredTime", "b.$": "$$.State.RetryCount"}},
     ["$$.State.EnteredTime", "$$.State.RetryCount"]),
])
def test_which_jsonpath_reads_count(definition, expected):
    assert differing_context_reads(definition, "JSONPath") == expected


@pytest.mark.parametrize("definition,expected", [
    ({"Output": "{% $states %}"}, ["$states"]),
    ({"Output": "{% $states.context %}"}, ["$states.context"]),
    ({"Assign": {"a": "{% $states.context.Map.Item.Index %}", "b": "{% $states.input.x %}"}}, []),
    ({"Arguments": {"a": "{% $states.context.State.Name %}"}}, []),
    ({"Output": "plain $states.context.State.Name text"}, []),
])
def test_which_jsonata_reads_count(definition, expected):
    assert differing_context_reads(definition, "JSONata") == expected


def test_classic_pattern_counts_every_context_read_in_result_selector(make_engine):
    """Classic caches the selected result: a hit would serve the storing execution's Execution.Id."""
    definition = jsonpath_reader("Execution.Id", "ResultSelector")
    with pytest.raises(SfnCacheError, match=r"state 'Work': no task can be cached: reads \$\$\.Execution\.Id"):
        wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN, pattern="classic"), "m.json")
    forced = wrapped(definition, pattern="classic", allow_context_reads=True)
    engine = make_engine({"compute": compute})
    engine.run(forced, {"x": 1}, execution_name="first")
    hit = engine.run(forced, {"x": 1}, execution_name="second")
    assert engine.calls["compute"] == 1
    assert hit.output["task"] != hit.output["direct"], "the documented reason: a stale value"


@pytest.mark.parametrize("language", ["JSONPath", "JSONata"])
def test_allow_context_reads_caches_and_reads_the_hit_states_name(make_engine, language):
    definition = (jsonpath_reader if language == "JSONPath" else jsonata_reader)(
        "State.Name", "ResultSelector" if language == "JSONPath" else "Output")
    cached = wrapped(definition, rules=(StateRule(pattern="Work", allow_context_reads=True),))
    engine = make_engine({"compute": compute})
    original = engine.run(definition, {"x": 1})
    miss = engine.run(cached, {"x": 1})
    hit = engine.run(cached, {"x": 1})
    assert original.output["task"] == miss.output["task"] == "Work"
    assert hit.output["task"] == "cache_hit_Work", "the documented difference of --allow-context-reads"
    assert engine.calls["compute"] == 2
