"""Which configuration applies, as the console script reports it: found in a parent folder, a
pyproject.toml that is not ours or is broken, a TOML file named by --config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import one_line_refusal, sfn_cache
from tests.support.paths import EXAMPLE

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
    assert line.startswith("error: pyproject.toml: invalid TOML")


@pytest.mark.parametrize("text", ['exclude = ["Notify*"]\n', '[tool.sfn-cache]\nexclude = ["Notify*"]\n'])
def test_config_option_reads_a_toml_file_as_toml(tmp_path, text):
    (tmp_path / "my.toml").write_text(text)
    result = sfn_cache("explain", EXAMPLE, "--json", "--config", tmp_path / "my.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reasons = {row["state"]: row["reason"] for row in json.loads(result.stdout)}
    assert reasons["NotifyFailure"] == f"excluded by exclude Notify* in {tmp_path / 'my.toml'}"
