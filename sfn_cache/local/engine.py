"""Create state machines in moto and run executions to completion, bounded by what they do.

An execution is stopped when it has written more history events than AWS allows one execution
(25,000: AWS fails it there too), or, as a backstop for a state that hangs, after a generous wall
time. Counting events rather than seconds keeps a loaded machine from failing a run that is merely
slow (a 100-iteration Map on 2 busy cores).
"""

from __future__ import annotations

import collections
import io
import json
import re
import threading
import time
import zipfile
from dataclasses import dataclass
from typing import Any, Callable, cast

import boto3

from sfn_cache.runtime.protocol import HISTORY_QUOTA_EVENTS, PAYLOAD_QUOTA_BYTES  # AWS's quotas

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/sfn-cache-local"
CACHE_FUNCTION = "sfn-cache"
CACHE_BUCKET = "sfn-cache-local"
BACKSTOP_SECONDS = 600.0


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


CACHE_ARN = function_arn(CACHE_FUNCTION)


class TaskFailure(Exception):
    """Raised by a task function to fail with a chosen error name, like a Lambda's errorType."""

    def __init__(self, error: str, message: str = ""):
        super().__init__(message)
        self.error = error


class ResultOverQuota(Exception):
    """A Lambda answered more than Step Functions accepts as a task's result: on AWS the task fails
    with States.DataLimitExceeded, which a States.ALL catcher handles (recording: LocalStack's
    test_states_errors.snapshot.json, test_task_lambda_catch_state_all_data_limit_exceeded_on_large_utf8_response)."""


class ExecutionOverrun(RuntimeError):
    """An execution went past its event bound (or the wall-clock backstop) and was stopped."""

    def __init__(self, message: str, events: int):
        super().__init__(message)
        self.events = events


class ExecutionBlocked(ExecutionOverrun):
    """An execution waits for an activity worker or a task token, which nothing sends locally."""


def waits_for_outside(event_type: str, details: dict) -> str | None:
    """What an execution now waits for that no local task function can send, if anything."""
    if event_type == "ActivityScheduled":
        return "an activity worker"
    submitted = details.get("taskSubmittedEventDetails") or {}
    if event_type == "TaskSubmitted" and "waitForTaskToken" in str(submitted.get("resource", "")):
        return "a task token (SendTaskSuccess)"
    return None


@dataclass(frozen=True)
class Outcome:
    """What an execution ended with: what equivalence compares."""

    status: str
    output: Any
    error: str | None
    cause: str | None


Listener = Callable[[str, dict], None]


class Engine:
    """Deploys a definition in moto and runs it; the seams (sfn_cache.local.seams) call back into it.

    ``tasks`` maps a Lambda function name to a Python function of the task's input; ``lookup``
    (optional) finds one by the FunctionName as written (name or ARN); ``default_task`` answers the
    rest. ``calls`` counts invocations per function name (the caching Lambda's under its own name).
    """

    def __init__(self, tasks: dict[str, Callable[[Any], Any]], cache_handler: Callable | None,
                 default_task: Callable[[Any], Any] | None = None,
                 lookup: Callable[[str], Callable[[Any], Any] | None] | None = None):
        self.tasks = tasks
        self.lookup = lookup
        self.default_task = default_task
        self.cache_handler = cache_handler
        self.calls: collections.Counter = collections.Counter()
        self.cache_answers: list[tuple[dict | None, Any]] = []
        self.listeners: list[Listener] = []
        self.events = 0
        self.largest_sent = 0  # bytes of the largest Lambda payload of the current run
        self.waiting_for: str | None = None
        self.client = boto3.client("stepfunctions", region_name=REGION)
        self._machine_arn: str | None = None
        self._deployed: set[str] = set()

    def deploy_functions(self, definition: dict) -> None:
        """Create in moto's Lambda every function the definition names (a one-line zip each), so that
        the caching Lambda's ``--key-code`` resolution (GetFunctionConfiguration) answers as on AWS;
        the functions themselves still run as Python (``invoke``)."""
        text = json.dumps(definition)
        names = set(re.findall(r"arn:aws:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)", text))
        names |= set(re.findall(r'"FunctionName": "([A-Za-z0-9_-]+)"', text))
        todo = sorted(names - self._deployed - {CACHE_FUNCTION})
        if not todo:
            return
        lambdas = boto3.client("lambda", region_name=REGION)
        if not self._deployed:
            trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                             "Principal": {"Service": "lambda.amazonaws.com"}}]}
            iam = boto3.client("iam", region_name=REGION)
            try:
                iam.create_role(RoleName=ROLE_ARN.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(trust))
            except iam.exceptions.EntityAlreadyExistsException:
                pass
        for name in todo:
            lambdas.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE_ARN, Handler="index.h",
                                    Code={"ZipFile": function_zip(f"# {name}")})
            self._deployed.add(name)

    def redeploy(self, name: str, code: str) -> None:
        """New code for a function (a new CodeSha256), as a deployment would."""
        boto3.client("lambda", region_name=REGION).update_function_code(FunctionName=name, ZipFile=function_zip(code))

    def history(self) -> list[dict]:
        """Every history event of the last execution."""
        events, token = [], None
        while True:
            page = self.client.get_execution_history(
                executionArn=self.last_execution_arn, maxResults=1000, **({"nextToken": token} if token else {}))
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events

    def state_transitions(self) -> int:
        """States entered by the last execution: what AWS bills for a standard workflow."""
        return sum(1 for event in self.history() if event["type"].endswith("StateEntered"))

    # seam: moto records a history event
    def event_added(self, event_type: str, details: dict | None) -> None:
        self.events += 1
        self.waiting_for = self.waiting_for or waits_for_outside(event_type, details or {})
        for listener in self.listeners:
            listener(str(event_type), details or {})

    # seam: moto calls this for every Lambda invocation
    def invoke(self, parameters: dict, region: str, state_credentials: Any) -> dict:
        written = parameters["FunctionName"]
        name = written.split(":")[-1]
        raw = parameters.get("Payload")
        payload = json.loads(raw) if raw else None
        self.largest_sent = max(self.largest_sent, len(json.dumps(payload, separators=(",", ":")).encode("utf-8")))
        self.calls[name] += 1
        function: Callable[[Any], Any] | None
        if name == CACHE_FUNCTION:
            handler = cast(Callable[[Any, Any], Any], self.cache_handler)  # a session always gives one
            function = lambda event: handler(event, None)  # noqa: E731
        else:
            function = self.tasks.get(name) or (self.lookup and self.lookup(written)) or self.default_task
            if function is None:
                raise AssertionError(f"no task function for Lambda {name!r}")
        try:
            result = function(payload)
        except TaskFailure as exc:
            return _function_error(exc.error, str(exc))
        except Exception as exc:  # a Lambda's unhandled exception: errorType is the class name
            return _function_error(type(exc).__name__, str(exc))
        if len(json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode("utf-8")) > PAYLOAD_QUOTA_BYTES:
            raise ResultOverQuota(written)
        if name == CACHE_FUNCTION:
            self.cache_answers.append((cast(dict, payload).get("sfn_cache"), result))
            for listener in self.listeners:
                listener("CacheAnswer", {"request": payload, "answer": result})
        return {"StatusCode": 200, "Payload": json.loads(json.dumps(result))}

    def run(self, definition: dict, execution_input: Any = None, *, max_events: int = HISTORY_QUOTA_EVENTS,
            backstop: float = BACKSTOP_SECONDS, execution_name: str = "run") -> Outcome:
        """Deploy ``definition`` as *the* state machine (same name and ARN every time, as a user
        redeploys a wrapped machine in place) and run one execution, by default always under the same
        name, so that ``$$.StateMachine.Id`` and ``$$.Execution.Id`` read the same in every run compared.

        Raises ExecutionOverrun past ``max_events`` history events or ``backstop`` seconds, and
        ExecutionBlocked as soon as it waits for an activity worker or a task token."""
        self.deploy_functions(definition)
        if self._machine_arn:
            self.client.delete_state_machine(stateMachineArn=self._machine_arn)
        machine = self.client.create_state_machine(
            name="pipeline", definition=json.dumps(definition), roleArn=ROLE_ARN)
        self._machine_arn = machine["stateMachineArn"]
        threads_before = set(threading.enumerate())
        self.events = self.largest_sent = 0
        self.waiting_for = None
        execution = self.client.start_execution(
            stateMachineArn=self._machine_arn, name=execution_name,
            input=json.dumps({} if execution_input is None else execution_input))
        self.last_execution_arn = execution["executionArn"]
        deadline = time.monotonic() + backstop
        while True:
            described = self.client.describe_execution(executionArn=execution["executionArn"])
            if described["status"] != "RUNNING":
                break
            over = (f"{self.events} history events (bound {max_events})" if self.events > max_events
                    else f"{backstop:g}s of wall time" if time.monotonic() > deadline else None)
            if over or self.waiting_for:
                self._abort(execution["executionArn"], [
                    thread for thread in threading.enumerate()
                    if thread not in threads_before and thread.name.endswith("(_execution_logic)")])
                if not over:
                    raise ExecutionBlocked(f"execution waits for {self.waiting_for}, which nothing sends locally",
                                           self.events)
                raise ExecutionOverrun(f"execution still running after {over}", self.events)
            time.sleep(0.005)
        return Outcome(status=described["status"], output=_decode_output(described.get("output")),
                       error=described.get("error"), cause=_without_event_id(described.get("cause")))

    def _abort(self, execution_arn: str, workers: list[threading.Thread]) -> None:
        """Stop an execution that overran, and let its thread finish the state it is in.

        moto runs each execution in a daemon thread that outlives the caller. Left running (a polling
        loop whose Waits do not sleep), it would go on calling Lambdas through the seam of whichever
        engine is installed next, and be counted there. Once stopped, the interpreter enters no
        further state; a thread still blocked on a task token after the join can therefore call nothing."""
        self.client.stop_execution(executionArn=execution_arn)
        for worker in workers:
            worker.join(timeout=5)


_RUN_IDENTITY = [  # what differs between any two executions, wrapped or not
    (re.compile(r"\(entered at the event id #\d+\)"), "(entered at the event id #N)"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?"), "TIMESTAMP"),
]


def function_zip(code: str) -> bytes:
    """A Lambda deployment zip of one ``index.py``, dated 2020-01-01: the same code always has the same
    CodeSha256 (a rollback redeploys the very same package), whenever it is built."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("index.py", (2020, 1, 1, 0, 0, 0)), code)
    return buffer.getvalue()


def _without_event_id(cause: str | None) -> str | None:
    """Mask, in a failure cause, only what names this execution rather than what happened in it.

    A States.Runtime cause names the history event id of the failing state's entry (a wrapped
    machine has more events before it) and may quote the context object (start times). The state
    name, the path and the data in the cause are compared as they are.
    """
    if not cause:
        return cause
    for pattern, replacement in _RUN_IDENTITY:
        cause = pattern.sub(replacement, cause)
    return cause


def _decode_output(output: str | None) -> Any:
    """moto reports a string output unquoted ("k" instead of '"k"'); everything else is JSON text."""
    if output is None:
        return None
    try:
        return json.loads(output)
    except json.JSONDecodeError:
        return output


def _function_error(error: str, message: str) -> dict:
    return {"StatusCode": 200, "FunctionError": "Unhandled",
            "Payload": {"errorType": error, "errorMessage": message}}


KNOWN_DIFFERENCES = "docs/cached-form.md#what-a-hit-evaluates"


def same_failure_in_generated_state(wrapped: Outcome, original: Outcome) -> bool:
    """True when the two differ only as a known difference of the cached form (documented_difference)."""
    return documented_difference(wrapped, original) is not None


def documented_difference(wrapped: Outcome, original: Outcome) -> str | None:
    """Which of the known differences docs/cached-form.md lists, if that is all that separates the two:
    both failed with the same uncatchable States.Runtime and the same cause text, except that the
    wrapped machine's cause names the generated state that evaluated the failing path (1: cache_pull_T
    reads T's InputPath/Parameters first; 2: cache_hit_T, and the classic pattern's cache_out_T, apply
    T's OutputPath), and (3, classic pattern) the path is re-rooted under $.input."""
    if (wrapped.status, wrapped.error, wrapped.output) != (original.status, "States.Runtime", original.output):
        return None
    from sfn_cache.rewrite.naming import PREFIXES

    evaluating = PREFIXES.pattern((PREFIXES.pull, PREFIXES.out, PREFIXES.hit))
    pulling = PREFIXES.pattern((PREFIXES.pull,))
    cause = wrapped.cause or ""
    named = re.sub(f"state '{evaluating}([^']*)'", r"state '\1'", cause)
    named = re.sub(f'"Name": "{evaluating}([^"]*)"', r'"Name": "\1"', named)  # the context it quotes
    which = 1 if re.search(f"state '{pulling}", cause) else 2
    if named != original.cause and re.search(f"state '{evaluating}", cause):
        which = 3
        named = re.sub(r"'\$\.input([.\[][^']*)?'", lambda m: "'$" + (m.group(1) or "") + "'", named)
        named = named.replace("$['input.", "$['")  # the same path as the interpreter repeats it
    if named != original.cause:
        return None
    return f"{KNOWN_DIFFERENCES} (known difference {which})"
