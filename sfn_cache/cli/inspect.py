"""``sfn-cache explain`` (what wrap will do to each Task, and why) and ``sfn-cache graph`` (a picture)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import textwrap

import click

from sfn_cache import pipeline
from sfn_cache.asl.emit import atomic_write
from sfn_cache.asl.graph import to_dot, to_mermaid
from sfn_cache.asl.model import parse
from sfn_cache.cli.findings import FORMATS, Finding, render, state_line
from sfn_cache.cli.paths import expand
from sfn_cache.cli.selection import (
    SELECTION_PARAMS,
    config_line,
    options_for,
    options_from_command_line,
    read_config,
    selection_options,
)
from sfn_cache.errors import SfnCacheError, exit_with
from sfn_cache.options.selectors import check_selectors
from sfn_cache.pipeline import Machine
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.quotas import map_history_warnings
from sfn_cache.rewrite.recognise import generated_states
from sfn_cache.rewrite.report import Action, TaskReport
from sfn_cache.rewrite.wrap import plan_definition, plan_with_warnings, wrap_definition
from sfn_cache.runtime.protocol import EXPRESS_CACHE_TIMEOUT_SECONDS

COLUMNS = ("state", "scope", "action", "reason", "key_fields", "bundle_name", "ttl", "cache_version", "force",
           "key_parts")
TABLE_COLUMNS = COLUMNS[:-1]  # key parts are listed under the table: one line per task
SETTINGS = ("key_fields", "bundle_name", "ttl", "cache_version", "force")


def _definitions(path: str, resource: str | None) -> tuple[pipeline.Input, list[Machine]]:
    """(the loaded file, [(resource or None, definition or error)]) for a definition file or a template."""
    loaded = pipeline.load(path)
    return loaded, pipeline.machines(loaded, resource)


def _rows(resource: str | None, reports: list[TaskReport]) -> list[dict]:
    rows = []
    for report in reports:
        row = {key: getattr(report, key) for key in COLUMNS}  # not asdict: its deep copy was a third of the time
        if resource is not None:
            row = {"resource": resource, **row}
        rows.append(row)
    return rows


@click.command("explain")
@click.argument("definitions", metavar="FILE...", nargs=-1, required=True)
@selection_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (as --output-format json).")
@click.option("--output-format", "report_format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: the table; json: its rows; github, sarif: the tasks left uncached and the warnings, "
                   "as findings.")
def explain_command(definitions: tuple[str, ...], as_json: bool, report_format: str, **params) -> None:
    """Show what wrap will do to every Task state of FILE (a definition or a template) and why.

    Many FILEs, a directory or a quoted glob are explained together, with a FILE column.
    """
    from sfn_cache.options.selectors import check_run, selectors, unmatched_shared

    fmt = "json" if as_json else report_format
    try:
        inputs = expand(definitions)
        config = read_config(params)
        planned, selected = [], []
        for path in inputs.files:
            file_config = config.for_file(path) if config else None
            options = options_for({k: params[k] for k in SELECTION_PARAMS}, file_config)
            loaded, machines = _definitions(path, params["resource"])
            readable = [(d, loaded.source) for _, d in machines if isinstance(d, dict)]
            selected.append((selectors(params, file_config), readable, loaded.source))
            planned.append((loaded, machines, options))
        check_run(selected)
        for warning in unmatched_shared(params, config, [d for _, found, _ in selected for d in found]):
            click.echo(f"warning: {warning}", err=True)
        rows, warnings, findings, notes = [], [], [], []
        for loaded, machines, options in planned:
            notes += [f"{loaded.source}: state machine '{name}' is an Express workflow ({declared}): wrap gives its "
                      f"cache states a {EXPRESS_CACHE_TIMEOUT_SECONDS} s timeout"
                      for name, declared in pipeline.express_machines(loaded, params["resource"]).items()]
            file_rows = []
            for name, machine in machines:
                if isinstance(machine, SfnCacheError):
                    file_rows += _rows(name, [TaskReport(state="", scope="", action=Action.REFUSED,
                                                         reason=str(machine))])
                else:
                    reports, planned_warnings = plan_with_warnings(machine, options, loaded.source, checked=True)
                    file_rows += _rows(name, reports)
                    cached = {report.state for report in reports if report.action == "wrapped"}
                    refusals = {f"{loaded.source}: state '{report.state}': not cached: {report.reason}"
                                for report in reports if report.action == Action.REFUSED}  # rows already
                    found = [warning for warning in planned_warnings if warning not in refusals]
                    found += map_history_warnings(machine, cached, loaded.source)
                    warnings += found
                    findings += [_warning_finding(loaded, warning) for warning in found]
            findings += [_refusal_finding(loaded, row) for row in file_rows if row["action"] == "refused"]
            rows += [{"file": loaded.source, **row} for row in file_rows] if inputs.many else file_rows
    except SfnCacheError as error:
        exit_with(error)
    if config:
        click.echo(config_line(config), err=True)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, sort_keys=True, ensure_ascii=False))
    elif fmt != "text":
        click.echo(render(findings, fmt), nl=False)
    else:
        click.echo(_table(rows, terminal_width()) if rows else f"{', '.join(definitions)}: no Task states")


def _refusal_finding(loaded: pipeline.Input, row: dict) -> Finding:
    where = f"state '{row['state']}'" if row["state"] else f"resource '{row.get('resource')}'"
    return Finding(loaded.source, state_line(loaded.text, row["state"]) if row["state"] else 1, "warning",
                   "not-cached", f"{where}: not cached: {row['reason']}")


def _warning_finding(loaded: pipeline.Input, warning: str) -> Finding:
    state = re.search(r"state '([^']*)'", warning)
    return Finding(loaded.source, state_line(loaded.text, state.group(1)) if state else 1, "warning", "warning",
                   warning)


def terminal_width() -> int | None:
    """The width to fit the table to: $COLUMNS, else the terminal's; None (no limit) when stdout is not a
    terminal, so a pipe or a file gets whole rows whatever window ran the command."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _table(rows: list[dict], width: int | None = None) -> str:
    """Aligned columns; a task that will not be wrapped shows no cache settings (none will apply). With a
    ``width``, the widest columns are narrowed, their cells wrapped onto more lines, until a line fits."""
    headers = [key for key in ("file", "resource") + TABLE_COLUMNS if any(key in row for row in rows)]
    titles = {"key_fields": "key", "bundle_name": "bundle", "cache_version": "version"}
    cells = [[titles.get(h, h).upper() for h in headers]]
    for row in rows:
        shown = row if row.get("action") == "wrapped" else {k: v for k, v in row.items() if k not in SETTINGS}
        cells.append([_duration(shown.get(h)) if h == "ttl" else _cell(shown.get(h)) for h in headers])
    if width is not None:  # narrow: a column that says nothing ("-" in every row) gives up its place
        keep = [i for i in range(len(headers)) if any(line[i] != "-" for line in cells[1:])]
        headers, cells = [headers[i] for i in keep], [[line[i] for i in keep] for line in cells]
    widths = _fit([max(len(line[i]) for line in cells) for i in range(len(headers))],
                  [len(title) if h in PROSE else max(len(line[i]) for line in cells)
                   for i, (h, title) in enumerate(zip(headers, cells[0]))], width)
    lines = []
    for line in cells:
        wrapped = [textwrap.wrap(value, w, break_on_hyphens=False) or [""] for value, w in zip(line, widths)]
        for depth in range(max(map(len, wrapped))):
            parts = [(cell[depth] if depth < len(cell) else "").ljust(w) for cell, w in zip(wrapped, widths)]
            lines.append("  ".join(parts).rstrip())
    table = "\n".join(lines)
    parts = ["\n".join(textwrap.wrap(f"{row['state']}: " + "; ".join(row["key_parts"]), max((width or 0) - 2, 20),
                                     initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False))
             if width else f"  {row['state']}: " + "; ".join(row["key_parts"])
             for row in rows if row.get("action") == "wrapped" and row.get("key_parts")]
    return table + ("\n\nkey parts (docs/protocol.md):\n" + "\n".join(parts) if parts else "")


PROSE = ("file", "resource", "scope", "reason", "key_fields", "bundle_name")  # the columns that wrap first


def _fit(widths: list[int], floors: list[int], width: int | None) -> list[int]:
    """Column widths whose line (two spaces between columns) fits ``width``: the widest column above its
    floor gives up a character at a time (prose columns down to their title or 8 characters, first;
    then, if still too wide, any column down to 6)."""
    widths = list(widths)
    if width is None:
        return widths
    for floor_of in ([max(floor, 8) for floor in floors], [6] * len(widths)):
        while sum(widths) + 2 * (len(widths) - 1) > width:
            shrinkable = [i for i, w in enumerate(widths) if w > floor_of[i]]
            if not shrinkable:
                break
            widest = max(shrinkable, key=lambda i: (widths[i], -i))
            widths[widest] -= 1
    return widths


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if seconds == 0:
        return "0 (never served)"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _cell(value) -> str:
    if value is None or value == "" or value is False:
        return "-"
    if value is True:
        return "yes"
    return str(value)


@click.command("graph")
@click.argument("definition", metavar="FILE")
@selection_options
@click.option("--wrapped", is_flag=True, help="Draw the wrapped machine, injected states marked.")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
@click.option("-o", "--output", help="Write here: a regular file or a new path (default: stdout).")
def graph_command(definition: str, wrapped: bool, fmt: str, output: str | None, **params) -> None:
    """Draw FILE's state machine (Mermaid for a README, or DOT) with the cached tasks marked."""
    try:
        options, config = options_from_command_line({k: params[k] for k in SELECTION_PARAMS})
        loaded, machines = _definitions(definition, params["resource"])
        source = loaded.source
        check_selectors(params, config, [(d, source) for _, d in machines if isinstance(d, dict)], source)
        if len(machines) > 1:
            names = ", ".join(str(name) for name, _ in machines)  # several: a template's, all named
            raise SfnCacheError(f"the template has {len(machines)} state machines ({names}): pick one with --resource",
                                file=source)
        name, machine = machines[0]
        if isinstance(machine, SfnCacheError):
            raise machine
        drawn, marks = _picture(machine, options, source, wrapped)
        text = (to_mermaid if fmt == "mermaid" else to_dot)(drawn, marks)
        if output:
            atomic_write(output, text)
    except SfnCacheError as error:
        exit_with(error)
    if not output:
        click.echo(text, nl=False)


MARK_OF_ACTION = {"wrapped": "cached", "already wrapped": "cached", "excluded": "excluded", "refused": "refused"}


def _picture(definition: dict, options: WrapOptions, source: str, wrapped: bool) -> tuple[dict, dict[str, str]]:
    """The definition to draw and its marks: what is (or will be) cached, and the injected states."""
    if wrapped:
        result = wrap_definition(definition, options, source)
        definition, reports = result.definition, result.tasks
    else:
        reports = plan_definition(definition, options, source, checked=True)  # validates what the picture draws
    marks = dict.fromkeys(sorted(generated_states(parse(definition, source))), "injected")
    for report in reports:
        marks[report.state] = MARK_OF_ACTION[report.action]
        marks.update(dict.fromkeys(report.generated, "injected"))
    return definition, marks


inspect_commands = [explain_command, graph_command]
