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
from click.core import ParameterSource

from sfn_cache.errors import SfnCacheError, escaped, exit_with
from sfn_cache.rewrite.options import (DEFAULT_LAMBDA_ARN, KEY_CODE, KEY_S3, StateRule, WrapOptions, check_bucket,
                               closest_name, parse_ttl)

if TYPE_CHECKING:
    from sfn_cache.cli.project_config import ProjectConfig
    from sfn_cache.rewrite.wrap import WrapResult


def split_assignment(value: str, option: str) -> tuple[str, str]:
    """``STATE=VALUE`` -> (STATE, VALUE); the state part may itself hold ``=`` only before the last one."""
    state, sep, rest = value.rpartition("=")
    if not sep or not state or not rest:
        raise click.BadParameter(f"expected STATE=VALUE, got {value!r}", param_hint=option)
    return state, rest


def build_options(*, lambda_arn: str, bucket: str | None, context: str | None, include: tuple,
                  exclude: tuple, bundle_names: tuple, key_paths: tuple, force_rerun: tuple,
                  ttls: tuple, cache_versions: tuple, fail_closed: bool, runtime_force: bool,
                  pattern: str = "variables", concurrent: str = "run", allow_context_reads: tuple = (),
                  key_codes: tuple = (), key_s3s: tuple = ()) -> WrapOptions:
    """Turn the command-line flags into WrapOptions (global values plus per-state rules)."""
    if bucket is not None:
        try:
            check_bucket(bucket)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--bucket") from None
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
    rules.extend(StateRule(pattern=s, allow_context_reads=True) for s in allow_context_reads if s != "*")

    ttl = None
    for value in ttls:
        try:
            if "=" in value:
                state, text = split_assignment(value, "--ttl")
                rules.append(StateRule(pattern=state, ttl=parse_ttl(text)))
            else:
                ttl = parse_ttl(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--ttl") from None
    version = ""
    for value in cache_versions:
        if "=" in value:
            state, text = split_assignment(value, "--cache-version")
            rules.append(StateRule(pattern=state, cache_version=text))
        else:
            version = value
    key_code = _choices(key_codes, "--key-code", KEY_CODE, "key_code", rules)
    key_s3 = _choices(key_s3s, "--key-s3", KEY_S3, "key_s3", rules) or "off"
    return WrapOptions(lambda_arn=lambda_arn, bucket=bucket, context=context, include=include,
                       exclude=exclude, force=force_all, ttl=ttl, cache_version=version,
                       fail_closed=fail_closed, runtime_force=runtime_force, pattern=pattern,
                       concurrent=concurrent, allow_context_reads="*" in allow_context_reads,
                       key_code=key_code, key_s3=key_s3, rules=tuple(rules))


def _choices(values: tuple, option: str, allowed: tuple, attr: str, rules: list[StateRule]) -> str | None:
    """``[STATE=]CHOICE`` values: per-state ones become rules; the last global one is returned."""
    chosen = None
    for value in values:
        state, text = split_assignment(value, option) if "=" in value else (None, value)
        if text not in allowed:
            raise click.BadParameter(f"expected one of {', '.join(allowed)}, got {text!r}", param_hint=option)
        if state:
            rules.append(StateRule(pattern=state, **{attr: text}))
        else:
            chosen = text
    return chosen


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


def selection_options(command):
    """The options that decide what is cached and how: shared by ``wrap``, ``explain`` and ``graph``."""
    decorators = [
        click.option("--lambda-arn", default=DEFAULT_LAMBDA_ARN, show_default=True,
                     help="ARN of the caching Lambda (the default is a DefinitionSubstitutions placeholder)."),
        click.option("--bucket", help="s3://bucket[/prefix] for the cache (default: the Lambda's SFN_CACHE_BUCKET)."),
        click.option("--context", help="disdat context name (default: the Lambda's SFN_CACHE_CONTEXT)."),
        click.option("--include", multiple=True, metavar="GLOB", help="Cache only states matching GLOB (repeatable)."),
        click.option("--exclude", multiple=True, metavar="GLOB", help="Never cache states matching GLOB (repeatable)."),
        click.option("--bundle-name", "bundle_names", multiple=True, metavar="STATE=NAME",
                     help="Bundle name for a state (default: the state name)."),
        click.option("--key-path", "key_paths", multiple=True, metavar="STATE=JSONPATH",
                     help="Build STATE's cache key from these input fields instead of its whole effective input."),
        click.option("--force-rerun", "force_rerun", multiple=True, is_flag=False, flag_value="*", metavar="[STATE]",
                     help="Always run (and re-store) every task, or only STATE (repeatable)."),
        click.option("--allow-context-reads", "allow_context_reads", multiple=True, is_flag=False,
                     flag_value="*", metavar="[STATE]",
                     help="Cache tasks whose ResultSelector/OutputPath/Assign/Output read $$.State or $$.Task "
                          "(a hit reads the hit state's), every task or only STATE (repeatable)."),
        click.option("--ttl", "ttls", multiple=True, metavar="[STATE=]DURATION",
                     help="Cached results expire after DURATION (e.g. 12h, 7d), globally or per state."),
        click.option("--cache-version", "cache_versions", multiple=True, metavar="[STATE=]VERSION",
                     help="Part of the key: change it to invalidate old results, globally or per state."),
        click.option("--key-code", "key_codes", multiple=True, metavar="[STATE=]auto|off",
                     help="auto: the key names the target's code (Lambda CodeSha256, Glue script ETag, ECS/Batch "
                          "revision), resolved by the caching Lambda; off: it does not. Default: auto for "
                          "Lambda targets, off for the others."),
        click.option("--key-s3", "key_s3s", multiple=True, metavar="[STATE=]etag|off",
                     help="etag: every s3:// string in the key is keyed by its object's ETag (a prefix "
                          "ending in / by its listing); off (default): by the string only."),
        click.option("--pattern", type=click.Choice(["variables", "classic"]), default="variables",
                     show_default=True,
                     help="Cached form: 'variables' (small, needs workflow variables) or 'classic' (no variables)."),
        click.option("--concurrent", type=click.Choice(["run", "wait"]), default="run", show_default=True,
                     help="On a miss another execution is already computing: 'run' the task anyway, or "
                          "'wait' for its result (a bounded Wait + re-pull loop; README: Cache runtime)."),
        click.option("--fail-closed", is_flag=True,
                     help="Fail the execution when the cache fails (default: run uncached)."),
        click.option("--no-runtime-force", "runtime_force", is_flag=True, flag_value=False, default=True,
                     help="Do not pass the execution input to the cache (disables sfn_cache.force at run time)."),
        click.option("--resource", metavar="LOGICAL_ID", help="In a template: only this state machine."),
        click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True),
                     help="Project configuration (default: the nearest sfn-cache.yaml or pyproject.toml "
                          "[tool.sfn-cache] from the current directory up)."),
        click.option("--no-config", is_flag=True, help="Ignore any project configuration file."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


SELECTION_PARAMS = ("lambda_arn", "bucket", "context", "include", "exclude", "bundle_names", "key_paths",
                    "force_rerun", "allow_context_reads", "ttls", "cache_versions", "key_codes", "key_s3s", "pattern",
                    "concurrent",
                    "fail_closed", "runtime_force", "config_path", "no_config")


def options_from_command_line(params: dict) -> tuple[WrapOptions, ProjectConfig | None]:
    """WrapOptions from the project configuration, overridden by the flags given on the command line."""
    from sfn_cache.cli.project_config import find_config, load_config

    config = None
    if not params["no_config"]:
        path = Path(params["config_path"]) if params["config_path"] else find_config(Path.cwd())
        config = load_config(path) if path else None
    settings = config.settings if config else {}
    context = click.get_current_context()

    def given(name: str) -> bool:
        return context.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)

    def pick(name: str, key: str):
        return params[name] if given(name) or key not in settings else settings[key]

    options = build_options(
        lambda_arn=pick("lambda_arn", "lambda-arn"), bucket=pick("bucket", "bucket"),
        context=pick("context", "context"),
        include=params["include"] or tuple(settings.get("include", ())),
        exclude=params["exclude"] or tuple(settings.get("exclude", ())),
        bundle_names=params["bundle_names"], key_paths=params["key_paths"],
        force_rerun=params["force_rerun"] or (("*",) if settings.get("force-rerun") else ()),
        allow_context_reads=params["allow_context_reads"]
        or (("*",) if settings.get("allow-context-reads") else ()),
        ttls=params["ttls"], cache_versions=params["cache_versions"],
        fail_closed=pick("fail_closed", "fail-closed"), runtime_force=pick("runtime_force", "runtime-force"),
        pattern=pick("pattern", "pattern"), concurrent=pick("concurrent", "concurrent"),
        key_codes=params["key_codes"] or tuple(settings.get(k) for k in ("key-code",) if k in settings),
        key_s3s=params["key_s3s"] or tuple(settings.get(k) for k in ("key-s3",) if k in settings))
    if config:
        has_global_ttl = any("=" not in value for value in params["ttls"])
        has_global_version = any("=" not in value for value in params["cache_versions"])
        where = f"in {config.path}"
        options = replace(
            options,
            ttl=options.ttl if has_global_ttl or "ttl" not in settings else settings["ttl"],
            cache_version=options.cache_version if has_global_version or "cache-version" not in settings
            else str(settings["cache-version"]),
            include_origin=options.include_origin if params["include"] else "include {} " + where,
            exclude_origin=options.exclude_origin if params["exclude"] else "exclude {} " + where,
            rules=tuple(config.rules) + options.rules)  # flags come later: they win over the file
    return options, config


def config_line(config: ProjectConfig | None) -> str:
    """Which configuration file applied (``-v`` and ``explain`` say it)."""
    return f"configuration: {config.path}" if config else "configuration: none"


def selectors(params: dict, config: ProjectConfig | None) -> list[tuple[str, str, str | None]]:
    """(option, state name or glob, configuration file or None) for every option that names states."""
    found: list[tuple[str, str, str | None]] = []
    for option, name in (("--include", "include"), ("--exclude", "exclude")):
        found += [(f"{option} {glob}", glob, None) for glob in params[name]]
    for option, name in (("--bundle-name", "bundle_names"), ("--key-path", "key_paths"),
                         ("--ttl", "ttls"), ("--cache-version", "cache_versions")):
        for value in params[name]:
            state = value.split("=", 1)[0] if name == "key_paths" else value.rpartition("=")[0]
            if state:
                found.append((f"{option} {value}", state, None))
    found += [(f"--force-rerun {state}", state, None) for state in params["force_rerun"] if state != "*"]
    found += [(f"--allow-context-reads {state}", state, None)
              for state in params["allow_context_reads"] if state != "*"]
    if config:
        for key in ("include", "exclude"):
            if not params[key]:
                found += [(f"{key} {glob}", glob, str(config.path)) for glob in config.settings.get(key, ())]
        found += [(f"states.{rule.pattern}", rule.pattern, str(config.path)) for rule in config.rules]
    return found


def check_selectors(params: dict, config: ProjectConfig | None, definitions: list[tuple[dict, str]],
                    what: str) -> None:
    """A state name or glob that matches no state is a typo: the same error from a flag or the file."""
    from sfn_cache.rewrite.wrap import state_names

    wanted = selectors(params, config)
    if not wanted:
        return
    names: set[str] = set()
    for definition, source in definitions:
        names |= state_names(definition, source)
    for option, pattern, file in wanted:
        if not any(StateRule(pattern=pattern).matches(name) for name in names):
            closest = closest_name(pattern, names)
            hint = f" (closest state name: {closest!r})" if closest else ""
            raise SfnCacheError(f"{option}: matches no state in {what}{hint}", file=file)


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
@click.option("--comments", is_flag=True, help="Give every generated state a Comment saying what it does "
                                                "(off by default: about 300 bytes per cached task).")
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
    from sfn_cache.rewrite.quotas import check_definition_size
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
