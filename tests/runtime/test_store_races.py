"""Races on one key (issue 12 points 8 and 9): conditional index writes and in-progress leases,
with threads in one process (moto in-process) and with processes against a moto server.

moto checks ``If-Match``/``If-None-Match`` on PutObject but, unlike S3, not atomically with the
write; ``atomic_conditional_puts`` serialises moto's PutObject handler so that the instrument has
the atomicity AWS documents for conditional writes (nothing of sfn_cache is touched).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request

import boto3
import pytest
from moto.s3.responses import S3Response

from sfn_cache.local.engine import CACHE_BUCKET, REGION, ROLE_ARN, function_arn
from sfn_cache.runtime import leases
from sfn_cache.runtime.config import config_for
from sfn_cache.runtime.handler import lambda_handler
from tests.support.events import pull_event, push_event
from tests.support.net import free_port

WAIT = {"concurrent": "wait", "lease": 600}


@pytest.fixture
def atomic_conditional_puts(monkeypatch):
    lock = threading.Lock()
    unlocked = S3Response.put_object

    def put_object(self, *args, **kwargs):
        with lock:
            return unlocked(self, *args, **kwargs)
    monkeypatch.setattr(S3Response, "put_object", put_object)


def in_threads(count: int, work) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def run(n):
        barrier.wait()
        results[n] = work(n)
    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# -- point 8: an entry is replaced only by a result computed from a newer pull -----------------------

def test_a_slow_miss_does_not_replace_a_newer_forced_result(aws):
    slow = lambda_handler(pull_event(execution="arn:exec:A"))           # A misses, starts a long task
    forced = lambda_handler(pull_event(execution="arn:exec:B", force=True))  # B's upstream data changed
    assert lambda_handler(push_event(forced, {"fresh": "B"}, execution="arn:exec:B"))["stored"] is True
    late = lambda_handler(push_event(slow, {"stale": "A"}, execution="arn:exec:A"))
    assert late["stored"] is False and late["reason"] == "superseded"
    assert lambda_handler(pull_event())["data"] == {"fresh": "B"}


def test_a_miss_on_an_expired_entry_does_not_replace_a_newer_one(aws):
    stored = lambda_handler(pull_event())
    lambda_handler(push_event(stored, {"v": 1}))
    slow = lambda_handler(pull_event(ttl=0))  # expired for A: a miss naming the entry it saw
    assert slow["hit"] is False and slow["base"]
    newer = lambda_handler(pull_event(force=True))
    assert lambda_handler(push_event(newer, {"v": 2}))["stored"] is True
    assert lambda_handler(push_event(slow, {"v": "stale"}))["reason"] == "superseded"
    assert lambda_handler(pull_event())["data"] == {"v": 2}
    again = lambda_handler(pull_event(ttl=0))  # a pull that saw the newest entry may replace it
    assert lambda_handler(push_event(again, {"v": 3}))["stored"] is True


def test_threads_pushing_one_key_store_exactly_one_result(aws, atomic_conditional_puts):
    answers = [lambda_handler(pull_event(execution=f"arn:exec:{n}")) for n in range(6)]
    outcomes = in_threads(6, lambda n: lambda_handler(push_event(answers[n], {"writer": n},
                                                                 execution=f"arn:exec:{n}")))
    winners = [n for n, outcome in enumerate(outcomes) if outcome["stored"]]
    assert len(winners) == 1, outcomes
    assert all(o["reason"] == "superseded" for o in outcomes if not o["stored"])
    assert lambda_handler(pull_event())["data"] == {"writer": winners[0]}


# -- point 9: one leader per missed key; followers wait, then hit -------------------------------------

def test_a_herd_of_threads_has_one_leader_and_the_followers_hit_its_result(aws, atomic_conditional_puts):
    answers = in_threads(8, lambda n: lambda_handler(pull_event(execution=f"arn:exec:{n}", **WAIT)))
    leaders = [n for n, answer in enumerate(answers) if not answer["wait"]]
    assert len(leaders) == 1 and all(a["hit"] is False and a["key"] for a in answers), answers
    leader = leaders[0]
    assert lambda_handler(push_event(answers[leader], {"trained": leader}, execution=f"arn:exec:{leader}",
                                     **WAIT))["stored"] is True
    for n in range(8):
        assert lambda_handler(pull_event(execution=f"arn:exec:{n}", **WAIT))["data"] == {"trained": leader}
    config = config_for({})
    assert "Contents" not in boto3.client("s3", region_name=REGION).list_objects_v2(
        Bucket=CACHE_BUCKET, Prefix=config.s3_key(leases.LEASES_DIR)), "the leader's push released its lease"


def test_a_follower_runs_once_the_lease_expires(aws, monkeypatch):
    lambda_handler(pull_event(execution="arn:exec:leader", **WAIT))
    assert lambda_handler(pull_event(execution="arn:exec:follower", **WAIT))["wait"] is True
    real_time = leases.time.time
    monkeypatch.setattr(leases.time, "time", lambda: real_time() + 601)
    assert lambda_handler(pull_event(execution="arn:exec:follower", **WAIT))["wait"] is False
    assert lambda_handler(pull_event(execution="arn:exec:third", **WAIT))["wait"] is True, "taken over, once"


def test_a_follower_runs_when_the_leaders_execution_has_ended(aws):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(name="leader", roleArn=ROLE_ARN, definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    ended = sfn.start_execution(stateMachineArn=machine, name="ended")["executionArn"]
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=ended)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lambda_handler(pull_event(execution=ended, **WAIT))["wait"] is False  # the leader, then it ended
    assert lambda_handler(pull_event(execution="arn:exec:follower", **WAIT))["wait"] is False
    # an execution that cannot be described (unknown, or no permission): the lease's expiry decides
    assert lambda_handler(pull_event(execution="arn:exec:other", **WAIT))["wait"] is True


def test_followers_in_a_machine_wait_for_the_leaders_result(make_engine):
    """Two executions of one wrapped machine miss the same key at once: the task runs once."""
    from sfn_cache.local.engine import CACHE_ARN
    from sfn_cache.rewrite.options import WrapOptions
    from sfn_cache.rewrite.wrap import wrap_definition

    calls = []

    def train(event):
        calls.append(event)
        time.sleep(2.5)
        return {"model": event["rows"] * 2}

    engine = make_engine({"train": train})
    original = {"StartAt": "Train", "States": {"Train": {
        "Type": "Task", "Resource": function_arn("train"), "TimeoutSeconds": 20, "End": True}}}
    wrapped = wrap_definition(original, WrapOptions(lambda_arn=CACHE_ARN, concurrent="wait")).definition
    waits = [name for name, state in wrapped["States"].items() if state["Type"] == "Wait"]
    assert waits and wrapped["States"][waits[0]]["Seconds"] == 1  # TimeoutSeconds 20 / 20 polls
    engine.deploy_functions(wrapped)  # --key-code auto (the default) reads train's CodeSha256
    machine = engine.client.create_state_machine(name="herd", definition=json.dumps(wrapped),
                                                 roleArn=ROLE_ARN)["stateMachineArn"]
    runs = [engine.client.start_execution(stateMachineArn=machine, name=f"run-{n}", input='{"rows": 21}')
            ["executionArn"] for n in range(2)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
            engine.client.describe_execution(executionArn=arn)["status"] == "RUNNING" for arn in runs):
        time.sleep(0.05)
    described = [engine.client.describe_execution(executionArn=arn) for arn in runs]
    assert [d["status"] for d in described] == ["SUCCEEDED", "SUCCEEDED"]
    assert [json.loads(d["output"]) for d in described] == [{"model": 42}, {"model": 42}]
    assert len(calls) == 1, "the follower waited for the leader's result instead of training again"
    assert any(answer.get("wait") for op, answer in engine.cache_answers if op == "pull")


# -- processes against moto.server -------------------------------------------------------------------

@pytest.fixture
def moto_http(atomic_conditional_puts):
    """moto as an HTTP server in this process (its PutObject made atomic, see the module docstring),
    for runtimes running in other processes: each one a Lambda container with its own /tmp."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()  # shared state
    boto3.client("s3", region_name=REGION, endpoint_url=url, aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=CACHE_BUCKET)
    yield url
    server.stop()


CONTAINER = textwrap.dedent("""
    import json, sys
    from sfn_cache.runtime.handler import lambda_handler
    n, mode = int(sys.argv[1]), sys.argv[2]
    event = json.loads(sys.argv[3])
    answer = lambda_handler(event)
    pushed = None
    if not answer["hit"] and not answer.get("wait") and mode == "push":
        push = {**event, "sfn_cache": "push", "key": answer["key"], "base": answer["base"],
                "result": {"writer": n}}
        pushed = lambda_handler(push)
    print(json.dumps({"answer": answer, "pushed": pushed}))
""")


def containers(url: str, tmp_path, count: int, mode: str, **fields) -> list[dict]:
    procs = []
    for n in range(count):
        env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": url, "SFN_CACHE_BUCKET": f"s3://{CACHE_BUCKET}/cache",
               "SFN_CACHE_LOCAL_ROOT": str(tmp_path / f"container-{n}")}
        event = pull_event(execution=f"arn:exec:{n}", **fields)
        procs.append(subprocess.Popen([sys.executable, "-c", CONTAINER, str(n), mode, json.dumps(event)],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def test_processes_missing_one_key_store_one_result_and_hit_it(moto_http, tmp_path):
    outputs = containers(moto_http, tmp_path, 5, "push")
    stored = [o["pushed"]["uuid"] for o in outputs if o["pushed"] and o["pushed"]["stored"]]
    assert len(stored) == 1, outputs
    winner = next(n for n, o in enumerate(outputs) if o["pushed"] and o["pushed"]["stored"])
    assert all(o["answer"]["data"] == {"writer": winner} for o in outputs if o["answer"]["hit"])
    final = containers(moto_http, tmp_path, 1, "pull")[0]["answer"]
    assert final["data"] == {"writer": winner}  # each writer's result is its own: the stored one is served


def test_a_herd_of_processes_has_one_leader(moto_http, tmp_path):
    outputs = containers(moto_http, tmp_path, 5, "pull", **WAIT)
    leaders = [o for o in outputs if not o["answer"]["wait"]]
    assert len(leaders) == 1, outputs
    assert all(o["answer"]["key"] == leaders[0]["answer"]["key"] for o in outputs)
