"""``sfn-cache verify`` and ``sfn-cache run``: the wrapped machine, executed locally before deploy.

Both run moto's Step Functions interpreter in-process (sfn_cache.local), with tasks answered by
deterministic stubs or the user's ``--tasks`` file and the caching Lambda's real handler storing
results in moto's S3. Nothing touches AWS.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import click

from sfn_cache import pipeline
from sfn_cache.cli.selection import options_from_command_line, selection_options
from sfn_cache.errors import SfnCacheError, exit_with
from sfn_cache.rewrite.options import WrapOptions


def machines(path: str, resource: str | None) -> Iterator[tuple[str, dict | SfnCacheError]]:
    """(name, definition) for a definition file, or each state machine of a template (errors name the
    file as given: ``-`` for stdin)."""
    for name, document in pipeline.machines(pipeline.load(path, source=path), resource):
        if name is not None:
            yield name, document
        elif not isinstance(document, dict):
            raise SfnCacheError("a state machine definition must be an object", file=path)
        else:
            yield Path(path).name, document


def inputs(paths: tuple[str, ...]) -> list[tuple[str, Any]]:
    """Each --input file's content (JSON or YAML); ``{}`` when none is given."""
    return [(path, pipeline.load(path, source=path).document) for path in paths] or [("{}", {})]


def wrapped_for_local(definition: dict, options: WrapOptions, where: str) -> tuple[dict, dict]:
    """(original, wrapped), both with ${Placeholders} filled and the caching Lambda's local ARN."""
    from sfn_cache.local.engine import CACHE_ARN
    from sfn_cache.local.tasks import runnable
    from sfn_cache.rewrite.wrap import wrap_definition

    original = runnable(definition)
    wrapped = wrap_definition(original, replace(options, lambda_arn=CACHE_ARN), where).definition
    return original, wrapped


def prepare(tasks_file: str | None):
    """Check the extra is installed and load the tasks file: both before anything runs."""
    from sfn_cache.local import require

    require()
    from sfn_cache.local.tasks import NO_TASKS, load_tasks

    return load_tasks(tasks_file) if tasks_file else NO_TASKS


def cannot_run(exc: Exception, where: str) -> SfnCacheError:
    return SfnCacheError(f"the local interpreter cannot run it: {type(exc).__name__}: {str(exc)[:200]}", file=where)


@click.command("verify")
@click.argument("definition", metavar="FILE")
@click.option("--input", "input_files", multiple=True, metavar="JSON_FILE",
              help="An execution input (JSON or YAML file; repeatable). Default: {}.")
@click.option("--tasks", "tasks_file", metavar="PY_FILE",
              help="Python functions answering the tasks (default: deterministic stubs).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@selection_options
def verify_command(definition: str, input_files: tuple, tasks_file: str | None, as_json: bool, **params) -> None:
    """Run FILE's state machine and its wrapped form locally on each input and compare them.

    Per input: the original (twice), the wrapped machine on an empty cache (miss) and again (hit).
    Exit 0 when every run agrees (or differs only as docs/cached-form.md documents, reported as
    "documented") and fits AWS's quotas, 1 when not, 2 on bad input.
    """
    from sfn_cache.local.session import local_session

    try:
        tasks = prepare(tasks_file)
        options, _ = options_from_command_line(params)
        cases = inputs(input_files)
        found = list(machines(definition, params["resource"]))
        verdicts = []
        with local_session(tasks) as engine:
            for name, machine in found:
                where = f"{definition}: resource '{name}'" if name != Path(definition).name else definition
                if isinstance(machine, SfnCacheError):
                    click.echo(f"warning: {machine}: not verified", err=True)
                    continue
                original, wrapped = wrapped_for_local(machine, options, where)
                verdicts += [compare(engine, name, original, wrapped, case, where) for case in cases]
        if not verdicts:
            raise SfnCacheError("no state machine could be verified", file=definition)
    except SfnCacheError as exc:
        exit_with(exc)
    if as_json:
        click.echo(json.dumps([verdict.as_json() for verdict in verdicts], indent=2))
    else:
        for line in table(verdicts):
            click.echo(line)
    sys.exit(0 if all(verdict.ok for verdict in verdicts) else 1)


def compare(engine: Any, name: str, original: dict, wrapped: dict, case: tuple[str, Any], where: str) -> Any:
    """One machine on one input: the verdict, or why the local interpreter cannot run it."""
    from sfn_cache.local.verify import verify

    label, execution_input = case
    try:
        return verify(engine, name, original, wrapped, execution_input, label)
    except Exception as exc:  # moto refuses the definition: nothing was compared
        if isinstance(exc, SfnCacheError):
            raise
        raise cannot_run(exc, where) from None


def table(verdicts) -> list[str]:
    """One row per machine and input, then what differs or does not fit."""
    from sfn_cache.local.verify import MAX_DEFINITION_BYTES
    from sfn_cache.runtime.protocol import HISTORY_QUOTA_EVENTS, PAYLOAD_QUOTA_BYTES

    header = ("MACHINE", "INPUT", "VERDICT", "ORIGINAL/MISS/HIT", "TRANSITIONS", "EVENTS",
              "CACHE CALLS", "TASKS SAVED", "LARGEST PAYLOAD", "DEFINITION")
    rows = [header]
    for verdict in verdicts:
        runs = {run.label: run for run in verdict.runs}
        three = [runs["original"], runs["miss"], runs["hit"]]
        rows.append((
            verdict.machine, verdict.input,
            ("documented" if verdict.documented else "identical") if verdict.ok
            else "DIFFERENT" if verdict.difference else "PROBLEM",
            "/".join(run.status.split(" ")[0] for run in three),
            "/".join(str(run.transitions) for run in three),
            f"{'/'.join(str(run.events) for run in three)} of {HISTORY_QUOTA_EVENTS}",
            f"{runs['miss'].cache_calls}/{runs['hit'].cache_calls}",
            str(verdict.calls_saved),
            f"{max(run.largest_payload for run in three) / 1024:.1f} of {PAYLOAD_QUOTA_BYTES // 1024} KiB",
            f"{verdict.wrapped_definition_bytes / 1024:.1f} of {MAX_DEFINITION_BYTES // 1024} KiB"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    for verdict in verdicts:
        if verdict.difference:
            lines.append(f"{verdict.machine} on {verdict.input}: differs at {verdict.difference}")
        lines += [f"{verdict.machine} on {verdict.input}: documented: {known}" for known in verdict.documented]
        lines += [f"{verdict.machine} on {verdict.input}: {problem}" for problem in verdict.problems]
    return lines


@click.command("run")
@click.argument("definition", metavar="FILE")
@click.option("--input", "input_file", required=True, metavar="JSON_FILE", help="The execution input (JSON or YAML).")
@click.option("--tasks", "tasks_file", metavar="PY_FILE",
              help="Python functions answering the tasks (default: deterministic stubs).")
@click.option("--twice", is_flag=True, help="Run again against the same cache (the second run hits).")
@selection_options
def run_command(definition: str, input_file: str, tasks_file: str | None, twice: bool, **params) -> None:
    """Run the wrapped form of FILE once locally, printing a line per state as it happens."""
    from sfn_cache.local.session import local_session

    try:
        tasks = prepare(tasks_file)
        options, _ = options_from_command_line(params)
        (label, execution_input), = inputs((input_file,))
        found = [(name, machine) for name, machine in machines(definition, params["resource"])]
        if len(found) != 1:
            raise SfnCacheError(f"the template has {len(found)} state machines; pick one with --resource",
                                file=definition)
        name, machine = found[0]
        if isinstance(machine, SfnCacheError):
            raise machine
        _, wrapped = wrapped_for_local(machine, options, definition)
        with local_session(tasks) as engine:
            engine.listeners.append(LiveLines(wrapped))
            for number in range(2 if twice else 1):
                click.echo(f"run {number + 1} of {name}:")
                try:
                    outcome = engine.run(wrapped, execution_input)
                except SfnCacheError:
                    raise
                except Exception as exc:
                    raise cannot_run(exc, definition) from None
                detail = (json.dumps(outcome.output) if outcome.status == "SUCCEEDED"
                          else f"{outcome.error}: {outcome.cause}")
                click.echo(f"{outcome.status}: {detail}")
    except SfnCacheError as exc:
        exit_with(exc)


class LiveLines:
    """Turns history events and the caching Lambda's answers into one line per state, as they happen
    (Map iterations and Parallel branches report from their own threads: one line at a time)."""

    def __init__(self, wrapped: dict):
        self.lock = threading.Lock()
        from sfn_cache.asl.model import parse, walk
        from sfn_cache.rewrite.recognise import cache_payload, generated_states

        top = parse(wrapped)
        self.generated = generated_states(top)
        self.wrapped_tasks = {payload["state"] for ref in walk(top) if (payload := cache_payload(ref.state))}

    def __call__(self, event_type: str, details: dict) -> None:
        if event_type == "CacheAnswer":
            request, answer = details["request"], details["answer"]
            state, key = request.get("state"), str(answer.get("key", ""))[:12]
            if request.get("sfn_cache") == "push":
                line = f"stored (key {key})" if answer.get("stored") else "not stored"
            elif answer.get("hit"):
                line = "cache hit: task skipped"  # a hit answers {hit, data}: the key stays in the Lambda
            elif not key:
                line = f"cache miss, no key ({answer.get('unresolved') or 'the pull failed'}): nothing will be stored"
            else:
                line = f"cache miss (key {key}){', forced' if answer.get('forced') else ''}"
            self.say(f"  {state}: {line}")
        elif event_type.endswith("StateEntered"):
            name = details.get("stateEnteredEventDetails", {}).get("name") or details.get("name")
            if name in self.wrapped_tasks:
                self.say(f"  {name}: task ran")
            elif name not in self.generated:
                self.say(f"  {name}: entered")

    def say(self, line: str) -> None:
        with self.lock:
            click.echo(line)


verify_commands = [verify_command, run_command]
