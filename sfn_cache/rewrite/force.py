"""Run-time force without shipping the execution input: one Pass at the machine's start.

The Lambda needs only the execution input's reserved ``sfn_cache.force`` field, and a pull that
carried ``$$.Execution.Input`` would grow by the whole input (150 KB input, 150 KB more per pull).
So the wrapped machine starts with one generated Pass that copies only
``$$.Execution.Input.sfn_cache.force`` (or null when it is absent) into the variable
``sfncache_force``; each pull sends that variable as ``run_force``. Cost: one state transition per
execution, none per task.

Inner scopes (Parallel branches, inline Map iterations) read outer variables. A distributed Map's
iterations cannot (they are child executions): tasks there are forced at wrap time only.
"""

from __future__ import annotations

from typing import Any

from sfn_cache.asl.model import Scope
from sfn_cache.rewrite.naming import FORCE_VARIABLE, GENERATED_COMMENT, PREFIXES, NameAllocator

COMMENT = f"{GENERATED_COMMENT}read sfn_cache.force from the execution input once"  # only with --comments
_FIELD = "$states.context.Execution.Input.sfn_cache.force"
READ_FORCE = "{% ($f:=" + _FIELD + ";$exists($f)?$f:null) %}"


def force_reader(start: str, comment: bool = False) -> dict[str, Any]:
    """The Pass that assigns ``sfncache_force`` (null when absent) and goes on to ``start``.

    Always JSONata (allowed in a JSONPath machine): a JSONPath path to an absent field fails with the
    uncatchable States.Runtime, while JSONata's ``$exists`` can ask."""
    return {"Type": "Pass", "QueryLanguage": "JSONata", **({"Comment": COMMENT} if comment else {}),
            "Assign": {FORCE_VARIABLE: READ_FORCE}, "Next": start}


def insert_force_reader(top: Scope, names: NameAllocator, comment: bool = False) -> str:
    """Make the force reader the machine's first state (first in document order too); returns its name."""
    name = names.allocate(PREFIXES.force, "force")
    start = top.body["StartAt"]
    top.body["States"] = {name: force_reader(start, comment), **top.states}
    top.body["StartAt"] = name
    return name

