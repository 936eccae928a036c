"""What wrap writes for the generated states: a Comment only when asked, payloads without what the
runtime defaults, and a layout that cuts bytes only (generated states one per line, the user's states as
json.dumps(indent=2) writes them). Scaling is a benchmark (benchmarks/wrap_scaling.py).
"""

from __future__ import annotations

import json

import pytest

from sfn_cache.local.engine import CACHE_ARN, function_arn
from sfn_cache.rewrite.naming import GENERATED_COMMENT
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.recognise import cache_operation, cache_payload
from sfn_cache.rewrite.wrap import wrap_definition
from tests.support.paths import ROOT

DEFINITION = {"StartAt": "Work", "States": {
    "Work": {"Type": "Task", "Comment": "the user's own comment", "Resource": function_arn("work"),
             "ResultPath": "$.out", "Next": "Last"},
    "Last": {"Type": "Task", "Resource": function_arn("last"), "ResultSelector": {"v.$": "$.v"},
             "Assign": {"seen.$": "$.v"}, "End": True}}}


def _generated(result) -> dict:
    """The generated states of a wrap of DEFINITION (all at the top level), by name."""
    return {name: result.definition["States"][name] for report in result.tasks for name in report.generated}


def test_generated_states_carry_a_comment_only_when_asked():
    plain = wrap_definition(DEFINITION, WrapOptions(lambda_arn=CACHE_ARN))
    commented = wrap_definition(DEFINITION, WrapOptions(lambda_arn=CACHE_ARN, comments=True))
    assert len(_generated(plain)) >= 8
    assert all("Comment" not in state for state in _generated(plain).values())
    assert all(state["Comment"].startswith(GENERATED_COMMENT) for state in _generated(commented).values())


    for result in (plain, commented):  # the user's own Comment is kept either way
        assert result.definition["States"]["Work"]["Comment"] == "the user's own comment"
    assert "Comment" not in plain.definition["States"]["cache_force"], "the force reader too"
    without_comments = json.loads(json.dumps(commented.definition))
    for name in [*_generated(commented), "cache_force"]:
        del without_comments["States"][name]["Comment"]
    assert without_comments == plain.definition  # the Comments are the only difference


def test_a_catching_hit_carries_no_comment_inside_its_branch_either():
    """The hit that gives its errors to T's Catch is a Parallel holding a generated Pass."""
    catching = {"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": function_arn("work"), "ResultPath": "$.out.deep", "End": True,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]}, "Failed": {"Type": "Fail"}}}
    states = _generated(wrap_definition(catching, WrapOptions(lambda_arn=CACHE_ARN)))
    branches = [branch for state in states.values() for branch in state.get("Branches", ())]
    assert branches, "the hit is a Parallel"
    assert not [name for branch in branches for name, state in branch["States"].items() if "Comment" in state]

def test_payloads_leave_out_what_the_runtime_defaults():
    wrapped = wrap_definition(DEFINITION, WrapOptions(lambda_arn=CACHE_ARN)).definition
    payloads = {cache_operation(state): cache_payload(state) for state in wrapped["States"].values()
                if cache_operation(state) and cache_payload(state)["state"] == "Work"}
    assert set(payloads) == {"pull", "push"} and not {"bundle", "ttl", "cache_version", "form", "force"} & (
        set(payloads["pull"]) | set(payloads["push"]))  # defaults: left to the runtime
    named = wrap_definition(DEFINITION, WrapOptions(lambda_arn=CACHE_ARN, ttl=60, cache_version="v2",
                                                    force=True)).definition
    pull = named["States"]["cache_pull_Work"]["Parameters"]
    assert (pull["ttl"], pull["cache_version"], pull["force"]) == (60, "v2", True)


def test_generated_states_are_written_one_per_line_and_the_users_as_indent_2():
    """The layout cuts bytes only: the same JSON, the user's states' lines exactly as json.dumps(indent=2)
    writes them, every generated state (the force reader too) on a line of its own."""
    from sfn_cache.asl.model import parse
    from sfn_cache.rewrite.recognise import generated_states
    from sfn_cache.rewrite.wrap import wrapped_json

    example = json.loads((ROOT / "examples" / "ml_pipeline.asl.json").read_text())
    wrapped = wrap_definition(example, WrapOptions(lambda_arn=CACHE_ARN)).definition
    text = wrapped_json(wrapped)
    assert json.loads(text) == wrapped
    generated = generated_states(parse(wrapped))
    assert "cache_force" in generated and len(generated) >= 6 * 4
    lines = text.splitlines()
    one_liners = {name: line for line in lines for name in generated if line.lstrip().startswith(f'"{name}": {{')}
    inside = {name for outer in generated for branch in _find_state(wrapped, outer).get("Branches", ())
              for name in branch["States"]}  # a catching hit's Pass is on its Parallel's line
    assert inside == {"cache_apply_PrepareFeatures"} and set(one_liners) == generated - inside
    for name, line in one_liners.items():
        assert json.loads("{" + line.strip().rstrip(",") + "}")[name] == _find_state(wrapped, name)
    indented = json.dumps(wrapped, indent=2, ensure_ascii=False).splitlines()
    rest = iter(indented)
    assert all(line in rest for line in lines if line not in one_liners.values()), \
        "every other line is json.dumps(indent=2)'s, in its order"
    assert len(text.encode()) < len("\n".join(indented).encode())


@pytest.mark.parametrize("document", [
    {1: "int key", None: [], False: {}, 2.5: [{"States": {"y": {"Type": "Pass"}}}]},  # keys YAML may give
    [], {}, "text", [[{}], [[]]], {"é": ["ü", {"States": {}}]}, [{"States": {"x": "not a state"}}],
])
def test_the_layout_writes_anything_else_as_json_dumps_indent_2(document):
    from sfn_cache.asl.emit import dump_json

    assert dump_json(document, one_line={"x"}) == json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _find_state(definition: dict, name: str) -> dict:
    for state_name, state in definition["States"].items():
        if state_name == name:
            return state
        for body in [*state.get("Branches", ()), state.get("ItemProcessor") or state.get("Iterator") or {}]:
            if body.get("States"):
                try:
                    return _find_state(body, name)
                except KeyError:
                    pass
    raise KeyError(name)
