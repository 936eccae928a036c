"""The fault matrix of issue 12: every distinct S3 request of pull and push, failed three ways.

For each scenario, a clean run names the distinct S3 requests of the operation under test (the
runtime's and disdat's, ``s3_faults.Call.name``). Then, for every request and every fault (500;
timeout before S3 acts; timeout after S3 acted), the operation runs again in a fresh store with that
request failed, and a later pull must be a correct hit or a miss carrying its key; after a miss, a
clean push must make the next pull a hit (nothing was left broken: entry, lease, local context).
The faulted operation itself may raise: the wrapped machine's Catch turns that into a fail-open miss.

Run with ``-s`` to see the matrix (calls x faults, and what each case answered).
"""

from __future__ import annotations

import itertools

import pytest

from sfn_cache.local.engine import CACHE_BUCKET
from sfn_cache.runtime.handler import lambda_handler
from tests.support.events import pull_event, push_event
from tests.support.s3_faults import FAULTS, S3Requests

LARGE = {"rows": list(range(200))}
SMALL = {"auc": 0.9}
OLD = {"rows": list(range(100, 300))}
REPAIRED = {"repaired": True}
WAIT = {"concurrent": "wait", "lease": 600}
_case = itertools.count()


def fresh_store(monkeypatch, tmp_path) -> None:
    """A new prefix and local root: each case starts from an empty store and a cold disdat context."""
    n = next(_case)
    monkeypatch.setenv("SFN_CACHE_BUCKET", f"s3://{CACHE_BUCKET}/case-{n}")
    monkeypatch.setenv("SFN_CACHE_LOCAL_ROOT", str(tmp_path / f"local-{n}"))


def stored(result, **fields):
    answer = lambda_handler(pull_event(**fields))
    assert lambda_handler(push_event(answer, result, **fields))["stored"] is True


def push_new(result):
    def setup():
        return lambda_handler(pull_event())

    def run(answer):
        return lambda_handler(push_event(answer, result))
    return setup, run, (result,)


def push_replacing():
    def setup():
        stored(OLD)
        return lambda_handler(pull_event(force=True))

    def run(answer):
        return lambda_handler(push_event(answer, SMALL))
    return setup, run, (OLD, SMALL)


def pull_hit(result):
    def setup():
        stored(result)

    def run(_):
        return lambda_handler(pull_event())
    return setup, run, (result,)


def lease_pull():
    return (lambda: None), (lambda _: lambda_handler(pull_event(**WAIT))), ()


def lease_push():
    def setup():
        return lambda_handler(pull_event(**WAIT))

    def run(answer):
        return lambda_handler(push_event(answer, LARGE, **WAIT))
    return setup, run, (LARGE,)


SCENARIOS = {
    "push (new key, bundle)": lambda: push_new(LARGE),
    "push (forced, replaces an entry)": push_replacing,
    "pull (hit from the bundle)": lambda: pull_hit(LARGE),
    "pull (hit inline)": lambda: pull_hit(SMALL),
    "pull (miss, --concurrent wait)": lease_pull,
    "push (--concurrent wait)": lease_push,
}


def answer_of(run, state) -> str:
    """What the faulted operation answered, in a word (an exception is the machine's fail-open Catch)."""
    try:
        answer = run(state)
    except Exception as error:
        return f"raised {type(error).__name__}"
    if "hit" in answer:
        return "hit" if answer["hit"] else "miss+key" if answer["key"] else "miss"
    return "stored" if answer["stored"] else f"not stored ({answer.get('reason')})"


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_s3_request_failed_every_way_leaves_a_correct_store(aws, monkeypatch, tmp_path, scenario):
    monkeypatch.setenv("SFN_CACHE_INLINE_MAX_BYTES", "64")
    requests = S3Requests.install(monkeypatch)
    fields = WAIT if "wait" in scenario else {}

    fresh_store(monkeypatch, tmp_path)
    setup, run, acceptable = SCENARIOS[scenario]()
    state = setup()
    requests.record()
    run(state)
    names = sorted({call.name for call in requests.calls})
    assert names, "the operation makes S3 requests"

    rows = []
    for name, fault in itertools.product(names, FAULTS):
        fresh_store(monkeypatch, tmp_path)
        setup, run, acceptable = SCENARIOS[scenario]()
        state = setup()
        requests.arm(name, fault)
        outcome = answer_of(run, state)
        assert requests.failed is not None, (name, fault)
        requests.record()
        later = lambda_handler(pull_event(**fields))  # never raises, never a wrong answer
        if later["hit"]:
            assert later["data"] in acceptable, (name, fault, later)
            verdict = "hit, correct"
        else:
            assert later["key"], (name, fault, later)
            verdict = "miss with key" + (" (waits)" if later.get("wait") else "")
            repaired = lambda_handler(push_event(later, REPAIRED, **fields))
            assert repaired["stored"] is True, (name, fault, repaired)
            assert lambda_handler(pull_event(**fields))["data"] == REPAIRED, (name, fault)
            verdict += ", repaired"
        rows.append(f"{scenario:34} {name:34} {fault:8} faulted op: {outcome:25} later pull: {verdict}")
    print("\n" + "\n".join(rows))  # shown with -s
    assert len(rows) == len(names) * len(FAULTS)
