"""How much disk ``pip install sfn-cache`` takes: the base install and the one with the verify extra.

Creates fresh virtualenvs in a temporary directory, installs this tree into each (not editable, with
the versions CI tests, from ``.ci/constraints.txt``), and prints each venv's size next to an empty
venv's (pip alone), and the largest packages. Needs the package registry; takes a minute or two,
so the test suite does not run it.

Goal, checked, exit 1 when missed: the base install (what ``wrap``, ``explain``, ``graph`` and
``--check`` need) under 80 MB, venv and pip included.

    python benchmarks/install_size.py
    python benchmarks/install_size.py --extras verify,test      # other extras (default: verify)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
GOAL_MB = 80.0


def size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (as ``du --apparent-size`` counts them)."""
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink())


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def make_venv(venv: Path, requirement: str | None) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if requirement is not None:
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-cache-dir",
                        "--disable-pip-version-check", "-c", str(CONSTRAINTS), requirement], check=True)


def largest(venv: Path, count: int = 6) -> str:
    packages = site_packages(venv)
    sizes = sorted(((size(entry), entry.name) for entry in packages.iterdir()
                    if entry.is_dir() and not entry.name.endswith((".dist-info", "__pycache__"))), reverse=True)
    return ", ".join(f"{name} {bytes_ / 1e6:.1f}" for bytes_, name in sizes[:count])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extras", default="verify", help="comma-separated extras of the second install")
    args = parser.parse_args()
    installs = {"empty venv (pip only)": None, "base: pip install .": str(ROOT),
                f"pip install '.[{args.extras}]'": f"{ROOT}[{args.extras}]"}
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="sfn-cache-install-") as tmp:
        for number, (label, requirement) in enumerate(installs.items()):
            venv = Path(tmp) / f"venv{number}"
            make_venv(venv, requirement)
            sizes[label] = size(venv)
            print(f"{label:<40} {sizes[label] / 1e6:7.1f} MB   largest (MB): {largest(venv)}", flush=True)
    base = sizes["base: pip install ."] / 1e6
    met = base < GOAL_MB
    print(f"goal: base install under {GOAL_MB:.0f} MB: {'met' if met else 'MISSED'} ({base:.1f} MB)")
    return 0 if met else 1


if __name__ == "__main__":
    os.environ.setdefault("PIP_NO_INPUT", "1")
    sys.exit(main())
