"""The benchmark scripts still run against this tree (smoke, no timing asserted).

Why: CI does not run benchmarks, and three of them silently stopped working when the protocol
moved on (they spelled its number) or when the handler began refusing a sibling bucket. Each script
checks what it measures (hits hit, misses miss, executions succeed, disdat stays out of an inlined
hit) and exits non-zero otherwise. ``cached_bytes.py`` is deterministic, so its bytes goal (issue 13)
is held here too; timed goals (wrap_scaling, cli_startup) are not, being the machine's; install_size builds venvs with
pip from the package registry (minutes; tests/docs/test_hooks.py checks the base install has no disdat).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.paths import ROOT

BENCHMARKS = ROOT / "benchmarks"


@pytest.mark.parametrize("script,env", [
    ("cached_bytes.py", {}),
    ("key_cost.py", {}),
    ("transitions.py", {}),
    ("lookup_cost.py", {"LOOKUP_SIZES": "1,3"}),
    ("import_time.py", {}),
])
def test_the_benchmark_runs_and_its_checks_pass(script, env):
    done = subprocess.run([sys.executable, str(BENCHMARKS / script)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)
    assert done.returncode == 0, f"{script}: {done.stdout[-1500:]}\n{done.stderr[-1500:]}"
    if script == "cached_bytes.py":
        assert done.stdout.rstrip().endswith("status: all goals met"), done.stdout
