"""A hit state that lets the task's own Catch handle errors of result processing.

On a hit the generated state applies T's ResultSelector, ResultPath, OutputPath (or Output) and Assign
to the cached result. In the original those steps belong to T, so their errors -- AWS
(concepts-error-handling) names ``States.ResultPathMatchFailure`` (a ResultPath that cannot be
applied), ``States.IntrinsicFailure`` (an intrinsic function in ResultSelector or Assign) and
``States.QueryEvaluationError`` (a JSONata Output or Assign) -- reach T's Catch. A Pass state has no
Catch, so where T has a catcher that could match one of them, the hit state is a Parallel of one branch
instead: the branch does the processing, a failing branch fails the Parallel with the branch's error
and cause, and the Parallel carries T's Retry and Catch. Its input is T's input, so a catcher's
ResultPath, Output and Assign see what T's would. Cost: one more state entered on such a hit.
"""

from __future__ import annotations

import copy
from typing import Any

from sfn_cache.rewrite.naming import GENERATED_COMMENT

RESULT_PROCESSING_ERRORS = ("States.ResultPathMatchFailure", "States.IntrinsicFailure",
                            "States.QueryEvaluationError")
_MATCHING = frozenset(RESULT_PROCESSING_ERRORS + ("States.ALL", "States.TaskFailed"))


def catches_result_errors(task: dict[str, Any]) -> bool:
    """True when one of T's catchers could handle an error of T's result processing."""
    return any(isinstance(catcher, dict) and _MATCHING & set(catcher.get("ErrorEquals") or [])
               for catcher in task.get("Catch") or [])


def catching_hit(name: str, branch_name: str, apply: dict[str, Any], task: dict[str, Any],
                 catch: list[dict[str, Any]], language: str) -> dict[str, Any]:
    """A Parallel whose one branch is ``apply`` (a Pass, without Next/End), with T's Retry and ``catch``.

    JSONPath: the branch's output is the state output (``OutputPath: $[0]``). JSONata: the caller puts
    Output and Assign on the Parallel itself, where its own Catch applies to them as to T's.
    """
    branch_state = {**apply, "End": True}
    state = {"Type": "Parallel", "Comment": f"{GENERATED_COMMENT}'{name}' from the cache, errors to its Catch",
             "Branches": [{"StartAt": branch_name, "States": {branch_name: branch_state}}]}
    if language == "JSONPath":
        state["OutputPath"] = "$[0]"
    if "Retry" in task:
        state["Retry"] = copy.deepcopy(task["Retry"])
    state["Catch"] = catch
    return state
