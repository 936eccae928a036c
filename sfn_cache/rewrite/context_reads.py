"""Context-object reads evaluated after a task has run, which a cache hit evaluates in another state.

On a hit, T's ResultSelector, OutputPath and Assign (JSONPath) or Output and Assign (JSONata) are
evaluated by the generated hit state, so the context object they read is that state's. AWS documents
the context object's fields (docs: input-output-contextobject):

    Execution.Id, .Input, .Name, .RoleArn, .StartTime, .RedriveCount, .RedriveTime
    StateMachine.Id, .Name
    State.EnteredTime, .Name, .RetryCount
    Task.Token
    Map.Item.Index, .Value (.Key, .Source in a distributed Map)

Execution, StateMachine and Map describe the execution and the iteration, which the hit state shares
with T: they read the same. State and Task describe the state itself: the hit state has another name,
another entered time, no retries and no task token. A read of those (or of the whole context object,
or of a part this module cannot name) is reported, and the task is left uncached unless the user
allows it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from sfn_cache.asl.expressions import jsonata_tokens

SAME_ON_A_HIT = ("Execution", "StateMachine", "Map")
AFTER_THE_TASK = {"JSONPath": ("ResultSelector", "OutputPath", "Assign"), "JSONata": ("Output", "Assign")}

_JSONPATH_CONTEXT = re.compile(r"\$\$((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_JSONATA_CONTEXT = re.compile(r"\$states((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")


def differing_context_reads(state: dict[str, Any], language: str, pattern: str = "variables") -> list[str]:
    """The context fields that ``state`` reads after its task runs and that differ in a hit state.

    Each is named as written (``$$.State.Name``, ``$states.context.State.RetryCount``); a read of the
    whole context object is named by what it reads (``$$``, ``$states.context``, ``$states``). The
    classic pattern caches the result after ResultSelector (so a hit would serve the context values of
    the execution that stored it) and re-roots OutputPath under ``$.input``: every read counts there.
    """
    found: list[str] = []
    for field in AFTER_THE_TASK.get(language, ()):
        if field in state:
            for text in _expressions(state[field], language, top=field == "OutputPath"):
                found.extend(_differing(text, language, every=pattern == "classic"))
    return sorted(set(found), key=found.index)


def _expressions(value: Any, language: str, top: bool = False) -> Iterator[str]:
    """The strings of ``value`` that Step Functions evaluates (paths and intrinsics, or {% %})."""
    if isinstance(value, str):
        if (language == "JSONata" and "{%" in value) or (language == "JSONPath" and top):
            yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if language == "JSONPath" and isinstance(key, str) and key.endswith(".$") and isinstance(inner, str):
                yield inner
            else:
                yield from _expressions(inner, language)
    elif isinstance(value, list):
        for inner in value:
            yield from _expressions(inner, language)


def _differing(text: str, language: str, every: bool = False) -> list[str]:
    if language == "JSONPath":
        return [f"$${path}" for path in _JSONPATH_CONTEXT.findall(text) if every or not _same_on_a_hit(path)]
    reads = []
    for path in _jsonata_states_paths(text[2:-2] if text.strip().startswith("{%") else text):
        if path == "" or path == ".context" or (path.startswith(".context.")
                                                and not _same_on_a_hit(path[len(".context"):])):
            reads.append(f"$states{path}")
    return reads


def _jsonata_states_paths(expression: str) -> list[str]:
    """The ``.a.b`` steps after each ``$states`` variable (JSONata's tokenizer: literals are not read)."""
    try:
        tokens = jsonata_tokens(expression.strip())
    except Exception:  # not valid JSONata: Step Functions refuses it; read it the plain way
        return _JSONATA_CONTEXT.findall(expression)
    paths = []
    for index, token in enumerate(tokens):
        if (token.type, token.value) != ("variable", "states"):
            continue
        steps, rest = "", tokens[index + 1:]
        while len(rest) >= 2 and (rest[0].type, rest[0].value) == ("operator", ".") and rest[1].type == "name":
            steps, rest = steps + "." + rest[1].value, rest[2:]
        paths.append(steps)
    return paths


def _same_on_a_hit(path: str) -> bool:
    """``.Execution.Id`` is; ``.State.Name``, ``.Task.Token``, ``""`` (the whole object) are not."""
    parts = path.split(".")
    return len(parts) > 1 and parts[1] in SAME_ON_A_HIT


# The context fields a pull (a plain Lambda invoke) lacks but T may have: ``Task`` exists only for a task
# whose resource waits for a callback (``.waitForTaskToken``; AWS docs, input-output-contextobject: "Task.Token
# ... only available in callback tasks"). A JSONPath reference to it in the pull fails with States.Runtime,
# which no Catch handles.
NOT_IN_THE_PULL = ("Task",)
NOT_READ = "(not read by the pull) "  # what the key holds instead of such a field's value
_JSONPATH_MISSING = re.compile(r"\$\$\.(?:" + "|".join(NOT_IN_THE_PULL) + r")(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_JSONATA_MISSING = re.compile(r"\$states\.context\.(?:" + "|".join(NOT_IN_THE_PULL) + r")(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def without_missing_context(value: Any, language: str) -> Any:
    """T's Parameters (JSONPath) or Arguments (JSONata) as the pull may evaluate them: a read of a context
    field the pull lacks (``$$.Task.Token``) is kept in the key as its text, never read. That field is
    per execution (a token), so the key loses nothing that could make two runs share a wrong result."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            if (language == "JSONPath" and isinstance(key, str) and key.endswith(".$") and isinstance(inner, str)
                    and _JSONPATH_MISSING.search(inner)):
                if _JSONPATH_MISSING.fullmatch(inner.strip()):
                    out[key[:-2]] = NOT_READ + inner
                else:  # an intrinsic: only the missing field becomes a string, its other arguments are read
                    out[key] = _JSONPATH_MISSING.sub(lambda m: f"'{NOT_READ}{m.group(0)[3:]}'", inner)
            else:
                out[key] = without_missing_context(inner, language)
        return out
    if isinstance(value, list):
        return [without_missing_context(inner, language) for inner in value]
    if language == "JSONata" and isinstance(value, str) and "{%" in value:
        return _JSONATA_MISSING.sub(lambda m: json.dumps(NOT_READ + m.group(0)), value)
    return value
