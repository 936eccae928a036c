"""What answers the tasks of a local execution: deterministic stubs, or the user's ``--tasks`` file.

A stub's result is a pure function of the resource and the task's input (equal inputs, equal
results), and keeps the input's fields so that later states still find what they read.

A ``--tasks`` file is a Python module. Each public top-level function answers the Lambda function of
the same name; an optional ``TASKS`` dict maps a function name, a Resource ARN (service integrations
too: ``arn:aws:states:::glue:startJobRun.sync``) or a shell-style glob over either to a callable.
Exact keys win over functions of that name, which win over globs (first match in dict order).
A callable takes the task's input and returns its result; an exception fails the task with the
exception's class name as the error, as a Lambda's unhandled exception does.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import inspect
import json
import re
from pathlib import Path
from typing import Any, Callable

from sfn_cache.errors import SfnCacheError
from sfn_cache.local.engine import function_arn

Task = Callable[[Any], Any]
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


def stub_result(resource: str, received: Any) -> Any:
    """A deterministic stand-in result: depends on every part of its input, keeps it readable downstream."""
    result = {"stub": resource, "received": received, "Status": "SUCCEEDED", "StatusCode": 200}
    if isinstance(received, dict):
        result = {**received, **result}
    return result


def runnable(definition: dict) -> dict:
    """Fill ``${Placeholders}`` (DefinitionSubstitutions) with a Lambda ARN so the interpreter accepts
    the resource; the placeholder's name becomes the function name."""
    text = PLACEHOLDER.sub(lambda m: function_arn(re.sub("[^A-Za-z0-9_-]", "-", m.group(1))), json.dumps(definition))
    return json.loads(text)


class TaskTable:
    """Finds the callable for a Lambda FunctionName or a service Resource ARN; None: use the stub."""

    def __init__(self, exact: dict[str, Task], globs: list[tuple[str, Task]], functions: dict[str, Task]):
        self.exact, self.globs, self.functions = exact, globs, functions

    def find(self, written: str) -> Task | None:
        name = written.split(":")[-1]
        for candidate in (written, name):
            if candidate in self.exact:
                return self.exact[candidate]
        if name in self.functions:
            return self.functions[name]
        for pattern, task in self.globs:
            if fnmatch.fnmatchcase(written, pattern) or fnmatch.fnmatchcase(name, pattern):
                return task
        return None


NO_TASKS = TaskTable({}, [], {})


def load_tasks(path: str) -> TaskTable:
    """Import ``path`` and build its table; a file that cannot be used is one SfnCacheError."""
    file = Path(path)
    if not file.is_file():
        raise SfnCacheError("no such file", file=path)
    spec = importlib.util.spec_from_file_location("sfn_cache_tasks_" + re.sub(r"\W", "_", file.stem), file)
    if spec is None or spec.loader is None:  # a .py path always has a spec; say so to the type checker
        raise SfnCacheError("cannot import the tasks file", file=path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: any error is reported, in one line
        raise SfnCacheError(f"cannot import the tasks file: {type(exc).__name__}: {exc}", file=path) from None
    functions: dict[str, Task] = {name: value for name, value in vars(module).items()
                 if inspect.isfunction(value) and not name.startswith("_") and value.__module__ == module.__name__}
    table = getattr(module, "TASKS", {})
    if not isinstance(table, dict) or not all(isinstance(k, str) and callable(v) for k, v in table.items()):
        raise SfnCacheError("TASKS must be a dict of name, ARN or glob -> callable", file=path)
    exact = {key: task for key, task in table.items() if not any(c in key for c in "*?[")}
    globs = [(key, task) for key, task in table.items() if key not in exact]
    return TaskTable(exact, globs, functions)
