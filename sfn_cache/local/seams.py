"""Every seam between moto's Step Functions interpreter and this project, in one place.

moto's ASL engine (a port of LocalStack's) runs the definitions; these seams replace only what it
cannot do here, or does differently from AWS:

1. JSONata. moto evaluates JSONata, and the workflow-variable references of JSONPath states, through a
   JVM bridge that is not installed (``moto...jsonata._eval_jsonata`` is ``None``). We set it to the
   pure-Python ``jsonata-python`` evaluator, which implements the same language.
2. Lambda invocations. Direct function ARNs and ``arn:aws:states:::lambda:invoke`` both end in
   ``lambda_eval_utils._invoke_lambda_function``; moto would call its Lambda emulation, which needs
   Docker. ``Engine.invoke`` answers instead: task functions, and the caching Lambda's real handler,
   in-process, storing its bundles in moto's S3.
3. History events. ``EventManager.add_event`` also tells the engine, which bounds an execution by the
   events it writes and lets ``sfn-cache run`` print a line per state as it happens.
4. AWS's error rules. On AWS, ``States.ALL`` in a Retrier or Catcher does not match
   ``States.Runtime`` (it always fails the execution); moto's ``ErrorEqualsDecl`` matches it.
   ``States.DataLimitExceeded`` raised by a task whose result is too large *is* caught by
   ``States.ALL`` (recording: LocalStack's ``test_states_errors.snapshot.json``,
   ``test_task_lambda_catch_state_all_data_limit_exceeded_on_large_utf8_response``), so it is not
   excluded; moto takes any result, so ``Engine.invoke`` raises ``ResultOverQuota`` past 256 KiB and
   the task fails as recorded (``result_over_quota``). And where a Lambda task's own input or result processing fails
   (a ``ResultSelector`` path that is not there), AWS raises ``States.Runtime``; moto's
   ``StateTaskLambda._from_error`` calls it ``Exception``, which any Catch handles. We apply AWS's
   rules: the interpreter's own errors in a Lambda task get the ``States.Runtime`` every other task
   type gets from ``ExecutionState._from_error``.

Five more make moto's interpreter read definitions and data as AWS does (``install_seams``):

- ``install_query_language_scope``: a state without ``QueryLanguage`` takes the machine's top-level language,
  not the enclosing Map's or Parallel's; only a JSONPath state in a JSONata *machine* is refused.
  moto inherits from the enclosing state and refuses a JSONPath state inside a JSONata Map. (AWS CDK's
  ``queryLanguage`` docs: "it will use the query language specified in the top-level queryLanguage
  field"; recording ``test_sfn_api_validation.snapshot.json``,
  ``test_validate_state_machine_definition_type_standard[INVALID_DOWNGRADE_QUERY_LANGUAGE]``:
  "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine".)
- ``install_jsonata_number_reading`` and ``aws_numbers``: moto hands JSONata the state's data as JSON
  text, which jsonata-python reads as doubles (``2**60 + 1`` loses its last digit) and whose integral
  values it writes as Python ints of any size (``1e300`` as a 301-digit integer). Step Functions'
  JSONata keeps an integer exact within 64 bits, holds everything else as a double and writes an
  integral double within 64 bits as an integer (``1.0`` as ``1``): integer literals within 64 bits are
  read exactly, and results are normalised to that rule. (A literal above 2^53 written *in* an
  expression is read exactly here, as a double on AWS: not a case the cached form writes.)
- ``install_jsonpath_variable_reads``: a JSONPath state's reference to a workflow variable (``InputPath``
  ``$v``, ``"x.$": "$v.data"`` in Parameters, a Choice ``Variable: "$v.hit"``, an intrinsic's ``$v``) reads
  the value as assigned, as it reads ``$.data`` from the state's input: ``10.0`` stays ``10.0`` and an
  integer past 64 bits stays exact (a JSONPath machine keeps number text as written: recordings
  ``test_lambda_task.snapshot.json``, ``test_invoke_json_values[0.0]``; the variable read itself:
  ``test_assign_reference_variables.snapshot.json``, ``BASE_REFERENCE_IN_INPUTPATH``,
  ``BASE_REFERENCE_IN_PARAMETERS`` and ``BASE_REFERENCE_IN_CHOICE``: a reference yields the value
  assigned). moto's ``StringVariableSample`` writes every variable into a JSONata expression as JSON
  text and evaluates it, so the read went through JSONata's numbers (``10.0`` came back ``10``, an
  integer past 64 bits a double). A reference that names no value still goes moto's way (its errors
  and Choice's ``IsPresent`` are unchanged).
- ``install_assign_after_output``: a state's fields are evaluated with the variables as of entering it;
  its ``Assign`` writes land only after its ``ResultSelector``/``ResultPath``/``OutputPath`` (JSONPath) or
  ``Output`` (JSONata), so only later states see them, and the Assign's own expressions read the old
  values (recording ``test_assign_reference_variables.snapshot.json``,
  ``test_state_assign_evaluation_order[BASE_EVALUATION_ORDER_PASS_STATE]``: State1's ``OutputPath: "$answer"``
  gives 42, the value before that state's ``Assign {"answer": "<omitted>"}``; ``BASE_ASSIGN_FROM_PARAMETERS``:
  one Assign sets ``result`` and reads the old ``$result`` into ``originalResult``). moto's ``AssignDecl`` writes the
  variables as it evaluates them, and a Task evaluates its Assign (on the raw result, as AWS does)
  *before* its ResultSelector, so ``"old.$": "$v"`` there read the new value. The write is held until
  the state's output is done (``_set_next``) and dropped when the state fails into a Catch.
- Task tokens (in seam 5): ``$$.Task.Token`` exists for a ``.waitForTaskToken`` task and for a
  ``.sync``/``.sync:2`` task of a service that supports callbacks (recording: ``test_callback.snapshot.json``,
  ``test_sync_with_task_token``: ``states:startExecution.sync`` reads ``$$.Task.Token``); a plain
  Lambda invoke has no ``Task``, and reading it fails with ``States.Runtime``, as moto already does.
  Tokens are named by execution, state and Map index (``repeatable_token``), so runs compare.

Where moto's errors are not AWS's, ``install_seams`` also makes them AWS's (``install_aws_error_seams``:
ResultPathMatchFailure, QueryEvaluationError, a Parallel re-raising its branch's error).

One correction, opt-in (``install_aws_paths``): AWS resolves a definite path such as ``$.models[0].auc``
(no wildcard, slice, filter or ``..``) to the one value it names; moto's ``extract_json`` returns
``[value]`` whenever an index occurs before the last step (its fix for moto#7825).
``_is_singleton_array_access``, which moto asks whether to unpack a single match, answers for every
definite path instead of only for paths ending in ``[n]``.

Two more serve definitions that call services moto cannot run (``install_service_seams``):

5. Service integrations (``glue:startJobRun.sync``, ``sns:publish``, ``aws-sdk:*``...) are built by
   ``state_task_factory.state_task_service_for``; we hand back a ``StubService`` whose result is a
   Python function of the resource and the task's parameters.
6. Time: Wait states (``WaitFunction._wait_interval``) and Retry intervals (the ``time.sleep`` of
   ``retrier_decl``) return at once. What the states do is unchanged; only the sleeping is skipped.

Everything else -- input/output processing, Assign, Choice, Retry, Catch, Map, Parallel, errors -- is
moto's own interpreter, unchanged. The seams touch moto internals, so the ``verify`` extra pins moto.

Each installer takes a ``patcher`` with pytest's ``monkeypatch.setattr(target, name, value)``
signature: pytest's own fixture in the tests, ``Patcher`` (which undoes on exit) in the CLI.
"""

from __future__ import annotations

import copy
import os
import re
import threading
import types
from typing import Any, Callable

from sfn_cache.local.engine import Engine, ResultOverQuota

UNCATCHABLE_BY_ALL = frozenset({"States.Runtime"})


class Patcher:
    """pytest's ``monkeypatch`` for the CLI: setattr/setenv/delenv, all undone on exit."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def setattr(self, target: Any, name: str, value: Any) -> None:
        saved = getattr(target, name)
        if isinstance(target, type) and name in vars(target):
            saved = vars(target)[name]  # a staticmethod stays one when it is put back
        self._saved.append((target, name, saved))
        setattr(target, name, value)

    def setenv(self, name: str, value: str) -> None:
        self._saved.append((os.environ, name, os.environ.get(name)))
        os.environ[name] = value

    def delenv(self, name: str, raising: bool = True) -> None:
        self._saved.append((os.environ, name, os.environ.get(name)))
        os.environ.pop(name, None)

    def __enter__(self) -> "Patcher":
        return self

    def __exit__(self, *exc: Any) -> None:
        while self._saved:
            target, name, value = self._saved.pop()
            if target is not os.environ:
                setattr(target, name, value)
            elif value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def install_seams(patcher: Any, engine: Engine) -> None:
    """Seams 1-4: JSONata, Lambda invocations, history events, AWS's error rules."""
    import jsonata
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
        StateTaskServiceLambda,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata

    patcher.setattr(moto_jsonata, "_eval_jsonata",
                    lambda expression: aws_numbers(jsonata.Jsonata(expression).evaluate(None)))
    install_jsonata_number_reading(patcher)
    install_jsonpath_variable_reads(patcher)
    install_assign_after_output(patcher)
    install_query_language_scope(patcher)
    install_repeatable_task_tokens(patcher)
    patcher.setattr(lambda_eval_utils, "_invoke_lambda_function", engine.invoke)

    add_event = EventManager.add_event

    def add_event_and_tell(self, context, event_type, event_details=None, *args, **kwargs):
        event_id = add_event(self, context, event_type, event_details, *args, **kwargs)
        engine.event_added(event_type, event_details)
        return event_id

    patcher.setattr(EventManager, "add_event", add_event_and_tell)

    error_equals = ErrorEqualsDecl._eval_body

    def aws_error_equals(self, env) -> None:
        error = env.stack[-1]
        if (getattr(error, "error_name", error) in UNCATCHABLE_BY_ALL
                and ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names):
            env.stack.pop()
            env.stack.append(False)
            return
        error_equals(self, env)

    patcher.setattr(ErrorEqualsDecl, "_eval_body", aws_error_equals)

    lambda_from_error = StateTaskLambda._from_error
    reported_by_lambda = (TimeoutError, FailureEventException, ClientError,
                          lambda_eval_utils.LambdaFunctionErrorException)

    def aws_from_error(self, env, ex):
        if isinstance(ex, ResultOverQuota):
            return result_over_quota(env, str(ex), HistoryEventType.LambdaFunctionFailed)
        if isinstance(ex, reported_by_lambda):
            return lambda_from_error(self, env, ex)
        return ExecutionState._from_error(self, env, ex)

    service_from_error = StateTaskServiceLambda._from_error

    def service_result_over_quota(self, env, ex):
        if isinstance(ex, ResultOverQuota):
            return result_over_quota(env, "lambda", HistoryEventType.TaskFailed,
                                     resource=self._get_sfn_resource(), resourceType=self._get_sfn_resource_type())
        return service_from_error(self, env, ex)

    patcher.setattr(StateTaskLambda, "_from_error", aws_from_error)
    patcher.setattr(StateTaskServiceLambda, "_from_error", service_result_over_quota)
    install_aws_error_seams(patcher)


def result_over_quota(env: Any, task: str, event_type: Any, **details: str) -> Any:
    """The failure AWS records for a Lambda result over the payload quota (words from the recording
    named at ResultOverQuota): States.DataLimitExceeded, which States.ALL catches."""
    from moto.stepfunctions.parser.api import LambdaFunctionFailedEventDetails, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    error = StatesErrorNameType.StatesStatesDataLimitExceeded
    cause = (f"The state/task '{task}' returned a result with a size exceeding the maximum number of bytes "
             "service limit.")
    if details:
        event_details = EventDetails(taskFailedEventDetails=TaskFailedEventDetails(  # type: ignore[typeddict-item]
            error=error.to_name(), cause=cause, **details))
    else:
        event_details = EventDetails(  # type: ignore[typeddict-item]
            lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error.to_name(), cause=cause))
    return FailureEvent(env=env, error_name=StatesErrorName(typ=error), event_type=event_type,
                        event_details=event_details)


INT64 = range(-2**63, 2**63)


def aws_number(value: Any) -> Any:
    """One JSONata number as Step Functions holds it: an integer within 64 bits exactly, anything
    else as a double, an integral double within 64 bits as an integer (``1.0`` is written ``1``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, int):
        return value if value in INT64 else float(value)
    if value.is_integer() and -2.0**63 <= value < 2.0**63:
        return int(value)
    return value


def aws_numbers(value: Any) -> Any:
    """A JSONata result with every number as Step Functions holds it (see aws_number)."""
    if isinstance(value, dict):
        return {key: aws_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [aws_numbers(item) for item in value]
    return aws_number(value)


def exact_number(text: str) -> int | float:
    """A JSON number literal: an integer within 64 bits exactly, anything else as a double."""
    if text.lstrip("-").isdigit() and int(text) in INT64:
        return int(text)
    return float(text)


def install_jsonata_number_reading(patcher: Any) -> None:
    """jsonata-python reads every number literal with ``float()`` and converts integral values to
    Python ints of any size; here (moto binds the state's data as JSON text) a literal integer within
    64 bits stays exact and only values within 64 bits become integers (module docstring)."""
    from jsonata import tokenizer, utils

    def convert_number(n: Any) -> Any:
        return None if not utils.Utils.is_numeric(n) else aws_number(n)

    if "float" not in vars(tokenizer):
        tokenizer.float = float  # the builtin it reads now: nothing to undo
    patcher.setattr(tokenizer, "float", exact_number)  # the tokenizer's number literals
    patcher.setattr(utils.Utils, "convert_number", staticmethod(convert_number))


_VARIABLE_REFERENCE = re.compile(r"\$([A-Za-z0-9_]+)((?:[.[].*)?)", re.DOTALL)


def install_jsonpath_variable_reads(patcher: Any) -> None:
    """A JSONPath state reads a variable's value as assigned, no JSONata round trip (module docstring):
    the variable's Python value, then the rest of the reference as a JSONPath on it, as moto reads
    ``$.path`` from a state's input (``StringJsonPath``)."""
    from jsonpath_ng.exceptions import JSONPathError
    from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
    from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringVariableSample
    from moto.stepfunctions.parser.asl.eval.variable_store import NoSuchVariable
    from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError, extract_json

    through_jsonata = StringVariableSample._eval_body

    def read_as_assigned(self: Any, env: Any) -> None:
        reference = _VARIABLE_REFERENCE.fullmatch(self.expression)
        if self.query_language_mode != QueryLanguageMode.JSONPath or reference is None:
            through_jsonata(self, env)
            return
        name, path = reference.groups()
        try:
            value = env.variable_store.get(name)
            if path:
                value = extract_json("$" + path, value)
        except (NoSuchVariable, NoSuchJsonPathError, JSONPathError):  # names no value, or a path jsonpath_ng
            through_jsonata(self, env)  # cannot read: moto's way (its errors, Choice's IsPresent)
            return
        env.stack.append(copy.deepcopy(value))

    patcher.setattr(StringVariableSample, "_eval_body", read_as_assigned)


_PENDING_ASSIGN = "_sfn_cache_pending_assign"


def install_assign_after_output(patcher: Any) -> None:
    """A state's Assign writes its variables after the state's output is evaluated (module docstring):
    ``AssignDecl`` evaluates its bindings as moto does and holds the values on the variable store; a
    state's ``_set_next`` (after its output, before its exit event, which lists them) writes them; a
    Catch drops those of the attempt that failed (the catcher's own Assign is held the same way)."""
    from moto.stepfunctions.parser.asl.component.common.assign.assign_decl import AssignDecl
    from moto.stepfunctions.parser.asl.component.state.choice.state_choice import StateChoice
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    from moto.stepfunctions.parser.asl.eval.variable_store import IllegalOuterScopeWrite

    def hold(self: Any, env: Any) -> None:
        declarations: dict[str, Any] = {}
        for binding in self.declaration_bindings:
            binding.eval(env=env)
            declarations.update(env.stack.pop())
        store = env.variable_store
        for identifier, value in declarations.items():
            if identifier in store._outer_scope:  # moto's error, where moto raises it
                raise IllegalOuterScopeWrite(variable_identifier=identifier, variable_value=value)
        setattr(store, _PENDING_ASSIGN, declarations)

    def write_held(env: Any) -> None:
        store = env.variable_store
        for identifier, value in vars(store).pop(_PENDING_ASSIGN, {}).items():
            store.set(variable_identifier=identifier, variable_value=value)

    def after_output(set_next: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        def write_then_set_next(self: Any, env: Any) -> None:
            write_held(env)
            set_next(self, env)
        return write_then_set_next

    handle_catch = ExecutionState._handle_catch

    def drop_then_catch(self: Any, env: Any, failure_event: Any) -> None:
        vars(env.variable_store).pop(_PENDING_ASSIGN, None)
        handle_catch(self, env, failure_event)

    patcher.setattr(AssignDecl, "_eval_body", hold)
    patcher.setattr(CommonStateField, "_set_next", after_output(CommonStateField._set_next))
    patcher.setattr(StateChoice, "_set_next", after_output(StateChoice._set_next))
    patcher.setattr(ExecutionState, "_handle_catch", drop_then_catch)


def install_query_language_scope(patcher: Any) -> None:
    """A state without QueryLanguage takes the machine's top-level language (module docstring)."""
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
    from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguage, QueryLanguageMode
    from moto.stepfunctions.parser.asl.parse import preprocessor as moto_preprocessor
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    is_production = moto_preprocessor.is_production

    def declared(self: Any, parse_tree: Any) -> Any:
        production: Any = is_production(parse_tree)
        for child in production.children:
            sub = is_production(child, ASLParser.RULE_top_layer_stmt) or is_production(child, ASLParser.RULE_state_stmt)
            if sub is not None:
                child = sub.children[0]
            sub = is_production(child, ASLParser.RULE_query_language_decl)
            if sub is not None:
                return self.visit(sub)
        return None

    def open_scope(self: Any, parse_tree: Any) -> None:
        language = declared(self, parse_tree)
        if "_query_language_per_scope" not in vars(self):
            # moto keeps the scopes in a class attribute, which a refused definition leaves non-empty;
            # one list per parse (a Preprocessor is made for each) makes scopes[0] this machine's
            self._query_language_per_scope = []
        scopes = self._query_language_per_scope
        if not scopes:
            language = language or QueryLanguage()
        else:
            top = scopes[0]
            if language is None:
                language = top
            elif (top.query_language_mode == QueryLanguageMode.JSONata
                  and language.query_language_mode == QueryLanguageMode.JSONPath):
                raise ValueError("'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine")
        scopes.append(language)

    patcher.setattr(Preprocessor, "_open_query_language_scope", open_scope)


def repeatable_token(data: Any, state: str | None) -> str:
    """A task token named by where it is issued (execution, state, Map index), not drawn at random:
    two runs of one machine under the same execution name read the same ``$$.Task.Token``, so ``verify``
    can compare a machine that passes its token on (AWS's tokens differ per run and are opaque: no task
    may read anything into them). A state entered twice in one execution gets the same token."""
    import hashlib
    import json

    index = ((data.get("Map") or {}).get("Item") or {}).get("Index")
    return hashlib.sha256(json.dumps([data["Execution"].get("Id"), state, index]).encode()).hexdigest()


def install_repeatable_task_tokens(patcher: Any) -> None:
    """moto's own callback services and activities draw a token before the state's context names the
    state: name it by the state entered last (they wait for SendTaskSuccess, which nothing sends here)."""
    from moto.stepfunctions.parser.asl.eval.states import ContextObject, TaskData

    def update_task_token(self: Any) -> str:
        data = self.context_object_data
        token = repeatable_token(data, (data.get("State") or {}).get("Name"))
        data["Task"] = TaskData(Token=token)
        return token

    patcher.setattr(ContextObject, "update_task_token", update_task_token)


def install_service_seams(patcher: Any, service_stub: Callable[[str, Any], Any]) -> None:
    """Seams 5 and 6: stubbed service integrations, no sleeping."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    class StubService(StateTaskService):
        """Answers from ``service_stub``; gives the task a ``$$.Task.Token`` where AWS does."""

        def __init__(self, callbacks: bool):
            super().__init__()
            self.callbacks = callbacks  # the service supports .waitForTaskToken

        def _validate_service_integration_is_supported(self) -> None:
            pass

        def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
            env.stack.append(service_stub(self.resource.resource_arn, normalised_parameters))

        def _eval_body(self, env) -> None:
            if not (self.resource.condition and self.callbacks):
                super()._eval_body(env)
                return
            data = env.states.context_object.context_object_data  # as moto's callback services do
            data["Task"] = {"Token": repeatable_token(data, self.name)}
            try:
                super()._eval_body(env)
            finally:
                env.states.context_object.context_object_data.pop("Task", None)

    real_factory = state_task_factory.state_task_service_for

    def service_for(service_name: str):
        if service_name == "lambda":
            return real_factory(service_name)
        patterns: set = getattr(real_factory(service_name), "_supported_integration_patterns", set())
        return StubService(callbacks=ResourceCondition.WaitForTaskToken in patterns)

    patcher.setattr(state_task_factory, "state_task_service_for", service_for)
    patcher.setattr(WaitFunction, "_wait_interval", lambda self, env, wait_seconds: None)
    patcher.setattr(retrier_decl, "time", types.SimpleNamespace(sleep=lambda seconds: None))


_INDEFINITE_PATH = re.compile(r"\[[^\]]*[*:?,][^\]]*\]|\.\.|\.\*")


def definite_path(path: str) -> bool:
    """True for a JSONPath that names at most one value (AWS returns that value, not a list)."""
    return not _INDEFINITE_PATH.search(path)


def install_aws_paths(patcher) -> None:
    """Correction 5 (see the module docstring): a definite reference path resolves to one value."""
    from moto.stepfunctions.parser.asl.utils import json_path as moto_json_path

    patcher.setattr(moto_json_path, "_is_singleton_array_access", definite_path)


def install_aws_error_seams(patcher) -> None:
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
    from jsonata.jexception import JException
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name import custom_error_name
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.component.common.path.result_path import ResultPath
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    apply_result_path = ResultPath._eval_body

    def result_path_or_match_failure(self, env) -> None:
        try:
            apply_result_path(self, env)
        except (TypeError, KeyError, IndexError, AttributeError):
            error = StatesErrorNameType.StatesResultPathMatchFailure
            raise FailureEventException(failure_event=FailureEvent(
                env=env, error_name=StatesErrorName(typ=error), event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(  # type: ignore[typeddict-item]
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
                event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(  # type: ignore[typeddict-item]
                    error=error.to_name(), cause=str(ex))))) from None

    patcher.setattr(ResultPath, "_eval_body", result_path_or_match_failure)
    patcher.setattr(ExecutionState, "_evaluate_with_timeout", query_evaluation_error)
    patcher.setattr(branches_decl, "CustomErrorName", branch_error_name)
    patcher.setattr(branches_decl.BranchesDecl, "_eval_body", note_branch_count)
