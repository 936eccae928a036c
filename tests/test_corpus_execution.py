"""Real public definitions from ../shared/corpus run identically before and after wrapping.

Every task is stubbed (Lambda functions and service integrations answer with a deterministic
function of what they receive), Waits do not sleep, and each definition runs three times: original,
wrapped (miss), wrapped again (hit). Status, output, error and cause must agree. The original runs
twice first: a definition whose own two runs differ (it calls States.UUID() or reads the clock) cannot
be compared and is counted as such; so are definitions the interpreter cannot run at all (activities,
...). Nothing is hidden: the tally is printed.
"""

from __future__ import annotations

import collections
import json
import re
import time

import pytest

from harness import install_corpus_seams, same_failure_in_generated_state
from sfn_cache.errors import SfnCacheError
from test_corpus import FILES, classify
from test_equivalence import cached

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


def stub_result(kind: str, received):
    """What a stubbed task returns: depends on every part of its input, keeps it readable downstream."""
    result = {"stub": kind, "received": received, "Status": "SUCCEEDED", "StatusCode": 200}
    if isinstance(received, dict):
        result = {**received, **result}
    return result


def runnable(document: dict) -> dict:
    """Fill ${Placeholders} (DefinitionSubstitutions) with a Lambda ARN so moto accepts the resource."""
    text = json.dumps(document)
    text = PLACEHOLDER.sub(lambda m: f"arn:aws:lambda:us-east-1:123456789012:function:{re.sub('[^A-Za-z0-9_-]', '-', m.group(1))}", text)
    return json.loads(text)


@pytest.mark.skipif(not FILES, reason="../shared/corpus is not beside the project")
def test_corpus_definitions_execute_identically(make_engine, monkeypatch, capsys):
    started = time.monotonic()
    install_corpus_seams(monkeypatch, lambda resource, params: stub_result(resource, params))
    engine = make_engine({}, default_task=lambda event: stub_result("lambda", event))
    tally = collections.Counter()
    not_runnable = []
    for path in FILES:
        kind, document = classify(path)
        if kind != "definition":
            continue
        definition = runnable(document)
        try:
            wrapped = cached(definition)
        except SfnCacheError:
            tally["refused by wrap"] += 1
            continue
        try:
            original = engine.run(definition, {}, timeout=10)
        except Exception as error:  # moto cannot create or run it: not a comparison we can make
            not_runnable.append(f"{path.relative_to(path.parents[2])}: {type(error).__name__}: {str(error)[:100]}")
            tally["not runnable here"] += 1
            continue
        if engine.run(definition, {}, timeout=10) != original:
            tally["nondeterministic on its own"] += 1
            continue
        miss = engine.run(wrapped, {}, timeout=10)
        hit = engine.run(wrapped, {}, timeout=10)
        if miss == original and hit == original:
            tally[f"identical, {original.status.lower()}"] += 1
            continue
        assert same_failure_in_generated_state(miss, original), f"{path}: the cache miss changed the outcome"
        assert same_failure_in_generated_state(hit, original), f"{path}: the cache hit changed the outcome"
        tally["identical but the States.Runtime cause names a generated state"] += 1
    with capsys.disabled():
        print(f"\ncorpus executions ({time.monotonic() - started:.0f}s): " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
        for line in not_runnable:
            print(f"  not runnable: {line}")
    assert tally["identical, succeeded"] > 20
