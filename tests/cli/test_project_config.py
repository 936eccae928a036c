"""Project configuration: found from the current directory upward, flags win, typos are errors."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from sfn_cache.asl.model import parse, walk
from sfn_cache.rewrite.recognise import cache_payload
from tests.support.cli import wrap_outcome

DEFINITION = {"StartAt": "Prepare", "States": {
    "Prepare": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:prepare", "Next": "Train"},
    "Train": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:train", "Next": "Notify"},
    "Notify": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:notify", "End": True},
}}

PYPROJECT = """\
[project]
name = "ml-pipelines"

[tool.sfn-cache]
bucket = "s3://from-config/prefix"
ttl = "7d"
exclude = ["Notify*"]
cache-version = "3"

[tool.sfn-cache.states.Train]
bundle-name = "model"
ttl = "12h"
key-paths = ["$.dataset"]
"""


def payloads(definition: dict) -> dict[str, dict]:
    """The cache_pull payload of each wrapped task, by task name."""
    found = {}
    refs = list(walk(parse(definition)))
    for ref in refs:
        payload = cache_payload(ref.state)
        if payload and payload["sfn_cache"] == "pull":
            found[payload["state"]] = dict(payload)
    for ref in refs:  # a JSONPath task's key paths are read by cache_keys_T (issue 27)
        if ref.name.startswith("cache_keys_") and ref.name[len("cache_keys_"):] in found:
            found[ref.name[len("cache_keys_"):]].update(next(iter(ref.state["Assign"].values())))
    return found


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "pipelines" / "ml").mkdir(parents=True)
    (tmp_path / "pipelines" / "ml" / "def.asl.json").write_text(json.dumps(DEFINITION))
    monkeypatch.chdir(tmp_path / "pipelines" / "ml")  # the file is found from here upward
    return tmp_path


wrap = functools.partial(wrap_outcome, "def.asl.json")  # (result, parsed output) of wrapping the project's file


def test_pyproject_settings_apply_from_a_subdirectory(project):
    result, wrapped = wrap()
    assert result.exit_code == 0, result.stderr
    found = payloads(wrapped)
    assert set(found) == {"Prepare", "Train"}  # Notify excluded by the file
    assert found["Prepare"]["bucket"] == "s3://from-config/prefix"
    assert found["Prepare"]["ttl"] == 7 * 86400 and found["Prepare"]["cache_version"] == "3"
    assert found["Train"]["bundle"] == "model" and found["Train"]["ttl"] == 12 * 3600
    assert list(found["Train"]["input"]) == ["$.dataset"]  # the key is built from $.dataset only
    assert "input.$" in found["Prepare"]  # the whole effective input


def test_command_line_flags_override_the_file(project):
    result, wrapped = wrap("--bucket", "s3://from-flag", "--ttl", "1h", "--ttl", "Train=5m", "--exclude", "Prepare",
                           "--cache-version", "9")
    assert result.exit_code == 0, result.stderr
    found = payloads(wrapped)
    assert set(found) == {"Train", "Notify"}  # --exclude replaces the file's exclude list
    assert found["Train"]["bucket"] == "s3://from-flag"
    assert found["Train"]["ttl"] == 300 and found["Notify"]["ttl"] == 3600
    assert found["Notify"]["cache_version"] == "9"
    assert found["Train"]["bundle"] == "model"  # not overridden: still from the file


def test_no_config_ignores_the_file(project):
    result, wrapped = wrap("--no-config")
    found = payloads(wrapped)
    assert set(found) == {"Prepare", "Train", "Notify"}
    # the defaults are left to the runtime (protocol 2)
    assert "bucket" not in found["Prepare"] and "bundle" not in found["Train"] and "ttl" not in found["Train"]


def test_yaml_config_is_preferred_in_the_same_directory(project):
    (project / "pipelines" / "sfn-cache.yaml").write_text(
        "bucket: s3://from-yaml\nstates:\n  Prep*:\n    exclude: true\n")
    result, wrapped = wrap()
    assert result.exit_code == 0, result.stderr
    found = payloads(wrapped)
    assert set(found) == {"Train", "Notify"} and found["Train"]["bucket"] == "s3://from-yaml"


@pytest.mark.parametrize("text, message", [
    ("[tool.sfn-cache]\nbukcet = 's3://x'\n", "unknown key tool.sfn-cache.bukcet"),
    ("[tool.sfn-cache.states.Train]\nbundle = 'm'\n", "unknown key tool.sfn-cache.states.Train.bundle"),
    ("[tool.sfn-cache.files.'def.asl.json'.states.Trian]\nttl = '1h'\n",
     "files.def.asl.json.states.Trian: matches no state in def.asl.json"),
    ("[tool.sfn-cache]\nttl = 'soon'\n", "tool.sfn-cache.ttl: not a duration"),
    ("[tool.sfn-cache]\nexclude = 'Notify'\n", "tool.sfn-cache.exclude: wrong type str"),
    ("[tool.sfn-cache\n", "invalid TOML"),
])
def test_configuration_errors_name_the_file_and_key(project, text, message):
    (project / "pyproject.toml").write_text(text)
    result, _ = wrap("-o", "out.json")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "pyproject.toml: " + message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not Path("out.json").exists()


@pytest.mark.parametrize("config,flags", [
    ("[tool.sfn-cache.states.Train]\nallow-context-reads = true\n", ()),
    ("[tool.sfn-cache]\nallow-context-reads = true\n", ()),
    ("", ("--allow-context-reads", "Train")),
    ("", ("--allow-context-reads",)),
])
def test_allow_context_reads_from_the_file_or_the_flag(tmp_path, monkeypatch, config, flags):
    """A task reading $$.State after the task is left uncached unless allowed (README: What a hit evaluates)."""
    definition = json.loads(json.dumps(DEFINITION))
    definition["States"]["Train"]["ResultSelector"] = {"attempt.$": "$$.State.RetryCount"}
    (tmp_path / "pyproject.toml").write_text(config)
    (tmp_path / "def.asl.json").write_text(json.dumps(definition))
    monkeypatch.chdir(tmp_path)
    refused, wrapped_default = wrap() if not config else (None, None)
    if refused is not None:
        assert "state 'Train': not cached: reads $$.State.RetryCount" in refused.stderr
        assert set(payloads(wrapped_default)) == {"Prepare", "Notify"}
    result, wrapped = wrap(*flags)
    assert result.exit_code == 0, result.stderr
    assert "Train" in payloads(wrapped)
    assert "cached although it reads $$.State.RetryCount" in result.stderr


def test_allow_context_reads_naming_no_state_is_an_error(project):
    result, _ = wrap("--allow-context-reads", "Trian")
    assert result.exit_code == 2
    assert "--allow-context-reads Trian: matches no state" in result.stderr and "'Train'" in result.stderr
