"""Fuzz ``wrap``/``explain``/``graph`` with the hostile inputs of tests/hostile_inputs.py (issue 15).

For every case: no traceback, no run past CASE_BOUND_SECONDS, exit code 0, 1 or 2 only, exit 2 with
exactly one ``error:`` line, no file created or changed except the ``-o`` target and the wrapped
DefinitionUri copy beside it, and a written output that reloads as JSON/YAML and wraps again.
Most cases run in-process through click's runner (fast); every SAMPLE_EVERY-th case also runs
through the real ``sfn-cache`` console script in a subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sfn_cache.cli import cli
from tests.support.hostile_inputs import Case, all_cases

CASE_BOUND_SECONDS = 30  # the stated bound for any one input (the slowest honest case takes ~2 s)
SAMPLE_EVERY = 20
CONSOLE_SCRIPT = Path(sys.executable).with_name("sfn-cache")
CASES = all_cases()
TALLY: Counter = Counter()


class Hung(Exception):
    pass


def _alarm(signum, frame):
    raise Hung(f"ran longer than {CASE_BOUND_SECONDS} s")


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root: its kind and, for regular files, a digest of the bytes."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            mode = os.lstat(path).st_mode
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(mode) else None
            found[str(path.relative_to(root))] = (stat.S_IFMT(mode), digest)
    return found


def prepare(case: Case, root: Path) -> None:
    for relative, content in case.files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        content = content.replace(b"{outside}", str(root / "outside.asl.json").encode())
        path.write_bytes(content.replace(b"{inside}", str(root / "in" / "sm.asl.json").encode()))
    if case.setup is not None:
        case.setup(root)


def command_for(index: int, case: Case, root: Path) -> list[str]:
    target = str(root / case.target)
    if index % 7 == 3:
        return ["explain", target, "--no-config"]
    if index % 7 == 5:
        return ["graph", target, "--no-config", "-o", str(root / case.output)]
    return ["wrap", target, "--no-config", "-o", str(root / case.output)]


def run_in_process(args: list[str], cwd: Path) -> tuple[int, str, str, BaseException | None]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_BOUND_SECONDS)
    here = os.getcwd()
    try:
        os.chdir(cwd)
        result = CliRunner().invoke(cli, args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(here)
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.stdout, result.stderr, exception


def run_console_script(args: list[str], cwd: Path) -> tuple[int, str, str, BaseException | None]:
    proc = subprocess.run([str(CONSOLE_SCRIPT), *args], cwd=cwd, capture_output=True, text=True,
                          errors="backslashreplace", timeout=CASE_BOUND_SECONDS, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr, None


def allowed_changes(case: Case, root: Path, args: list[str]) -> tuple[set[str], Path | None]:
    """Existing paths that may change (the -o target) and the directory new files may appear in."""
    if "-o" not in args:
        return set(), None
    output = Path(args[args.index("-o") + 1])
    return {str(output.relative_to(root))}, output.parent


def check_files(before: dict, after: dict, case: Case, root: Path, args: list[str], code: int) -> None:
    may_change, new_dir = allowed_changes(case, root, args)
    if code == 2:
        assert after == before, (
            f"{case.name}: a refused input changed files: {set(after.items()) ^ set(before.items())}")
        return
    for path, entry in before.items():
        if path not in may_change:
            assert after.get(path) == entry, f"{case.name}: {path} changed or vanished"
    for path in set(after) - set(before):
        created = (root / path).resolve()
        assert new_dir is not None and (created.is_relative_to(new_dir.resolve())
                                        or new_dir.resolve().is_relative_to(created)), \
            f"{case.name}: created {path} outside the output directory"
        assert not Path(path).name.endswith(".tmp"), f"{case.name}: left a temp file {path}"


def check_output_reloads_and_rewraps(case: Case, root: Path, args: list[str]) -> None:
    output = Path(args[args.index("-o") + 1])
    text = output.read_text(encoding="utf-8")
    document = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    assert isinstance(document, dict), f"{case.name}: output does not reload as an object"
    again = root / "again" / output.name
    code, _, stderr, exception = run_in_process(["wrap", str(output), "--no-config", "-o", str(again)], root)
    assert exception is None and code == 0, f"{case.name}: the output does not wrap again: {stderr}"


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.name for case in CASES])
def test_hostile_input(index, tmp_path):
    case = CASES[index]
    root = tmp_path / "work"
    root.mkdir()
    prepare(case, root)
    args = command_for(index, case, root)
    before = snapshot(root)
    try:
        runner = run_console_script if index % SAMPLE_EVERY == 0 else run_in_process
        code, stdout, stderr, exception = runner(args, root)
    finally:
        for directory, _, _ in os.walk(root):  # undo read-only directories so tmp_path can be removed
            os.chmod(directory, 0o755)
    assert not isinstance(exception, Hung), f"{case.name}: ran past {CASE_BOUND_SECONDS} s"
    assert exception is None, f"{case.name}: {type(exception).__name__}: {exception}"
    assert "Traceback" not in stderr + stdout, f"{case.name}: {stderr}"
    assert code in (0, 1, 2), f"{case.name}: exit {code}: {stderr}"
    if code == 2:
        assert stderr.count("\n") == 1 and stderr.startswith("error: "), f"{case.name}: {stderr!r}"
    check_files(before, snapshot(root), case, root, args, code)
    if code == 0 and args[0] == "wrap":
        check_output_reloads_and_rewraps(case, root, args)
    TALLY[(case.kind, code)] += 1


def test_the_fuzz_covers_every_class():
    kinds = Counter(case.kind for case in CASES)
    assert len(CASES) >= 300
    assert set(kinds) == {"traceback", "hang", "wrong-output", "writes", "message", "honest"}
    assert len({case.name for case in CASES}) == len(CASES), "case names are unique"
