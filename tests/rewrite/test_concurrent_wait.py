"""``wrap --concurrent run|wait`` (issue 12 point 9): the follower's loop and what it costs."""

from __future__ import annotations

import json

import boto3
import pytest

from sfn_cache.local.engine import CACHE_ARN, CACHE_BUCKET, CACHE_FUNCTION, REGION, function_arn
from sfn_cache.rewrite.naming import PREFIXES
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.recognise import cache_payload
from sfn_cache.rewrite.wrap import wrap_definition
from sfn_cache.runtime import leases
from sfn_cache.runtime.config import config_for
from sfn_cache.runtime.index import entry_key
from tests.support.cli import states_of, wrap
from tests.support.paths import EXAMPLE

ONE_TASK = {"StartAt": "Work", "States": {"Work": {
    "Type": "Task", "Resource": function_arn("work"), "TimeoutSeconds": 20, "ResultPath": "$.out", "Next": "Done"},
    "Done": {"Type": "Succeed"}}}

ONE_JSONATA_TASK = {"QueryLanguage": "JSONata", "StartAt": "Work", "States": {"Work": {
    "Type": "Task", "Resource": function_arn("work"), "TimeoutSeconds": 20,
    "Output": "{% $merge([$states.input, {'out': $states.result}]) %}", "Next": "Done"},
    "Done": {"Type": "Succeed"}}}
MACHINES = {"variables": (ONE_TASK, "variables"), "classic": (ONE_TASK, "classic"),
            "jsonata": (ONE_JSONATA_TASK, "variables")}


def test_concurrent_wait_adds_one_bounded_wait_loop_per_task():
    document = json.loads(wrap(EXAMPLE, "--concurrent", "wait").stdout)
    states = states_of(document)
    pulls = {name[len(PREFIXES.pull):]: state for name, state in states.items() if name.startswith(PREFIXES.pull)}
    assert pulls
    for task, pull in pulls.items():
        assert pull["Parameters"]["concurrent"] == "wait" and pull["Parameters"]["lease"] > 0
        assert cache_payload(states[PREFIXES.push + task])["concurrent"] == "wait"
        failed = next(iter(pull["Catch"][0]["Assign"].values()))
        assert failed["hit"] is False and failed["wait"] is False, "the Choice below reads .wait"
        wait = states[PREFIXES.wait + task]
        assert wait["Type"] == "Wait" and wait["Next"] == PREFIXES.pull + task
        assert 1 <= wait["Seconds"] <= 300
        assert wait["Seconds"] * 21 >= pull["Parameters"]["lease"] or wait["Seconds"] == 300
        rules = states[PREFIXES.choice + task]["Choices"]
        assert rules[-1] == {"Variable": f"{rules[0]['Variable'].rsplit('.', 1)[0]}.wait", "BooleanEquals": True,
                             "Next": PREFIXES.wait + task}


def test_concurrent_run_is_the_default_and_adds_nothing():
    default = wrap(EXAMPLE).stdout
    assert default == wrap(EXAMPLE, "--concurrent", "run").stdout
    assert '"concurrent"' not in default and PREFIXES.wait not in default


def test_the_lease_follows_the_tasks_timeout():
    wrapped = wrap_definition(ONE_TASK, WrapOptions(lambda_arn=CACHE_ARN, concurrent="wait")).definition
    assert wrapped["States"]["cache_pull_Work"]["Parameters"]["lease"] == 20
    untimed = {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": function_arn("w"), "End": True}}}
    wrapped = wrap_definition(untimed, WrapOptions(lambda_arn=CACHE_ARN, concurrent="wait")).definition
    assert wrapped["States"]["cache_pull_W"]["Parameters"]["lease"] == 3600
    assert wrapped["States"]["cache_wait_W"]["Seconds"] == 180


def test_the_project_configuration_sets_it_and_a_typo_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sfn-cache.yaml").write_text("concurrent: wait\n")
    assert PREFIXES.wait in wrap(EXAMPLE).stdout
    (tmp_path / "sfn-cache.yaml").write_text("concurrent: sometimes\n")
    result = wrap(EXAMPLE)
    assert result.exit_code == 2 and "concurrent: must be one of run, wait" in result.stderr


@pytest.mark.parametrize("machine", list(MACHINES))
def test_a_follower_pays_three_transitions_and_one_lambda_call_per_poll(make_engine, machine):
    original, pattern = MACHINES[machine]
    engine = make_engine({"work": lambda event: {"done": True}})
    wrapped = wrap_definition(original, WrapOptions(lambda_arn=CACHE_ARN, concurrent="wait",
                                                    pattern=pattern)).definition
    engine.run(original, {"x": 1})
    original = engine.state_transitions()
    first = engine.run(wrapped, {"x": 1}, execution_name="leader")
    key = next(answer["key"] for op, answer in engine.cache_answers if op == "pull")
    # the entry is gone and another execution holds the key for 2.5 s more: this run must follow
    s3 = boto3.client("s3", region_name=REGION)
    s3.delete_object(Bucket=CACHE_BUCKET, Key=entry_key(config_for({}), "Work", key))
    assert leases.claim(s3, config_for({}), "Work", key, "arn:other-execution", 3).lead
    calls_before = engine.calls[CACHE_FUNCTION]
    second = engine.run(wrapped, {"x": 1}, execution_name="follower")
    assert second == first and second.output == {"x": 1, "out": {"done": True}}
    history = engine.client.get_execution_history(executionArn=engine.last_execution_arn, maxResults=1000)["events"]
    polls = sum(1 for event in history if event["type"] == "WaitStateEntered")
    assert polls >= 1
    # +1: the run-time force reader, once per execution; +1 more: a JSONPath task's size check
    miss_extra = {"variables": 3 + 1 + (machine == "variables"), "classic": 5}[pattern]
    assert engine.state_transitions() - original == miss_extra + 3 * polls
    assert engine.calls[CACHE_FUNCTION] - calls_before == 2 + polls
    assert engine.calls["work"] == 3  # original, leader, and the follower once the lease expired


@pytest.mark.parametrize("machine", ["variables", "jsonata"])  # the classic push carries it, and it fits a hit
def test_a_leader_whose_push_stores_nothing_still_frees_its_followers(make_engine, machine):
    """Every way a push ends, stored or not, deletes the leader's lease: followers never wait for an
    entry that will not come (until the lease, the task's TimeoutSeconds, runs out)."""
    original, pattern = MACHINES[machine]
    engine = make_engine({"work": lambda event: "x" * 261_000})  # under the quota, over what a hit may carry
    wrapped = wrap_definition(original, WrapOptions(lambda_arn=CACHE_ARN, concurrent="wait",
                                                    pattern=pattern)).definition
    assert engine.run(wrapped, {"x": 1}).status == "SUCCEEDED"
    pushes = [answer for op, answer in engine.cache_answers if op == "push"]
    assert pushes and pushes[-1]["stored"] is False and pushes[-1]["reason"] == "too large for a hit", pushes
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=CACHE_BUCKET).get("Contents", [])
    assert not [o["Key"] for o in listed if "/leases/" in o["Key"]], "the lease outlived the push"


def test_a_push_without_key_material_still_releases_the_lease(aws):
    """The same at the handler: a push refused for want of the pull's material frees the key."""
    from sfn_cache.runtime.handler import lambda_handler
    from sfn_cache.runtime.protocol import PROTOCOL

    execution = f"arn:aws:states:{REGION}:123456789012:execution:pipeline:leader"
    pull = {"sfn_cache": "pull", "protocol": PROTOCOL, "state": "Work", "resource": function_arn("work"),
            "input": {"x": 1}, "concurrent": "wait", "lease": 60, "execution": execution}
    miss = lambda_handler(pull)
    assert miss["hit"] is False and miss["wait"] is False and miss["key"]
    s3 = boto3.client("s3", region_name=REGION)
    where = leases.lease_key(config_for({}), "Work", miss["key"])
    s3.head_object(Bucket=CACHE_BUCKET, Key=where)  # the leader holds the key
    for kept in s3.list_objects_v2(Bucket=CACHE_BUCKET, Prefix="cache/sfn-cache/material/")["Contents"]:
        s3.delete_object(Bucket=CACHE_BUCKET, Key=kept["Key"])
    answer = lambda_handler({"sfn_cache": "push", "protocol": PROTOCOL, "state": "Work", "key": miss["key"],
                             "base": miss["base"], "result": {"done": True}, "concurrent": "wait",
                             "execution": execution})
    assert answer == {"stored": False, "reason": "no key material"}
    assert "Contents" not in s3.list_objects_v2(Bucket=CACHE_BUCKET, Prefix=where), "the lease outlived the push"
