"""The bundled example pipeline runs its success path, uncached, on a miss and on a hit (issue 17).

benchmarks/transitions.py counts the costs of these same runs; this test makes sure they describe a
succeeded execution, not the failure branch.
"""

from __future__ import annotations

import json

import pytest

from sfn_cache.local.engine import CACHE_ARN, CACHE_FUNCTION
from sfn_cache.local.seams import install_aws_paths
from sfn_cache.local.seams import install_service_seams as install_corpus_seams
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition
from tests.support.example import EXAMPLE_INPUT, example_service, example_task
from tests.support.paths import ROOT

EXAMPLE = json.loads((ROOT / "examples" / "ml_pipeline.asl.json").read_text())


@pytest.mark.parametrize("pattern", ["variables", "classic"])
def test_example_succeeds_uncached_on_a_miss_and_on_a_hit(make_engine, monkeypatch, pattern):
    engine = make_engine({}, default_task=example_task)
    install_corpus_seams(monkeypatch, example_service)
    install_aws_paths(monkeypatch)  # $.models[0].auc is one number on AWS; moto would give a list
    wrapped = wrap_definition(EXAMPLE, WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern)).definition

    original = engine.run(EXAMPLE, EXAMPLE_INPUT)
    assert original.status == "SUCCEEDED", original
    assert "published" in original.output  # the Choice took the Publish branch, not NotifyFailure
    tasks_uncached = sum(engine.calls.values())

    miss = engine.run(wrapped, EXAMPLE_INPUT)
    assert (miss.status, miss.output) == ("SUCCEEDED", original.output)
    assert {answer["hit"] for op, answer in engine.cache_answers if op == "pull"} == {False}

    calls_before_hit = engine.calls.copy()
    hit = engine.run(wrapped, EXAMPLE_INPUT)
    assert (hit.status, hit.output) == ("SUCCEEDED", original.output)
    hit_answers = [answer["hit"] for op, answer in engine.cache_answers[-engine.calls[CACHE_FUNCTION]
                                                                         + calls_before_hit[CACHE_FUNCTION]:]
                   if op == "pull"]
    assert hit_answers and all(hit_answers)
    user_calls_on_hit = sum(engine.calls.values()) - sum(calls_before_hit.values()) \
        - (engine.calls[CACHE_FUNCTION] - calls_before_hit[CACHE_FUNCTION])
    assert user_calls_on_hit < tasks_uncached
    if pattern == "variables":
        assert user_calls_on_hit == 0
