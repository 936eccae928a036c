"""Wraps that cannot go stale (issue 26): a re-wrap of a wrapped file is what wrapping its original
gives, ``--check`` on an in-place wrap fails when the options or the tasks changed, and ``unwrap``
gives the original back, for definitions and templates. Through the console's command group."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from sfn_cache.cli import cli
from tests.support.cli import CACHING_FUNCTION_YAML, SAM_TEMPLATE, one_line_refusal, sfn_cache, wrap
from tests.support.paths import EXAMPLE

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Pipeline:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Extract
        States:
          Extract:
            Type: Task
            Resource: arn:aws:lambda:us-east-1:123456789012:function:extract
            Parameters: {day.$: $.day}
            Next: Load
          Load:
            Type: Task
            Resource: arn:aws:lambda:us-east-1:123456789012:function:load
            End: true
""" + CACHING_FUNCTION_YAML


def unwrap(*args):
    return CliRunner().invoke(cli, ["unwrap", *map(str, args)], catch_exceptions=False)


def test_rewrap_in_place_with_other_options_is_the_wrap_of_the_original(tmp_path):
    """The README's in-place template wrap, then the same with --exclude Extract: before, "nothing new
    to wrap" and --check "up to date"; now Extract is unwrapped, byte for byte as a fresh wrap."""
    template, fresh = tmp_path / "template.yaml", tmp_path / "fresh.yaml"
    template.write_text(TEMPLATE)
    fresh.write_text(TEMPLATE)
    assert wrap(template, "-o", template, "--no-config").exit_code == 0
    check = wrap(template, "-o", template, "--no-config", "--exclude", "Extract", "--check")
    assert check.exit_code == 1 and "out of date" in check.stderr
    assert wrap(template, "-o", template, "--no-config", "--exclude", "Extract").exit_code == 0
    assert wrap(fresh, "-o", fresh, "--no-config", "--exclude", "Extract").exit_code == 0
    assert template.read_text() == fresh.read_text() and "cache_pull_Extract" not in template.read_text()
    again = wrap(template, "-o", template, "--no-config", "--exclude", "Extract", "--check")
    assert again.exit_code == 0, again.stderr


def test_rewrap_that_caches_nothing_gives_the_template_back(tmp_path):
    """Excluding every task on a re-wrap unwraps them all, and the substitution wrap added goes too:
    the template as written, and the machine's line says so."""
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    assert wrap(template, "-o", template, "--no-config").exit_code == 0
    result = wrap(template, "-o", template, "--no-config", "--exclude", "*", "-v")
    assert result.exit_code == 0, result.stderr
    assert "resource 'Pipeline': 2 task(s) no longer cached" in result.stderr
    assert template.read_text() == TEMPLATE


def test_rewrap_after_an_edited_parameters_rekeys_the_pull(tmp_path):
    """Editing a wrapped task's Parameters left the pull keyed on the old ones and --check up to date."""
    source, wrapped, fresh = tmp_path / "m.asl.json", tmp_path / "w.asl.json", tmp_path / "fresh.asl.json"
    shutil.copy(EXAMPLE, source)
    assert wrap(source, "-o", wrapped, "--no-config").exit_code == 0
    states = json.loads(wrapped.read_text())["States"]
    task = next(name for name, state in states.items() if "Parameters" in state and not name.startswith("cache_")
                and f"cache_pull_{name}" in states)
    edited = json.loads(wrapped.read_text())
    edited["States"][task]["Parameters"] = {"edited": True}
    wrapped.write_text(json.dumps(edited, indent=2))
    check = wrap(wrapped, "-o", wrapped, "--no-config", "--check")
    assert check.exit_code == 1, check.stderr
    original = json.loads(source.read_text())
    original["States"][task]["Parameters"] = {"edited": True}
    source.write_text(json.dumps(original, indent=2))
    assert wrap(wrapped, "-o", wrapped, "--no-config").exit_code == 0
    assert wrap(source, "-o", fresh, "--no-config").exit_code == 0
    # the same definition; the layouts differ because the edited file was written by json.dumps, and wrap keeps
    # each input's own layout for the values it leaves alone (docs/usage.md, How the output is written)
    assert json.loads(wrapped.read_text()) == json.loads(fresh.read_text())
    pull = json.loads(wrapped.read_text())["States"][f"cache_pull_{task}"]
    assert pull["Parameters"]["input"] == {"edited": True}
    assert wrap(wrapped, "-o", wrapped, "--no-config", "--check").exit_code == 0


def test_unwrap_gives_back_a_definition_and_a_template(tmp_path):
    source, wrapped, back = tmp_path / "m.asl.json", tmp_path / "w.asl.json", tmp_path / "back.asl.json"
    shutil.copy(EXAMPLE, source)
    assert wrap(source, "-o", wrapped, "--no-config", "--pattern", "classic").exit_code == 0
    result = unwrap(wrapped, "-o", back)
    assert result.exit_code == 0, result.stderr
    assert json.loads(back.read_text()) == json.loads(source.read_text())
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    assert wrap(template, "-o", template, "--no-config").exit_code == 0
    assert "SfnCacheFunctionArn" in template.read_text()
    result = unwrap(template, "-o", template)
    assert result.exit_code == 0, result.stderr
    assert template.read_text() == TEMPLATE


def test_unwrap_refuses_a_hand_edited_generated_state_in_one_line(tmp_path):
    """Where the generated states disagree about where the task went, unwrap does not guess."""
    source, wrapped, back = tmp_path / "m.asl.json", tmp_path / "w.asl.json", tmp_path / "back.asl.json"
    source.write_text(json.dumps({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:a", "Next": "B"},
        "B": {"Type": "Pass", "Next": "C"}, "C": {"Type": "Succeed"}}}))
    assert wrap(source, "-o", wrapped, "--no-config").exit_code == 0
    edited = json.loads(wrapped.read_text())
    edited["States"]["cache_hit_A"]["Next"] = "C"
    wrapped.write_text(json.dumps(edited))
    for result in (unwrap(wrapped, "-o", back), wrap(wrapped, "-o", back, "--no-config")):
        assert result.exit_code == 2 and not back.exists()
        assert result.stderr == (f"error: {wrapped}: state 'cache_hit_A': goes to 'C' where its task 'A' goes to "
                                 "'B': a generated state was edited, and unwrap cannot tell which way was meant\n")


def test_an_edited_next_names_the_state_it_no_longer_goes_to(tmp_path):
    """A JSONPath task's Next is cache_check_T once wrapped: the refusal names it, not only cache_push."""
    source = tmp_path / "ml.json"
    source.write_text(json.dumps({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:t", "Next": "Done"},
        "Done": {"Type": "Succeed"}}}))
    assert sfn_cache("wrap", "ml.json", "-i", "--no-config", cwd=tmp_path).returncode == 0
    edited = json.loads(source.read_text())
    assert edited["States"]["T"]["Next"] == "cache_check_T"  # what the user sees and edits
    edited["States"]["T"]["Next"] = "Done"
    source.write_text(json.dumps(edited))
    line = one_line_refusal(sfn_cache("unwrap", "ml.json", cwd=tmp_path))
    assert line == ("error: ml.json: state 'T': its Next is no longer its cache_check or cache_push state, so "
                    "unwrap cannot tell where it went: edit the original definition and wrap it again")


def test_a_reserved_result_name_is_refused_the_first_time(tmp_path):
    """Issue 28: an Assign entry sfncache_evil_result was accepted by the first wrap, refused by the next."""
    source, out = tmp_path / "m.asl.json", tmp_path / "out.asl.json"
    source.write_text(json.dumps({"StartAt": "A", "States": {"A": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:a",
        "Assign": {"sfncache_evil_result.$": "$"}, "End": True}}}))
    result = wrap(source, "-o", out, "--no-config")
    assert result.exit_code == 2 and not out.exists()
    assert "variable name 'sfncache_evil_result.$' uses the prefix 'sfncache_'" in result.stderr


def test_unwrap_points_a_sam_template_back_to_its_definition_file(tmp_path):
    """An in-place wrap of a SAM project points DefinitionUri to a wrapped copy and records its source
    in Metadata (docs/usage.md, Templates); unwrap gives the template back as written, through the
    console script."""
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / "pipeline.asl.json").write_text(EXAMPLE.read_text())
    (tmp_path / "template.yaml").write_text(SAM_TEMPLATE)
    wrapped = sfn_cache("wrap", "template.yaml", "-o", "template.yaml", "--no-config", cwd=tmp_path)
    assert wrapped.returncode == 0, wrapped.stderr
    assert "pipeline.cached.asl.json" in (tmp_path / "template.yaml").read_text()
    back = sfn_cache("unwrap", "template.yaml", "-o", "template.yaml", cwd=tmp_path)
    assert back.returncode == 0, back.stderr
    assert (tmp_path / "template.yaml").read_text() == SAM_TEMPLATE
    assert (tmp_path / "statemachine" / "pipeline.asl.json").read_text() == EXAMPLE.read_text()
