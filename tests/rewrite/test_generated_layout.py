"""What wrap writes for the generated states: a Comment only when asked, payloads without what the
runtime defaults, and a layout a reviewer can read (generated states fitted in 120 columns, the user's
states as json.dumps(indent=2) writes them; --compact: no whitespace). Scaling is a benchmark
(benchmarks/wrap_scaling.py).
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


def generated_blocks(lines: list[str], generated: set[str]) -> dict[str, list[str]]:
    """Each generated state's lines in ``lines``: from its ``"name": {`` line to the ``}`` at its indent."""
    blocks: dict[str, list[str]] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        name = next((n for n in generated if line.lstrip().startswith(f'"{n}": {{')), None)
        if name is None:
            index += 1
            continue
        pad = line[:len(line) - len(line.lstrip())]
        end = index
        while not (lines[end].rstrip(",").endswith("}") and (end == index or lines[end].rstrip(",") == pad + "}")):
            end += 1
        blocks[name] = lines[index:end + 1]
        index = end + 1
    return blocks


def test_generated_states_fit_in_120_columns_and_the_users_are_indent_2():
    """The default layout: the user's states' lines exactly as json.dumps(indent=2) writes them, every
    generated state (the force reader too) in lines of at most 120 columns but for a string too long to
    fit anywhere, each small object on one line: fewer lines and bytes than indenting it all."""
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
    inside = {name for outer in generated for branch in _find_state(wrapped, outer).get("Branches", ())
              for name in branch["States"]}  # a catching hit's Pass is inside its Parallel's block
    blocks = generated_blocks(lines, generated - inside)
    assert inside == {"cache_apply_PrepareFeatures"} and set(blocks) == generated - inside
    for name, block in blocks.items():
        assert json.loads("{" + "\n".join(block).strip().rstrip(",") + "}")[name] == _find_state(wrapped, name)
        for line in block:
            if len(line) > 120:  # only a string longer than the line has room for: "key": "string"
                key, value = json.loads("{" + line.strip().rstrip(",") + "}").popitem()
                assert isinstance(value, str) and len(line.lstrip()) - len(value) < 40, line
    assert any(len(block) == 1 for block in blocks.values()), "a small state stays on one line"
    assert any(line.strip() == '"Retry": [{"ErrorEquals": ["States.TaskFailed"]}],'
               for block in blocks.values() for line in block), "a small object or list stays on one line"
    in_blocks = {id(line) for block in blocks.values() for line in block}
    indented = json.dumps(wrapped, indent=2, ensure_ascii=False).splitlines()
    rest = iter(indented)
    assert all(line in rest for line in lines if id(line) not in in_blocks), \
        "every other line is json.dumps(indent=2)'s, in its order"
    assert len(lines) < len(indented) and len(text.encode()) < len("\n".join(indented).encode())


def test_compact_is_the_byte_minimal_form():
    from sfn_cache.rewrite.wrap import wrapped_json

    example = json.loads((ROOT / "examples" / "ml_pipeline.asl.json").read_text())
    wrapped = wrap_definition(example, WrapOptions(lambda_arn=CACHE_ARN)).definition
    assert wrapped_json(wrapped, compact=True) == json.dumps(wrapped, ensure_ascii=False, separators=(",", ":")) + "\n"


@pytest.mark.parametrize("document", [
    {1: "int key", None: [], False: {}, 2.5: [{"States": {"y": {"Type": "Pass"}}}]},  # keys YAML may give
    [], {}, "text", [[{}], [[]]], {"é": ["ü", {"States": {}}]}, [{"States": {"x": "not a state"}}],
])
def test_the_layout_writes_anything_else_as_json_dumps_indent_2(document):
    from sfn_cache.asl.emit import dump_json

    assert dump_json(document, generated={"x"}) == json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    assert dump_json(document, generated={"x"}, indent="\t") == json.dumps(document, indent="\t",
                                                                            ensure_ascii=False) + "\n"


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
