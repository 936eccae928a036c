"""The one rule for JSONata tasks: Arguments, Output and Assign behave the same on a miss and a hit."""

from __future__ import annotations

from sfn_cache.local.engine import TaskFailure
from tests.support.machines import compute, run_three_ways, task


def jsonata_machine(states: dict) -> dict:
    return {"QueryLanguage": "JSONata", "StartAt": next(iter(states)), "States": states}


def test_arguments_output_and_assign(make_engine):
    engine = make_engine({"compute": compute})
    definition = jsonata_machine({
        "Work": task("compute", Arguments={"x": "{% $states.input.x %}", "static": 1},
                     Output={"kept": "{% $states.input.keep %}", "first": "{% $states.result.items[0] %}"},
                     Assign={"zed": "{% $states.result.z %}", "seen": "{% $states.result.y.seen.x %}"},
                     Next="Read"),
        "Read": {"Type": "Pass", "Output": {"out": "{% $states.input %}", "zed": "{% $zed %}",
                                             "seen": "{% $seen %}"}, "End": True},
    })
    original, hit_calls = run_three_ways(engine, definition, {"x": 3, "keep": "k"})
    assert original.output == {"out": {"kept": "k", "first": 1}, "zed": 2, "seen": 3}
    assert hit_calls == {}


def test_no_arguments_no_output(make_engine):
    engine = make_engine({"compute": compute})
    definition = jsonata_machine({"Work": task("compute", End=True)})
    original, hit_calls = run_three_ways(engine, definition, {"x": 1})
    assert original.output == compute({"x": 1})
    assert hit_calls == {}


def test_fields_outside_the_key_are_read_from_the_current_input(make_engine):
    engine = make_engine({"compute": compute})
    definition = jsonata_machine({"Work": task(
        "compute", Arguments={"x": "{% $states.input.x %}"},
        Output="{% $merge([$states.input, {'z': $states.result.z}]) %}", End=True)})
    run_three_ways(engine, definition, {"x": 1, "note": "a"})
    from tests.support.machines import cached
    outcome = engine.run(cached(definition), {"x": 1, "note": "b"})
    assert engine.calls["compute"] == 2, "original and miss only: the third run hits"
    assert outcome.output == {"x": 1, "note": "b", "z": 2}


def test_catch_with_output_and_assign(make_engine):
    def failing(event):
        raise TaskFailure("Job.Failed", "no")

    engine = make_engine({"job": failing})
    definition = jsonata_machine({
        "Work": task("job", Catch=[{"ErrorEquals": ["Job.Failed"], "Assign": {"why": "{% $states.errorOutput.Error %}"},
                                    "Output": {"in": "{% $states.input %}"}, "Next": "Handled"}], End=True),
        "Handled": {"Type": "Pass", "Output": {"why": "{% $why %}", "was": "{% $states.input %}"}, "End": True},
    })
    original, _ = run_three_ways(engine, definition, {"n": 1})
    assert original.output == {"why": "Job.Failed", "was": {"in": {"n": 1}}}
    assert engine.calls["job"] == 3


def test_jsonata_map(make_engine):
    engine = make_engine({"square": lambda e: e["v"] * e["v"]})
    definition = jsonata_machine({"Each": {
        "Type": "Map", "Items": "{% $states.input.values %}",
        "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Square",
                          "States": {"Square": task("square", Arguments={"v": "{% $states.input.v %}"}, End=True)}},
        "End": True}})
    original, hit_calls = run_three_ways(engine, definition, {"values": [2, 3]})
    assert original.output == [4, 9]
    assert hit_calls == {}


def test_jsonata_task_inside_a_jsonpath_machine(make_engine):
    engine = make_engine({"compute": compute})
    definition = {"StartAt": "Prep", "States": {
        "Prep": {"Type": "Pass", "Parameters": {"x.$": "$.x"}, "Next": "Work"},
        "Work": task("compute", QueryLanguage="JSONata", Arguments={"x": "{% $states.input.x %}"},
                     Output="{% $states.result.z %}", Next="After"),
        "After": {"Type": "Pass", "Parameters": {"z.$": "$"}, "End": True}}}
    original, hit_calls = run_three_ways(engine, definition, {"x": 5})
    assert original.output == {"z": 2}
    assert hit_calls == {}


def test_jsonata_non_object_input(make_engine):
    engine = make_engine({"echo": lambda e: {"got": e}})
    definition = jsonata_machine({"Work": task("echo", Output="{% $states.result.got %}", End=True)})
    original, hit_calls = run_three_ways(engine, definition, [1, "two"])
    assert original.output == [1, "two"]
    assert hit_calls == {}


def test_states_result_in_string_literals_comments_and_regexes_is_left_alone(make_engine):
    """Only the $states.result path is the cached result on a hit; the same characters inside a string
    literal, a comment or a regular expression are text (a regex rewrite used to replace them too)."""
    engine = make_engine({"compute": compute})
    definition = jsonata_machine({"Work": task("compute", Arguments={"x": "{% $states.input.x %}"},
        Output={"said": "{% 'z is $states.result' & /* $states.result */ $string($states.result.z) %}",
                "matched": "{% $contains('a $states.result b', /\\$states\\.result/) %}"},
        Assign={"quoted": "{% \"$states.result\" %}"}, Next="Read"),
        "Read": {"Type": "Pass", "Output": {"out": "{% $states.input %}", "quoted": "{% $quoted %}"}, "End": True}})
    original, hit_calls = run_three_ways(engine, definition, {"x": 1})
    assert original.output == {"out": {"said": "z is $states.result2", "matched": True},
                               "quoted": "$states.result"}
    assert hit_calls == {}
