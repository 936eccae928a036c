"""Issue 13: a CLI that imports what a command needs, and fewer bytes per cached task, same semantics.

Start-up times and scaling are benchmarks (benchmarks/cli_startup.py, benchmarks/wrap_scaling.py);
these tests check the properties those figures rest on, without timing anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import CACHE_ARN, CACHE_FUNCTION, TaskFailure, function_arn, install_corpus_seams
from sfn_cache.cli import COMMANDS, cli
from sfn_cache.rewrite.naming import GENERATED_COMMENT
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.recognise import cache_operation, cache_payload
from sfn_cache.rewrite.wrap import wrap_definition
from sfn_cache.runtime.handler import lambda_handler

DEFINITION = {"StartAt": "Work", "States": {
    "Work": {"Type": "Task", "Comment": "the user's own comment", "Resource": function_arn("work"),
             "ResultPath": "$.out", "Next": "Last"},
    "Last": {"Type": "Task", "Resource": function_arn("last"), "ResultSelector": {"v.$": "$.v"},
             "Assign": {"seen.$": "$.v"}, "End": True}}}
ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"boto3", "botocore", "disdat", "pandas", "ruamel", "yaml", "jsonpath_ng"}


def imported(*args: str, cwd=None) -> set[str]:
    """Top-level packages a fresh ``python -m sfn_cache ARGS`` imports (from -X importtime)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "sfn_cache", *args], cwd=cwd,
                            capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in result.stderr.splitlines()
            if line.startswith("import time:")}


@pytest.mark.parametrize("args", [["--help"], ["wrap", "--help"]])
def test_help_imports_no_heavy_package(args, tmp_path):
    modules = imported(*args, cwd=tmp_path)
    assert "click" in modules  # the probe sees imports at all
    assert not modules & HEAVY


def test_wrap_of_a_definition_imports_no_aws_library(tmp_path):
    source = tmp_path / "machine.asl.json"
    source.write_text(json.dumps(DEFINITION))
    modules = imported("wrap", str(source), "-o", str(tmp_path / "out.json"), cwd=tmp_path)
    assert "sfn_cache" in modules and (tmp_path / "out.json").exists()
    assert not modules & HEAVY, "a JSON definition needs neither AWS libraries nor YAML"


@pytest.mark.parametrize("command", ["explain", "graph"])
def test_explain_and_graph_of_a_json_definition_import_no_heavy_package(command, tmp_path):
    source = tmp_path / "machine.asl.json"
    source.write_text(json.dumps(DEFINITION))
    modules = imported(command, str(source), cwd=tmp_path)
    assert "sfn_cache" in modules
    assert not modules & HEAVY


def test_a_yaml_definition_still_imports_yaml(tmp_path):
    source = tmp_path / "machine.asl.yaml"
    source.write_text(json.dumps(DEFINITION)[1:-1].replace('"StartAt": "Work", ', "StartAt: Work\n"))
    modules = imported("explain", str(source), cwd=tmp_path)
    assert "yaml" in modules


def test_lazy_group_lists_every_command_with_its_own_summary():
    from sfn_cache.cli.build import build_lambda_command
    from sfn_cache.cli.cache import cache_commands
    from sfn_cache.cli.inspect import inspect_commands
    from sfn_cache.cli.verify import verify_commands
    from sfn_cache.cli.wrap import wrap_commands

    commands = wrap_commands + inspect_commands + cache_commands + verify_commands + [build_lambda_command]
    assert sorted(command.name for command in commands) == sorted(COMMANDS)
    for command in commands:
        assert cli.get_command(None, command.name) is command
        assert COMMANDS[command.name][2] == command.help.split("\n\n")[0].strip()


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


def test_runtime_defaults_give_the_key_and_answer_of_the_explicit_fields(aws):
    short = {"sfn_cache": "pull", "protocol": 5, "state": "Work", "resource": function_arn("work"),
             "input": {"x": 1}, "execution": "arn:exec:1", "state_machine": "arn:sm"}
    explicit = {**short, "bundle": "Work", "ttl": None, "cache_version": "", "form": "raw", "force": False}
    def answer(event: dict) -> dict:  # without the pull's clock, which differs between any two calls
        return {field: value for field, value in lambda_handler(dict(event)).items() if field != "pulled"}

    miss = answer(short)
    assert miss == answer(explicit) and miss["hit"] is False
    stored = lambda_handler({"sfn_cache": "push", "protocol": 5, "state": "Work", "key": miss["key"],
                             "result": {"v": 1}, "execution": "arn:exec:1"})
    assert stored["stored"] is True
    hit = answer(explicit)
    assert hit["hit"] is True and hit["data"] == {"v": 1} and answer(short) == hit


@pytest.mark.parametrize("failures,pull_ran", [(3, True), (4, False)])
def test_cache_retry_retries_a_throttled_pull_three_times(make_engine, monkeypatch, failures, pull_ran):
    """The cache Retry: four tries on a throttled pull, then fail-open."""
    from sfn_cache.runtime.handler import lambda_handler as real

    attempts = {"pull": 0}

    def throttled(event, context):
        if event["sfn_cache"] == "pull" and attempts["pull"] < failures:
            attempts["pull"] += 1
            raise TaskFailure("Lambda.TooManyRequestsException", "rate exceeded")
        return real(event, context)

    one = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": function_arn("work"), "End": True}}}
    engine = make_engine({"work": lambda event: {"done": True}}, cache_handler=throttled)
    install_corpus_seams(monkeypatch, lambda resource, params: None)  # Retry intervals do not sleep
    wrapped = wrap_definition(one, WrapOptions(lambda_arn=CACHE_ARN)).definition
    outcome = engine.run(wrapped, {"x": 1})
    assert (outcome.status, outcome.output) == ("SUCCEEDED", {"done": True})
    pulls_answered = [answer for op, answer in engine.cache_answers if op == "pull"]
    assert engine.calls[CACHE_FUNCTION] == 4 + 1  # four pull attempts, one push
    assert bool(pulls_answered) is pull_ran


def test_generated_states_are_written_one_per_line_and_the_users_as_indent_2():
    """The layout cuts bytes only: the same JSON, the user's states' lines exactly as json.dumps(indent=2)
    writes them, every generated state (the force reader too) on a line of its own."""
    from sfn_cache.rewrite.recognise import generated_states
    from sfn_cache.rewrite.wrap import wrapped_json
    from sfn_cache.asl.model import parse

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
