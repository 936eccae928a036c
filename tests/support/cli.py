"""Running the CLI as the tests do: in-process through click's runner, or as the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from sfn_cache.cli import cli

SCRIPT = Path(sys.executable).parent / "sfn-cache"
CACHE_CLI_BUCKET = "sfn-cache-cli"  # the cache_env fixture's bucket (tests/conftest.py)

# The caching function a SAM template must define for its wrapped machines to deploy (a Resources entry)
CACHING_FUNCTION_YAML = """\
  SfnCacheFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: build/sfn-cache-function.zip
      Handler: sfn_cache.runtime.handler.lambda_handler
      Runtime: python3.12
"""

# A SAM project's template whose state machine is a local DefinitionUri file (statemachine/pipeline.asl.json),
# with the caching function it invokes
SAM_TEMPLATE = """\
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
  # the caching function (as sfn-cache build-lambda's template.yaml writes it)
""" + CACHING_FUNCTION_YAML


def wrap(*args, input=None) -> Result:
    """``sfn-cache wrap ARGS`` in-process; exceptions propagate (a traceback is a failure, not an exit code)."""
    return CliRunner().invoke(cli, ["wrap", *map(str, args)], input=input, catch_exceptions=False)


def wrap_outcome(*args) -> tuple[Result, dict | None]:
    """``wrap`` and its parsed JSON output (None unless it exited 0)."""
    result = wrap(*args)
    return result, (json.loads(result.stdout) if result.exit_code == 0 else None)


def states_of(definition: dict) -> dict:
    """All states of all scopes, flattened (names are unique machine-wide)."""
    found = {}
    for name, state in definition["States"].items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(states_of(branch))
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                found.update(states_of(state[key]))
    return found


def sfn_cache(*args, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the console script as a user does (its own process, a clean configuration search)."""
    return subprocess.run([str(SCRIPT), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def sfn_cache_in(env: dict, *args) -> subprocess.CompletedProcess:
    """The console script in exactly the environment ``env`` (the cache_env fixture's: moto.server's S3)."""
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env, timeout=120)


def one_line_refusal(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]
