"""The examples of the README and the docs/ pages are run as written, so docs that drift from the tool fail CI."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import SAM_TEMPLATE
from tests.support.net import free_port
from tests.support.paths import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
USAGE = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")  # where the explain, graph and error examples live
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
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    example = (ROOT / "examples" / "ml_pipeline.asl.json").read_text()
    for name in ("definition.asl.json", "pipeline.asl.json", "statemachine/pipeline.asl.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(example)
    (tmp_path / "template.yaml").write_text(SAM_TEMPLATE)
    (tmp_path / "template.json").write_text(
        '{"Resources": {"TrainingPipeline": {"Type": "AWS::StepFunctions::StateMachine", '
        '"Properties": {"Definition": ' + example + '}}, "SfnCacheFunction": {"Type": "AWS::Lambda::Function", '
        '"Properties": {"Handler": "sfn_cache.runtime.handler.lambda_handler"}}}}\n')
    (tmp_path / "serverless.yml").write_text(  # JSON is YAML: the plugin's layout around the example
        "service: pipeline\nstepFunctions:\n  stateMachines:\n    pipeline:\n      definition: " + " ".join(
            example.split()) + "\nplugins:\n  - serverless-step-functions\n")
    return tmp_path


def test_try_it_without_aws_works_as_written(sandbox):
    block = re.search(r"```bash\n(.*?)```", section("Try it without AWS"), re.S).group(1)
    port = str(free_port())
    result = shell(block.replace("5000", port), sandbox)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"^first pull: miss key=([0-9a-f]{64})$", out, re.M), out
    assert "push: stored=True" in out and "second pull: hit" in out
    assert 'cached result: {"Id": "jr_1", "JobRunState": "SUCCEEDED"}' in out
    table = [line for line in out.splitlines() if line.startswith("PrepareFeatures ")]
    assert len(table) == 1 and "inline+bundle" in table[0]
    assert "1 cached result(s) in s3://demo-cache/team" in result.stderr  # the configuration's bucket
    assert re.search(r"^result: +\{$", out, re.M) and "removed PrepareFeatures" in out
    assert result.stderr.rstrip().endswith("0 cached result(s) in s3://demo-cache/team")


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


def test_readme_explain_output_is_what_explain_prints(sandbox):
    text = section("`sfn-cache explain` and `sfn-cache graph`", USAGE)
    shown = re.search(r"    \$ (sfn-cache explain .*)\n((?:    .*\n)+)", text)
    result = shell(shown.group(1) + " --no-config", sandbox)
    assert result.returncode == 0, result.stderr
    actual = [line.rstrip() for line in result.stdout.splitlines()]
    expected = [line[4:].rstrip() for line in shown.group(2).splitlines() if line.strip() != "..."]
    assert expected and all(line in actual for line in expected), "\n".join(actual)


def test_readme_graph_is_what_graph_prints(sandbox):
    text = section("`sfn-cache explain` and `sfn-cache graph`", USAGE)
    command = re.search(r"`(sfn-cache graph [^`]*)` gives:", text).group(1)
    picture = re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)
    result = shell(command + " --no-config", sandbox)
    assert result.returncode == 0, result.stderr
    assert result.stdout == picture


ERROR_EXAMPLES = [
    ({"definition.asl.json": '{"StartAt": "Train", "States": {"Train": {"Type": "Task", "Resource": '
                             '"arn:aws:lambda:us-east-1:1:function:t", "Next": "Evaluat"}, '
                             '"Evaluate": {"Type": "Succeed"}}}'}, ""),
    ({"pyproject.toml": "[tool.sfn-cache.states.Trian]\nttl = '1h'\n"}, ""),
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
