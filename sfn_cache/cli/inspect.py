"""``sfn-cache explain`` (what wrap will do to each Task, and why) and ``sfn-cache graph`` (a picture)."""

from __future__ import annotations

import json

import click

from sfn_cache import pipeline
from sfn_cache.asl.emit import atomic_write
from sfn_cache.asl.graph import to_dot, to_mermaid
from sfn_cache.asl.model import parse
from sfn_cache.cli.selection import SELECTION_PARAMS, config_line, options_from_command_line, selection_options
from sfn_cache.errors import SfnCacheError, exit_with
from sfn_cache.options.selectors import check_selectors
from sfn_cache.pipeline import Machine
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.quotas import map_history_warnings
from sfn_cache.rewrite.recognise import generated_states
from sfn_cache.rewrite.report import Action, TaskReport
from sfn_cache.rewrite.wrap import plan_definition, wrap_definition

COLUMNS = ("state", "scope", "action", "reason", "key_fields", "bundle_name", "ttl", "cache_version", "force",
           "key_parts")
TABLE_COLUMNS = COLUMNS[:-1]  # key parts are listed under the table: one line per task
SETTINGS = ("key_fields", "bundle_name", "ttl", "cache_version", "force")


def _definitions(path: str, resource: str | None) -> tuple[str, list[Machine]]:
    """(source name, [(resource or None, definition or error)]) for a definition file or a template."""
    loaded = pipeline.load(path)
    return loaded.source, pipeline.machines(loaded, resource)


def _rows(resource: str | None, reports: list[TaskReport]) -> list[dict]:
    rows = []
    for report in reports:
        row = {key: getattr(report, key) for key in COLUMNS}  # not asdict: its deep copy was a third of the time
        if resource is not None:
            row = {"resource": resource, **row}
        rows.append(row)
    return rows


@click.command("explain")
@click.argument("definition", metavar="FILE")
@selection_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def explain_command(definition: str, as_json: bool, **params) -> None:
    """Show what wrap will do to every Task state of FILE (a definition or a template) and why."""
    try:
        options, config = options_from_command_line({k: params[k] for k in SELECTION_PARAMS})
        source, machines = _definitions(definition, params["resource"])
        readable = [(name, d) for name, d in machines if isinstance(d, dict)]
        check_selectors(params, config, [(d, source) for _, d in readable], source)
        rows, warnings = [], []
        for name, machine in machines:
            if isinstance(machine, SfnCacheError):
                rows += _rows(name, [TaskReport(state="", scope="", action=Action.REFUSED, reason=str(machine))])
            else:
                reports = plan_definition(machine, options, source, checked=True)  # _definitions loaded it
                rows += _rows(name, reports)
                cached = {report.state for report in reports if report.action == "wrapped"}
                warnings += map_history_warnings(machine, cached, source)
    except SfnCacheError as error:
        exit_with(error)
    click.echo(config_line(config), err=True)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(rows, indent=2, sort_keys=True, ensure_ascii=False))
        return
    click.echo(_table(rows) if rows else f"{definition}: no Task states")


def _table(rows: list[dict]) -> str:
    """Aligned columns; a task that will not be wrapped shows no cache settings (none will apply)."""
    headers = [key for key in ("resource",) + TABLE_COLUMNS if any(key in row for row in rows)]
    titles = {"key_fields": "key", "bundle_name": "bundle", "cache_version": "version"}
    cells = [[titles.get(h, h).upper() for h in headers]]
    for row in rows:
        shown = row if row.get("action") == "wrapped" else {k: v for k, v in row.items() if k not in SETTINGS}
        cells.append([_duration(shown.get(h)) if h == "ttl" else _cell(shown.get(h)) for h in headers])
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    table = "\n".join("  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip() for line in cells)
    parts = [f"  {row['state']}: " + "; ".join(row["key_parts"]) for row in rows
             if row.get("action") == "wrapped" and row.get("key_parts")]
    return table + ("\n\nkey parts (docs/protocol.md):\n" + "\n".join(parts) if parts else "")


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
        source, machines = _definitions(definition, params["resource"])
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
