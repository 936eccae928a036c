"""Size and cold-import cost of the caching Lambda package, with and without ``--compile``.

Builds the package for this machine's Python twice (needs the package registry, or pass a wheelhouse
as the first argument for an offline build), unzips each, and times ``import disdat.api`` in fresh
interpreters that see only the package plus boto3 and may not write bytecode (like Lambda's read-only
``/var/task``). Prints the median of seven runs.

    python benchmarks/package_import.py [WHEELHOUSE]
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sfn_cache.cli.build import build
from sfn_cache.deploy.lambda_package import default_target

RUNS = 7
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
PROBE = "import sys, time; sys.path[:0] = sys.argv[1:3]; t = time.perf_counter(); import disdat.api; " \
        "print(time.perf_counter() - t)"


def runtime_path(root: Path) -> Path:
    """boto3 and friends, as the Lambda runtime provides them."""
    path = root / "runtime"
    path.mkdir()
    for module in RUNTIME_MODULES:
        origin = Path(importlib.util.find_spec(module).origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (path / source.name).symlink_to(source)
    return path


def cold_import_seconds(package: Path, runtime: Path) -> float:
    times = [float(subprocess.run([sys.executable, "-I", "-S", "-B", "-c", PROBE, str(package), str(runtime)],
                                  check=True, capture_output=True, text=True).stdout) for _ in range(RUNS)]
    return statistics.median(times)


def main() -> None:
    wheelhouse = sys.argv[1:2]
    target = default_target()
    print(f"target {target.runtime} {target.arch}; median of {RUNS} cold imports of disdat.api")
    print(f"{'build':<12} {'zipped MiB':>10} {'unzipped MiB':>12} {'files':>6} {'import s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runtime = runtime_path(root)
        for label, compiled in (("--compile", True), ("--no-compile", False)):
            out = root / label
            manifest = build(out, target, compile_pyc=compiled, find_links=tuple(wheelhouse),
                             no_index=bool(wheelhouse), quiet=True, say=lambda text: None)
            (name, figures), = manifest["zips"].items()
            with zipfile.ZipFile(out / name) as archive:
                archive.extractall(out / "unzipped")
            seconds = cold_import_seconds(out / "unzipped", runtime)
            print(f"{label:<12} {figures['zipped_bytes'] / 2**20:>10.1f} {figures['unzipped_bytes'] / 2**20:>12.1f} "
                  f"{figures['files']:>6} {seconds:>9.2f}")
            print(json.dumps({"build": label, **figures, "import_seconds": round(seconds, 3)}), file=sys.stderr)


if __name__ == "__main__":
    main()
