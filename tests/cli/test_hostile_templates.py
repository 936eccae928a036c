"""Issue 28's hostile templates, through the console script: one clear line, exit 2, within a second.

The before/after times are in the helper note (/work/notes/templates.md): the alias case ran for
minutes (every alias expanded into a 200 MB document), the Fn::Sub case about 80 s (each ``${...}``
rescanned the text before it to tell whether it sat inside a JSON string).
"""

from __future__ import annotations

import json
import resource

from tests.support.cli import one_line_refusal, sfn_cache

ARN = "arn:aws:lambda:us-east-1:123456789012:function:work"
BUDGET = 1.0  # CPU seconds beyond the console script's start-up (CPU time: the CI box is shared)
MACHINE = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": ARN, "End": True}}}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(*args, cwd):
    """The console script's result and its CPU time beyond a ``--version`` run (the start-up)."""
    started = _children_cpu()
    sfn_cache("--version", cwd=cwd)
    startup = _children_cpu() - started
    started = _children_cpu()
    result = sfn_cache(*args, cwd=cwd)
    return result, _children_cpu() - started - startup


def test_a_scalar_resource_named_by_resource_is_refused(tmp_path):
    template = {"Resources": {"Machine": {"Type": "AWS::StepFunctions::StateMachine",
                                          "Properties": {"Definition": MACHINE}}, "Scalar": 5}}
    (tmp_path / "t.json").write_text(json.dumps(template))
    line = one_line_refusal(sfn_cache("wrap", "t.json", "--no-config", "--resource", "Scalar", cwd=tmp_path))
    assert line == "error: t.json: resource 'Scalar' is 5 (not an object), not a state machine"


def test_a_large_string_aliased_many_times_is_refused_quickly(tmp_path):
    lines = ["StartAt: Work", "States:", "  Work:", "    Type: Task", f"    Resource: {ARN}", "    End: true",
             "    Parameters:", f"      big: &big {'x' * 100_000}", "      uses:"] + ["        - *big"] * 2000
    (tmp_path / "sm.yaml").write_text("\n".join(lines) + "\n")
    result, seconds = timed("wrap", "sm.yaml", "--no-config", "-o", "out.yaml", cwd=tmp_path)
    assert one_line_refusal(result) == ("error: sm.yaml: expands to more than 10 MiB of text through aliases "
                                        "(the input limit; a YAML alias bomb?)")
    assert seconds < BUDGET and not (tmp_path / "out.yaml").exists()


def test_the_same_in_a_template(tmp_path):
    lines = ["Metadata:", f"  Big: &big {'x' * 100_000}", "  Uses:"] + ["    - *big"] * 2000
    lines += ["Resources:", "  Machine:", "    Type: AWS::StepFunctions::StateMachine", "    Properties:",
              "      Definition:", "        StartAt: Work", "        States:", "          Work:",
              "            Type: Task", f"            Resource: {ARN}", "            End: true"]
    (tmp_path / "t.yaml").write_text("\n".join(lines) + "\n")
    result, seconds = timed("wrap", "t.yaml", "--no-config", "-o", "out.yaml", cwd=tmp_path)
    assert "a YAML alias bomb?" in one_line_refusal(result)
    assert seconds < BUDGET


def test_a_sub_with_20000_references_is_wrapped_quickly(tmp_path):
    """Not refused: 20,000 references fit the limits; what was slow is reading them (quadratic)."""
    machine = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": ARN, "End": True,
                                                      "Parameters": {"v": "${A}" * 20_000}}}}
    template = {"Resources": {"Machine": {"Type": "AWS::StepFunctions::StateMachine",
                                          "Properties": {"DefinitionString": {"Fn::Sub": json.dumps(machine)}}}}}
    (tmp_path / "t.json").write_text(json.dumps(template))
    result, seconds = timed("wrap", "t.json", "--no-config", "--lambda-arn", ARN, "-o", "out.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert seconds < BUDGET
    sub = json.loads((tmp_path / "out.json").read_text())["Resources"]["Machine"]["Properties"]
    assert sub["DefinitionString"]["Fn::Sub"].count("${A}") == 20_000 * 2  # the task's and its pull's copy
