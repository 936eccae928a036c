"""``sfn-cache unwrap``: give back the definition a previous wrap was given (rewrite/unwrap.py), with
wrap's rules: one-line errors (exit 2), no partial output, atomic writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from sfn_cache.errors import SfnCacheError, escaped, exit_with

if TYPE_CHECKING:
    from sfn_cache.pipeline import Output


@click.command("unwrap")
@click.argument("definition", metavar="FILE")
@click.option("-o", "--output", help="Write here: a regular file or a new path (default: stdout).")
@click.option("--resource", metavar="LOGICAL_ID", help="In a template: only this state machine.")
@click.option("-v", "--verbose", is_flag=True, help="Say which tasks were given back.")
def unwrap_command(definition: str, output: str | None, resource: str | None, verbose: bool) -> None:
    """Give back the original definition of a wrapped FILE (a definition or a template).

    Refused (exit 2, naming the state) where a generated state was edited so that the original
    cannot be told: unwrap never guesses.
    """
    from sfn_cache import pipeline

    try:
        loaded = pipeline.load(definition)
        result = pipeline.unwrap(loaded, output=output, resource=resource)
        if output:
            pipeline.check_targets(result.writes)
    except SfnCacheError as exc:
        exit_with(exc, verbose)
    for line in _messages(result, verbose):
        click.echo(escaped(line), err=True)
    try:
        if output:
            pipeline.write(result.writes, output)
        else:
            click.echo(result.writes[None], nl=False)
    except SfnCacheError as exc:
        exit_with(exc, verbose)


def _messages(result: Output, verbose: bool) -> list[str]:
    reports = ([(f"resource '{m.resource}': ", m.result) for m in result.template.machines if m.result]
               if result.template is not None else [("", result.definition)])
    lines = [f"warning: resource '{m.resource}' left unchanged: {m.detail}"
             for m in (result.template.machines if result.template is not None else []) if m.action == "refused"]
    if verbose:
        for where, found in reports:
            names = found.unwrapped if found is not None else []
            lines.append(f"{where}unwrapped {', '.join(names)}" if names else f"{where}nothing to unwrap")
    return lines


unwrap_commands = [unwrap_command]
