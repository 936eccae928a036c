"""The one rule: a wrapped machine returns exactly what the original returns, on a miss and on a hit.

Each case runs the original, the wrapped machine (cache miss), and the wrapped machine again (cache
hit, the user's task function must not run), in moto's ASL interpreter, and compares status, output,
error and cause. Variables are compared by reading them in a later state of the definition itself.
Where a case's output is easy to state by hand, it is also checked against that literal, so an
equivalence between two wrong answers cannot pass.
"""

from __future__ import annotations

import copy
import itertools

import pytest

from sfn_cache.local.engine import TaskFailure, function_arn
from sfn_cache.rewrite.options import StateRule
from tests.support.machines import PATTERN, cached, compute, machine, run_three_ways, task  # noqa: F401


@pytest.fixture(autouse=True, params=["variables", "classic"])
def pattern(request):
    """Every case in this module runs against both cached forms."""
    PATTERN["current"] = request.param
    yield request.param
    PATTERN["current"] = "variables"


# --- input and output processing ----------------------------------------------------------------

INPUT_PATHS = [None, "$.payload"]
PARAMETERS = [None, {"x.$": "$.x", "static": 1, "nested": {"x.$": "$.x"}}]
RESULT_SELECTORS = [None, {"y.$": "$.y", "first.$": "$.items[0]"}]
RESULT_AND_OUTPUT_PATHS = [  # OutputPath must select something that exists for that ResultPath
    ("<absent>", None), ("<absent>", "$.y"), ("$", None), ("$", "$.y"),
    ("$.result", None), ("$.result", "$.result"), (None, None), (None, "$.keep"),
]


@pytest.mark.parametrize("input_path,parameters,result_selector,paths", itertools.product(
    INPUT_PATHS, PARAMETERS, RESULT_SELECTORS, RESULT_AND_OUTPUT_PATHS))
def test_input_output_processing(make_engine, input_path, parameters, result_selector, paths):
    result_path, output_path = paths
    state = task("compute", End=True)
    if input_path:
        state["InputPath"] = input_path
    if parameters:
        state["Parameters"] = parameters
    if result_selector:
        state["ResultSelector"] = result_selector
    if result_path != "<absent>":
        state["ResultPath"] = result_path
    if output_path:
        state["OutputPath"] = output_path
    engine = make_engine({"compute": compute})
    execution_input = {"x": 1, "keep": "k", "payload": {"x": 2, "keep": "p"}}
    original, hit_calls = run_three_ways(engine, machine({"Work": state}), execution_input)
    assert original.status == "SUCCEEDED"
    assert hit_calls == {}


@pytest.mark.parametrize("field", ["InputPath", "OutputPath"])
def test_null_input_and_output_paths_mean_an_empty_object(make_engine, field):
    """``"InputPath": null`` gives the task {} (not the whole input); ``"OutputPath": null`` outputs {}.
    The classic pattern once read null as absent: the task saw the whole input and that was cached."""
    engine = make_engine({"compute": compute})
    definition = machine({"Work": task("compute", **{field: None}, ResultPath="$.r", Next="Read"),
                          "Read": {"Type": "Pass", "End": True}})
    original, hit_calls = run_three_ways(engine, definition, {"x": 1})
    expected = {"x": 1, "r": compute({})} if field == "InputPath" else {}
    assert original.output == expected
    assert hit_calls == {}


def test_result_path_merges_selected_result_into_current_input(make_engine):
    definition = machine({"Work": task("compute", Parameters={"x.$": "$.x"},
                                       ResultSelector={"first.$": "$.items[0]"},
                                       ResultPath="$.out", End=True)})
    engine = make_engine({"compute": compute})
    original, hit_calls = run_three_ways(engine, definition, {"x": 5, "other": "o"})
    assert original.output == {"x": 5, "other": "o", "out": {"first": 1}}
    assert hit_calls == {}


@pytest.mark.parametrize("execution_input", [[1, 2, 3], "text", 42, 3.5, True, None, {"a": [{"b": None}]}])
def test_non_object_inputs(make_engine, execution_input):
    engine = make_engine({"double": lambda event: [event, event]})
    definition = machine({"Work": task("double", End=True)})
    original, hit_calls = run_three_ways(engine, definition, execution_input)
    expected_input = {} if execution_input is None else execution_input
    assert original.output == [expected_input, expected_input]
    assert hit_calls == {}


def test_result_path_on_a_non_object_input_fails_the_same_way(make_engine, pattern):
    engine = make_engine({"compute": compute})
    definition = machine({"Work": task("compute", ResultPath="$.result", End=True)})
    if pattern == "variables":
        original, _ = run_three_ways(engine, definition, "just a string")
        assert original.status == "FAILED"
    else:
        # The classic pattern applies T's ResultPath in cache_out_T, a Pass. moto reports this
        # failure (an internal TypeError) as error "Exception" from a Task but "States.Runtime" from
        # a Pass, where AWS reports States.Runtime for both; so only the outcome is compared here.
        original = engine.run(definition, "just a string")
        wrapped = engine.run(cached(definition), "just a string")
        assert (original.status, wrapped.status) == ("FAILED", "FAILED")
        assert engine.calls["compute"] == 2


# --- what the key is made of ---------------------------------------------------------------------

def test_changed_static_parameter_misses(make_engine):
    engine = make_engine({"compute": compute})
    first = machine({"Work": task("compute", Parameters={"x.$": "$.x", "threshold": 1}, End=True)})
    second = copy.deepcopy(first)
    second["States"]["Work"]["Parameters"]["threshold"] = 2
    run_three_ways(engine, first, {"x": 1})
    calls = engine.calls["compute"]
    outcome = engine.run(cached(second), {"x": 1})
    assert engine.calls["compute"] == calls + 1, "a changed static parameter must miss"
    assert outcome.output == compute({"x": 1, "threshold": 2})


def test_fields_outside_the_key_are_never_stale(make_engine):
    engine = make_engine({"compute": compute})
    definition = machine({"Work": task("compute", Parameters={"x.$": "$.x"}, ResultPath="$.out",
                                       End=True)})
    run_three_ways(engine, definition, {"x": 1, "note": "first"})
    calls = engine.calls["compute"]
    hit = engine.run(cached(definition), {"x": 1, "note": "second"})
    assert engine.calls["compute"] == calls, "same key: must hit"
    assert hit.output == {"x": 1, "note": "second", "out": compute({"x": 1})}


def test_changed_resource_misses(make_engine):
    engine = make_engine({"compute": compute, "other": compute})
    run_three_ways(engine, machine({"Work": task("compute", End=True)}), {"x": 1})
    engine.run(cached(machine({"Work": task("other", End=True)})), {"x": 1})
    assert engine.calls["other"] == 1


def test_key_paths_choose_the_key_fields(make_engine):
    engine = make_engine({"stamp": lambda event: {"x": event["x"]}})
    definition = machine({"Work": task("stamp", Parameters={"x.$": "$.x", "started.$": "$$.Execution.StartTime"},
                                       ResultPath="$.out", End=True)})
    wrapped = cached(definition, rules=(StateRule(pattern="Work", key_paths=("$.x",)),))
    first = engine.run(wrapped, {"x": 7})
    second = engine.run(wrapped, {"x": 7, "y": 1})
    assert engine.calls["stamp"] == 1
    assert second.output == {"x": 7, "y": 1, "out": {"x": 7}}
    assert first.output == {"x": 7, "out": {"x": 7}}


def test_cache_version_is_part_of_the_key(make_engine):
    engine = make_engine({"compute": compute})
    definition = machine({"Work": task("compute", End=True)})
    engine.run(cached(definition, cache_version="1"), {"x": 1})
    engine.run(cached(definition, cache_version="1"), {"x": 1})
    assert engine.calls["compute"] == 1
    engine.run(cached(definition, cache_version="2"), {"x": 1})
    assert engine.calls["compute"] == 2


# --- errors, Retry and Catch ---------------------------------------------------------------------

def test_retry_behaves_the_same(make_engine):
    attempts = []

    def flaky(event):
        attempts.append(event)
        if len(attempts) % 2 == 1:
            raise TaskFailure("Flaky.Transient", "try again")
        return {"ok": event["n"]}

    engine = make_engine({"flaky": flaky})
    definition = machine({"Work": task("flaky", Retry=[{"ErrorEquals": ["Flaky.Transient"],
                                                        "IntervalSeconds": 1, "MaxAttempts": 2}],
                                       End=True)})
    original, hit_calls = run_three_ways(engine, definition, {"n": 3})
    assert original.output == {"ok": 3}
    assert len(attempts) == 4, "two attempts in the original run, two on the miss, none on the hit"
    assert hit_calls == {}


def failing(event):
    raise TaskFailure("Job.Failed", f"bad input {event}")


def test_failed_task_is_never_cached_and_catch_still_works(make_engine):
    engine = make_engine({"job": failing, "handle": lambda event: {"handled": event}})
    definition = machine({
        "Work": task("job", Catch=[{"ErrorEquals": ["Job.Failed"], "ResultPath": "$.error", "Next": "Handle"}],
                     Next="Done"),
        "Handle": task("handle", End=True),
        "Done": {"Type": "Succeed"},
    })
    original, _ = run_three_ways(engine, definition, {"n": 1})
    assert original.status == "SUCCEEDED"
    assert original.output["handled"]["error"]["Error"] == "Job.Failed"
    assert engine.calls["job"] == 3, "the failing task runs every time: failures are not cached"


def test_uncaught_failure_fails_the_same_way(make_engine):
    engine = make_engine({"job": failing})
    original, _ = run_three_ways(engine, machine({"Work": task("job", End=True)}), {"n": 1})
    assert (original.status, original.error) == ("FAILED", "Job.Failed")


def test_catch_result_path_into_a_handler_also_reached_normally(make_engine):
    def maybe_fail(event):
        if event.get("fail"):
            raise TaskFailure("Job.Failed", "asked to fail")
        return {"value": event["v"]}

    engine = make_engine({"job": maybe_fail, "report": lambda event: {"report": event}})
    definition = machine({
        "Work": task("job", ResultPath="$.result",
                     Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Report"}],
                     Next="Report"),
        "Report": task("report", End=True),
    })
    ok, hit_calls = run_three_ways(engine, definition, {"v": 1})
    assert ok.output == {"report": {"v": 1, "result": {"value": 1}}}
    assert hit_calls == {}
    failed, _ = run_three_ways(engine, definition, {"v": 2, "fail": True})
    assert failed.output["report"]["error"]["Error"] == "Job.Failed"


def test_task_reached_only_through_catch(make_engine):
    engine = make_engine({"job": failing, "recover": lambda event: {"recovered": event["error"]["Error"]}})
    definition = machine({
        "Work": task("job", Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}],
                     End=True),
        "Recover": task("recover", End=True),
    })
    original, hit_calls = run_three_ways(engine, definition, {"n": 1})
    assert original.output == {"recovered": "Job.Failed"}
    assert hit_calls == {"job": 1}, "the failing task runs again; the recovery comes from the cache"


# --- variables -------------------------------------------------------------------------------------

def test_assign_on_the_task_and_variables_read_later(make_engine):
    engine = make_engine({"compute": compute})
    definition = machine({
        "Work": task("compute", Parameters={"x.$": "$.x"}, ResultPath="$.out",
                     Assign={"zed.$": "$.z", "first.$": "$.items[0]", "constant": "c"}, Next="Read"),
        "Read": {"Type": "Pass", "Parameters": {"zed.$": "$zed", "first.$": "$first", "constant.$": "$constant",
                                                "x.$": "$.x"}, "End": True},
    })
    original, hit_calls = run_three_ways(engine, definition, {"x": 4})
    assert original.output == {"zed": 2, "first": 1, "constant": "c", "x": 4}
    assert hit_calls == {}


def test_assign_with_result_selector(make_engine):
    engine = make_engine({"compute": compute})
    definition = machine({
        "Work": task("compute", ResultSelector={"first.$": "$.items[0]"}, Assign={"zed.$": "$.z"},
                     ResultPath="$.out", Next="Read"),
        "Read": {"Type": "Pass", "Parameters": {"zed.$": "$zed", "out.$": "$.out"}, "End": True},
    })
    original, hit_calls = run_three_ways(engine, definition, {"x": 4})
    assert original.output == {"zed": 2, "out": {"first": 1}}
    assert hit_calls == {}


def test_task_reads_variables_assigned_earlier(make_engine):
    engine = make_engine({"compute": compute})
    definition = machine({
        "Setup": {"Type": "Pass", "Assign": {"threshold.$": "$.t"}, "Next": "Work"},
        "Work": task("compute", Parameters={"threshold.$": "$threshold"}, End=True),
    })
    original, hit_calls = run_three_ways(engine, definition, {"t": 9})
    assert original.output == compute({"threshold": 9})
    assert hit_calls == {}
    engine.run(cached(definition), {"t": 10})
    assert engine.calls["compute"] == 3, "a different variable value is a different key"


# --- control flow and scopes ---------------------------------------------------------------------

def test_choice_routes_into_and_out_of_cached_tasks(make_engine):
    engine = make_engine({"small": lambda e: {"size": "small"}, "large": lambda e: {"size": "large"}})
    definition = machine({
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 10, "Next": "Small"}],
                  "Default": "Large"},
        "Small": task("small", ResultPath="$.r", Next="After"),
        "Large": task("large", ResultPath="$.r", Next="After"),
        "After": {"Type": "Choice", "Choices": [{"Variable": "$.r.size", "StringEquals": "small", "Next": "Yes"}],
                  "Default": "No"},
        "Yes": {"Type": "Succeed"},
        "No": {"Type": "Fail", "Error": "TooLarge", "Cause": "n was large"},
    })
    small, hit_calls = run_three_ways(engine, definition, {"n": 1})
    assert small.output == {"n": 1, "r": {"size": "small"}}
    assert hit_calls == {}
    large, _ = run_three_ways(engine, definition, {"n": 100})
    assert (large.status, large.error) == ("FAILED", "TooLarge")


def test_map_with_item_processor_and_item_selector(make_engine):
    engine = make_engine({"square": lambda e: {"square": e["value"] ** 2, "index": e["index"]}})
    definition = machine({
        "Each": {"Type": "Map", "ItemsPath": "$.values",
                 "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
                 "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Square",
                                   "States": {"Square": task("square", End=True)}},
                 "ResultPath": "$.squares", "End": True},
    })
    original, hit_calls = run_three_ways(engine, definition, {"values": [1, 2, 3]})
    assert original.output["squares"] == [{"square": 1, "index": 0}, {"square": 4, "index": 1},
                                          {"square": 9, "index": 2}]
    assert hit_calls == {}


def test_map_with_legacy_iterator_and_parameters(make_engine):
    engine = make_engine({"label": lambda e: f"item-{e['v']}-{e['tag']}"})
    definition = machine({
        "Each": {"Type": "Map", "ItemsPath": "$.values", "MaxConcurrency": 2,
                 "Parameters": {"v.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
                 "Iterator": {"StartAt": "Label", "States": {"Label": task("label", End=True)}},
                 "End": True},
    })
    original, hit_calls = run_three_ways(engine, definition, {"values": [1, 2], "tag": "t"})
    assert original.output == ["item-1-t", "item-2-t"]
    assert hit_calls == {}


def test_parallel_branches(make_engine):
    engine = make_engine({"left": lambda e: {"left": e["x"]}, "right": lambda e: {"right": e["x"] * 2}})
    definition = machine({
        "Both": {"Type": "Parallel", "ResultPath": "$.branches", "Next": "Done", "Branches": [
            machine({"Left": task("left", End=True)}),
            machine({"Right": task("right", ResultSelector={"r.$": "$.right"}, End=True)}),
        ]},
        "Done": {"Type": "Pass", "End": True},
    })
    original, hit_calls = run_three_ways(engine, definition, {"x": 3})
    assert original.output == {"x": 3, "branches": [{"left": 3}, {"r": 6}]}
    assert hit_calls == {}


def test_task_as_start_end_and_in_a_chain(make_engine):
    engine = make_engine({"a": lambda e: {"a": e}, "b": lambda e: {"b": e}, "c": lambda e: {"c": e}})
    definition = machine({"A": task("a", Next="B"), "B": task("b", Next="C"), "C": task("c", End=True)})
    original, hit_calls = run_three_ways(engine, definition, {"start": 1})
    assert original.output == {"c": {"b": {"a": {"start": 1}}}}
    assert hit_calls == {}


def test_lambda_invoke_service_integration(make_engine):
    engine = make_engine({"compute": compute})
    definition = machine({"Work": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn("compute"), "Payload.$": "$"},
        "ResultSelector": {"payload.$": "$.Payload"}, "End": True}})
    original, hit_calls = run_three_ways(engine, definition, {"x": 1})
    assert original.output == {"payload": compute({"x": 1})}
    assert hit_calls == {}


def test_loop_back_into_a_cached_task(make_engine):
    engine = make_engine({"step": lambda e: {"n": e["n"] + 1}})
    definition = machine({
        "Step": task("step", Next="Check"),
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 3, "Next": "Step"}],
                  "Default": "Done"},
        "Done": {"Type": "Succeed"},
    })
    original, hit_calls = run_three_ways(engine, definition, {"n": 0})
    assert original.output == {"n": 3}
    assert hit_calls == {}


# --- forcing and failing open --------------------------------------------------------------------

def test_force_rerun_at_wrap_time(make_engine):
    engine = make_engine({"compute": compute})
    definition = machine({"Work": task("compute", End=True)})
    engine.run(cached(definition), {"x": 1})
    forced = engine.run(cached(definition, force=True), {"x": 1})
    assert engine.calls["compute"] == 2
    assert forced.output == compute({"x": 1})
    engine.run(cached(definition), {"x": 1})
    assert engine.calls["compute"] == 2, "the forced run stored a fresh result that later runs hit"


def test_force_rerun_at_run_time_from_the_execution_input(make_engine, pattern):
    # Keyed on Parameters: a task given the whole input would see (and be keyed on) the reserved field.
    engine = make_engine({"a": lambda e: {"a": e["x"]}, "b": lambda e: {"b": e["x"]}})
    definition = machine({"A": task("a", Parameters={"x.$": "$.x"}, ResultPath="$.a", Next="B"),
                          "B": task("b", Parameters={"x.$": "$.x"}, ResultPath="$.b", End=True)})
    wrapped = cached(definition)
    engine.run(wrapped, {"x": 1})
    if pattern == "classic":  # no variables to carry sfn_cache.force to the pulls: wrap-time force only (README)
        engine.run(wrapped, {"x": 1, "sfn_cache": {"force": True}})
        assert (engine.calls["a"], engine.calls["b"]) == (1, 1)
        return
    engine.run(wrapped, {"x": 1, "sfn_cache": {"force": ["B"]}})
    assert (engine.calls["a"], engine.calls["b"]) == (1, 2)
    forced = engine.run(wrapped, {"x": 1, "sfn_cache": {"force": True}})
    assert (engine.calls["a"], engine.calls["b"]) == (2, 3)
    assert forced.output == {"x": 1, "sfn_cache": {"force": True}, "a": {"a": 1}, "b": {"b": 1}}
    engine.run(wrapped, {"x": 1})
    assert (engine.calls["a"], engine.calls["b"]) == (2, 3), "forced runs stored results that later runs hit"


def broken_cache(event, context):
    raise ConnectionError("S3 is unreachable")


def test_fail_open_when_the_cache_is_down(make_engine):
    engine = make_engine({"compute": compute}, cache_handler=broken_cache)
    definition = machine({"A": task("compute", ResultPath="$.a", Next="B"),
                          "B": task("compute", Parameters={"again.$": "$.a.z"}, End=True)})
    original = engine.run(definition, {"x": 1})
    wrapped = engine.run(cached(definition), {"x": 1})
    assert wrapped == original
    assert original.output == compute({"again": 2})


def test_fail_closed_stops_the_execution(make_engine):
    engine = make_engine({"compute": compute}, cache_handler=broken_cache)
    outcome = engine.run(cached(machine({"A": task("compute", End=True)}), fail_closed=True), {"x": 1})
    assert (outcome.status, outcome.error) == ("FAILED", "ConnectionError")
    assert engine.calls["compute"] == 0


def test_push_failure_keeps_the_task_output(make_engine, pattern):
    def pull_only(event, context):
        if event["sfn_cache"] == "push":
            raise PermissionError("AccessDenied")
        # a miss as the protocol answers it (docs/protocol.md): the classic push reads pulled and base from it
        return {"hit": False, "key": "0" * 64, "forced": False, "pulled": None, "base": None, "wait": False,
                "execution": None, "state_machine": None}

    engine = make_engine({"compute": compute}, cache_handler=pull_only)
    definition = machine({"A": task("compute", ResultPath="$.a", Next="B"), "B": task("compute", End=True)})
    original = engine.run(definition, {"x": 1})
    assert engine.run(cached(definition), {"x": 1}) == original


def test_integers_beyond_2_to_the_53_in_a_result(make_engine, pattern):
    """Issue 27 point 3: a JSONPath task's result never passes through JSONata (whose numbers are
    doubles), so a miss keeps such an integer exactly in both patterns. The hit reads the cached result
    from a variable, which moto's interpreter samples through JSONata: shown in the classic pattern
    only (no variables)."""
    big = 12345678901234567890
    engine = make_engine({"big": lambda event: {"id": big, "n": 1}})
    definition = machine({"A": task("big", End=True)})
    if pattern == "classic":
        original, _ = run_three_ways(engine, definition, {})
        assert original.output == {"id": big, "n": 1}
        return
    original = engine.run(definition, {})
    assert original.output["id"] == big
    assert engine.run(cached(definition), {}).output == original.output, "the miss rounded it"
