"""``wrap`` on a SAM project through the console script: a preview writes nothing, an in-place wrap
remembers its DefinitionUri source, and its diff is the change and nothing else
(corpus-wide: tests/corpus/test_minimal_diffs.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.cli import SAM_TEMPLATE as TEMPLATE
from tests.support.cli import sfn_cache
from tests.support.paths import EXAMPLE


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path) -> Path:
    """A SAM project: a template whose state machine is a local DefinitionUri file."""
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / "pipeline.asl.json").write_text(EXAMPLE.read_text())
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    return tmp_path


@pytest.mark.parametrize("flags", [[], ["--diff"], ["--check", "-o", "template.yaml"]])
def test_a_preview_writes_no_file(project, flags):
    before = snapshot(project)
    result = sfn_cache("wrap", "template.yaml", "--no-config", *flags, cwd=project)
    assert result.returncode in (0, 1), result.stderr
    assert snapshot(project) == before
    if not flags:
        assert "DefinitionUri: statemachine/pipeline.cached.asl.json" in result.stdout
        assert "statemachine/pipeline.cached.asl.json not written" in result.stderr


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
    assert ("statemachine/pipeline.cached.asl.json: out of date; run: "
            "sfn-cache wrap template.yaml -o template.yaml --no-config") in stale.stderr
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
    actions = {row["state"]: row["action"] for row in json.loads(explained.stdout)}
    assert set(actions.values()) == {"wrapped", "excluded"} and actions["NotifyFailure"] == "excluded"  # sns:publish
    result = sfn_cache("wrap", "template.yaml", "-o", "template.yaml", "--no-config", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "DefinitionSource: statemachine/pipeline.asl.json" in (project / "template.yaml").read_text()
    assert "cache_pull_PrepareFeatures" in (project / "statemachine" / "pipeline.cached.asl.json").read_text()


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
        "    Properties: {Handler: sfn_cache.runtime.handler.lambda_handler, Runtime: python3.12}\n")
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
        "+        SfnCacheFunctionArn: !GetAtt Fn.Arn",
        "+    Metadata:",
        "+      SfnCache:",
        "+        DefinitionSource: statemachine/pipeline.asl.json",
    ]


def test_a_template_written_to_a_build_folder_wraps_to_itself(project):
    """Review finding: wrap -o build/template.yaml writes the wrapped DefinitionUri file into build/; wrapping
    build/template.yaml again made a .cached copy of that already wrapped file, so --check on build/ always
    failed. A wrapped DefinitionUri file is now re-wrapped where it is: wrap(wrap(t)) == wrap(t)."""
    first = sfn_cache("wrap", "template.yaml", "--no-config", "-o", "build/template.yaml", cwd=project)
    assert first.returncode == 0, first.stderr
    built = snapshot(project / "build")
    assert "cache_pull_TrainModel" in built["statemachine/pipeline.asl.json"].decode()
    check = sfn_cache("wrap", "build", "--no-config", "--check", cwd=project)
    assert check.returncode == 0, check.stderr
    again = sfn_cache("wrap", "build/template.yaml", "--no-config", "-o", "build/template.yaml", cwd=project)
    assert again.returncode == 0, again.stderr
    assert snapshot(project / "build") == built
