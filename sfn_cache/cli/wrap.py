"""``sfn-cache wrap``: load -> wrap -> emit, with one-line errors (exit 2) and no partial output.

The loading, wrapping and emitting modules are imported inside the functions that use them, so that
``sfn-cache wrap --help`` costs little more than click itself (benchmarks/cli_startup.py).
"""

from __future__ import annotations

import difflib
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
    from sfn_cache.rewrite.wrap import WrapResult


def render(document: dict, fmt: str, compact: bool = False) -> str:
    from sfn_cache.asl.emit import dump_yaml
    from sfn_cache.rewrite.wrap import wrapped_json

    return wrapped_json(document, compact) if fmt == "json" else dump_yaml(document)


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
def wrap_command(definition: str, output: str | None, definition_uri: str, fmt: str | None, check: bool,
                 show_diff: bool, compact: bool, comments: bool, verbose: bool, **params) -> None:
    """Rewrite every selected Task state of FILE into its cached form.

    FILE is a state machine definition (JSON or YAML; - for stdin) or a CloudFormation/SAM template,
    whose state machines are wrapped in place and everything else left as written.
    """
    if check and not output:
        raise click.UsageError("--check needs -o/--output: the file to compare with")
    from sfn_cache.asl.emit import atomic_write, check_output_path
    from sfn_cache.asl.loader import is_template, load_text, looks_like_json, read_source
    from sfn_cache.asl.quotas import check_definition_size
    from sfn_cache.rewrite.wrap import wrap_definition, wrapped_json

    source = "<stdin>" if definition == "-" else definition
    try:
        options, config = options_from_command_line(params)
        options = replace(options, comments=comments)
        text = read_source(definition)
        document = load_text(text, source)
        if is_template(document):
            from sfn_cache.asl.template import machine_definitions, wrap_template  # ruamel: only for templates

            readable = [d for _, d in machine_definitions(text, source, params["resource"]) if isinstance(d, dict)]
            check_selectors(params, config, [(d, source) for d in readable], source)
            result = wrap_template(text, source, options, resource=params["resource"],
                                   definition_uri=definition_uri, output=output)
            writes = {Path(output) if output else None: result.text, **result.definition_files}
            messages = template_messages(result, verbose)
            for machine in result.machines:
                if machine.result is not None and machine.result.changed:
                    messages += [f"warning: {w}" for w in check_definition_size(
                        wrapped_json(machine.result.definition), f"{source}: resource '{machine.resource}'",
                        compact_hint=False)]
        else:
            if params["resource"]:
                raise SfnCacheError("--resource is for templates; this is a state machine definition", file=source)
            check_selectors(params, config, [(document, source)], source)
            wrapped = wrap_definition(document, options, source)
            out_format = fmt or ("json" if looks_like_json(text) else "yaml")
            rendered = render(wrapped.definition, out_format, compact)
            size_warnings = check_definition_size(
                rendered if out_format == "json" else wrapped_json(wrapped.definition, compact), source,
                compact_hint=not compact) if wrapped.changed else []
            writes = {Path(output) if output else None: rendered}
            messages = [f"warning: {w}" for w in wrapped.warnings + size_warnings] + (
                report_lines(wrapped) if verbose else [])
        if output and not (check or show_diff):
            for path in writes:  # every target before the first write: a refusal leaves nothing half done
                if path is not None:
                    check_output_path(path)
    except SfnCacheError as exc:
        exit_with(exc, verbose)
    if verbose:
        messages.insert(0, config_line(config))
    for line in messages:
        click.echo(escaped(line), err=True)
    if show_diff:
        changed = print_diffs(writes, None if output else Path(definition) if definition != "-" else None)
        sys.exit(1 if changed else 0)
    if check:
        stale = [str(path) for path, text in writes.items() if path is not None and current_text(path) != text]
        for path in stale:
            click.echo(f"{path}: out of date; run sfn-cache wrap again", err=True)
        if stale:
            sys.exit(1)
        click.echo(f"{output}: up to date", err=True)
        return
    if output is None:  # a preview: print the result, write nothing else
        skipped = sorted(str(path) for path in writes if path is not None)
        if skipped:
            click.echo(f"note: preview only: {', '.join(skipped)} not written (use -o to write)", err=True)
        click.echo(writes[None], nl=False)
        return
    for path, text in sorted(writes.items(), key=lambda item: str(item[0]) == output):
        try:
            atomic_write(path, text)
        except SfnCacheError as exc:
            exit_with(exc, verbose)


def current_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def print_diffs(writes: dict, input_path: Path | None) -> bool:
    """Unified diffs of each file to be written against what is there now (stdout output: the input)."""
    changed = False
    for path, text in sorted(writes.items(), key=lambda item: str(item[0])):
        compare_to = path if path is not None else input_path
        before = current_text(compare_to) if compare_to else None
        if before == text:
            continue
        changed = True
        name = str(compare_to) if compare_to else "<stdout>"
        click.echo("".join(difflib.unified_diff((before or "").splitlines(keepends=True),
                                                text.splitlines(keepends=True),
                                                fromfile=name if before is not None else "/dev/null",
                                                tofile=str(path) if path else name)), nl=False)
    return changed


def template_messages(result, verbose: bool) -> list[str]:
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


wrap_commands = [wrap_command]
