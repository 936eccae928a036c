"""``verify`` over every real definition of ../shared/corpus, on an input generated from it.

Tasks are the default stubs, Waits do not sleep. Per input, verify runs the original twice, the
wrapped machine on an empty cache (miss) and again (hit). Nothing is hidden: the tally is printed
(``pytest -s``), with the time verify takes per definition. Every comparable run must be identical;
a definition that differs from itself (States.UUID, the clock), that the interpreter cannot run, that
waits for an activity worker or a task token, or that breaks an AWS quota is counted as such.
Executions are bounded by their history events: here a budget of 2,000 per execution (a real
definition that polls forever would otherwise run to AWS's 25,000 and take minutes of CI), counted as
"not comparable (over the event budget)"; the wall-clock backstop is 120 s per execution.
"""

from __future__ import annotations

import collections
import re
import statistics
import time

import pytest

from sfn_cache.errors import SfnCacheError
from sfn_cache.local.engine import CACHE_ARN
from sfn_cache.local.session import local_session
from sfn_cache.local.tasks import runnable
from sfn_cache.local.verify import verify
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition
from test_corpus import FILES, classify

EVENT_BUDGET = 2_000
TOP_LEVEL_FIELD = re.compile(r"^\$\.([A-Za-z_][A-Za-z0-9_]*)")


def generated_input(definition) -> dict:
    """Every top-level field a path of the definition reads: a list where a Map iterates over it."""
    fields: dict = {}

    def visit(node, key=None):
        if isinstance(node, dict):
            for name, value in node.items():
                visit(value, name)
        elif isinstance(node, list):
            for value in node:
                visit(value, key)
        elif isinstance(node, str) and TOP_LEVEL_FIELD.match(node):
            name = TOP_LEVEL_FIELD.match(node).group(1)
            fields[name] = [1, 2] if key == "ItemsPath" else fields.get(name, f"sample-{name}")

    visit(definition)
    return fields


@pytest.mark.skipif(not FILES, reason="../shared/corpus is not beside the project (or set SFN_CACHE_CORPUS)")
def test_verify_every_corpus_definition(capsys):
    started = time.monotonic()
    tally = collections.Counter()
    per_definition: list[float] = []
    notes, different = [], []
    with local_session() as engine:
        for path in FILES:
            kind, document = classify(path)
            if kind != "definition":
                continue
            definition = runnable(document)
            try:
                wrapped = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN)).definition
            except SfnCacheError:
                tally["refused by wrap"] += 1
                continue
            began = time.monotonic()
            for label, execution_input in (("generated", generated_input(definition)),):
                name = str(path.relative_to(path.parents[2]))
                try:
                    verdict = verify(engine, name, definition, wrapped, execution_input, label, backstop=120,
                                     max_events=EVENT_BUDGET)
                except Exception as error:  # moto cannot create or run it: nothing to compare
                    tally["not runnable here"] += 1
                    notes.append(f"not runnable: {name}: {type(error).__name__}: {str(error)[:100]}")
                    break
                original = verdict.runs[0]
                if verdict.ok:
                    tally[f"identical, {original.status.lower()}"] += 1
                elif verdict.difference:
                    different.append(f"{name} on {label}: {verdict.difference}")
                else:
                    problem = verdict.problems[0]
                    tally["not comparable (" + ("differs from itself" if "itself" in problem else
                                                "waits for a worker or token" if "waits for" in problem else
                                                "over the event budget" if "event budget" in problem else
                                                "over an AWS quota") + ")"] += 1
                    notes.append(f"{name} on {label}: {verdict.problems[0]}")
            per_definition.append(time.monotonic() - began)
    with capsys.disabled():
        print(f"\ncorpus verify ({time.monotonic() - started:.0f}s; per runnable definition: median "
              f"{statistics.median(per_definition):.2f}s, max {max(per_definition):.2f}s): "
              + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
        for line in notes + different:
            print(f"  {line}")
    assert different == []
    assert tally["identical, succeeded"] > 20
