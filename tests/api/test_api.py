"""The library API keeps the seed project's shape: Caching, cache_step, PipelineCaching.cache."""

from __future__ import annotations

import copy
import json

import pytest

from sfn_cache import Caching, PipelineCaching
from sfn_cache.errors import SfnCacheError
from tests.support.paths import ROOT

EXAMPLE = json.loads((ROOT / "examples" / "ml_pipeline.asl.json").read_text())
ARN = "arn:aws:lambda:us-east-1:123456789012:function:sfn-cache"


def pulls(definition: dict) -> dict:
    found = {}

    def visit(scope):
        for name, state in scope["States"].items():
            if name.startswith("cache_pull_"):
                found[name] = state["Parameters"]
            for branch in state.get("Branches", []):
                visit(branch)
            if "ItemProcessor" in state:
                visit(state["ItemProcessor"])

    visit(definition)
    return found


def test_cache_step_wraps_one_state_and_leaves_the_input_alone():
    before = copy.deepcopy(EXAMPLE)
    caching = Caching(ARN, "s3://bucket/prefix", "ctx")
    result = caching.cache_step(EXAMPLE, "TrainModel", bundle_name="model", force_rerun=True)
    assert EXAMPLE == before
    assert list(pulls(result)) == ["cache_pull_TrainModel"]
    payload = pulls(result)["cache_pull_TrainModel"]
    assert (payload["bundle"], payload["force"], payload["bucket"], payload["context"]) == (
        "model", True, "s3://bucket/prefix", "ctx")


def test_cache_step_can_be_chained():
    caching = Caching(ARN, "s3://b", "ctx")
    once = caching.cache_step(EXAMPLE, "TrainModel")
    twice = caching.cache_step(once, "EvaluateModel")
    assert sorted(pulls(twice)) == ["cache_pull_EvaluateModel", "cache_pull_TrainModel"]


def test_pipeline_caching_wraps_every_task_with_global_options():
    result = PipelineCaching(EXAMPLE, Caching(ARN, "s3://b", "ctx", force_rerun=True, ttl=3600)).cache()
    payloads = pulls(result)
    assert len(payloads) == 5  # every task but NotifyFailure: an sns:publish is a side effect, never cached unnamed
    assert all(p["force"] is True and p["ttl"] == 3600 for p in payloads.values())


def test_cache_step_on_a_missing_state_raises():
    with pytest.raises(SfnCacheError, match="no Task state of that name"):
        Caching(ARN).cache_step(EXAMPLE, "Nope")


def test_unknown_fields_are_kept_verbatim():
    definition = {"StartAt": "T", "Version": "1.0", "x-owner": {"team": "ml"}, "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "x-note": [1, {"a": None}],
              "Credentials": {"RoleArn": "arn:aws:iam::1:role/r"}, "End": True}}}
    result = PipelineCaching(definition, Caching(ARN)).cache()
    assert result["x-owner"] == {"team": "ml"} and result["Version"] == "1.0"
    assert result["States"]["T"]["x-note"] == [1, {"a": None}]
    assert result["States"]["T"]["Credentials"] == {"RoleArn": "arn:aws:iam::1:role/r"}


@pytest.mark.parametrize("wrap", [
    lambda caching: PipelineCaching(EXAMPLE, caching).cache(),
    lambda caching: caching.cache_step(EXAMPLE, "TrainModel"),
])
def test_an_exclude_glob_that_matches_no_state_is_refused_as_the_command_line_refuses_it(wrap):
    with pytest.raises(SfnCacheError) as refused:
        wrap(Caching(ARN, exclude=["Notify*", "Notfy*"]))
    assert str(refused.value) == ("--exclude Notfy*: matches no state in <definition> "
                                  "(closest state name: 'NotifyFailure')")
    assert pulls(wrap(Caching(ARN, exclude="Notify*")))  # one that matches is accepted


def test_unwrap_gives_back_what_cache_wrapped_and_cache_step_chains_keep_their_options():
    from sfn_cache import unwrap
    from tests.support.cli import states_of

    caching = Caching(ARN, "s3://b", "ctx")
    once = caching.cache_step(EXAMPLE, "TrainModel", bundle_name="model")
    twice = caching.cache_step(once, "EvaluateModel")
    assert states_of(twice)["cache_pull_TrainModel"] == states_of(once)["cache_pull_TrainModel"]
    assert states_of(twice)["cache_pull_TrainModel"]["Parameters"]["bundle"] == "model"
    assert unwrap(twice) == EXAMPLE and unwrap(PipelineCaching(EXAMPLE, caching).cache()) == EXAMPLE
