"""The shipped pre-commit hooks and GitHub Action install sfn-cache from this repository and do what the
recipes of docs/usage.md (In CI) say.

pre-commit's ``try-repo`` takes no hook args, and both hooks need file names, so the hooks run as a
user's ``.pre-commit-config.yaml`` names them: a scratch repository whose config points at a snapshot
of this tree (its files, committed changes or not), through ``pre-commit run``. pre-commit builds
the hook's virtualenv with pip from the package registry, as the action does (about 20 s each on
2 cores, so not marked ``slow``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.paths import EXAMPLE, ROOT
from tests.support.snapshot import git, snapshot

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
USAGE = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
RECIPES = USAGE[USAGE.index("**In CI**, check"):USAGE.index("\n## ", USAGE.index("**In CI**, check"))]
PRE_COMMIT_RECIPE = yaml.safe_load(next(block for block in re.findall(r"```yaml\n(.*?)```", RECIPES, re.S)
                                        if block.startswith("repos:")))
SFN_CACHE = [sys.executable, "-m", "sfn_cache"]


def test_hooks_manifest_names_a_check_and_a_wrap_hook_installed_from_this_repository():
    by_id = {hook["id"]: hook for hook in HOOKS}
    assert set(by_id) == {"sfn-cache-check", "sfn-cache-wrap"}
    assert by_id["sfn-cache-check"]["entry"] == "sfn-cache wrap --check"
    assert by_id["sfn-cache-wrap"]["entry"] == "sfn-cache wrap"
    for hook in HOOKS:
        assert hook["language"] == "python" and hook["pass_filenames"] is False, hook
        assert "additional_dependencies" not in hook, "the repository itself is the install"


def test_action_is_a_composite_action_that_installs_from_its_own_checkout():
    assert {"name", "description", "inputs", "runs"} <= set(ACTION)
    assert ACTION["runs"]["using"] == "composite"
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description") and "default" in spec, name
    steps = ACTION["runs"]["steps"]
    assert steps and all("run" in step and step.get("shell") == "bash" for step in steps), steps
    install = steps[0]
    assert "${{ github.action_path }}" in install["env"].values()
    assert "pip install" in install["run"] and "GITHUB_PATH" in install["run"]
    for step in steps:  # inputs reach scripts through env, never pasted into the script (injection)
        assert "${{" not in step["run"], step["run"]


def test_the_recipes_use_the_shipped_hooks_and_action_not_the_package_index():
    recipes = RECIPES
    assert "pip install 'sfn-cache" not in recipes
    assert re.search(r"uses: \S+/sfn-cache@", recipes)
    for hook in HOOKS:
        assert hook["id"] in recipes, hook["id"]
    step = recipes.split("/sfn-cache@", 1)[1].split("\n      - ", 1)[0]
    inputs = set(re.findall(r"^ +(\w[\w-]*): ", step.split("with:", 1)[1], re.M))
    assert inputs and inputs <= set(ACTION["inputs"]), inputs


def test_pre_commit_runs_the_hooks_from_this_repository(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    rev = snapshot(source)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(EXAMPLE, work / "pipeline.asl.json")
    recipe = PRE_COMMIT_RECIPE["repos"][0]  # the recipe as written, pointed at the snapshot
    check = next(hook for hook in recipe["hooks"] if hook["id"] == "sfn-cache-check")
    config = {"repos": [{**recipe, "repo": str(source), "rev": rev,
                         "hooks": [check, {**check, "id": "sfn-cache-wrap"}]}]}
    (work / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git("init", "-q", cwd=work)
    git("add", "-A", cwd=work)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PYTHONPATH": ""}

    def pre_commit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files", *args], cwd=work,
                              env=env, capture_output=True, text=True, timeout=600)

    missing = pre_commit("sfn-cache-check")
    assert missing.returncode == 1, missing.stdout + missing.stderr  # no wrapped file yet
    assert pre_commit("sfn-cache-wrap").returncode == 0  # a new file: pre-commit sees only tracked changes
    expected = subprocess.run([*SFN_CACHE, "wrap", "pipeline.asl.json"], cwd=work, capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (work / "cached.asl.json").read_text() == expected.stdout
    git("add", "-A", cwd=work)
    fresh = pre_commit("sfn-cache-check")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert pre_commit("sfn-cache-wrap").returncode == 0  # wrapping a wrapped file changes nothing

    (work / "pipeline.asl.json").write_text(EXAMPLE.read_text().replace('"PrepareFeatures"', '"Prepare"'))
    stale = pre_commit("sfn-cache-check")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    rewrote = pre_commit("sfn-cache-wrap")
    assert rewrote.returncode == 1 and "files were modified by this hook" in rewrote.stdout, rewrote.stdout
    assert '"cache_pull_Prepare"' in (work / "cached.asl.json").read_text()


def test_the_action_installs_a_lean_sfn_cache_and_runs_the_command(tmp_path):
    """The action's steps as the runner runs them (bash, its env), on the base install: no disdat."""
    shutil.copy(EXAMPLE, tmp_path / "pipeline.asl.json")
    subprocess.run([*SFN_CACHE, "wrap", "pipeline.asl.json", "-o", "cached.asl.json"], cwd=tmp_path, check=True)
    runner = {**os.environ, "RUNNER_TEMP": str(tmp_path / "runner"), "GITHUB_PATH": str(tmp_path / "path"),
              "PYTHONPATH": ""}
    (tmp_path / "runner").mkdir()
    values = {"${{ github.action_path }}": str(ROOT), "${{ inputs.extras }}": "",
              "${{ inputs.args }}": "wrap pipeline.asl.json -o cached.asl.json --check"}
    for step in ACTION["runs"]["steps"]:
        env = {name: values.get(value, value) for name, value in step.get("env", {}).items()}
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env={**runner, **env},
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    path = (tmp_path / "path").read_text().strip()
    assert Path(path, "sfn-cache").exists()
    bare = subprocess.run([f"{path}/python", "-c", "import disdat"], capture_output=True, text=True)
    assert bare.returncode != 0, "the base install brings no disdat"
    refused = subprocess.run([f"{path}/sfn-cache", "show", "abc"], capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stderr == ("error: show needs disdat, which is not installed; "
                              "run: pip install '.[cache]' from a clone of the repository\n")
