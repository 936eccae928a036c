"""Every real state machine in ../shared/corpus wraps and re-validates, or is refused with a clear message;
a malformed file gets the clean exit-2 error. One test per file; the tally is printed in the summary.
Templates are covered by tests/corpus/test_templates.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sfn_cache.asl.model import parse, transitions, walk
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.select import cache_operation, cache_payload
from sfn_cache.rewrite.wrap import wrap_definition
from tests.support.corpus import NOT_TEMPLATES, classify, per_file, tally


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


@per_file(NOT_TEMPLATES)
def test_corpus_file(path, tmp_path, record_property):
    """A definition wraps into a sound cached form that re-wraps unchanged, or is refused in one line
    naming its file; a JSONata definition is wrapped in JSONata; a malformed file exits 2 in one line."""
    kind, document = classify(path)
    if kind == "template":
        tally(record_property, "definitions", template=1)  # without a state machine: nothing to wrap
        return
    if kind == "malformed":
        tally(record_property, "definitions", malformed=1)
        out = tmp_path / "out.json"
        proc = subprocess.run([sys.executable, "-m", "sfn_cache", "wrap", str(path), "-o", str(out)],
                              capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), proc.stderr
        assert not out.exists()
        return
    options = WrapOptions()
    jsonata = document.get("QueryLanguage") == "JSONata"
    try:
        result = wrap_definition(document, options, str(path))
    except SfnCacheError as error:
        assert str(path) in str(error) and "\n" not in str(error)
        if jsonata:
            assert "callback task" in str(error) or "not an object" in str(error), str(error)
        tally(record_property, "definitions", refused=1, **{f"refused: {error.message.split(':')[0]}": 1})
        return
    wrapped_tasks = {t.state for t in result.tasks if t.action == "wrapped"}
    check_cached_form(document, result.definition, wrapped_tasks)
    again = wrap_definition(result.definition, options, str(path))
    assert json.dumps(again.definition) == json.dumps(result.definition), "re-wrapping must be a no-op"
    if jsonata:
        pulls = [ref.state for ref in walk(parse(result.definition)) if cache_operation(ref.state) == "pull"]
        assert pulls and all("Arguments" in p and "Parameters" not in p for p in pulls)
    tally(record_property, "definitions", **{"wrapped" if wrapped_tasks else "no task to cache": 1},
          **({"jsonata wrapped": 1} if jsonata else {}))
