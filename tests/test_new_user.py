"""What a new user trips over (issue 16), each run through the installed ``sfn-cache`` console script:
previews that write, silent selector typos, settings that turn the cache off, invisible configuration,
multi-line refusals, and the Python API misreading strings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sfn_cache import Caching, PipelineCaching
from sfn_cache.errors import SfnCacheError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ml_pipeline.asl.json"
SCRIPT = Path(sys.executable).parent / "sfn-cache"

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  # the pipeline
  Pipeline:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachine/pipeline.asl.json
  # something else
  Bucket:
    Type: AWS::S3::Bucket
"""


def sfn_cache(*args, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the console script as a user does (its own process, a clean configuration search)."""
    return subprocess.run([str(SCRIPT), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def one_line_refusal(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path) -> Path:
    """A SAM project: a template whose state machine is a local DefinitionUri file."""
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / "pipeline.asl.json").write_text(EXAMPLE.read_text())
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    return tmp_path


# --- 1. a preview writes nothing ------------------------------------------------------------------

@pytest.mark.parametrize("flags", [[], ["--diff"], ["--check", "-o", "template.yaml"]])
def test_a_preview_writes_no_file(project, flags):
    before = snapshot(project)
    result = sfn_cache("wrap", "template.yaml", "--no-config", *flags, cwd=project)
    assert result.returncode in (0, 1), result.stderr
    assert snapshot(project) == before
    if not flags:
        assert "DefinitionUri: statemachine/pipeline.cached.asl.json" in result.stdout
        assert "statemachine/pipeline.cached.asl.json not written" in result.stderr


# --- 4. typos in selectors ------------------------------------------------------------------------

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
    (tmp_path / "sfn-cache.yaml").write_text("exclude: ['Notfy*']\n")
    line = one_line_refusal(sfn_cache("wrap", EXAMPLE, cwd=tmp_path))
    assert line == (f"error: sfn-cache.yaml: exclude Notfy*: matches no state in {EXAMPLE} "
                    f"(closest state name: 'NotifyFailure')")


def test_selectors_that_match_are_accepted(tmp_path):
    result = sfn_cache("wrap", EXAMPLE, "--no-config", "--include", "Train*", "--exclude", "Notify*",
                       "--ttl", "TrainModel=1h", "--force-rerun", "TrainModel", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cache_pull_TrainModel" in result.stdout and "cache_pull_PrepareFeatures" not in result.stdout


# --- 5. settings that would quietly turn the cache off --------------------------------------------

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


# --- 6. which configuration applied ---------------------------------------------------------------

PYPROJECT = '[project]\nname = "x"\n\n[tool.sfn-cache]\nexclude = ["Notify*"]\n'


def test_explain_and_verbose_name_the_configuration_found_in_a_parent_folder(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "pipelines").mkdir()
    config = Path("..", "pyproject.toml")  # found in the parent folder, shown relative to where we are
    explained = sfn_cache("explain", EXAMPLE, "--json", cwd=tmp_path / "pipelines")
    assert explained.returncode == 0, explained.stderr
    assert f"configuration: {config}" in explained.stderr.splitlines()
    reasons = {row["state"]: row["reason"] for row in json.loads(explained.stdout)}
    assert reasons["NotifyFailure"] == f"excluded by exclude Notify* in {config}"
    flagged = sfn_cache("explain", EXAMPLE, "--json", "--exclude", "Notify*", cwd=tmp_path / "pipelines")
    assert {row["state"]: row["reason"] for row in json.loads(flagged.stdout)}["NotifyFailure"] == \
        "excluded by --exclude Notify*"
    wrapped = sfn_cache("wrap", EXAMPLE, "-v", "-o", tmp_path / "out.json", cwd=tmp_path / "pipelines")
    assert wrapped.returncode == 0, wrapped.stderr
    assert wrapped.stderr.splitlines()[0] == f"configuration: {config}"
    none = sfn_cache("wrap", EXAMPLE, "-v", "--no-config", "-o", tmp_path / "out.json", cwd=tmp_path)
    assert none.stderr.splitlines()[0] == "configuration: none"


def test_a_broken_pyproject_that_is_not_ours_is_ignored(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project\nname = 'broken'\n")
    (tmp_path / "pipelines").mkdir()
    result = sfn_cache("wrap", EXAMPLE, "-v", "-o", tmp_path / "out.json", cwd=tmp_path / "pipelines")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == "configuration: none"


def test_a_broken_pyproject_with_our_table_is_an_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.sfn-cache]\nttl = \n")
    line = one_line_refusal(sfn_cache("wrap", EXAMPLE, cwd=tmp_path))
    assert line.startswith(f"error: pyproject.toml: invalid TOML")


@pytest.mark.parametrize("text", ['exclude = ["Notify*"]\n', '[tool.sfn-cache]\nexclude = ["Notify*"]\n'])
def test_config_option_reads_a_toml_file_as_toml(tmp_path, text):
    (tmp_path / "my.toml").write_text(text)
    result = sfn_cache("explain", EXAMPLE, "--json", "--config", tmp_path / "my.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reasons = {row["state"]: row["reason"] for row in json.loads(result.stdout)}
    assert reasons["NotifyFailure"] == f"excluded by exclude Notify* in {tmp_path / 'my.toml'}"


# --- 9. every refusal is one line -----------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (["wrap", "--bogus", "x"], "error: sfn-cache wrap: No such option '--bogus'"),
    (["wrap"], "error: sfn-cache wrap: Missing argument 'FILE'."),
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
    ("tabs.yaml", "StartAt: A\n\tStates: {}\n", "tabs.yaml:2: invalid YAML: found character '\\t' that cannot start any token"),
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
    assert line.startswith(f"error: sfn-cache.yaml:") and "invalid YAML" in line


# --- 8. the Python API reads strings as users mean them -------------------------------------------

def wrapped_tasks(caching: Caching) -> set[str]:
    definition = PipelineCaching(json.loads(EXAMPLE.read_text()), caching).cache()
    return {name[len("cache_pull_"):] for name in json.dumps(definition).split('"') if name.startswith("cache_pull_")}


def test_api_takes_one_glob_or_a_list_and_durations_as_strings():
    every = wrapped_tasks(Caching("arn:aws:lambda:us-east-1:1:function:c"))
    assert "NotifyFailure" in every
    one = wrapped_tasks(Caching("arn:aws:lambda:us-east-1:1:function:c", exclude="Notify*"))
    assert one == every - {"NotifyFailure"}
    listed = wrapped_tasks(Caching("arn:aws:lambda:us-east-1:1:function:c", exclude=["Notify*", "Train*"]))
    assert listed == every - {"NotifyFailure", "TrainModel"}
    assert Caching("arn:aws:lambda:us-east-1:1:function:c", ttl="7d").options.ttl == 7 * 86400
    assert Caching("arn:aws:lambda:us-east-1:1:function:c", cache_version=3).options.cache_version == "3"


@pytest.mark.parametrize("keywords, message", [
    ({"exclude": 5}, "Caching(exclude=...): expected a glob string or a list of them"),
    ({"include": ["A", 1]}, "Caching(include=...): expected a glob string or a list of them"),
    ({"ttl": "soon"}, "Caching(ttl=...): not a duration"),
    ({"ttl": 0}, "Caching(ttl=...): a TTL of 0 would never serve"),
    ({"ttl": 1.5}, "Caching(ttl=...): expected seconds or a duration"),
    ({"bucket": "ml-cache"}, "Caching(bucket=...): expected s3://bucket[/prefix]"),
    ({"force_rerun": "yes"}, "Caching(force_rerun=...): expected bool"),
    ({"pattern": "fancy"}, "Caching(pattern=...): expected one of variables, classic"),
])
def test_api_rejects_anything_else_with_a_clear_error(keywords, message):
    with pytest.raises(SfnCacheError) as caught:
        Caching("arn:aws:lambda:us-east-1:1:function:c", **keywords)
    assert str(caught.value).startswith(message), str(caught.value)


# --- 2. a template wrapped in place remembers its source ------------------------------------------

def test_a_template_wrapped_in_place_rewraps_its_source_after_an_edit(project):
    source = project / "statemachine" / "pipeline.asl.json"
    first = sfn_cache("wrap", "template.yaml", "-o", "template.yaml", "--no-config", cwd=project)
    assert first.returncode == 0, first.stderr
    template = (project / "template.yaml").read_text()
    assert "DefinitionUri: statemachine/pipeline.cached.asl.json" in template
    assert "    Metadata:\n      SfnCache:\n        DefinitionSource: statemachine/pipeline.asl.json\n" in template
    again = sfn_cache("wrap", "template.yaml", "-o", "template.yaml", "--no-config", "--check", cwd=project)
    assert again.returncode == 0 and "template.yaml: up to date" in again.stderr

    source.write_text(source.read_text().replace('"prepare-features"', '"prepare-features-v2"'))
    stale = sfn_cache("wrap", "template.yaml", "-o", "template.yaml", "--no-config", "--check", cwd=project)
    assert stale.returncode == 1
    assert "statemachine/pipeline.cached.asl.json: out of date; run sfn-cache wrap again" in stale.stderr
    rewrap = sfn_cache("wrap", "template.yaml", "-o", "template.yaml", "--no-config", cwd=project)
    assert rewrap.returncode == 0, rewrap.stderr
    cached = json.loads((project / "statemachine" / "pipeline.cached.asl.json").read_text())
    assert cached["States"]["PrepareFeatures"]["Parameters"]["JobName"] == "prepare-features-v2"
    assert cached["States"]["cache_pull_PrepareFeatures"]["Parameters"]["input"]["JobName"] == "prepare-features-v2"
    assert (project / "template.yaml").read_text() == template  # the template itself did not change
    assert sorted(p.name for p in (project / "statemachine").iterdir()) == ["pipeline.asl.json",
                                                                           "pipeline.cached.asl.json"]


def test_a_template_wrapped_before_the_marker_finds_its_source_by_name(project):
    (project / "statemachine" / "pipeline.cached.asl.json").write_text(EXAMPLE.read_text())
    (project / "template.yaml").write_text(TEMPLATE.replace("pipeline.asl.json", "pipeline.cached.asl.json"))
    explained = sfn_cache("explain", "template.yaml", "--json", "--no-config", cwd=project)
    assert {row["action"] for row in json.loads(explained.stdout)} == {"wrapped"}  # planned from the source
    result = sfn_cache("wrap", "template.yaml", "-o", "template.yaml", "--no-config", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "DefinitionSource: statemachine/pipeline.asl.json" in (project / "template.yaml").read_text()
    assert "cache_pull_PrepareFeatures" in (project / "statemachine" / "pipeline.cached.asl.json").read_text()


# --- 3. an in-place YAML edit is the change and nothing else (corpus-wide: test_minimal_diffs.py) ----

def test_an_in_place_wrap_diff_is_the_change_and_nothing_else(project):
    (project / "template.yaml").write_text(
        "Resources:\n"
        "  # the pipeline\n"
        "  Pipeline:\n"
        "    Type: AWS::Serverless::StateMachine\n"
        "    Properties:\n"
        "      DefinitionUri: statemachine/pipeline.asl.json\n"
        "      Policies:\n"
        "      - LambdaInvokePolicy: {FunctionName: !Ref Fn}   # who may be called\n"
        "\n"
        "  # the function, not touched\n"
        "  Fn:\n"
        "    Type:   AWS::Serverless::Function   \n"
        "    Properties: {Handler: a.b, Runtime: python3.12}\n")
    result = sfn_cache("wrap", "template.yaml", "-o", "template.yaml", "--no-config", "--diff", cwd=project)
    assert result.returncode == 1, result.stderr
    sections = re.split(r"(?m)^(?=--- )", result.stdout)  # one per file: the template, the new copy
    template_diff = next(section for section in sections if section.startswith("--- template.yaml"))
    changes = [line for line in template_diff.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changes == [
        "-      DefinitionUri: statemachine/pipeline.asl.json",
        "+      DefinitionUri: statemachine/pipeline.cached.asl.json",
        "+      DefinitionSubstitutions:",
        "+        SfnCacheFunctionArn: !GetAtt SfnCacheFunction.Arn",
        "+    Metadata:",
        "+      SfnCache:",
        "+        DefinitionSource: statemachine/pipeline.asl.json",
    ]
