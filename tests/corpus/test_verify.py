"""``verify`` over every real definition of ../shared/corpus, on an input made to let it succeed.

Tasks answer with the shape of what the machine reads (tests/support/corpus_inputs.py), Waits do not
sleep. Per definition, verify runs the original twice, the wrapped machine on an empty cache (miss)
and again (hit). Every comparable run must be identical; a definition that differs from itself
(States.UUID, the clock), that the interpreter cannot run, that waits for an activity worker or a task
token, or that breaks an AWS quota is counted as such. The tally is printed in the summary, and the
number of definitions whose original SUCCEEDED and whose miss and hit matched it has a floor
(tests.support.corpus.MINIMUMS): the comparison is of real successes, not of two failures.
Executions are bounded by their history events: here a budget of 2,000 per execution (a real
definition that polls forever would otherwise run to AWS's 25,000 and take minutes of CI), counted as
"not comparable (over the event budget)"; the wall-clock backstop is 120 s per execution.
"""

from __future__ import annotations

import hashlib

import pytest

from sfn_cache.errors import SfnCacheError
from sfn_cache.local.engine import CACHE_ARN, Engine
from sfn_cache.local.session import local_session
from sfn_cache.local.tasks import runnable
from sfn_cache.local.verify import verify
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition
from tests.support import asl_parse_cache
from tests.support.corpus import NOT_TEMPLATES, classify, name_of, per_file, tally
from tests.support.corpus_inputs import ShapedTasks

EVENT_BUDGET = 2_000


@pytest.fixture(scope="module")
def session():
    """One local world (moto and the seams: module scope, so no other module's test runs inside it);
    ``tasks.use(definition)`` switches the answers per definition."""
    tasks = ShapedTasks()
    with pytest.MonkeyPatch.context() as patcher, local_session(tasks) as engine:
        asl_parse_cache.install(patcher)
        # A run stopped while it waits for a task token leaves a thread that cannot finish its state
        # (nothing sends the token) and, stopped, can call nothing more: joining it only waits out the
        # engine's 5 s timeout, four runs a definition.
        engine._abort = lambda arn, workers: Engine._abort(engine, arn, [] if engine.waiting_for else workers)
        yield engine, tasks


def first_of_its_content(paths: list) -> dict:
    """{file: the first corpus file with the same bytes} (sam, cdk and tf variants often share one)."""
    first: dict = {}
    by_digest: dict = {}
    for path in paths:
        first[path] = by_digest.setdefault(hashlib.sha256(path.read_bytes()).digest(), path)
    return first


FIRST = first_of_its_content(NOT_TEMPLATES)


@per_file(NOT_TEMPLATES)
def test_verify_corpus_definition(path, session, record_property):
    if FIRST[path] != path:  # the same definition, verified under its first name
        tally(record_property, "verify", **{"same bytes as an earlier file": 1})
        return
    engine, tasks = session
    kind, document = classify(path)
    if kind != "definition":
        tally(record_property, "verify", **{f"not a definition ({kind})": 1})
        return
    definition = runnable(document)
    try:
        wrapped = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN)).definition
    except SfnCacheError:
        tally(record_property, "verify", **{"refused by wrap": 1})
        return
    name = name_of(path)
    execution_input = tasks.use(definition)
    try:
        verdict = verify(engine, name, definition, wrapped, execution_input, "shaped", backstop=120,
                         max_events=EVENT_BUDGET)
    except Exception as error:  # moto cannot create or run it: nothing to compare
        tally(record_property, "verify", **{"not runnable here": 1})
        record_property("note", f"not runnable: {type(error).__name__}: {str(error)[:100]}")
        return
    original = verdict.runs[0]
    if verdict.ok:
        tally(record_property, "verify", **{f"identical, {original.status.lower()}": 1})
    elif verdict.difference:
        tally(record_property, "verify", different=1)
    else:
        problem = verdict.problems[0]
        tally(record_property, "verify", **{"not comparable (" + (
            "differs from itself" if "itself" in problem else
            "waits for a worker or token" if "waits for" in problem else
            "over the event budget" if "event budget" in problem else
            "over an AWS quota") + ")": 1})
        record_property("note", problem)
    assert verdict.difference is None, f"{name}: {verdict.difference}"
