"""``sfn-cache build-lambda``: the caching Lambda's zip(s), manifest, IAM policy and SAM snippet."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from sfn_cache import __version__
from sfn_cache.asl.emit import atomic_write, dump_json
from sfn_cache.deploy.deploy_files import (
    PLACEHOLDER_BUCKET,
    iam_policy,
    key_part_statements,
    operator_policy,
    sam_template,
)
from sfn_cache.deploy.lambda_package import (
    ARCHES,
    PYTHONS,
    UNZIPPED_LIMIT,
    ZIPPED_LIMIT,
    Distribution,
    Target,
    check_limits,
    default_target,
    mib,
    packages_for,
    sha256_of,
    stage,
    write_zip,
)
from sfn_cache.errors import SfnCacheError
from sfn_cache.runtime.config import CacheConfigError, parse_s3_url
from sfn_cache.runtime.protocol import HANDLER


@click.command("build-lambda")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for the zip(s), manifest.json, iam-policy.json, iam-policy-operator.json and "
                   "template.yaml.")
@click.option("--python", "python", type=click.Choice(PYTHONS), default=default_target().python, show_default=True,
              help="Lambda Python runtime to build for.")
@click.option("--arch", type=click.Choice(sorted(ARCHES)), default=default_target().arch, show_default=True,
              help="Lambda architecture to build for.")
@click.option("--layout", type=click.Choice(["function", "layer", "both"]), default="function", show_default=True,
              help="function: one self-contained zip; layer: one layer zip; both: a dependencies layer "
                   "plus a small function zip.")
@click.option("--find-links", multiple=True, metavar="WHEELHOUSE",
              help="Also look for wheels in this directory or URL (repeatable).")
@click.option("--no-index", is_flag=True, help="Do not use the package index: build from --find-links only.")
@click.option("--compile/--no-compile", "compile_pyc", default=None,
              help="Add .pyc files for the target Python (faster cold start). "
                   "Default: on when the target is the running interpreter.")
@click.option("--bucket", default=None, metavar="s3://BUCKET[/PREFIX]",
              help="The cache location, for the IAM policy and the function's environment.")
@click.option("--context", default="sfn-cache", show_default=True, help="disdat context name.")
@click.option("--key-code", type=click.Choice(["auto", "off"]), default="auto", show_default=True,
              help="Grant the read calls that resolve --key-code auto (off: for machines wrapped with --key-code off).")
@click.option("--key-s3-bucket", "key_s3_buckets", multiple=True, metavar="BUCKET",
              help="Grant HEAD/list reads in BUCKET, for --key-s3 etag and Glue job scripts (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (for CI).")
def build_lambda_command(out_dir: str, python: str, arch: str, layout: str, find_links: tuple, no_index: bool,
                         compile_pyc: bool | None, bucket: str | None, context: str, key_code: str,
                         key_s3_buckets: tuple, quiet: bool) -> None:
    """Build the caching Lambda from pip's manylinux wheels (no Docker); byte-identical on every build."""
    say = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    try:
        build(Path(out_dir), Target(python, arch), layout=layout, find_links=find_links, no_index=no_index,
              compile_pyc=compile_pyc, bucket=bucket, context=context, quiet=quiet, say=say,
              key_code=key_code == "auto", key_s3_buckets=tuple(key_s3_buckets))
    except SfnCacheError as error:
        click.echo(f"error: build-lambda: {error}", err=True)
        sys.exit(error.exit_code)


def build(out_dir: Path, target: Target, *, layout: str = "function", find_links: tuple = (), no_index: bool = False,
          compile_pyc: bool | None = None, bucket: str | None = None, context: str = "sfn-cache",
          quiet: bool = False, say=print, key_code: bool = True, key_s3_buckets: tuple = ()) -> dict:
    """Build into ``out_dir``; returns the manifest. Nothing lands in ``out_dir`` unless all of it does."""
    bucket_url = bucket or PLACEHOLDER_BUCKET
    try:
        parse_s3_url(bucket_url)
    except CacheConfigError as error:
        raise SfnCacheError(str(error)) from None
    if compile_pyc and not target.is_running_interpreter():
        raise SfnCacheError(f"--compile writes .pyc for the running Python ({sys.version_info[0]}."
                            f"{sys.version_info[1]}), not for {target.runtime} {target.arch}: run sfn-cache with "
                            f"that Python or pass --no-compile")
    if compile_pyc is None:
        compile_pyc = target.is_running_interpreter()
    out_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".sfn-cache-build-", dir=out_dir))
    try:
        say(f"Installing {target.runtime} {target.arch} wheels with pip ({', '.join(target.platforms[:1])} "
            f"... {target.platforms[-1]})")
        site, kept, removed = stage(target, workdir, layout=layout, find_links=tuple(find_links), no_index=no_index,
                                    compile_pyc=compile_pyc, quiet=quiet, echo=say)
        zips: dict[str, dict[str, Any]] = {}
        for package in packages_for(layout, site, target):
            say(f"Writing {package.name} ({len(package.entries)} files)")
            staged = workdir / package.name
            write_zip(package, staged)
            zips[package.name] = {"sha256": sha256_of(staged), "zipped_bytes": staged.stat().st_size,
                                  "unzipped_bytes": package.unzipped_bytes, "files": len(package.entries)}
        problems = check_limits({name: (z["zipped_bytes"], z["unzipped_bytes"]) for name, z in zips.items()})
        if problems:
            raise SfnCacheError("; ".join(problems))
        manifest = _manifest(target, layout, compile_pyc, kept, removed, zips)
        for name in zips:
            os.replace(workdir / name, out_dir / name)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    atomic_write(out_dir / "manifest.json", dump_json(manifest))
    atomic_write(out_dir / "iam-policy.json", dump_json(iam_policy(bucket_url, key_code, key_s3_buckets)))
    atomic_write(out_dir / "iam-policy-operator.json", dump_json(operator_policy(bucket_url)))
    atomic_write(out_dir / "template.yaml", sam_template(target=target, layout=layout, zips=sorted(zips),
                                                         bucket_url=bucket_url, context=context,
                                                         key_statements=key_part_statements(key_code, key_s3_buckets)))
    for line in size_report(zips):
        say(line)
    if bucket is None:
        say(f"note: no --bucket given: iam-policy.json and template.yaml use {PLACEHOLDER_BUCKET}")
    say(f"Wrote {', '.join(sorted(zips))}, manifest.json, iam-policy.json, iam-policy-operator.json, "
        f"template.yaml to {out_dir}")
    return manifest


def _manifest(target: Target, layout: str, compiled: bool, kept: list[Distribution], removed: list[Distribution],
              zips: dict) -> dict:
    def listing(dists: list[Distribution]) -> list[dict]:
        return [{"name": d.name, "version": d.version, "tags": d.tags}
                for d in sorted(dists, key=lambda d: d.name.lower())]

    return {
        "sfn_cache": __version__,
        "handler": HANDLER,
        "runtime": target.runtime,
        "architecture": target.arch,
        "platforms": target.platforms,
        "layout": layout,
        "compiled": compiled,
        "distributions": listing(kept),
        "provided_by_runtime": listing(removed),
        "zips": zips,
        "limits": {"zipped_bytes": ZIPPED_LIMIT, "unzipped_bytes": UNZIPPED_LIMIT},
    }


def size_report(zips: dict) -> list[str]:
    lines = []
    for name, z in sorted(zips.items()):
        lines.append(f"{name}: {mib(z['zipped_bytes'])} zipped ({z['zipped_bytes'] * 100 // ZIPPED_LIMIT}% of "
                     f"{mib(ZIPPED_LIMIT)}), {mib(z['unzipped_bytes'])} unzipped")
    total = sum(z["unzipped_bytes"] for z in zips.values())
    lines.append(f"unzipped total {mib(total)} ({total * 100 // UNZIPPED_LIMIT}% of Lambda's {mib(UNZIPPED_LIMIT)})")
    return lines
