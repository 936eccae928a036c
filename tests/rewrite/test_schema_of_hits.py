"""Issue 27 point 10: a catching JSONata hit's branch Pass passes asl-validator's schema (4.0.0, the
Serverless Framework's), which has no ``"Output": null`` (a JSONata Output is a JSONata string or a JSON
value other than null; AWS Step Functions developer guide, "Transforming data with JSONata": Output
"accepts any JSON value", evaluated when a string holds ``{% %}``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from sfn_cache.local.engine import CACHE_ARN, function_arn
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition

CATCHING_JSONATA = {"QueryLanguage": "JSONata", "StartAt": "Work", "States": {
    "Work": {"Type": "Task", "Resource": function_arn("work"), "Output": "{% $states.result.r %}",
             "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}], "End": True},
    "Failed": {"Type": "Fail", "Error": "X"}}}


def branch_passes(definition: dict) -> list[dict]:
    return [state for top in definition["States"].values() for branch in top.get("Branches", [])
            for state in branch["States"].values()]


def test_the_branch_pass_has_no_null_output():
    wrapped = wrap_definition(CATCHING_JSONATA, WrapOptions(lambda_arn=CACHE_ARN)).definition
    passes = branch_passes(wrapped)
    assert passes, "a catching hit is a Parallel"
    assert all(state.get("Output", "absent") is not None for state in passes)


def test_asl_validator_accepts_the_catching_hit(tmp_path):
    binary = os.environ.get("ASL_VALIDATOR") or shutil.which("asl-validator")
    if binary is None:
        if os.environ.get("SFN_CACHE_REQUIRE_VALIDATORS"):
            pytest.fail("asl-validator is not installed")
        pytest.skip("asl-validator is not installed")
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps(wrap_definition(CATCHING_JSONATA, WrapOptions(lambda_arn=CACHE_ARN)).definition))
    run = subprocess.run([binary, "--json-path", str(path)], capture_output=True, text=True)
    assert "is valid" in run.stdout, run.stdout + run.stderr
