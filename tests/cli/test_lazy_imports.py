"""The CLI imports what a command needs: help and a JSON definition's wrap, explain and graph import no
AWS library and no YAML; the lazy command group lists every command with its own summary.

Start-up times are a benchmark (benchmarks/cli_startup.py); these tests check the property those
figures rest on, without timing anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sfn_cache.cli import COMMANDS, cli
from sfn_cache.local.engine import function_arn

DEFINITION = {"StartAt": "Work", "States": {
    "Work": {"Type": "Task", "Comment": "the user's own comment", "Resource": function_arn("work"),
             "ResultPath": "$.out", "Next": "Last"},
    "Last": {"Type": "Task", "Resource": function_arn("last"), "ResultSelector": {"v.$": "$.v"},
             "Assign": {"seen.$": "$.v"}, "End": True}}}
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
    from sfn_cache.cli.unwrap import unwrap_commands
    from sfn_cache.cli.verify import verify_commands
    from sfn_cache.cli.wrap import wrap_commands

    commands = (wrap_commands + unwrap_commands + inspect_commands + cache_commands + verify_commands
                + [build_lambda_command])
    assert sorted(command.name for command in commands) == sorted(COMMANDS)
    for command in commands:
        assert cli.get_command(None, command.name) is command
        assert COMMANDS[command.name][2] == command.help.split("\n\n")[0].strip()
