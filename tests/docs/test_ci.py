"""CI runs the test command the README gives users, and nothing weaker."""

from __future__ import annotations

import re

from tests.support.paths import ROOT

PYTEST = re.compile(r"python -m pytest( [^\n&|;]*)?$", re.M)


def pytest_arguments(text: str) -> list[list[str]]:
    return [(found or "").split() for found in PYTEST.findall(text)]


def test_ci_runs_the_readme_test_command():
    readme = pytest_arguments((ROOT / "README.md").read_text(encoding="utf-8"))
    ci = pytest_arguments((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    assert len(ci) == 1 and ci[0] in readme, (ci, readme)
    assert "-n" in ci[0], "the suite runs in parallel (pytest-xdist)"
