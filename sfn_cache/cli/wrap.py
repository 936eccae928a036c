"""``sfn-cache wrap``: load -> wrap -> emit, with one-line errors (exit 2) and no partial output.

The loading, wrapping and emitting modules are imported inside the functions that use them, so that
``sfn-cache wrap --help`` costs little more than click itself (benchmarks/cli_startup.py).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sfn_cache.cli.selection import click_option, config_line, options_from_command_line, selection_options
from sfn_cache.errors import SfnCacheError, escaped, exit_with
from sfn_cache.options.selectors import check_selectors
from sfn_cache.options.table import BY_NAME

if TYPE_CHECKING:
    from sfn_cache.pipeline import Output
    from sfn_cache.rewrite.options import WrapOptions
    from sfn_cache.rewrite.wrap import WrapResult
    from sfn_cache.template.update import TemplateResult


def report_lines(result: WrapResult) -> list[str]:
    lines = []
    for task in result.tasks:
        line = f"{task.action:15} {task.state}"
        if task.action == "wrapped":
            line += f"  (bundle {task.bundle_name}; key: {task.key_fields}"
            line += f"; ttl {task.ttl}s" if task.ttl is not None else ""
            line += f"; version {task.cache_version}" if task.cache_version else ""
            line += "; force" if task.force else ""
            line += ")"
        else:
            line += f"  ({task.reason})"
        lines.append(line)
    return lines


@click.command("wrap")
@click.argument("definition", metavar="FILE")
@click.option("-o", "--output", help="Write here: a regular file or a new path (default: stdout).")
@selection_options
@click.option("--definition-uri", "definition_uri", type=click.Choice(["copy", "in-place"]), default="copy",
              show_default=True,
              help="In a template, a DefinitionUri file is wrapped into a .cached copy the template then "
                   "points to, or in place.")
@click.option("--add-function", "add_function", metavar="CODE_URI",
              help="In a SAM template whose machines would invoke a caching function it does not define: add "
                   "SfnCacheFunction (code: CODE_URI, the zip sfn-cache build-lambda writes; needs --bucket) "
                   "and let each machine invoke it.")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]),
              help="Output format of a definition (default: the input's; templates keep theirs).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if OUTPUT (or a wrapped DefinitionUri file) "
                                            "is missing or differs.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Write nothing; print a unified diff of what would change; exit 1 if anything would.")
@click.option("--compact", is_flag=True,
              help="Write a JSON definition without any whitespace (3 to 12% fewer bytes against Step Functions' "
                   "1 MB definition limit: the generated states are one line each anyway). Templates are "
                   "written as they are.")
@click_option(BY_NAME["comments"])
@click.option("-v", "--verbose", is_flag=True, help="Say what happens to every Task state.")
def wrap_command(definition: str, output: str | None, definition_uri: str, add_function: str | None,
                 fmt: str | None, check: bool, show_diff: bool, compact: bool, comments: bool, verbose: bool,
                 **params) -> None:
    """Rewrite every selected Task state of FILE into its cached form.

    FILE is a state machine definition (JSON or YAML; - for stdin) or a CloudFormation/SAM template,
    whose state machines are wrapped in place and everything else left as written.
    """
    if check and not output:
        raise click.UsageError("--check needs -o/--output: the file to compare with")
    from sfn_cache import pipeline

    try:
        options, config = options_from_command_line(params)
        options = replace(options, comments=comments)
        loaded = pipeline.load(definition)
        # a definition file's document is checked as loaded; a template's unreadable machines are skipped
        found = [(d, loaded.source) for _, d in pipeline.machines(loaded, params["resource"])
                 if not isinstance(d, SfnCacheError)]
        check_selectors(params, config, found, loaded.source)
        function = caching_function(add_function, options) if add_function else None
        result = pipeline.wrap(loaded, options, output=output, resource=params["resource"],
                               definition_uri=definition_uri, fmt=fmt, compact=compact, add_function=function)
        if output and not (check or show_diff):
            pipeline.check_targets(result.writes)
    except SfnCacheError as exc:
        exit_with(exc, verbose)
    for line in ([config_line(config)] if verbose else []) + wrap_messages(result, verbose):
        click.echo(escaped(line), err=True)
    if show_diff:
        changed = print_diffs(result.writes, None if output else Path(definition) if definition != "-" else None)
        sys.exit(1 if changed else 0)
    if check:
        check_written(result.writes, output)
    elif output is None:
        preview(result.writes)
    else:
        write_all(result.writes, output, verbose)


def caching_function(code_uri: str, options: WrapOptions) -> dict:
    """``--add-function``'s resource: what build-lambda's template.yaml deploys, for this cache."""
    from sfn_cache.deploy.deploy_files import sam_function
    from sfn_cache.deploy.lambda_package import default_target

    if not options.bucket:
        raise SfnCacheError("--add-function needs --bucket s3://BUCKET[/PREFIX]: the cache the function "
                            "reads and writes")
    return sam_function(code_uri, default_target(), options.bucket, options.context or "sfn-cache")


def check_written(writes: dict[Path | None, str], output: str | None) -> None:
    """``--check``: exit 1 when a file to write is missing or differs from what is there."""
    from sfn_cache import pipeline

    stale = pipeline.stale(writes)
    for path in stale:
        click.echo(f"{path}: out of date; run sfn-cache wrap again", err=True)
    if stale:
        sys.exit(1)
    click.echo(f"{output}: up to date", err=True)


def preview(writes: dict[Path | None, str]) -> None:
    """No ``-o``: print the result, write nothing else."""
    skipped = sorted(str(path) for path in writes if path is not None)
    if skipped:
        click.echo(f"note: preview only: {', '.join(skipped)} not written (use -o to write)", err=True)
    click.echo(writes[None], nl=False)


def write_all(writes: dict[Path | None, str], output: str, verbose: bool) -> None:
    """Every file, or one line and exit 2 (nothing half written: each write is atomic)."""
    from sfn_cache import pipeline

    try:
        pipeline.write(writes, output)
    except SfnCacheError as exc:
        exit_with(exc, verbose)


def print_diffs(writes: dict[Path | None, str], input_path: Path | None) -> bool:
    """Print what would change; True when anything would."""
    from sfn_cache import pipeline

    found = pipeline.diffs(writes, input_path)
    for diff in found:
        click.echo(diff, nl=False)
    return bool(found)


def template_messages(result: TemplateResult[WrapResult], verbose: bool) -> list[str]:
    lines = []
    for machine in result.machines:
        if machine.action == "refused":
            lines.append(f"warning: resource '{machine.resource}' left unchanged: {machine.detail}")
        elif verbose:
            lines.append(f"resource '{machine.resource}': {machine.detail}")
        if machine.result is not None:
            lines += [f"warning: {w}" for w in machine.result.warnings]
            if verbose:
                lines += ["  " + line for line in report_lines(machine.result)]
    return lines + [f"note: {note}" for note in result.notes]


def wrap_messages(result: Output, verbose: bool) -> list[str]:
    """What wrap says on stderr: warnings, notes and (``-v``) what happened to every task."""
    size = [f"warning: {w}" for w in result.size_warnings]
    if result.template is not None:
        return template_messages(result.template, verbose) + size
    assert result.definition is not None
    return ([f"warning: {w}" for w in result.definition.warnings] + size
            + (report_lines(result.definition) if verbose else []))


wrap_commands = [wrap_command]
