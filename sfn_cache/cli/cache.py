"""``sfn-cache ls / show / rm / stats / doctor``: the click commands over sfn_cache.admin."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import click
from click.core import ParameterSource

from sfn_cache.admin import inventory
from sfn_cache.cli.selection import config_options
from sfn_cache.errors import SfnCacheError, exit_with
from sfn_cache.options.precedence import layered
from sfn_cache.options.project_config import find_config, load_config
from sfn_cache.runtime.config import CacheConfig, parse_duration

bucket_option = click.option("--bucket", envvar="SFN_CACHE_BUCKET", metavar="s3://B[/PREFIX]",
                             help="The cache's bucket and prefix (default: $SFN_CACHE_BUCKET).")
context_option = click.option("--context", envvar="SFN_CACHE_CONTEXT",
                              help="disdat context (default: $SFN_CACHE_CONTEXT).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def cache_location(bucket: str | None, context: str | None, config_path: str | None,
                   no_config: bool) -> CacheConfig:
    """Where the cache is: --bucket/--context, else the project configuration (what wrap wrote into the
    machine, which wins over the Lambda's environment), else $SFN_CACHE_BUCKET/$SFN_CACHE_CONTEXT."""
    settings: dict = {}
    if not no_config:
        path = Path(config_path) if config_path else find_config(Path.cwd())
        settings = load_config(path).settings if path else {}
    ctx = click.get_current_context()

    def pick(name: str, value: str | None) -> str | None:
        return layered(ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE, value, settings, name)

    chosen = pick("bucket", bucket)
    if not chosen:  # the runtime's own message speaks to the Lambda's settings; this is the command line
        raise SfnCacheError("no cache bucket: give --bucket s3://BUCKET[/PREFIX], set $SFN_CACHE_BUCKET, or set "
                            "bucket in the project configuration")
    return inventory.cache_config(chosen, pick("context", context))


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _hours(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 60:.1f}m" if seconds >= 60 else f"{seconds:.0f}s"


@click.command("ls")
@click.option("--bundle", help="Only this bundle name.")
@bucket_option
@context_option
@config_options
@json_option
def ls_command(bundle: str | None, bucket: str | None, context: str | None, config_path: str | None,
               no_config: bool, as_json: bool) -> None:
    """List cached results: bundle, state, key, age, size and where a hit reads from."""
    try:
        config = cache_location(bucket, context, config_path, no_config)
        found = sorted(inventory.entries(boto3.client("s3"), config, bundle), key=lambda e: (e.bundle, -e.created))
    except SfnCacheError as error:
        exit_with(error)
    now = inventory.now()
    if as_json:
        click.echo(json.dumps([entry.summary(now) for entry in found], indent=2))
        return
    click.echo(f"{'BUNDLE':24} {'STATE':24} {'KEY':14} {'AGE':>6} {'SIZE':>9}  STORED")
    for entry in found:
        row = entry.summary(now)
        expired = "  (expired)" if row["expired"] else ""
        click.echo(f"{entry.bundle[:24]:24} {entry.state[:24]:24} {entry.key[:12]:14} {_age(row['age_seconds']):>6} "
                   f"{entry.size:>9}  {row['stored']}{expired}")
    click.echo(f"{len(found)} cached result(s) in {config.remote_url}", err=True)


@click.command("show")
@click.argument("key")
@click.option("--bundle", help="Bundle name (makes the lookup cheaper).")
@bucket_option
@context_option
@config_options
@json_option
def show_command(key: str, bundle: str | None, bucket: str | None, context: str | None, config_path: str | None,
                 no_config: bool, as_json: bool) -> None:
    """Show one cached result: its key material, the result itself and its lineage."""
    try:
        config = cache_location(bucket, context, config_path, no_config)
        s3 = boto3.client("s3")
        entry = inventory.find(s3, config, key, bundle)
        result = inventory.result_of(config, entry)
        upstream = inventory.lineage_of(s3, config, entry)
    except SfnCacheError as error:
        exit_with(error)
    material = entry.record.get("material")
    document = {**entry.summary(inventory.now()), **stored_formats(entry.record), "material": material,
                "execution": entry.record.get("execution"), "result": result,
                "lineage": upstream}
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    for name in ("key", "bundle", "state", "uuid", "execution", "stored", "size"):
        click.echo(f"{name + ':':11} {document[name]}")
    click.echo(f"{'format:':11} index entry v{document['entry_version']}, key format {document['key_format']} "
               "(the material's \"protocol\"; the machine's protocol is not stored)")
    click.echo(f"{'age:':11} {_age(document['age_seconds'])}")
    click.echo("material:   " + json.dumps(document["material"], indent=2).replace("\n", "\n            "))
    click.echo("result:     " + json.dumps(result, indent=2).replace("\n", "\n            "))
    lineage = ", ".join(f"{item.get('processing_name')} ({item.get('uuid')})"
                        for item in document["lineage"]) or "none recorded"
    click.echo(f"lineage:    {lineage}")


def stored_formats(record: dict) -> dict:
    """What an entry says of its own formats: the index entry's ``v`` and the key material's
    ``protocol``, which is the key's spelling (runtime.protocol.KEY_FORMAT), not the protocol of the
    machine that wrote it (PROTOCOL): entries outlive a protocol change and still hit."""
    material = record.get("material")
    return {"entry_version": record.get("v"),
            "key_format": material.get("protocol") if isinstance(material, dict) else None}


@click.command("rm")
@click.option("--key", help="Remove the result with this key (or unambiguous key prefix).")
@click.option("--bundle", help="Remove every result of this bundle name.")
@click.option("--older-than", metavar="DURATION", help="Remove results stored longer ago than DURATION (e.g. 30d).")
@click.option("--yes", is_flag=True, help="Really delete (default: only say what would be deleted).")
@bucket_option
@context_option
@config_options
@json_option
def rm_command(key: str | None, bundle: str | None, older_than: str | None, yes: bool, bucket: str | None,
               context: str | None, config_path: str | None, no_config: bool, as_json: bool) -> None:
    """Remove cached results (index entries and their bundles): one key, one bundle, or old ones."""
    if not (key or bundle or older_than):
        raise click.UsageError("say what to remove: --key, --bundle and/or --older-than")
    try:
        max_age = parse_duration(older_than) if older_than else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--older-than") from None
    try:
        config = cache_location(bucket, context, config_path, no_config)
        s3 = boto3.client("s3")
        targets = [inventory.find(s3, config, key, bundle)] if key else list(inventory.entries(s3, config, bundle))
        now = inventory.now()
        if max_age is not None:
            targets = [entry for entry in targets if now - entry.created > max_age]
        deleted = inventory.remove(s3, config, targets) if yes else 0
    except SfnCacheError as error:
        exit_with(error)
    if as_json:
        click.echo(json.dumps({"removed" if yes else "would_remove": [e.summary(now) for e in targets],
                               "objects_deleted": deleted}, indent=2))
        return
    verb = "removed" if yes else "would remove"
    for entry in targets:
        click.echo(f"{verb} {entry.bundle} {entry.key[:12]} (state {entry.state}, {_age(now - entry.created)} old)")
    count = f"{len(targets)} result" + ("" if len(targets) == 1 else "s")
    click.echo(f"{count} removed" if yes else f"{count} would be removed; add --yes to delete", err=True)


@click.command("stats")
@click.option("--since", metavar="DURATION", help="Only entries stored and hits served in the last DURATION (e.g. 7d).")
@click.option("--bundle", help="Only this bundle name.")
@bucket_option
@context_option
@config_options
@json_option
def stats_command(since: str | None, bundle: str | None, bucket: str | None, context: str | None,
                  config_path: str | None, no_config: bool, as_json: bool) -> None:
    """Per bundle name: entries, hits, seconds saved, bytes stored, oldest and newest entry."""
    from sfn_cache.admin import stats

    try:
        window = parse_duration(since) if since else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--since") from None
    try:
        config = cache_location(bucket, context, config_path, no_config)
        now = inventory.now()

        def progress(items):
            with click.progressbar(items, label="reading the index", file=sys.stderr) as bar:
                yield from bar

        rows = stats.collect(boto3.client("s3"), config, since=None if window is None else now - window,
                             bundle=bundle, progress=progress if sys.stderr.isatty() and not as_json else lambda i: i)
    except SfnCacheError as error:
        exit_with(error)
    if as_json:
        click.echo(json.dumps([row.summary() for row in rows], indent=2))
        return
    click.echo(f"{'BUNDLE':24} {'ENTRIES':>7} {'HITS':>7} {'SAVED':>9} {'STORED':>10} {'OLDEST':>7} {'NEWEST':>7}")
    for row in rows:
        oldest = _age(now - row.oldest) if row.oldest is not None else "-"
        newest = _age(now - row.newest) if row.newest is not None else "-"
        click.echo(f"{row.bundle[:24]:24} {row.entries:>7} {row.hits:>7} {_hours(row.seconds_saved):>9} "
                   f"{row.bytes_stored:>10} {oldest:>7} {newest:>7}")
    total = sum(row.seconds_saved for row in rows)
    click.echo(f"{sum(r.entries for r in rows)} entries, {sum(r.hits for r in rows)} hits, "
               f"{total:.1f} s of task time saved in {config.remote_url}", err=True)


@click.command("doctor")
@click.option("--lambda-arn", metavar="ARN", help="Also check this caching function's handler and environment.")
@bucket_option
@context_option
@config_options
@json_option
def doctor_command(lambda_arn: str | None, bucket: str | None, context: str | None, config_path: str | None,
                   no_config: bool, as_json: bool) -> None:
    """Check that the cache works from your credentials: bucket, a real round trip, the function's settings."""
    from sfn_cache.admin import doctor

    try:
        config = cache_location(bucket, context, config_path, no_config)
    except SfnCacheError as error:
        exit_with(error)
    checks = doctor.run(config, lambda_arn=lambda_arn)
    click.echo(doctor.as_json(checks) if as_json else "\n".join(check.line() for check in checks))
    sys.exit(0 if all(check.ok for check in checks) else 1)


cache_commands = [ls_command, show_command, rm_command, stats_command, doctor_command]
