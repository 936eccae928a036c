"""Every real state machine in ../shared/corpus wraps and re-validates, or is refused with a clear message.

The tally is printed (run with ``-s`` to see it). Templates are covered by the template tests.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS
from sfn_cache.asl.loader import load_text
from sfn_cache.asl.model import parse, transitions, walk
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.recognise import cache_operation, cache_payload
from sfn_cache.rewrite.wrap import wrap_definition

FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".json", ".yaml", ".yml")) if CORPUS.exists() else []

pytestmark = pytest.mark.skipif(not FILES, reason="../shared/corpus is not beside the project")


def classify(path: Path):
    try:
        document = load_text(path.read_text(encoding="utf-8"), str(path))
    except SfnCacheError as error:
        return "malformed", error
    if isinstance(document, dict) and "Resources" in document:
        return "template", None
    return "definition", document


def check_cached_form(original: dict, wrapped: dict, wrapped_tasks: set[str]) -> None:
    """Structural invariants: every wrapped task sits behind its pull, and nothing else moved."""
    states = {ref.name: ref.state for ref in walk(parse(wrapped))}
    pulls = {cache_payload(ref.state)["state"]: ref.name for ref in walk(parse(wrapped))
             if cache_operation(ref.state) == "pull"}
    assert set(pulls) == wrapped_tasks
    choices = {states[pull]["Next"] for pull in pulls.values()}  # each pull's use_cache Choice
    for name, state in states.items():
        assert len(name) <= 80
        for _, target in transitions(state):
            if target in wrapped_tasks and not (cache_operation(state) == "pull" or name in choices
                                                and state["Type"] == "Choice"):
                pytest.fail(f"{name} still jumps straight to the wrapped task {target}")
    for ref in walk(parse(original)):
        if ref.name not in wrapped_tasks:
            assert states[ref.name]["Type"] == ref.state["Type"]


def test_corpus_tally(capsys):
    tally = collections.Counter()
    refusals = collections.Counter()
    for path in FILES:
        kind, document = classify(path)
        if kind != "definition":
            tally[kind] += 1
            continue
        options = WrapOptions()
        try:
            result = wrap_definition(document, options, str(path))
        except SfnCacheError as error:
            assert str(path) in str(error) and "\n" not in str(error)
            tally["refused"] += 1
            refusals[error.message.split(":")[0]] += 1
            continue
        wrapped_tasks = {t.state for t in result.tasks if t.action == "wrapped"}
        tally["wrapped" if wrapped_tasks else "no task to cache"] += 1
        check_cached_form(document, result.definition, wrapped_tasks)
        again = wrap_definition(result.definition, options, str(path))
        assert json.dumps(again.definition) == json.dumps(result.definition), "re-wrapping must be a no-op"
    with capsys.disabled():
        print(f"\ncorpus: {len(FILES)} files: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
        for reason, count in sorted(refusals.items()):
            print(f"  refused ({count}): {reason}")
    assert tally["wrapped"] > 0 and sum(tally.values()) == len(FILES)


def test_jsonata_definitions_wrap_in_jsonata():
    wrapped = 0
    for path in FILES:
        kind, document = classify(path)
        if kind != "definition" or document.get("QueryLanguage") != "JSONata":
            continue
        try:
            result = wrap_definition(document, WrapOptions(), str(path))
        except SfnCacheError as error:
            assert "callback task" in str(error) or "not an object" in str(error), str(error)
            continue
        pulls = [ref.state for ref in walk(parse(result.definition)) if cache_operation(ref.state) == "pull"]
        assert pulls and all("Arguments" in p and "Parameters" not in p for p in pulls)
        wrapped += 1
    assert wrapped >= 3


def test_malformed_corpus_files_get_the_clean_exit_2_error(tmp_path):
    malformed = [p for p in FILES if classify(p)[0] == "malformed"]
    assert malformed, "the corpus is known to hold malformed files"
    for path in malformed:
        out = tmp_path / "out.json"
        proc = subprocess.run([sys.executable, "-m", "sfn_cache", "wrap", str(path), "-o", str(out)],
                              capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), proc.stderr
        assert not out.exists()
