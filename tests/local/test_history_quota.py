"""History events (25,000 per execution): what a cached task adds, counted from moto's execution
history, and ``explain``'s warning for cached tasks inside inline Maps."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sfn_cache.cli import cli
from sfn_cache.local.engine import CACHE_ARN, function_arn
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.quotas import CACHED_HIT_EXTRA_EVENTS, CACHED_MISS_EXTRA_EVENTS, ITERATION_EVENTS, TASK_EVENTS
from sfn_cache.rewrite.wrap import wrap_definition

MAP = {"StartAt": "Each", "States": {"Each": {
    "Type": "Map", "ItemsPath": "$.items", "End": True,
    "ItemProcessor": {"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": function_arn("work"), "End": True}}}}}}


def history_events(engine) -> int:
    events, token = 0, None
    while True:
        page = engine.client.get_execution_history(executionArn=engine.last_execution_arn, maxResults=1000,
                                                   **({"nextToken": token} if token else {}))
        events += len(page["events"])
        token = page.get("nextToken")
        if not token:
            return events


def test_events_per_item_of_an_inline_map_on_a_miss_and_a_hit(make_engine):
    """The constants explain uses, measured: 7 events per item originally, +14 per cached JSONPath
    task on a miss (issue 27 point 3: the size check before its JSONPath push), +4 on a hit (plus 2
    per execution for the run-time force reader)."""
    engine = make_engine({"work": lambda e: {"seen": e}})
    wrapped = wrap_definition(MAP, WrapOptions(lambda_arn=CACHE_ARN)).definition
    counts = {}
    for items in (10, 20):
        engine.run(MAP, {"items": list(range(items))})
        original = history_events(engine)
        engine.run(wrapped, {"items": [f"{items}-{i}" for i in range(items)]})
        miss = history_events(engine)
        engine.run(wrapped, {"items": [f"{items}-{i}" for i in range(items)]})
        hit = history_events(engine)
        counts[items] = (original, miss, hit)
    per_item = [(b - a) / 10 for a, b in zip(counts[10], counts[20])]
    assert per_item == [ITERATION_EVENTS + TASK_EVENTS, ITERATION_EVENTS + TASK_EVENTS + CACHED_MISS_EXTRA_EVENTS,
                        ITERATION_EVENTS + TASK_EVENTS + CACHED_HIT_EXTRA_EVENTS] == [7, 21, 11]
    original, miss, hit = counts[10]
    assert miss - original == 10 * CACHED_MISS_EXTRA_EVENTS + 2 and hit - original == 10 * CACHED_HIT_EXTRA_EVENTS + 2


def test_explain_warns_for_cached_tasks_in_inline_maps_with_the_item_count(tmp_path):
    path = tmp_path / "map.asl.json"
    path.write_text(json.dumps(MAP))
    result = CliRunner().invoke(cli, ["explain", str(path)])
    assert result.exit_code == 0
    assert result.stderr.strip().splitlines()[-1] == (
        f"warning: {path}: state 'Each': inline Map with 1 cached task(s): on a cache miss each item records "
        "about 21 history events instead of 7, so one execution reaches the 25,000-event quota at about 1,190 "
        "items (originally 3,571); a distributed Map gives each item its own history")
    distributed = json.loads(json.dumps(MAP))
    distributed["States"]["Each"]["ItemProcessor"]["ProcessorConfig"] = {"Mode": "DISTRIBUTED",
                                                                          "ExecutionType": "STANDARD"}
    path.write_text(json.dumps(distributed))
    assert "warning" not in CliRunner().invoke(cli, ["explain", str(path)]).stderr
    path.write_text(json.dumps(MAP))
    excluded = CliRunner().invoke(cli, ["explain", "--exclude", "Work", str(path)])
    assert excluded.exit_code == 0
    assert "warning" not in excluded.stderr
