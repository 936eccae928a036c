"""Run-time force without shipping the execution input: one Pass at the machine's start.

Before, every cache_pull carried ``$$.Execution.Input`` so that the caching Lambda could read the
reserved ``sfn_cache.force`` field: a 150 KB execution input made every pull a 150 KB larger payload.
Now the wrapped machine starts with one generated Pass that copies only
``$$.Execution.Input.sfn_cache.force`` (or null when it is absent) into the variable
``sfncache_force``; each pull sends that variable as ``run_force``. Cost: one state transition per
execution, none per task.

Inner scopes (Parallel branches, inline Map iterations) read outer variables. A distributed Map's
iterations cannot (they are child executions): tasks there are forced at wrap time only.
"""

from __future__ import annotations

from sfn_cache.asl.model import Scope
from sfn_cache.rewrite.naming import FORCE_VARIABLE, GENERATED_COMMENT, NameAllocator

COMMENT = f"{GENERATED_COMMENT}read sfn_cache.force from the execution input once"  # only with --comments
_FIELD = "$states.context.Execution.Input.sfn_cache.force"
_READ = "{% ($f:=" + _FIELD + ";$exists($f)?$f:null) %}"


def force_reader(start: str, comment: bool = False) -> dict:
    """The Pass that assigns ``sfncache_force`` (null when absent) and goes on to ``start``.

    Always JSONata (allowed in a JSONPath machine): a JSONPath path to an absent field fails with the
    uncatchable States.Runtime, while JSONata's ``$exists`` can ask."""
    return {"Type": "Pass", "QueryLanguage": "JSONata", **({"Comment": COMMENT} if comment else {}),
            "Assign": {FORCE_VARIABLE: _READ}, "Next": start}


def is_force_reader(state: dict) -> bool:
    """The reader exactly as wrap writes it (with or without its Comment): a user state that merely
    assigns the reserved variable is not one, and wrap refuses it. (A protocol-3 file's reader reads
    otherwise; the file is refused for its protocol before anything asks.)"""
    return (state.get("Type") == "Pass" and state.get("QueryLanguage") == "JSONata"
            and set(state) <= {"Type", "QueryLanguage", "Comment", "Assign", "Next"}
            and state.get("Comment", COMMENT) == COMMENT
            and state.get("Assign") == {FORCE_VARIABLE: _READ})


def has_force_reader(top: Scope) -> bool:
    """True when the machine already starts with the force reader (a re-wrap adds no second one)."""
    return is_force_reader(top.states.get(top.body["StartAt"], {}))


def insert_force_reader(top: Scope, names: NameAllocator, comment: bool = False) -> str:
    """Make the force reader the machine's first state (first in document order too); returns its name."""
    name = names.allocate("cache_", "force")
    start = top.body["StartAt"]
    top.body["States"] = {name: force_reader(start, comment), **top.states}
    top.body["StartAt"] = name
    return name

