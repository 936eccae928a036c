"""Run state machines for real: moto's Step Functions interpreter (a port of LocalStack's ASL engine).

Every seam between the interpreter and this project is in this module, and there are exactly two:

1. JSONata. moto evaluates JSONata, and the workflow-variable references of JSONPath states, through a
   JVM bridge that is not installed here (``moto...jsonata._eval_jsonata`` is left as ``None``). We set
   it to the pure-Python ``jsonata-python`` evaluator, which implements the same language.
2. Lambda invocations. Direct function ARNs and ``arn:aws:states:::lambda:invoke`` both end in
   ``lambda_eval_utils._invoke_lambda_function``; moto would call its Lambda emulation, which needs
   Docker. We answer instead with Python functions: the user's tasks by function name, and the caching
   Lambda with the project's real handler, in-process, storing its bundles in moto's S3.

Everything else -- input/output processing, Assign, Choice, Retry, Catch, Map, Parallel, errors -- is
moto's own interpreter, unchanged.
"""

from __future__ import annotations

import collections
import itertools
import json
import time
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

    def __init__(self, tasks: dict[str, Callable[[Any], Any]], cache_handler: Callable | None):
        self.tasks = tasks
        self.cache_handler = cache_handler
        self.calls: collections.Counter = collections.Counter()
        self.cache_answers: list[tuple[str, dict]] = []
        self.client = boto3.client("stepfunctions", region_name=REGION)
        self._ids = itertools.count(1)

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

    def run(self, definition: dict, execution_input: Any = None, timeout: float = 60.0) -> Outcome:
        number = next(self._ids)
        machine = self.client.create_state_machine(
            name=f"machine-{number}", definition=json.dumps(definition), roleArn=ROLE_ARN)
        execution = self.client.start_execution(
            stateMachineArn=machine["stateMachineArn"], name=f"run-{number}",
            input=json.dumps({} if execution_input is None else execution_input))
        deadline = time.monotonic() + timeout
        while True:
            described = self.client.describe_execution(executionArn=execution["executionArn"])
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"execution still running after {timeout}s")
            time.sleep(0.005)
        return Outcome(status=described["status"], output=_decode_output(described.get("output")),
                       error=described.get("error"), cause=described.get("cause"))


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


def install_seams(monkeypatch, engine: Engine) -> None:
    """Point moto's two external calls (JSONata, Lambda) at the implementations described above."""
    import jsonata
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata

    monkeypatch.setattr(moto_jsonata, "_eval_jsonata",
                        lambda expression: jsonata.Jsonata(expression).evaluate(None))
    monkeypatch.setattr(lambda_eval_utils, "_invoke_lambda_function", engine.invoke)
