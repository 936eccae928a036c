"""``sfn-cache wrap``: load -> wrap -> emit, with one-line errors (exit 2) and no partial output."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sfn_cache.emit import atomic_write, dump_json, dump_yaml
from sfn_cache.errors import SfnCacheError
from sfn_cache.loader import load_text, looks_like_json, read_source
from sfn_cache.options import DEFAULT_LAMBDA_ARN, StateRule, WrapOptions, parse_duration
from sfn_cache.wrap import WrapResult, wrap_definition


def split_assignment(value: str, option: str) -> tuple[str, str]:
    """``STATE=VALUE`` -> (STATE, VALUE); the state part may itself hold ``=`` only before the last one."""
    state, sep, rest = value.rpartition("=")
    if not sep or not state or not rest:
        raise click.BadParameter(f"expected STATE=VALUE, got {value!r}", param_hint=option)
    return state, rest


def build_options(*, lambda_arn: str, bucket: str | None, context: str | None, include: tuple,
                  exclude: tuple, bundle_names: tuple, key_paths: tuple, force_rerun: tuple,
                  ttls: tuple, cache_versions: tuple, fail_closed: bool, runtime_force: bool,
                  pattern: str = "variables") -> WrapOptions:
    """Turn the command-line flags into WrapOptions (global values plus per-state rules)."""
    rules: list[StateRule] = []
    for value in bundle_names:
        state, name = split_assignment(value, "--bundle-name")
        rules.append(StateRule(pattern=state, bundle_name=name))
    paths_by_state: dict[str, list[str]] = {}
    for value in key_paths:
        state, path = value.split("=", 1) if "=" in value else ("", "")
        if not state or not path:
            raise click.BadParameter(f"expected STATE=JSONPATH, got {value!r}", param_hint="--key-path")
        paths_by_state.setdefault(state, []).append(path)
    rules.extend(StateRule(pattern=s, key_paths=tuple(p)) for s, p in paths_by_state.items())

    force_all = "*" in force_rerun
    rules.extend(StateRule(pattern=s, force=True) for s in force_rerun if s != "*")

    ttl = None
    for value in ttls:
        try:
            if "=" in value:
                state, text = split_assignment(value, "--ttl")
                rules.append(StateRule(pattern=state, ttl=parse_duration(text)))
            else:
                ttl = parse_duration(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--ttl") from None
    version = ""
    for value in cache_versions:
        if "=" in value:
            state, text = split_assignment(value, "--cache-version")
            rules.append(StateRule(pattern=state, cache_version=text))
        else:
            version = value
    return WrapOptions(lambda_arn=lambda_arn, bucket=bucket, context=context, include=include,
                       exclude=exclude, force=force_all, ttl=ttl, cache_version=version,
                       fail_closed=fail_closed, runtime_force=runtime_force, pattern=pattern,
                       rules=tuple(rules))


def render(document: dict, fmt: str) -> str:
    return dump_json(document) if fmt == "json" else dump_yaml(document)


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
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here (default: stdout).")
@click.option("--lambda-arn", default=DEFAULT_LAMBDA_ARN, show_default=True,
              help="ARN of the caching Lambda (the default is a DefinitionSubstitutions placeholder).")
@click.option("--bucket", help="s3://bucket[/prefix] for the cache (default: the Lambda's SFN_CACHE_BUCKET).")
@click.option("--context", help="disdat context name (default: the Lambda's SFN_CACHE_CONTEXT).")
@click.option("--include", multiple=True, metavar="GLOB", help="Cache only states matching GLOB (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Never cache states matching GLOB (repeatable).")
@click.option("--bundle-name", "bundle_names", multiple=True, metavar="STATE=NAME",
              help="Bundle name for a state (default: the state name).")
@click.option("--key-path", "key_paths", multiple=True, metavar="STATE=JSONPATH",
              help="Build STATE's cache key from these input fields instead of its whole effective input.")
@click.option("--force-rerun", "force_rerun", multiple=True, is_flag=False, flag_value="*", metavar="[STATE]",
              help="Always run (and re-store) every task, or only STATE (repeatable).")
@click.option("--ttl", "ttls", multiple=True, metavar="[STATE=]DURATION",
              help="Cached results expire after DURATION (e.g. 12h, 7d), globally or per state.")
@click.option("--cache-version", "cache_versions", multiple=True, metavar="[STATE=]VERSION",
              help="Part of the key: change it to invalidate old results, globally or per state.")
@click.option("--pattern", type=click.Choice(["variables", "classic"]), default="variables", show_default=True,
              help="Cached form: 'variables' (small, needs workflow variables) or 'classic' (no variables).")
@click.option("--fail-closed", is_flag=True, help="Fail the execution when the cache fails (default: run uncached).")
@click.option("--no-runtime-force", "runtime_force", is_flag=True, flag_value=False, default=True,
              help="Do not pass the execution input to the cache (disables sfn_cache.force at run time).")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]),
              help="Output format (default: the input's).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if OUTPUT is missing or differs.")
@click.option("-v", "--verbose", is_flag=True, help="Say what happens to every Task state.")
def wrap_command(definition: str, output: str | None, lambda_arn: str, bucket: str | None,
                 context: str | None, include: tuple, exclude: tuple, bundle_names: tuple,
                 key_paths: tuple, force_rerun: tuple, ttls: tuple, cache_versions: tuple,
                 pattern: str, fail_closed: bool, runtime_force: bool, fmt: str | None, check: bool,
                 verbose: bool) -> None:
    """Rewrite every selected Task state of FILE (JSON or YAML; - for stdin) into its cached form."""
    if check and not output:
        raise click.UsageError("--check needs -o/--output: the file to compare with")
    options = build_options(lambda_arn=lambda_arn, bucket=bucket, context=context, include=include,
                            exclude=exclude, bundle_names=bundle_names, key_paths=key_paths,
                            force_rerun=force_rerun, ttls=ttls, cache_versions=cache_versions,
                            fail_closed=fail_closed, runtime_force=runtime_force, pattern=pattern)
    source = "<stdin>" if definition == "-" else definition
    try:
        text = read_source(definition)
        document = load_text(text, source)
        if isinstance(document, dict) and "Resources" in document and "States" not in document:
            raise SfnCacheError("CloudFormation/SAM templates are not supported by this command yet",
                                file=source)
        result = wrap_definition(document, options, source)
    except SfnCacheError as exc:
        fail(exc)
    out_format = fmt or ("json" if looks_like_json(text) else "yaml")
    rendered = render(result.definition, out_format)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if verbose:
        for line in report_lines(result):
            click.echo(line, err=True)
    if check:
        current = Path(output).read_text(encoding="utf-8") if Path(output).exists() else None
        if current != rendered:
            click.echo(f"{output}: out of date; run sfn-cache wrap again", err=True)
            sys.exit(1)
        click.echo(f"{output}: up to date", err=True)
        return
    if output:
        atomic_write(output, rendered)
    else:
        click.echo(rendered, nl=False)


def fail(error: SfnCacheError) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(error.exit_code)


wrap_commands = [wrap_command]
