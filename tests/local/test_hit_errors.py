"""Errors of result processing belong to the task's Catch, on a miss and on a hit (issue 19).

AWS (concepts-error-handling) raises, while a task's result is processed: States.ResultPathMatchFailure
(a ResultPath that cannot be applied to the input), States.IntrinsicFailure (an intrinsic function in
ResultSelector/Assign) and States.QueryEvaluationError (a JSONata Output/Assign). Each is the task's
own error: its Catch handles it. The cached form applies that processing in a generated state, which
must hand those errors to the same Catcher with the same error, cause, ResultPath and Assign.

The harness makes moto raise these errors as AWS does (sfn_cache/local/seams.py, install_aws_error_seams).
"""

from __future__ import annotations

import pytest

from sfn_cache.local.engine import CACHE_ARN, same_failure_in_generated_state
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition
from tests.support.machines import compute, machine, task

RESULT_PATH_MATCH_FAILURE = {"Error": "States.ResultPathMatchFailure",
                             "Cause": "Unable to apply ResultPath '$.a.b' to the state input"}


def wrapped(definition: dict, pattern: str) -> dict:
    result = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern))
    assert [t.action for t in result.tasks] == ["wrapped"] * len(result.tasks)
    return result.definition


def keyed_on_x(catcher: dict, **fields) -> dict:
    """The task of the issue: keyed on $.x, ResultPath $.a.b, one catcher leading to Handle."""
    return machine({
        "Work": task("compute", Parameters={"x.$": "$.x"}, ResultPath="$.a.b",
                     Catch=[{**catcher, "Next": "Handle"}], End=True, **fields),
        "Handle": {"Type": "Pass", "Parameters": {"handled.$": "$"}, "End": True},
    })


def run_hit_after_prime(engine, definition, pattern, prime, failing):
    """original(failing); wrapped miss(prime) stores x's result; wrapped hit(failing) must match."""
    cached = wrapped(definition, pattern)
    original = engine.run(definition, failing)
    engine.run(cached, prime)
    calls = engine.calls["compute"]
    hit = engine.run(cached, failing)
    assert engine.calls["compute"] == calls, "same key: served from the cache"
    assert hit == original
    return original


CATCHERS = [
    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err"},
    {"ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": "$.err"},
    {"ErrorEquals": ["States.ALL"]},
    {"ErrorEquals": ["States.ALL"], "ResultPath": None},
]


@pytest.mark.parametrize("pattern", ["variables", "classic"])
@pytest.mark.parametrize("catcher", CATCHERS)
def test_result_path_match_failure_on_a_hit_reaches_the_catch(make_engine, pattern, catcher):
    engine = make_engine({"compute": compute})
    definition = keyed_on_x(catcher)
    original = run_hit_after_prime(engine, definition, pattern, {"x": 1, "a": {}}, {"x": 1, "a": "str"})
    assert original.status == "SUCCEEDED"
    handled = original.output["handled"]
    if catcher.get("ResultPath", "$") == "$.err":
        assert handled == {"x": 1, "a": "str", "err": RESULT_PATH_MATCH_FAILURE}
    elif "ResultPath" in catcher:
        assert handled == {"x": 1, "a": "str"}
    else:
        assert handled == RESULT_PATH_MATCH_FAILURE


@pytest.mark.parametrize("pattern", ["variables", "classic"])
def test_result_path_match_failure_on_a_miss_reaches_the_catch(make_engine, pattern):
    """The classic pattern applies ResultPath after the task on a miss too (cache_out_T)."""
    engine = make_engine({"compute": compute})
    definition = keyed_on_x({"ErrorEquals": ["States.ALL"], "ResultPath": "$.err"})
    cached = wrapped(definition, pattern)
    original = engine.run(definition, {"x": 1, "a": "str"})
    miss = engine.run(cached, {"x": 1, "a": "str"})
    hit = engine.run(cached, {"x": 1, "a": "str"})
    assert original.output == {"handled": {"x": 1, "a": "str", "err": RESULT_PATH_MATCH_FAILURE}}
    assert miss == original and hit == original


@pytest.mark.parametrize("pattern", ["variables", "classic"])
def test_a_catch_that_cannot_match_keeps_the_cheap_hit_and_fails_alike(make_engine, pattern):
    engine = make_engine({"compute": compute})
    definition = keyed_on_x({"ErrorEquals": ["Job.Failed"]})
    cached = wrapped(definition, pattern)
    assert cached["States"]["cache_hit_Work"]["Type"] == "Pass"
    original = engine.run(definition, {"x": 1, "a": "str"})
    engine.run(cached, {"x": 1, "a": {}})
    hit = engine.run(cached, {"x": 1, "a": "str"})
    assert (original.status, original.error) == ("FAILED", "States.ResultPathMatchFailure")
    if pattern == "variables":
        assert hit == original
    else:  # the documented difference of the classic pattern: the cause names the re-rooted path
        assert (hit.status, hit.error) == (original.status, original.error)
        assert hit.cause == original.cause.replace("'$.a.b'", "'$.input.a.b'")


def test_catcher_assign_and_the_tasks_assign(make_engine):
    """Variables pattern: the catcher's Assign runs on an error, the task's Assign on success.

    (Whether the task's own Assign is also applied when its ResultPath fails is not compared: moto
    applies it before ResultPath and keeps it; AWS applies a state's Assign only when it succeeds.)"""
    engine = make_engine({"compute": compute})
    definition = machine({
        "Init": {"Type": "Pass", "Assign": {"zed": "unset", "why": "none"}, "Next": "Work"},
        "Work": task("compute", Parameters={"x.$": "$.x"}, ResultSelector={"first.$": "$.items[0]"},
                     ResultPath="$.a.b", Assign={"zed.$": "$.z"},
                     Catch=[{"ErrorEquals": ["States.ALL"], "Assign": {"why.$": "$.Error"}, "ResultPath": "$.err",
                             "Next": "Read"}], Next="Read"),
        "Read": {"Type": "Pass", "Parameters": {"why.$": "$why", "in.$": "$"}, "End": True},
    })
    caught = run_hit_after_prime(engine, definition, "variables", {"x": 1, "a": {}}, {"x": 1, "a": "str"})
    assert caught.output == {"why": "States.ResultPathMatchFailure",
                             "in": {"x": 1, "a": "str", "err": RESULT_PATH_MATCH_FAILURE}}
    definition["States"]["Read"]["Parameters"]["zed.$"] = "$zed"
    fine = engine.run(wrapped(definition, "variables"), {"x": 1, "a": {}})
    assert fine == engine.run(definition, {"x": 1, "a": {}})
    assert fine.output == {"why": "none", "zed": 2, "in": {"x": 1, "a": {"b": {"first": 1}}}}


def test_jsonata_assign_that_fails_on_a_hit_reaches_the_catch(make_engine):
    engine = make_engine({"compute": compute})
    definition = {"QueryLanguage": "JSONata", "StartAt": "Work", "States": {
        "Work": task("compute", Arguments={"x": "{% $states.input.x %}"},
                     Assign={"total": "{% $states.result.z + $states.input.n %}"},
                     Output={"z": "{% $states.result.z %}"},
                     Catch=[{"ErrorEquals": ["States.QueryEvaluationError"],
                             "Assign": {"why": "{% $states.errorOutput.Error %}"},
                             "Output": {"in": "{% $states.input %}", "error": "{% $states.errorOutput %}"},
                             "Next": "Read"}], Next="Read"),
        "Read": {"Type": "Pass", "Output": {"seen": "{% $states.input %}", "why": "{% $exists($why) ? $why : 'none' %}",
                                            "total": "{% $exists($total) ? $total : 'none' %}"}, "End": True}}}
    caught = run_hit_after_prime(engine, definition, "variables", {"x": 1, "n": 1}, {"x": 1, "n": "str"})
    assert caught.output["why"] == "States.QueryEvaluationError"
    assert caught.output["seen"]["in"] == {"x": 1, "n": "str"}
    assert caught.output["total"] == "none"
    fine = engine.run(wrapped(definition, "variables"), {"x": 1, "n": 1})
    assert fine.output == {"seen": {"z": 2}, "why": "none", "total": 3}


def test_jsonata_output_that_fails_on_a_hit_reaches_the_catch(make_engine):
    engine = make_engine({"compute": compute})
    definition = {"QueryLanguage": "JSONata", "StartAt": "Work", "States": {
        "Work": task("compute", Arguments={"x": "{% $states.input.x %}"},
                     Output={"sum": "{% $states.result.z + $states.input.n %}"},
                     Catch=[{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Done"}],
                     Next="Done"),
        "Done": {"Type": "Pass", "End": True}}}
    caught = run_hit_after_prime(engine, definition, "variables", {"x": 1, "n": 1}, {"x": 1, "n": "str"})
    assert caught.status == "SUCCEEDED"
    assert caught.output["Error"] == "States.QueryEvaluationError"
    assert engine.run(wrapped(definition, "variables"), {"x": 1, "n": 1}).output == {"sum": 3}


def test_the_catching_hit_costs_one_more_state_only_where_a_catch_could_match(make_engine):
    engine = make_engine({"compute": compute})
    definition = keyed_on_x({"ErrorEquals": ["States.ALL"], "ResultPath": "$.err"})
    cached = wrapped(definition, "variables")
    assert cached["States"]["cache_hit_Work"]["Type"] == "Parallel"
    engine.run(definition, {"x": 1, "a": {}})
    original = engine.state_transitions()
    engine.run(cached, {"x": 1, "a": {}})
    engine.run(cached, {"x": 1, "a": {}})
    # the force reader (once per execution), pull, choice, and the Parallel's branch; a Pass hit: 3
    assert engine.state_transitions() - original == 4


@pytest.mark.parametrize("pattern", ["variables", "classic"])
def test_output_path_missing_on_a_hit_is_the_documented_difference(make_engine, pattern):
    """README known differences 2 and 3: States.Runtime names the generated state (classic: and the
    path re-rooted under $.input); status, error and everything else are the original's."""
    engine = make_engine({"compute": compute})
    definition = machine({"Work": task("compute", Parameters={"x.$": "$.x"}, ResultPath="$.r",
                                       OutputPath="$.finalresponse.body", End=True)})
    cached = wrapped(definition, pattern)
    original = engine.run(definition, {"x": 1})
    miss = engine.run(cached, {"x": 1})
    engine.run(cached, {"x": 1, "finalresponse": {"body": "b"}})  # stores x's result (classic stored it already)
    hit = engine.run(cached, {"x": 1})
    assert engine.calls["compute"] == 2 + (pattern == "variables")
    assert (original.status, original.error) == ("FAILED", "States.Runtime")
    assert "'$.finalresponse.body'" in original.cause and "state 'Work'" in original.cause
    for outcome, state in ((miss, "cache_out_Work" if pattern == "classic" else "Work"), (hit, "cache_hit_Work")):
        assert outcome == original or same_failure_in_generated_state(outcome, original)
        assert f"state '{state}'" in outcome.cause
        assert ("'$.input.finalresponse.body'" in outcome.cause) == (pattern == "classic" and state != "Work")
