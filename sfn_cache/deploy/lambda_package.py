"""Build the caching Lambda's code from pip's manylinux wheels: no Docker, byte-identical every time.

Steps: pip installs disdat for the target Python and architecture into a staging directory; what the
Lambda Python runtime already provides (boto3 and its pure-Python dependencies) and dead weight
(tests, caches, console scripts) are removed; the runtime handler (never the CLI) is added; ``.pyc``
files are compiled for the target when it is the running interpreter; the zip is written with
sorted entries, fixed timestamps and normalised modes.
"""

from __future__ import annotations

import compileall
import email.parser
import hashlib
import os
import platform
import py_compile
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sfn_cache.errors import SfnCacheError

REQUIREMENT = "disdat==1.2.0"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}
# The Lambda Python runtimes ship boto3 with these; packaging them again only adds weight and
# version skew (normalised distribution names).
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
# glibc of the Lambda images: Amazon Linux 2 (2.26) up to python3.11, Amazon Linux 2023 (2.34) after.
GLIBC_MINOR = {"3.10": 26, "3.11": 26, "3.12": 34, "3.13": 34}
ZIPPED_LIMIT = 50 * 1024 * 1024  # direct upload of a zip
UNZIPPED_LIMIT = 250 * 1024 * 1024  # function plus all its layers, unzipped
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
DEAD_DIRS = ("__pycache__", "tests", "test")
DEAD_SUFFIXES = (".pyc", ".pyo", ".pyi")


@dataclass(frozen=True)
class Target:
    python: str  # "3.12"
    arch: str  # "x86_64" | "arm64"

    @property
    def machine(self) -> str:
        return ARCHES[self.arch]

    @property
    def runtime(self) -> str:
        return "python" + self.python

    @property
    def platforms(self) -> list[str]:
        """Every manylinux tag the Lambda image can load, oldest first."""
        tags = [f"manylinux2014_{self.machine}"]
        tags += [f"manylinux_2_{minor}_{self.machine}" for minor in range(17, GLIBC_MINOR[self.python] + 1)]
        return tags

    def is_running_interpreter(self) -> bool:
        return self.python == f"{sys.version_info[0]}.{sys.version_info[1]}" and self.machine == running_machine()


def running_machine() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def default_target() -> Target:
    """The running interpreter's Python and architecture when Lambda has them, else python3.12."""
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    arch = "arm64" if running_machine() == "aarch64" else "x86_64"
    return Target(python if python in PYTHONS else "3.12", arch)


@dataclass
class Distribution:
    name: str
    version: str
    tags: list[str]
    files: list[str]  # RECORD paths, relative to the install directory


@dataclass
class Package:
    """One zip: its entries are (archive name, file on disk)."""

    name: str
    entries: list[tuple[str, Path]] = field(default_factory=list)

    @property
    def unzipped_bytes(self) -> int:
        return sum(path.stat().st_size for _, path in self.entries)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_install(target: Target, into: Path, *, find_links: tuple[str, ...] = (), no_index: bool = False,
                quiet: bool = False, requirement: str = REQUIREMENT, echo: Callable[[str], None] = print) -> None:
    """Install ``requirement`` for the target with pip in a subprocess; pip's own error on failure."""
    command = [sys.executable, "-m", "pip", "install", "--target", str(into), "--only-binary=:all:",
               "--implementation", "cp", "--python-version", target.python, "--no-compile",
               "--disable-pip-version-check", "--no-warn-script-location", "--progress-bar", "off"]
    for tag in target.platforms:
        command += ["--platform", tag]
    for link in find_links:
        command += ["--find-links", link]
    if no_index:
        command.append("--no-index")
    command.append(requirement)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PIP_NO_INPUT": "1"})
    output = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line.rstrip())
        if not quiet and _is_progress(line):
            echo("  pip: " + line.strip())
    if process.wait() != 0:
        errors = [line.strip() for line in output if line.startswith("ERROR:")] or output[-3:]
        raise SfnCacheError(f"pip could not install {requirement} for {target.runtime} {target.arch}: "
                            + " ".join(errors))


def _is_progress(line: str) -> bool:
    return line.startswith(("Collecting", "Downloading", "Processing", "Installing", "Successfully", "ERROR"))


def installed_distributions(site: Path) -> list[Distribution]:
    """The distributions pip installed, from their ``.dist-info`` METADATA, WHEEL and RECORD."""
    found = []
    for info in sorted(site.glob("*.dist-info")):
        metadata = email.parser.Parser().parsestr((info / "METADATA").read_text(encoding="utf-8"))
        wheel = email.parser.Parser().parsestr((info / "WHEEL").read_text(encoding="utf-8"))
        record = (info / "RECORD").read_text(encoding="utf-8").splitlines()
        found.append(Distribution(
            name=metadata["Name"], version=metadata["Version"],
            tags=sorted(wheel.get_all("Tag") or []),
            files=[line.rsplit(",", 2)[0] for line in record if line.strip()],
        ))
    return found


def remove_distribution(site: Path, dist: Distribution) -> None:
    """Delete every file a distribution installed (its RECORD), then the folders it leaves empty."""
    folders = set()
    for relative in dist.files:
        path = (site / relative).resolve()
        if site.resolve() not in path.parents:
            continue  # a script pip put outside the target: gone with bin/ anyway
        if path.is_file() or path.is_symlink():
            path.unlink()
        folders.add(path.parent)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder != site.resolve() and folder.exists() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def trim(site: Path) -> None:
    """Remove what never runs on Lambda: tests, bytecode of the build interpreter, stubs, scripts."""
    shutil.rmtree(site / "bin", ignore_errors=True)
    for path in sorted(site.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in DEAD_DIRS and not path.is_symlink():
            shutil.rmtree(path)
        elif path.is_file() and path.suffix in DEAD_SUFFIXES:
            path.unlink()


def add_runtime_code(site: Path) -> None:
    """The handler's modules only: ``sfn_cache/__init__.py`` and ``sfn_cache/runtime``."""
    source = Path(__file__).parent.parent  # the sfn_cache package (deploy/ is inside it)
    package = site / "sfn_cache"
    (package / "runtime").mkdir(parents=True)
    shutil.copyfile(source / "__init__.py", package / "__init__.py")
    for module in sorted((source / "runtime").glob("*.py")):
        shutil.copyfile(module, package / "runtime" / module.name)


def compile_for_running_python(site: Path, layout: str) -> None:
    """Unchecked-hash ``.pyc`` beside every module: valid whatever mtimes Lambda gives the unzipped files.

    Each ``.pyc`` records its source path; it is the path the file will have on Lambda (``/var/task``
    for function code, ``/opt/python`` for a layer), never the build directory, so builds repeat.
    """
    code_root = "/opt/python" if layout == "layer" else "/var/task"
    deps_root = "/var/task" if layout == "function" else "/opt/python"
    for folder, root, force in ((site, deps_root, False), (site / "sfn_cache", code_root, True)):
        ok = compileall.compile_dir(str(folder), quiet=2, workers=0, force=force, stripdir=str(site),
                                    prependdir=root,
                                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        if not ok:
            raise SfnCacheError(f"compiling the package's .py files under {folder.name} failed")


def files_under(root: Path, prefix: str = "") -> list[tuple[str, Path]]:
    return sorted((prefix + path.relative_to(root).as_posix(), path)
                  for path in root.rglob("*") if path.is_file())


def write_zip(package: Package, path: Path) -> None:
    """Sorted entries, one fixed date, 0644/0755 modes: the same files always make the same bytes."""
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, source in sorted(package.entries):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the modes below are honoured
            mode = 0o755 if os.access(source, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, source.read_bytes(), compresslevel=9)
    os.replace(tmp, path)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stage(target: Target, workdir: Path, *, layout: str, find_links: tuple[str, ...], no_index: bool,
          compile_pyc: bool, quiet: bool,
          echo: Callable[[str], None]) -> tuple[Path, list[Distribution], list[Distribution]]:
    """Install, prune and compile into ``workdir/site``; returns (site, kept, removed distributions)."""
    site = workdir / "site"
    pip_install(target, site, find_links=find_links, no_index=no_index, quiet=quiet, echo=echo)
    everything = installed_distributions(site)
    provided = {normalise(name) for name in PROVIDED_BY_RUNTIME}
    removed = [d for d in everything if normalise(d.name) in provided]
    for dist in removed:
        remove_distribution(site, dist)
    trim(site)
    add_runtime_code(site)
    if compile_pyc:
        compile_for_running_python(site, layout)
    kept = [d for d in everything if normalise(d.name) not in provided]
    return site, kept, removed


def packages_for(layout: str, site: Path, target: Target) -> list[Package]:
    """``function``: one self-contained zip; ``layer``: everything under ``python/`` for a layer;
    ``both``: the dependencies as a layer plus a small function zip holding only the handler."""
    if layout == "function":
        return [Package(f"sfn-cache-function-{target.runtime}-{target.arch}.zip", files_under(site))]
    if layout == "layer":
        return [Package(f"sfn-cache-layer-{target.runtime}-{target.arch}.zip", files_under(site, "python/"))]
    code = [entry for entry in files_under(site) if entry[0].startswith("sfn_cache/")]
    deps = [("python/" + name, path) for name, path in files_under(site) if not name.startswith("sfn_cache/")]
    return [Package(f"sfn-cache-function-{target.runtime}-{target.arch}.zip", code),
            Package(f"sfn-cache-layer-{target.runtime}-{target.arch}.zip", deps)]


def check_limits(sizes: dict[str, tuple[int, int]]) -> list[str]:
    """Problems against Lambda's hard limits, given {zip name: (zipped, unzipped)} of one deployment."""
    problems = [f"{name} is {mib(zipped)} zipped, over Lambda's {mib(ZIPPED_LIMIT)} limit for a direct upload"
                for name, (zipped, _) in sorted(sizes.items()) if zipped > ZIPPED_LIMIT]
    unzipped = sum(size for _, size in sizes.values())
    if unzipped > UNZIPPED_LIMIT:
        problems.append(f"the function and its layers unzip to {mib(unzipped)}, over Lambda's "
                        f"{mib(UNZIPPED_LIMIT)} limit")
    return problems


def mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"
