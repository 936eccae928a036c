"""The examples of the README and the docs/ pages are run as written, so docs that drift from the tool fail CI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.paths import ROOT
from tests.support.readme_examples import all_examples, examples, make_sandbox, matches, produce, regenerate
from tests.support.snapshot import git, snapshot

README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = [README] + [page.read_text(encoding="utf-8") for page in sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent

# Commands the README shows that this test does not run, and why (each is tested elsewhere).
NOT_RUN = {
    "sfn-cache wrap FILE": "a synopsis, not a command",
    "sfn-cache build-lambda": "builds with pip from the package registry: tests/deploy/test_build_lambda.py (slow)",
    "sfn-cache ls --bucket s3://ml-cache/prod": "names a real bucket: tests/cli/test_cache_commands.py",
    "sfn-cache ls --bundle model": "names a real bucket: tests/cli/test_cache_commands.py",
    "sfn-cache show 3f9a2c": "names a real bucket: tests/cli/test_cache_commands.py",
    "sfn-cache rm --": "names a real bucket: tests/cli/test_cache_commands.py",
    "sfn-cache stats": "reads a real bucket: tests/cli/test_stats_doctor.py",
    "sfn-cache doctor": "checks a real bucket: tests/cli/test_stats_doctor.py",
    "sfn-cache verify FILE": "a synopsis, not a command",
    "sfn-cache run FILE": "a synopsis, not a command",
}



def section(title: str, page: str = README) -> str:
    start = page.index(f"\n## {title}\n")
    end = page.find("\n## ", start + 1)
    return page[start:end if end != -1 else len(page)]


def shell(script: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``script`` with bash -e in its own process group (killed as a group if it overruns)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "SFN_CACHE_BUCKET", "SFN_CACHE_CONTEXT"):
        env.pop(name, None)
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"timed out:\n{out}\n{err}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def sandbox(tmp_path) -> Path:
    """The files the README's examples name: the example pipeline under the names the text uses."""
    return make_sandbox(tmp_path)


@pytest.fixture
def clone(tmp_path) -> Path:
    """A snapshot clone of this tree (tests/support/snapshot.py), with its own TMPDIR."""
    (tmp_path / "clone").mkdir()
    (tmp_path / "tmp").mkdir()
    snapshot(tmp_path / "clone")
    return tmp_path / "clone"


def untracked(clone: Path) -> list[str]:
    """What ``git status`` shows in ``clone``: changed or new files, not the ignored ones (.venv, build)."""
    return sorted(git("status", "--porcelain", "--untracked-files=all", cwd=clone).splitlines())


def test_try_it_without_aws_works_as_written(clone):
    """In a clone, the steps work as written and write nothing into it (their files go to a scratch
    directory: a sfn-cache.yaml left in the clone would change what a later ``wrap --check`` compares)."""
    block = re.search(r"```bash\n(.*?)```", section("Try it without AWS"), re.S).group(1)
    port = str(free_port())
    result = shell(f"export TMPDIR={clone.parent / 'tmp'}\n" + block.replace("5000", port), clone)
    assert result.returncode == 0, result.stdout + result.stderr
    assert untracked(clone) == []
    assert (next((clone.parent / "tmp").iterdir()) / "sfn-cache.yaml").exists()
    out = result.stdout
    assert re.search(r"^first pull: miss key=([0-9a-f]{64})$", out, re.M), out
    assert "push: stored=True" in out and "second pull: hit" in out
    assert 'cached result: {"Id": "jr_1", "JobRunState": "SUCCEEDED"}' in out
    table = [line for line in out.splitlines() if line.startswith("PrepareFeatures ")]
    assert len(table) == 1 and "inline+bundle" in table[0]
    assert "1 cached result(s) in s3://demo-cache/team" in result.stderr  # the configuration's bucket
    assert re.search(r"^result: +\{$", out, re.M) and "removed PrepareFeatures" in out
    assert result.stderr.rstrip().endswith("0 cached result(s) in s3://demo-cache/team")


@pytest.mark.slow
def test_the_quick_start_works_as_written_and_writes_only_its_output(clone):
    """The quick start's install and wrap, as written (pip from the package registry, ~60 s); its verify
    line with this environment's sfn-cache (the verify extra is the test extras' own)."""
    quick = section("Quick start (fresh machine, no AWS account needed)")
    install, verify = [line.strip() for line in quick.splitlines() if line.startswith("    python3 -m venv .venv &&")
                       or line.startswith("    .venv/bin/pip install '.[verify]'")][:2]
    assert "sfn-cache wrap" in install and "sfn-cache verify" in verify
    result = shell(install, clone, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    local_verify = verify.split(" && ", 1)[1].replace(".venv/bin/sfn-cache", "sfn-cache")
    result = shell(local_verify, clone)
    assert result.returncode == 0, result.stdout + result.stderr
    assert untracked(clone) == ["?? cached.asl.json"]
    lean = subprocess.run([str(clone / ".venv/bin/python"), "-c", "import disdat"], capture_output=True)
    assert lean.returncode != 0, "pip install . brings no disdat (the cache extra does)"


def readme_commands() -> list[str]:
    """Every ``sfn-cache`` command line in the code blocks of the README and docs/ (continuations joined)."""
    commands = []
    for page in PAGES:
        commands += page_commands(page.splitlines())
    return commands


def page_commands(lines: list[str]) -> list[str]:
    commands = []
    in_fence = False
    for index, line in enumerate(lines):
        if line.startswith("```"):
            in_fence = not in_fence
        code = line.strip() if (in_fence or line.startswith("    ")) else ""
        code = code[2:] if code.startswith("$ ") else code
        if not code.startswith("sfn-cache "):
            continue
        while code.endswith("\\"):
            index += 1
            code = code[:-1] + lines[index].strip()
        commands.append(re.sub(r"\s+#\s.*$", "", code).strip())
    return commands


TRY_SECTION_COMMANDS = set(re.findall(r"^(sfn-cache [^#\n]*?)\s*(?:#.*)?$", section("Try it without AWS"), re.M))


@pytest.mark.parametrize("command", [c for c in readme_commands() if c not in TRY_SECTION_COMMANDS
                                     and not any(c.startswith(skip) for skip in NOT_RUN)])
def test_readme_command_runs(sandbox, command):
    result = shell(command, sandbox, timeout=120)
    allowed = (0, 1) if ("--check" in command or "--diff" in command) else (0,)
    assert result.returncode in allowed, result.stderr
    assert not [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_readme_runs_the_commands_it_shows():
    """The parametrised list above is not empty by accident: wrap, explain, --check and --diff are in it."""
    run = [c for c in readme_commands() if not any(c.startswith(skip) for skip in NOT_RUN)]
    for verb in ("sfn-cache wrap", "sfn-cache explain", "--check", "--diff"):
        assert any(verb in command for command in run), verb


EXAMPLES = all_examples()


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_every_marked_output_example_is_what_the_tool_prints(sandbox, example):
    """Regenerate with ``python -m tests.support.readme_examples`` (docs/testing.md)."""
    result = produce(example, sandbox)
    assert result.returncode in (0, 1), result.stderr
    actual = [line.rstrip() for line in result.stdout.splitlines()]
    assert matches(example.expected, actual), (
        f"{example.where}: `{example.command}` prints something else; to update the page, run "
        f"python -m tests.support.readme_examples\n" + "\n".join(actual))


def test_regeneration_writes_what_the_tool_prints_and_keeps_the_cuts(sandbox, tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n<!-- sfn-cache-example -->\n    $ sfn-cache explain examples/ml_pipeline.asl.json\n"
                    "    STATE  stale\n    ...\n\nMore.\n\n"
                    "<!-- sfn-cache-example: sfn-cache graph examples/ml_pipeline.asl.json -->\n"
                    "```mermaid\nstale\n```\n")
    changed = regenerate(sandbox, [page])
    assert len(changed) == 2
    explain, graph = examples(page)
    assert len(explain.expected) == 2 and explain.expected[0].startswith("STATE ") and explain.expected[1] == "..."
    drawn = produce(graph, sandbox).stdout
    assert graph.expected == drawn.splitlines() and drawn.startswith("flowchart")
    text = page.read_text()
    assert text.startswith("Text.\n\n") and "\n    ...\n\nMore.\n" in text and text.endswith("```\n")
    assert regenerate(sandbox, [page]) == []  # regenerated once, up to date


def test_the_output_examples_are_marked():
    """The examples this test holds (explain, graph, verify and run), so that none loses its marker."""
    commands = [example.command.split()[1] for example in EXAMPLES]
    assert {"explain", "graph", "verify", "run"} <= set(commands), commands


ERROR_EXAMPLES = [
    ({"definition.asl.json": '{"StartAt": "Train", "States": {"Train": {"Type": "Task", "Resource": '
                             '"arn:aws:lambda:us-east-1:1:function:t", "Next": "Evaluat"}, '
                             '"Evaluate": {"Type": "Succeed"}}}'}, ""),
    ({"pyproject.toml": "[tool.sfn-cache.files.'definition.asl.json'.states.Trian]\nttl = '1h'\n"}, ""),
    ({}, "--bundle-name Trian=model"),
]


@pytest.mark.parametrize("files, flags", ERROR_EXAMPLES)
def test_readme_error_examples_are_what_wrap_prints(sandbox, files, flags):
    """Each ``error:`` line the README shows, reproduced by the situation its text describes."""
    for name, text in files.items():
        (sandbox / name).write_text(text)
    result = shell(f"sfn-cache wrap definition.asl.json -o cached.asl.json {flags}", sandbox)
    assert result.returncode == 2
    assert result.stderr.strip() in README_ERRORS, result.stderr


README_ERRORS = [line.strip() for page in PAGES for line in page.splitlines() if line.startswith("    error: ")]


def test_every_readme_error_example_is_reproduced():
    assert len(README_ERRORS) == len(ERROR_EXAMPLES)
