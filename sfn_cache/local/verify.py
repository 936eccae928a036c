"""Does the wrapped machine do what the original does, on these inputs, within AWS's quotas?

Each input runs the original twice (a machine that reads the clock or calls States.UUID differs from
itself and cannot be compared), then the wrapped machine on an empty cache (miss) and again (hit).
Outcomes are compared as AWS would see them: moto's results with AWS's rules applied (the
States.ALL rule is a seam; quotas moto does not enforce are measured from each run's history).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sfn_cache.local.engine import (
    BACKSTOP_SECONDS,
    CACHE_FUNCTION,
    Engine,
    ExecutionBlocked,
    ExecutionOverrun,
    Outcome,
    documented_difference,
)
from sfn_cache.local.seams import UNCATCHABLE_BY_ALL
from sfn_cache.local.session import empty_cache
from sfn_cache.runtime.protocol import HISTORY_QUOTA_EVENTS, PAYLOAD_QUOTA_BYTES

MAX_DEFINITION_BYTES = 1024 * 1024
PAYLOAD_FIELDS = ("input", "output", "parameters")


@dataclass
class Run:
    """One execution and what it cost."""

    label: str
    status: str
    outcome: Outcome | None = field(default=None, repr=False)
    transitions: int = 0
    events: int = 0
    cache_calls: int = 0
    task_calls: int = 0
    largest_payload: int = 0
    uncatchable_caught: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    """One machine on one input: identical (and within quotas) or not, and why."""

    machine: str
    input: str
    runs: list[Run]
    definition_bytes: int
    wrapped_definition_bytes: int
    difference: str | None = None
    problems: list[str] = field(default_factory=list)
    documented: list[str] = field(default_factory=list)  # known differences, each naming its doc

    @property
    def ok(self) -> bool:
        return self.difference is None and not self.problems

    @property
    def calls_saved(self) -> int:
        by_label = {run.label: run for run in self.runs}
        return by_label["miss"].task_calls - by_label["hit"].task_calls if "hit" in by_label else 0

    def as_json(self) -> dict:
        runs = [{k: v for k, v in asdict(run).items() if k != "outcome"} for run in self.runs]
        return {"machine": self.machine, "input": self.input, "identical": self.ok, "difference": self.difference,
                "documented": self.documented, "problems": self.problems, "runs": runs,
                "task_calls_saved_on_hit": self.calls_saved,
                "definition_bytes": self.definition_bytes, "wrapped_definition_bytes": self.wrapped_definition_bytes}


def as_aws_writes_it(value: Any) -> str:
    """JSON text as Step Functions compares it: number text and types kept (``1.0`` is not ``1``,
    ``true`` is not ``1``), key order aside (an object's keys are a set)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def same_outcome(original: Outcome, other: Outcome) -> bool:
    """Equal as AWS writes them (Python's ``==`` would take ``1.0`` for ``1`` and ``True`` for ``1``)."""
    return all(as_aws_writes_it(getattr(original, name)) == as_aws_writes_it(getattr(other, name))
               for name in ("status", "output", "error", "cause"))


def first_difference(expected: Any, actual: Any, path: str = "$") -> str | None:
    """The JSON path of the first place where ``actual`` differs from ``expected``: the original's keys
    in its order, then keys only ``actual`` has."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in [*expected, *(key for key in actual if key not in expected)]:
            where = f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"
            if (key in expected) != (key in actual):
                return f"{where} ({'missing' if key in expected else 'not in the original'})"
            found = first_difference(expected[key], actual[key], where)
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for index, (left, right) in enumerate(zip(expected, actual)):
            found = first_difference(left, right, f"{path}[{index}]")
            if found:
                return found
        return None if len(expected) == len(actual) else f"{path} (length {len(actual)}, original {len(expected)})"
    if as_aws_writes_it(expected) != as_aws_writes_it(actual):
        return f"{path} ({json.dumps(actual)[:60]}, original {json.dumps(expected)[:60]})"
    return None


def outcome_difference(original: Outcome, other: Outcome) -> str | None:
    """Where ``other`` differs from ``original``; a known difference of the cached form (see
    documented_difference) is not a difference."""
    if same_outcome(original, other) or documented_difference(other, original):
        return None
    return first_difference({"status": original.status, "error": original.error, "cause": original.cause,
                             "output": original.output},
                            {"status": other.status, "error": other.error, "cause": other.cause,
                             "output": other.output})


def measure(engine: Engine, label: str, definition: dict, execution_input: Any,
            backstop: float = BACKSTOP_SECONDS, max_events: int = HISTORY_QUOTA_EVENTS) -> Run:
    """Run once and read the costs from the execution's history, as AWS bills and limits them, and
    from the Lambda seam (the history does not show what a Lambda task was sent)."""
    before = engine.calls.copy()
    try:
        outcome = engine.run(definition, execution_input, max_events=max_events, backstop=backstop)
        status = outcome.status
    except ExecutionBlocked as blocked:
        outcome, status = None, f"STOPPED: {blocked}"
    except ExecutionOverrun as overrun:
        limit = ("AWS fails an execution at" if max_events == HISTORY_QUOTA_EVENTS
                 else "stopped at this run's event budget; AWS's quota is")
        outcome, status = None, f"STOPPED: {overrun}; {limit} {HISTORY_QUOTA_EVENTS} events"
    history = engine.history()
    calls = {name: engine.calls[name] - before[name] for name in engine.calls}
    run = Run(label=label, status=status, outcome=outcome, events=len(history),
              transitions=sum(1 for event in history if event["type"].endswith("StateEntered")),
              cache_calls=calls.get(CACHE_FUNCTION, 0), largest_payload=engine.largest_sent,
              task_calls=sum(count for name, count in calls.items() if name != CACHE_FUNCTION))
    for event in history:
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            for name in PAYLOAD_FIELDS:
                if isinstance(details.get(name), str):
                    run.largest_payload = max(run.largest_payload, len(details[name].encode("utf-8")))
            if (details.get("error") in UNCATCHABLE_BY_ALL and event["type"] != "ExecutionFailed"
                    and (outcome is None or outcome.error != details["error"])):
                run.uncatchable_caught.append(f"{details['error']} in {event['type']}")
    return run


def verify(engine: Engine, machine: str, definition: dict, wrapped: dict, execution_input: Any,
           input_label: str, backstop: float = BACKSTOP_SECONDS, max_events: int = HISTORY_QUOTA_EVENTS) -> Verdict:
    """Original twice, wrapped on an empty cache, wrapped again; compare and check the quotas.
    ``max_events`` below AWS's quota is a budget (the corpus test's), reported as such."""
    runs = [measure(engine, "original", definition, execution_input, backstop, max_events),
            measure(engine, "original again", definition, execution_input, backstop, max_events)]
    empty_cache()
    runs += [measure(engine, "miss", wrapped, execution_input, backstop, max_events),
             measure(engine, "hit", wrapped, execution_input, backstop, max_events)]
    verdict = Verdict(machine=machine, input=input_label, runs=runs,
                      definition_bytes=len(json.dumps(definition).encode("utf-8")),
                      wrapped_definition_bytes=len(json.dumps(wrapped).encode("utf-8")))
    original, again = runs[0], runs[1]
    if original.outcome and again.outcome and outcome_difference(original.outcome, again.outcome):
        verdict.problems.append("the original differs from itself between two runs at "
                                f"{outcome_difference(original.outcome, again.outcome)} "
                                "(it reads the clock, the execution id or States.UUID): not comparable")
    comparable = not verdict.problems  # an original that differs from itself has no one right answer
    for run in runs[2:]:
        if comparable and verdict.difference is None and original.outcome and run.outcome:
            found = outcome_difference(original.outcome, run.outcome)
            verdict.difference = f"{run.label}: {found}" if found else None
            documented = None if same_outcome(original.outcome, run.outcome) else \
                documented_difference(run.outcome, original.outcome)
            if documented:
                verdict.documented.append(f"{run.label}: differs only as {documented} documents")
    for run in runs:
        _quota_problems(run, verdict)
    if verdict.wrapped_definition_bytes > MAX_DEFINITION_BYTES:
        verdict.problems.append(f"wrapped definition is {verdict.wrapped_definition_bytes} bytes, "
                                f"over AWS's {MAX_DEFINITION_BYTES}")
    return verdict


def _quota_problems(run: Run, verdict: Verdict) -> None:
    """What AWS would refuse although moto ran it."""
    if run.outcome is None:
        verdict.problems.append(f"{run.label}: {run.status}")
    if run.largest_payload > PAYLOAD_QUOTA_BYTES:
        verdict.problems.append(f"{run.label}: a payload of {run.largest_payload} bytes, over AWS's "
                                f"{PAYLOAD_QUOTA_BYTES} (States.DataLimitExceeded)")
    for caught in run.uncatchable_caught:
        verdict.problems.append(f"{run.label}: {caught} was handled; on AWS it fails the execution")
