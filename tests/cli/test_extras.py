"""A command whose extra is not installed says which one in one line (exit 2); the base install's
commands and every ``--help`` work without it.

disdat is hidden from a fresh interpreter by a ``sitecustomize`` whose path finder does not see it,
as in a base install (tests/docs/test_hooks.py checks a real one, built by the shipped action).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.paths import EXAMPLE, ROOT

HIDE = '''
import sys
from importlib.machinery import PathFinder

class Hidden(PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        return None if name.split(".")[0] in {HIDDEN!r} else PathFinder.find_spec(name, path, target)

sys.meta_path[sys.meta_path.index(PathFinder)] = Hidden
'''


def without(hidden: set[str], tmp_path, *args: str) -> subprocess.CompletedProcess:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(HIDE.replace("{HIDDEN!r}", repr(sorted(hidden))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    return subprocess.run([sys.executable, "-m", "sfn_cache", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_probe_hides_the_module(tmp_path):
    probe = without({"disdat"}, tmp_path, "--version")
    assert probe.returncode == 0
    site = tmp_path / "site"
    hidden = subprocess.run([sys.executable, "-c", "import disdat"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(site)})
    assert "No module named 'disdat'" in hidden.stderr


@pytest.mark.parametrize("args, extra", [
    (["show", "abc123"], "cache"),
    (["doctor", "--bucket", "s3://b/p"], "cache"),
    (["verify", str(EXAMPLE)], "verify"),
    (["run", str(EXAMPLE), "--input", str(EXAMPLE)], "verify"),
])
def test_a_command_without_its_extra_names_it_in_one_line(tmp_path, args, extra):
    result = without({"disdat"}, tmp_path, *args)
    assert result.returncode == 2
    assert result.stderr == (f"error: {args[0]} needs disdat, which is not installed; "
                             f"run: pip install '.[{extra}]' from a clone of the repository\n")
    assert result.stdout == ""


@pytest.mark.parametrize("args", [["show", "--help"], ["verify", "--help"]])
def test_help_works_without_the_extra(tmp_path, args):
    result = without({"disdat", "moto"}, tmp_path, *args)
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_the_base_commands_work_without_disdat_and_moto(tmp_path):
    wrapped = without({"disdat", "moto", "pandas", "numpy"}, tmp_path, "wrap", str(EXAMPLE), "-o", "out.json")
    assert wrapped.returncode == 0, wrapped.stderr
    checked = without({"disdat", "moto", "pandas", "numpy"}, tmp_path, "wrap", str(EXAMPLE), "-o", "out.json",
                      "--check")
    assert checked.returncode == 0, checked.stderr
    for command in ("explain", "graph"):
        shown = without({"disdat", "moto", "pandas", "numpy"}, tmp_path, command, str(EXAMPLE))
        assert shown.returncode == 0 and shown.stdout, shown.stderr
