"""Run the ``sfn-cache`` command of a source tree (e.g. a checkout of main) instead of the installed one.

For before/after figures side by side in one run: ``python -S`` skips the site machinery, so the
editable install of this checkout cannot shadow the tree's ``sfn_cache``; the interpreter's own
site-packages is then added by hand for the libraries. Used by the benchmarks that time commands.

Every tree timed gets its ``.pyc`` files first (``compile_package``): pip writes them when it installs
a package, but an editable install or a bare checkout has none, and with PYTHONDONTWRITEBYTECODE set
each run would compile the whole package again and time that instead.
"""

from __future__ import annotations

import compileall
import importlib.util
import sys
import sysconfig
from pathlib import Path

_MAIN = "import sys; sys.path[:0] = sys.argv[1:3]; del sys.argv[1:3]; sys.argv[0] = 'sfn-cache'; " \
        "from sfn_cache.cli import main; main()"


def compile_package(directory: str | None = None) -> None:
    """Write the .pyc files of ``directory``'s sfn_cache (default: the one this interpreter imports)."""
    root = Path(directory, "sfn_cache") if directory else Path(importlib.util.find_spec("sfn_cache").origin).parent
    compileall.compile_dir(str(root), quiet=1)


def source_argv(directory: str) -> list[str]:
    """The argv prefix that runs ``sfn-cache`` from ``directory``'s ``sfn_cache`` package."""
    return [sys.executable, "-S", "-c", _MAIN, str(Path(directory).resolve()), sysconfig.get_paths()["purelib"]]


def parse_sources(specs: list[str]) -> dict[str, list[str]]:
    """``LABEL=DIR`` options -> {label: argv prefix}, each tree compiled; no options: the installed package
    is compiled and {} returned (the caller runs the installed console script)."""
    sources = {label: directory for label, _, directory in (spec.partition("=") for spec in specs)}
    for directory in sources.values() or [None]:
        compile_package(directory)
    return {label: source_argv(directory) for label, directory in sources.items()}


def goal_status(missed: list[str]) -> int:
    """Print each missed goal and the ``status:`` line every benchmark ends with; the exit code."""
    for line in missed:
        print(f"MISSED: {line}", file=sys.stderr)
    print("status: " + ("all goals met" if not missed else f"{len(missed)} goal(s) missed"))
    return 1 if missed else 0
