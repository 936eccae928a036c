"""Run state machines for real: moto's Step Functions interpreter (a port of LocalStack's ASL engine).

Every seam between the interpreter and this project is in this module; the two main ones:

1. JSONata. moto evaluates JSONata, and the workflow-variable references of JSONPath states, through a
   JVM bridge that is not installed here (``moto...jsonata._eval_jsonata`` is left as ``None``). We set
   it to the pure-Python ``jsonata-python`` evaluator, which implements the same language.
2. Lambda invocations. Direct function ARNs and ``arn:aws:states:::lambda:invoke`` both end in
   ``lambda_eval_utils._invoke_lambda_function``; moto would call its Lambda emulation, which needs
   Docker. We answer instead with Python functions: the user's tasks by function name, and the caching
   Lambda with the project's real handler, in-process, storing its bundles in moto's S3.

Two more seams serve only the corpus executions (``install_corpus_seams``), where real public
definitions call services that moto cannot run:

3. Service integrations (``arn:aws:states:::glue:startJobRun.sync``, ``sns:publish``, ``aws-sdk:*``...)
   are built by ``state_task_factory.state_task_service_for``; we hand back a ``StubService`` whose
   result is a Python function of the resource and the task's parameters.
4. Time: Wait states (``WaitFunction._wait_interval``) and Retry intervals (the ``time.sleep`` of
   ``retrier_decl``) return at once, so a definition that polls every 5 minutes runs in
   milliseconds. What the states do is unchanged; only the sleeping is skipped.

One correction, opt-in (``install_aws_paths``), makes moto agree with AWS where it knowingly departs
from it; the example's test and benchmarks/transitions.py use it:

5. Reference paths. AWS resolves a definite path such as ``$.models[0].auc`` (no wildcard, slice,
   filter or ``..``) to the one value it names; moto's ``extract_json`` returns ``[value]`` whenever an
   index occurs before the last step (its fix for moto#7825), so the example pipeline's Choice compared
   a list with 0.8 and every run ended in its failure branch. ``_is_singleton_array_access``, which moto
   asks whether to unpack a single match, answers for every definite path instead of only for paths
   ending in ``[n]``.

Where moto's errors are not AWS's, ``install_seams`` also makes them AWS's (``install_aws_error_seams``:
ResultPathMatchFailure, QueryEvaluationError, a Parallel re-raising its branch's error).

Everything else -- input/output processing, Assign, Choice, Retry, Catch, Map, Parallel -- is
moto's own interpreter, unchanged.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
import types
from dataclasses import dataclass
from typing import Any, Callable

import boto3

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/sfn-cache-harness"
CACHE_FUNCTION = "sfn-cache"
CACHE_BUCKET = "sfn-cache-harness"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


CACHE_ARN = function_arn(CACHE_FUNCTION)


class TaskFailure(Exception):
    """Raised by a task function to fail with a chosen error name, like a Lambda's errorType."""

    def __init__(self, error: str, message: str = ""):
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class Outcome:
    """What an execution ended with: what the equivalence tests compare."""

    status: str
    output: Any
    error: str | None
    cause: str | None


class Engine:
    """Creates state machines in moto and runs executions to completion.

    ``tasks`` maps a Lambda function name to a Python function of the task's input; ``calls`` counts
    invocations per function name (the caching Lambda's under its own name).
    """

    def __init__(self, tasks: dict[str, Callable[[Any], Any]], cache_handler: Callable | None,
                 default_task: Callable[[Any], Any] | None = None):
        self.tasks = tasks
        self.default_task = default_task
        self.cache_handler = cache_handler
        self.calls: collections.Counter = collections.Counter()
        self.cache_answers: list[tuple[str, dict]] = []
        self.client = boto3.client("stepfunctions", region_name=REGION)
        self._machine_arn: str | None = None

    def state_transitions(self) -> int:
        """States entered by the last execution: what AWS bills for a standard workflow."""
        events, token = [], None
        while True:
            page = self.client.get_execution_history(
                executionArn=self.last_execution_arn, maxResults=1000, **({"nextToken": token} if token else {}))
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return sum(1 for event in events if event["type"].endswith("StateEntered"))

    # the seam: moto calls this for every Lambda invocation
    def invoke(self, parameters: dict, region: str, state_credentials: Any) -> dict:
        name = parameters["FunctionName"].split(":")[-1]
        raw = parameters.get("Payload")
        payload = json.loads(raw) if raw else None
        self.calls[name] += 1
        if name == CACHE_FUNCTION:
            function = lambda event: self.cache_handler(event, None)  # noqa: E731
        elif name in self.tasks:
            function = self.tasks[name]
        elif self.default_task is not None:
            function = self.default_task
        else:
            raise AssertionError(f"no task function for Lambda {name!r}")
        try:
            result = function(payload)
        except TaskFailure as exc:
            return _function_error(exc.error, str(exc))
        except Exception as exc:  # a Lambda's unhandled exception: errorType is the class name
            return _function_error(type(exc).__name__, str(exc))
        if name == CACHE_FUNCTION:
            self.cache_answers.append((payload.get("sfn_cache"), result))
        return {"StatusCode": 200, "Payload": json.loads(json.dumps(result))}

    def run(self, definition: dict, execution_input: Any = None, timeout: float = 60.0,
            execution_name: str = "run") -> Outcome:
        """Deploy ``definition`` as *the* state machine (same name and ARN every time, as a user
        redeploys a wrapped machine in place) and run one execution, by default always under the same
        name, so that ``$$.StateMachine.Id`` and ``$$.Execution.Id`` read the same in every run compared."""
        if self._machine_arn:
            self.client.delete_state_machine(stateMachineArn=self._machine_arn)
        machine = self.client.create_state_machine(
            name="pipeline", definition=json.dumps(definition), roleArn=ROLE_ARN)
        self._machine_arn = machine["stateMachineArn"]
        threads_before = set(threading.enumerate())
        execution = self.client.start_execution(
            stateMachineArn=self._machine_arn, name=execution_name,
            input=json.dumps({} if execution_input is None else execution_input))
        self.last_execution_arn = execution["executionArn"]
        deadline = time.monotonic() + timeout
        while True:
            described = self.client.describe_execution(executionArn=execution["executionArn"])
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                self._abort(execution["executionArn"], [
                    thread for thread in threading.enumerate()
                    if thread not in threads_before and thread.name.endswith("(_execution_logic)")])
                raise AssertionError(f"execution still running after {timeout}s")
            time.sleep(0.005)
        return Outcome(status=described["status"], output=_decode_output(described.get("output")),
                       error=described.get("error"), cause=_without_event_id(described.get("cause")))

    def _abort(self, execution_arn: str, workers: list[threading.Thread]) -> None:
        """Stop an execution that overran its time, and let its thread finish the state it is in.

        moto runs each execution in a daemon thread that outlives the test. Left running (a polling
        loop whose Waits do not sleep), it would go on calling Lambdas through the seam of whichever
        engine the next test installs, and be counted there. Once stopped, the interpreter enters no
        further state; a thread still blocked on a task token after the join can therefore call nothing."""
        self.client.stop_execution(executionArn=execution_arn)
        for worker in workers:
            worker.join(timeout=5)


_RUN_IDENTITY = [  # what differs between any two executions, wrapped or not
    (re.compile(r"\(entered at the event id #\d+\)"), "(entered at the event id #N)"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?"), "TIMESTAMP"),
]


def _without_event_id(cause: str | None) -> str | None:
    """Mask, in a failure cause, only what names this execution rather than what happened in it.

    A States.Runtime cause names the history event id of the failing state's entry (a wrapped
    machine has more events before it) and may quote the context object (start times). The state name, the path and the data in the cause are compared as they are.
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


_INDEFINITE_PATH = re.compile(r"\[[^\]]*[*:?,][^\]]*\]|\.\.|\.\*")


def definite_path(path: str) -> bool:
    """True for a JSONPath that names at most one value (AWS returns that value, not a list)."""
    return not _INDEFINITE_PATH.search(path)


def install_aws_paths(monkeypatch) -> None:
    """Correction 5 (see the module docstring): a definite reference path resolves to one value."""
    from moto.stepfunctions.parser.asl.utils import json_path as moto_json_path

    monkeypatch.setattr(moto_json_path, "_is_singleton_array_access", definite_path)


def install_seams(monkeypatch, engine: Engine) -> None:
    """Point moto's two external calls (JSONata, Lambda) at the implementations described above."""
    import jsonata
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata

    monkeypatch.setattr(moto_jsonata, "_eval_jsonata",
                        lambda expression: jsonata.Jsonata(expression).evaluate(None))
    monkeypatch.setattr(lambda_eval_utils, "_invoke_lambda_function", engine.invoke)
    install_aws_error_seams(monkeypatch)


def install_aws_error_seams(monkeypatch) -> None:
    """Where moto's errors are not AWS's, make them AWS's (docs: concepts-error-handling).

    - A ResultPath that cannot be applied (``$.a.b`` when ``a`` is a string) fails the state with
      ``States.ResultPathMatchFailure``, which Catch can handle. moto raises a Python TypeError instead
      ("Exception" from a Task, an uncatchable States.Runtime from a Pass).
    - A JSONata expression that fails to evaluate in a Task or Parallel (Arguments, Assign, Output)
      fails the state with ``States.QueryEvaluationError``, which Catch can handle; moto names it
      States.Runtime (the cause, the evaluator's message, is kept) and evaluates Output outside Catch.
    - A Parallel state of one branch whose branch fails, fails with the branch's error and cause
      (States.Runtime aside, see branch_error_name). moto refuses to
      re-raise an error name that starts with ``States.`` (a ValueError, so the execution ends with
      States.Runtime whatever the Parallel's Catch says).
    The cause of a ResultPathMatchFailure names the path (AWS's exact words are not documented).
    """
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name import custom_error_name
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent, FailureEventException)
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType)
    from moto.stepfunctions.parser.asl.component.common.path.result_path import ResultPath
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
    from jsonata.jexception import JException
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    apply_result_path = ResultPath._eval_body

    def result_path_or_match_failure(self, env) -> None:
        try:
            apply_result_path(self, env)
        except (TypeError, KeyError, IndexError, AttributeError):
            error = StatesErrorNameType.StatesResultPathMatchFailure
            raise FailureEventException(failure_event=FailureEvent(
                env=env, error_name=StatesErrorName(typ=error), event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                    error=error.to_name(),
                    cause=f"Unable to apply ResultPath '{self.result_path_src}' to the state input"))))

    one_branch = threading.local()
    run_branches = branches_decl.BranchesDecl._eval_body

    def note_branch_count(self, env) -> None:
        one_branch.value = len(self.programs) == 1  # read below, in this thread, after the branches end
        run_branches(self, env)

    def branch_error_name(error_name: str | None):
        # Only for one branch: with several failing branches, the one reported is whichever failed first
        # (a race between threads, on AWS too), so no two runs compare. States.Runtime keeps moto's way
        # (the execution fails with it; AWS ends the execution at once).
        if error_name and error_name.startswith(custom_error_name.ILLEGAL_CUSTOM_ERROR_PREFIX) \
                and error_name != "States.Runtime" and getattr(one_branch, "value", False):
            return StatesErrorName.from_name(error_name)
        return custom_error_name.CustomErrorName(error_name)

    evaluate = ExecutionState._evaluate_with_timeout

    def query_evaluation_error(self, env) -> None:
        try:
            evaluate(self, env)
            if self.output is not None and not self._is_language_query_jsonpath():
                self.output.jsonata_template_value.eval(env=env)  # only to raise its error here,
                env.stack.pop()  # under the state's Retry/Catch; moto evaluates Output again after
        except JException as ex:
            error = StatesErrorNameType.StatesQueryEvaluationError
            raise FailureEventException(failure_event=FailureEvent(
                env=env, error_name=StatesErrorName(typ=error), event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                    error=error.to_name(), cause=str(ex))))) from None

    monkeypatch.setattr(ResultPath, "_eval_body", result_path_or_match_failure)
    monkeypatch.setattr(ExecutionState, "_evaluate_with_timeout", query_evaluation_error)
    monkeypatch.setattr(branches_decl, "CustomErrorName", branch_error_name)
    monkeypatch.setattr(branches_decl.BranchesDecl, "_eval_body", note_branch_count)


def install_corpus_seams(monkeypatch, service_stub: Callable[[str, Any], Any]) -> None:
    """Seams 3 and 4 (see the module docstring): stubbed service integrations, no sleeping."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    class StubService(StateTaskService):
        def _validate_service_integration_is_supported(self) -> None:
            pass

        def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
            env.stack.append(service_stub(self.resource.resource_arn, normalised_parameters))

    real_factory = state_task_factory.state_task_service_for

    def service_for(service_name: str):
        return real_factory(service_name) if service_name == "lambda" else StubService()

    monkeypatch.setattr(state_task_factory, "state_task_service_for", service_for)
    monkeypatch.setattr(WaitFunction, "_wait_interval", lambda self, env, wait_seconds: None)
    monkeypatch.setattr(retrier_decl, "time", types.SimpleNamespace(sleep=lambda seconds: None))


def same_failure_in_generated_state(wrapped: Outcome, original: Outcome) -> bool:
    """True when both failed with the same uncatchable States.Runtime and the same cause text, except
    for the known differences the README lists: the wrapped machine's cause names the generated state
    that evaluated the failing path (cache_pull_T reads T's InputPath/Parameters first; cache_hit_T,
    and the classic pattern's cache_out_T, apply T's OutputPath), and in the classic pattern's
    cache_out_T/cache_hit_T the path is re-rooted under $.input."""
    if (wrapped.status, wrapped.error, wrapped.output) != (original.status, "States.Runtime", original.output):
        return False
    named = re.sub(r"state 'cache_(?:pull|out|hit)_([^']*)'", r"state '\1'", wrapped.cause or "")
    if re.search(r"state 'cache_(?:out|hit)_", wrapped.cause or "") and named != original.cause:
        named = re.sub(r"'\$\.input([.\[][^']*)?'", lambda m: "'$" + (m.group(1) or "") + "'", named)
        named = named.replace("$['input.", "$['")  # the same path as the interpreter repeats it
    return named == original.cause


# The bundled example (examples/ml_pipeline.asl.json) with every task stubbed: one input and the two
# stubs that make it take its success path (auc 0.9 >= 0.8), shared by its test and benchmarks.
EXAMPLE_INPUT = {"dataset": {"uri": "s3://data/2026-11-01", "snapshot": "v7"}, "regions": ["eu", "us"],
                 "hyperparameters": {"depth": 6}, "run_date": "2026-11-01"}


def example_task(event: Any) -> dict:
    """Every Lambda task of the example: a trained, evaluated model."""
    return {"ok": True, "metrics": {"auc": 0.9}, "model_uri": "s3://m", "echo": event}


def example_service(resource: str, parameters: Any) -> dict:
    """Every service integration of the example (its Glue job run)."""
    return {"Id": "jr_1", "JobRunState": "SUCCEEDED"}
