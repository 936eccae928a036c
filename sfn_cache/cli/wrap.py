"""``sfn-cache wrap``: load -> wrap -> emit, with one-line errors (exit 2) and no partial output.

The loading, wrapping and emitting modules are imported inside the functions that use them, so that
``sfn-cache wrap --help`` costs little more than click itself (benchmarks/cli_startup.py).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfn_cache.cli.findings import FORMAT_HELP, FORMATS, Finding, first_difference, render
from sfn_cache.cli.paths import Inputs, expand
from sfn_cache.cli.selection import click_option, config_line, fix_command, options_for, read_config, selection_options
from sfn_cache.errors import SfnCacheError, escaped, exit_with
from sfn_cache.options.selectors import check_selectors, unmatched_shared
from sfn_cache.options.table import BY_NAME

if TYPE_CHECKING:
    from sfn_cache.options.project_config import ProjectConfig
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
@click.argument("definitions", metavar="FILE...", nargs=-1, required=True)
@click.option("-o", "--output", help="Write here (one FILE only): a regular file or a new path (default: stdout).")
@click.option("-i", "--in-place", is_flag=True,
              help="Write each FILE over itself. Many FILEs (or a directory, or a quoted glob) take this, "
                   "--check or --diff.")
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
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if OUTPUT (default: FILE itself; or a wrapped "
                                            "DefinitionUri file) is missing or differs.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Write nothing; print a unified diff of what would change; exit 1 if anything would.")
@click.option("--output-format", "report_format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="How --check and --diff report: " + FORMAT_HELP.split(": ", 1)[1])
@click.option("--compact", is_flag=True,
              help="Write a JSON definition without any whitespace: the byte-minimal form (about 30% fewer bytes "
                   "than the default layout) for a definition near Step Functions' 1 MB limit. Templates "
                   "are written as they are.")
@click_option(BY_NAME["comments"])
@click.option("-v", "--verbose", is_flag=True, help="Say what happens to every Task state.")
def wrap_command(definitions: tuple[str, ...], output: str | None, in_place: bool, definition_uri: str,
                 add_function: str | None, fmt: str | None, check: bool, show_diff: bool, report_format: str,
                 compact: bool, comments: bool, verbose: bool, **params) -> None:
    """Rewrite every selected Task state of each FILE into its cached form.

    FILE is a state machine definition (JSON or YAML; - for stdin) or a CloudFormation/SAM template,
    whose state machines are wrapped in place and everything else left as written. One FILE is
    written to -o (or stdout); many FILEs, a directory (its *.asl.json/yaml files and the JSON/YAML
    files that are definitions or templates) or a quoted glob take --in-place, --check or --diff,
    and end with one summary line.
    """
    if output and in_place:
        raise click.UsageError("-o and --in-place: give one of them")
    try:
        inputs = expand(definitions)
    except SfnCacheError as exc:
        exit_with(exc, verbose)
    run = Run(params, definition_uri, fmt, compact, comments, verbose, report_format, add_function)
    if inputs.many:
        if output:
            raise click.UsageError("-o takes one FILE; for many, use --in-place, --check or --diff")
        if not (in_place or check or show_diff):
            raise click.UsageError("many FILEs: add --in-place (write each), --check or --diff")
        if "-" in inputs.files:
            raise click.UsageError("- (stdin) is for one FILE only")
        wrap_many(inputs, run, check, show_diff)
        return
    definition = inputs.files[0]
    if (in_place or (check and not output)) and definition == "-":
        raise click.UsageError("--check needs -o/--output: the file to compare with" if check else
                               "--in-place needs a FILE, not - (stdin)")
    target = ["-o", output] if output else ["--in-place"]  # how the fix command names what to write
    if in_place or (check and not output):
        output = definition
    from sfn_cache import pipeline

    try:
        config = read_config(params)
        options, file_config = run.options(config, definition)
        loaded = pipeline.load(definition)
        # a definition file's document is checked as loaded; a template's unreadable machines are skipped
        found = [(d, loaded.source) for _, d in pipeline.machines(loaded, params["resource"])
                 if not isinstance(d, SfnCacheError)]
        check_selectors(params, file_config, found, loaded.source)
        shared_misses = unmatched_shared(params, config, found)
        function = caching_function(add_function, options) if add_function else None
        result = pipeline.wrap(loaded, options, output=output, resource=params["resource"],
                               definition_uri=definition_uri, fmt=fmt, compact=compact, add_function=function)
        if output and not (check or show_diff):
            pipeline.check_targets(result.writes)
    except SfnCacheError as exc:
        exit_with(exc, verbose)
    for line in ([config_line(config)] if verbose else []) + [f"warning: {w}" for w in shared_misses] + \
            wrap_messages(result, verbose):
        click.echo(escaped(line), err=True)
    if show_diff:
        changed = print_diffs(result.writes, None if output else Path(definition) if definition != "-" else None,
                              report_format, fix_command("wrap", definition, target))
        sys.exit(1 if changed else 0)
    if check:
        check_written(result.writes, output, report_format, fix_command("wrap", definition, target))
    elif output is None:
        preview(result.writes)
    else:
        write_all(result.writes, output, verbose)


@dataclass(frozen=True)
class Run:
    """What a wrap run applies to each file: the options' raw values and how to write and report."""

    params: dict[str, Any]
    definition_uri: str
    fmt: str | None
    compact: bool
    comments: bool
    verbose: bool
    report_format: str
    add_function: str | None  # --add-function's CODE_URI

    def options(self, config: ProjectConfig | None, path: str) -> tuple[WrapOptions, ProjectConfig | None]:
        """The options for ``path``: the flags over the configuration as it applies to that file."""
        file_config = config.for_file(path) if config else None
        return replace(options_for(self.params, file_config), comments=self.comments), file_config


def wrap_many(inputs: Inputs, run: Run, check: bool, show_diff: bool) -> None:
    """Wrap every file, then write (--in-place) or report (--check, --diff) them all, with one summary line.

    Every file is loaded, checked and wrapped before anything is written: one bad file is an error
    line (each bad file is named) and exit 2, and no file is written."""
    from sfn_cache import pipeline
    from sfn_cache.options.selectors import check_run, selectors

    errors: list[SfnCacheError] = []
    loaded_files = []
    try:
        config = read_config(run.params)
    except SfnCacheError as exc:
        exit_with(exc, run.verbose)
    for path in inputs.files:  # load every file and check the selectors over the whole run first
        try:
            options, file_config = run.options(config, path)
            loaded = pipeline.load(path)
            found = [(d, loaded.source) for _, d in pipeline.machines(loaded, run.params["resource"])
                     if not isinstance(d, SfnCacheError)]
            loaded_files.append((path, loaded, options, (selectors(run.params, file_config), found, loaded.source)))
        except SfnCacheError as exc:
            errors.append(exc)
    try:
        check_run([selected for *_, selected in loaded_files])
    except SfnCacheError as exc:
        errors.append(exc)
    for warning in unmatched_shared(run.params, config, [d for *_, (_, found, _) in loaded_files for d in found]):
        click.echo(f"warning: {warning}", err=True)
    results: list[tuple[str, Output]] = []
    for path, loaded, options, _ in ([] if errors else loaded_files):
        try:
            function = caching_function(run.add_function, options) if run.add_function else None
            result = pipeline.wrap(loaded, options, output=path, resource=run.params["resource"],
                                   definition_uri=run.definition_uri, fmt=run.fmt, compact=run.compact,
                                   add_function=function)
            if not (check or show_diff):
                pipeline.check_targets(result.writes)
            results.append((path, result))
        except SfnCacheError as exc:
            errors.append(exc)
    if errors:
        for error in errors:
            click.echo(f"error: {error}", err=True)
        if len(errors) > 1:  # one error is its own line; several end with their count
            click.echo(f"{len(errors)} errors, nothing written", err=True)
        sys.exit(2)
    results, left = leave_to_templates(results)
    if run.verbose:
        click.echo(config_line(config), err=True)
        for path in left:
            click.echo(f"note: {path} is a template's DefinitionUri file: left to the template", err=True)
        click.echo("\n".join(f"note: skipped {path} (neither a state machine definition nor a template)"
                             for path in inputs.skipped), err=True, nl=bool(inputs.skipped))
        for path in inputs.links:
            click.echo(f"note: skipped {path} (a symbolic link)", err=True)
    findings: list[Finding] = []
    changed = 0
    for path, result in results:
        for line in wrap_messages(result, run.verbose):
            click.echo(escaped(line if line.startswith(("warning: ", "note: ")) else f"{path}: {line}"), err=True)
        stale = pipeline.stale(result.writes)
        changed += bool(stale)
        if check or show_diff:
            command = fix_command("wrap", path, ["--in-place"])
            findings += [stale_finding(target, result.writes[target], command) for target in stale]
            if show_diff and run.report_format == "text":
                print_diffs({target: result.writes[target] for target in stale}, None, "text", command)
        elif stale:
            write_all({target: result.writes[target] for target in result.writes if target in stale}, path,
                      run.verbose)
    if run.report_format != "text":
        click.echo(render(findings, run.report_format), nl=False)
    elif check:
        for finding in findings:
            click.echo(escaped(finding.text()), err=True)
    unchanged = len(results) - changed
    if check:
        summary = f"{plural(len(results), 'file')} checked: {changed} out of date, {unchanged} up to date"
    elif show_diff:
        summary = f"{plural(len(results), 'file')}: {changed} would change, {unchanged} unchanged"
    else:
        summary = f"{plural(len(results), 'file')}: {changed} wrapped, {unchanged} unchanged"
    if left:
        summary += f"; {len(left)} DefinitionUri " + ("file" if len(left) == 1 else "files") + " left to a template"
    if inputs.skipped:
        summary += f"; {len(inputs.skipped)} skipped (neither a state machine definition nor a template)"
    if inputs.links:
        summary += f"; {len(inputs.links)} skipped (symbolic " + ("link)" if len(inputs.links) == 1 else "links)")
    click.echo(summary, err=True)
    sys.exit(1 if changed and (check or show_diff) else 0)


def leave_to_templates(results: list[tuple[str, Output]]) -> tuple[list[tuple[str, Output]], list[str]]:
    """(the results to report or write, the definition files left out): a template of the run wraps its
    DefinitionUri source into a ``.cached`` copy (or in place), so neither file is wrapped on its own
    as well: the source would be rewritten, and the old copy written over the template's new one."""
    from sfn_cache.template.definition_uri import cached_file_name

    owned = {Path(target).resolve() for path, result in results if result.template is not None
             for target in result.writes if target is not None and str(target) != path}
    kept, left = [], []
    for path, result in results:
        resolved = Path(path).resolve()
        if result.template is None and (resolved in owned or cached_file_name(resolved) in owned):
            left.append(path)
        else:
            kept.append((path, result))
    return kept, left


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def stale_finding(path: Path, text: str, command: str) -> Finding:
    """An out-of-date file, at its first changed line, with the command that brings it up to date."""
    from sfn_cache import pipeline

    before = pipeline.current_text(path)
    state = "missing" if before is None else "out of date"
    return Finding(str(path), first_difference(before, text), "error", "out-of-date", f"{state}; run: {command}")


def caching_function(code_uri: str, options: WrapOptions) -> dict:
    """``--add-function``'s resource: what build-lambda's template.yaml deploys, for this cache."""
    from sfn_cache.deploy.deploy_files import sam_function
    from sfn_cache.deploy.lambda_package import default_target

    if not options.bucket:
        raise SfnCacheError("--add-function needs --bucket s3://BUCKET[/PREFIX]: the cache the function "
                            "reads and writes")
    return sam_function(code_uri, default_target(), options.bucket, options.context or "sfn-cache")


def check_written(writes: dict[Path | None, str], output: str | None, report_format: str, command: str) -> None:
    """``--check``: exit 1 when a file to write is missing or differs from what is there."""
    from sfn_cache import pipeline

    findings = [stale_finding(path, writes[path], command) for path in pipeline.stale(writes)]
    if report_format != "text":
        click.echo(render(findings, report_format), nl=False)
    for finding in findings if report_format == "text" else []:
        click.echo(escaped(finding.text()), err=True)
    if findings:
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


def print_diffs(writes: dict[Path | None, str], input_path: Path | None, report_format: str, command: str) -> bool:
    """Print what would change (as findings, in a format other than text); True when anything would."""
    from sfn_cache import pipeline

    found = pipeline.diffs(writes, input_path)
    if report_format == "text":
        for diff in found:
            click.echo(diff, nl=False)
    else:
        findings = [stale_finding(path, text, command) for path, text in writes.items()
                    if path is not None and pipeline.current_text(path) != text]
        if None in writes and input_path is not None and pipeline.current_text(input_path) != writes[None]:
            findings.append(stale_finding(input_path, writes[None], command))
        click.echo(render(findings, report_format), nl=False)
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
