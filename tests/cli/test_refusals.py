"""Refusals as a user meets them through the console script: a selector that matches no state, a
setting that would turn the cache off (flag or configuration), and every usage or YAML error in one
line with the details behind --verbose."""

from __future__ import annotations

import pytest

from tests.support.cli import one_line_refusal, sfn_cache
from tests.support.paths import EXAMPLE

# --- typos in selectors ------------------------------------------------------------------------

@pytest.mark.parametrize("flags, option", [
    (["--include", "Nope*"], "--include Nope*"),
    (["--exclude", "Notfy*"], "--exclude Notfy*"),
    (["--bundle-name", "Trian=model"], "--bundle-name Trian=model"),
    (["--ttl", "Trian=1h"], "--ttl Trian=1h"),
    (["--key-path", "Trian=$.x"], "--key-path Trian=$.x"),
    (["--force-rerun", "Trian"], "--force-rerun Trian"),
    (["--cache-version", "Trian=2"], "--cache-version Trian=2"),
])
@pytest.mark.parametrize("command", ["wrap", "explain"])
def test_a_selector_that_matches_no_state_is_an_error(tmp_path, flags, option, command):
    line = one_line_refusal(sfn_cache(command, EXAMPLE, "--no-config", *flags, cwd=tmp_path))
    assert line.startswith(f"error: {option}: matches no state in {EXAMPLE}")
    closest = "NotifyFailure" if "No" in option else "TrainModel"
    assert line.endswith(f"(closest state name: '{closest}')")


def test_the_same_typo_in_the_configuration_gets_the_same_error(tmp_path):
    """In a files.<GLOB> table; the top level is shared by every file, so its selectors are never refused."""
    name = EXAMPLE.name
    (tmp_path / "sfn-cache.yaml").write_text(f"files:\n  {name}:\n    exclude: ['Notfy*']\n")
    line = one_line_refusal(sfn_cache("wrap", EXAMPLE, cwd=tmp_path))
    assert line == (f"error: sfn-cache.yaml: files.{name}.exclude Notfy*: matches no state in {EXAMPLE} "
                    f"(closest state name: 'NotifyFailure')")
    (tmp_path / "sfn-cache.yaml").write_text("exclude: ['Notfy*']\n")
    shared = sfn_cache("wrap", EXAMPLE, cwd=tmp_path)
    assert shared.returncode == 0 and "cache_pull_TrainModel" in shared.stdout, shared.stderr


def test_selectors_that_match_are_accepted(tmp_path):
    result = sfn_cache("wrap", EXAMPLE, "--no-config", "--include", "Train*", "--exclude", "Notify*",
                       "--ttl", "TrainModel=1h", "--force-rerun", "TrainModel", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cache_pull_TrainModel" in result.stdout and "cache_pull_PrepareFeatures" not in result.stdout


# --- settings that would quietly turn the cache off --------------------------------------------

@pytest.mark.parametrize("flags, expected", [
    (["--bucket", "ml-cache"], "error: Invalid value for --bucket: expected s3://bucket[/prefix], got 'ml-cache' "
                               "(did you mean s3://ml-cache?)"),
    (["--ttl", "0"], "error: Invalid value for --ttl: a TTL of 0 would never serve a cached result"),
    (["--ttl", "TrainModel=0s"], "error: Invalid value for --ttl: a TTL of 0 would never serve a cached result"),
])
def test_wrap_time_settings_that_turn_the_cache_off_are_refused(tmp_path, flags, expected):
    line = one_line_refusal(sfn_cache("wrap", EXAMPLE, "--no-config", *flags, cwd=tmp_path))
    assert line.replace("sfn-cache wrap: ", "").startswith(expected), line


@pytest.mark.parametrize("text, expected", [
    ("bucket: ml-cache\n", "bucket: expected s3://bucket[/prefix], got 'ml-cache'"),
    ("ttl: 0\n", "ttl: a TTL of 0 would never serve a cached result"),
    ("states:\n  TrainModel: {ttl: '0h'}\n", "states.TrainModel.ttl: a TTL of 0 would never serve"),
])
def test_the_same_settings_in_the_configuration_are_refused(tmp_path, text, expected):
    (tmp_path / "sfn-cache.yaml").write_text(text)
    line = one_line_refusal(sfn_cache("wrap", EXAMPLE, cwd=tmp_path))
    assert line.startswith(f"error: sfn-cache.yaml: {expected}"), line


# --- every refusal is one line -----------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (["wrap", "--bogus", "x"], "error: sfn-cache wrap: No such option '--bogus'"),
    (["wrap"], "error: sfn-cache wrap: Missing argument 'FILE...'."),
    (["wrap", str(EXAMPLE), "--pattern", "fancy"], "error: sfn-cache wrap: Invalid value for '--pattern'"),
    (["wrap", str(EXAMPLE), "--ttl", "soon"], "error: sfn-cache wrap: Invalid value for --ttl: not a duration"),
    (["frobnicate"], "error: sfn-cache: No such command 'frobnicate'."),
    (["rm"], "error: sfn-cache rm: say what to remove"),
])
def test_click_usage_errors_are_one_line_with_the_usage_behind_verbose(tmp_path, args, expected):
    line = one_line_refusal(sfn_cache(*args, cwd=tmp_path))
    assert line.startswith(expected) and line.endswith("--help)"), line
    if args[0] == "wrap":
        verbose = sfn_cache(*args, "-v", cwd=tmp_path)
        assert verbose.returncode == 2
        assert verbose.stderr.splitlines()[0] == line
        assert verbose.stderr.splitlines()[1].startswith("Usage: sfn-cache wrap [OPTIONS] FILE")


@pytest.mark.parametrize("name, text, expected", [
    ("bad.asl.yaml", "StartAt: A\nStates:\n  A: {Type: Pass\n  B: [\n",
     "bad.asl.yaml:4: invalid YAML: expected ',' or '}', but got ':'"),
    ("template.yaml", "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n   Properties: x\n",
     "template.yaml:4: invalid YAML: expected <block end>, but found '<block mapping start>'"),
    ("tabs.yaml", "StartAt: A\n\tStates: {}\n",
     "tabs.yaml:2: invalid YAML: found character '\\t' that cannot start any token"),
])
def test_yaml_errors_are_one_line_with_details_behind_verbose(tmp_path, name, text, expected):
    (tmp_path / name).write_text(text)
    line = one_line_refusal(sfn_cache("wrap", name, "--no-config", cwd=tmp_path))
    assert line == f"error: {expected}"
    verbose = sfn_cache("wrap", name, "--no-config", "-v", cwd=tmp_path)
    assert verbose.returncode == 2 and verbose.stderr.splitlines()[0] == line
    assert len(verbose.stderr.splitlines()) > 2  # the parser's full report, with the marked line


def test_a_yaml_error_in_the_configuration_is_one_line(tmp_path):
    (tmp_path / "sfn-cache.yaml").write_text("exclude: [Notify*\nttl: 1h\n")
    line = one_line_refusal(sfn_cache("wrap", EXAMPLE, cwd=tmp_path))
    assert line.startswith("error: sfn-cache.yaml:") and "invalid YAML" in line


