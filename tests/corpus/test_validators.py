"""Independent validators over the corpus wraps: npm ``asl-validator`` (the Serverless Framework's) and
PyPI ``statelint``. Wherever an original definition passes one, its wrapped forms (both patterns) pass it.

statelint 3.1 predates two parts of ASL that the default pattern uses in JSONPath states, and reports
them although Step Functions accepts them (docs/architecture.md, "Independent validators"): ``Assign``
in a JSONPath state, and a workflow-variable reference (``"run_force.$": "$sfncache_force"``; since issue
27 also a JSONPath push's ``"key.$": "$sfncache_<digest>.key"`` and its ``base``/``pulled``, and the
key-path pull's ``input``/``target``). Those messages, and only those, are set aside for the default
pattern; the classic pattern must pass as is.

``.ci/run`` installs asl-validator with npm and sets SFN_CACHE_REQUIRE_VALIDATORS=1, so CI fails
rather than skips when a validator is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition
from tests.support.corpus import NOT_TEMPLATES as FILES  # the templates hold no definition to validate
from tests.support.corpus import classify, per_file
from tests.support.paths import ROOT

ARN = "arn:aws:lambda:us-east-1:123456789012:function:sfn-cache"
STATELINT_GAPS = (re.compile(r'^Field "Assign" not allowed in '),
                  re.compile(r'^Field "(run_force|key|base|pulled|result|input|target)\.\$" of Parameters at ".*" '
                             r'is not a JSONPath or intrinsic function expression$'))

def asl_validator() -> str | None:
    found = (os.environ.get("ASL_VALIDATOR") or shutil.which("asl-validator")
             or next((str(p) for p in [ROOT / ".ci-node" / "node_modules" / ".bin" / "asl-validator"] if p.exists()),
                     None))
    if found is None and os.environ.get("SFN_CACHE_REQUIRE_VALIDATORS"):
        pytest.fail("asl-validator is not installed (npm install asl-validator)")
    return found


@pytest.fixture(scope="session")
def corpus_wraps(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """{corpus file: {"original" | "variables" | "classic": JSON file}} for every definition that wraps."""
    if not FILES:
        pytest.skip("../shared/corpus is not beside the project (or set SFN_CACHE_CORPUS)")
    out = tmp_path_factory.mktemp("wraps")
    wraps: dict[str, dict[str, Path]] = {}
    for index, path in enumerate(FILES):
        kind, document = classify(path)
        if kind != "definition":
            continue
        files = {"original": out / f"{index}_original.json"}
        files["original"].write_text(json.dumps(document))
        for pattern in ("variables", "classic"):
            try:
                result = wrap_definition(document, WrapOptions(lambda_arn=ARN, pattern=pattern), str(path))
            except SfnCacheError:
                continue
            if result.changed:
                files[pattern] = out / f"{index}_{pattern}.json"
                files[pattern].write_text(json.dumps(result.definition))
        if len(files) > 1:
            wraps[str(path)] = files
    assert wraps
    return wraps


def run_asl_validator(binary: str, files: list[Path]) -> dict[Path, list[str]]:
    """Problems per file (empty: valid). A file the validator crashes on gets a problem too."""
    args = [binary] + [arg for f in files for arg in ("--json-path", str(f))]
    text = subprocess.run(args, capture_output=True, text=True, cwd=files[0].parent).stdout
    verdicts = dict(re.findall(r'State machine definition "(.+?)" is (valid|invalid)', text))
    problems: dict[Path, list[str]] = {}
    for f in files:
        verdict = verdicts.get(str(f))
        problems[f] = [] if verdict == "valid" else [f"asl-validator: {verdict or 'crashed'}"]
    return problems


def run_asl_validator_in_one_process(binary: str, files: list[Path]) -> dict[Path, list[str]]:
    """run_asl_validator's answer, from asl-validator's own validator function called for every file in
    one node process that builds its schema compiler once (tests/support/asl_validate_many.js)."""
    script = Path(__file__).resolve().parents[1] / "support" / "asl_validate_many.js"
    text = subprocess.run(["node", str(script), binary, *map(str, files)], capture_output=True, text=True).stdout
    verdicts = dict(re.findall(r'State machine definition "(.+?)" is (valid|invalid)', text))
    return {f: [] if verdicts.get(str(f)) == "valid" else [f"asl-validator: {verdicts.get(str(f)) or 'crashed'}"]
            for f in files}


def run_statelint(files: list[Path]) -> dict[Path, list[str]]:
    text = subprocess.run([sys.executable, "-m", "statelint", *map(str, files)], capture_output=True,
                          text=True).stdout
    problems: dict[Path, list[str]] = {f: [] for f in files}
    current = None
    for line in text.splitlines():
        if not line.startswith(" ") and Path(line) in problems:
            current = Path(line)
        elif line.startswith(" ") and current is not None:
            problems[current].append(line.strip())
    return problems


def regressions(problems: dict[Path, list[str]], wraps: dict, allowed=lambda pattern, problem: False) -> list[str]:
    found = []
    for source, files in wraps.items():
        if problems[files["original"]]:
            continue  # the original does not pass this validator: nothing to keep
        for pattern in ("variables", "classic"):
            if pattern in files:
                left = [p for p in problems[files[pattern]] if not allowed(pattern, p)]
                found += [f"{source} ({pattern}): {p}" for p in left[:3]]
    return found


@pytest.fixture(scope="session")
def asl_validator_problems(corpus_wraps) -> dict[Path, list[str]]:
    """asl-validator's problems with every original and wrap (3 s: its schemas compiled once)."""
    binary = asl_validator()
    if binary is None:
        pytest.skip("asl-validator is not installed (npm install asl-validator; .ci/run does)")
    return run_asl_validator_in_one_process(binary, [f for files in corpus_wraps.values() for f in files.values()])


@pytest.fixture(scope="session")
def statelint_problems(corpus_wraps) -> dict[Path, list[str]]:
    """statelint's problems with every original and wrap, in one run."""
    files = [f for files in corpus_wraps.values() for f in files.values()]
    return run_statelint(files)


def statelint_gap(pattern: str, problem: str) -> bool:
    return pattern == "variables" and any(g.match(problem) for g in STATELINT_GAPS)


def test_most_originals_pass_so_the_comparisons_are_not_vacuous(corpus_wraps, asl_validator_problems,
                                                                statelint_problems):
    passing = sum(1 for files in corpus_wraps.values() if not asl_validator_problems[files["original"]])
    assert passing >= 100, "most originals pass: the comparison is not vacuous"
    passing = sum(1 for files in corpus_wraps.values() if not statelint_problems[files["original"]])
    assert passing >= 50, "many originals pass: the comparison is not vacuous"


@per_file(FILES)
def test_corpus_wraps_pass_asl_validator_wherever_the_originals_do(path, corpus_wraps, asl_validator_problems):
    mine = {source: files for source, files in corpus_wraps.items() if source == str(path)}
    assert regressions(asl_validator_problems, mine) == []


@per_file(FILES)
def test_corpus_wraps_pass_statelint_wherever_the_originals_do(path, corpus_wraps, statelint_problems):
    mine = {source: files for source, files in corpus_wraps.items() if source == str(path)}
    assert regressions(statelint_problems, mine, allowed=statelint_gap) == []


def test_the_validators_catch_what_they_are_here_to_catch(tmp_path):
    """Each validator rejects a definition the old default pattern wrote (empty cache_version in JSONata
    Arguments; an integer BackoffRate), so a pass above means something."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {
        "Type": "Task", "Resource": ARN, "Arguments": {"cache_version": ""}, "End": True,
        "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 2}]}}}))
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}))
    linted = run_statelint([bad, good])
    assert linted[bad] and not linted[good], "statelint: BackoffRate should be a Float"
    binary = asl_validator()
    if binary is not None:
        assert run_asl_validator(binary, [bad])[bad]
        both = run_asl_validator_in_one_process(binary, [bad, good, bad])  # the shared compiler, reused
        assert both[bad] and not both[good] and not run_asl_validator(binary, [good])[good]
