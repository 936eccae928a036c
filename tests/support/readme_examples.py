"""The marked output examples of the README and docs/*.md: found, produced by the tool, and regenerated.

A block of tool output in a page is marked by an HTML comment on the line before it:

    <!-- sfn-cache-example -->               the block's first line is `$ COMMAND`, the rest its stdout
    <!-- sfn-cache-example: COMMAND -->      the whole block is COMMAND's stdout

The block is indented by 4 spaces or fenced (```). COMMAND runs with bash in a sandbox holding the
files the pages name (``make_sandbox``), with no COLUMNS (a pipe: whole rows). A line ``...``
(indented or not) stands for any lines the page leaves out; a block's text after a ``...`` starts at
the line of the output equal to its first line. Trailing blanks are not compared (tables pad their last column).

tests/docs/test_readme.py compares every block with what the tool prints. After a change to an output:

    python -m tests.support.readme_examples          # rewrites the marked blocks in place
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.cli import SAM_TEMPLATE
from tests.support.paths import ROOT

MARKER = re.compile(r"^<!-- sfn-cache-example(?::\s*(?P<command>.*?))?\s*-->$")
ELIDED = "..."
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Example:
    page: Path
    line: int  # 0-based index of the block's first line (after a `$ COMMAND` line, if any)
    end: int  # index after the block's last line
    command: str
    expected: list[str]
    indent: str

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line + 1}"


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def examples(page: Path) -> list[Example]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    for index, line in enumerate(lines):
        marked = MARKER.match(line.strip())
        if not marked:
            continue
        start = index + 1
        if lines[start].startswith("```"):
            start += 1
            end = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
            indent = ""
        else:
            end = next((i for i in range(start, len(lines)) if not lines[i].startswith("    ")), len(lines))
            indent = "    "
        block = [text[len(indent):] for text in lines[start:end]]
        command = marked.group("command")
        if command is None:
            if not block or not block[0].startswith("$ "):
                raise ValueError(f"{page.name}:{start + 1}: an unnamed example starts with `$ COMMAND`")
            command, block, start = block[0][2:], block[1:], start + 1
        found.append(Example(page, start, end, command, [text.rstrip() for text in block], indent))
    return found


def all_examples() -> list[Example]:
    return [example for page in pages() for example in examples(page)]


def make_sandbox(path: Path) -> Path:
    """The files the pages' examples name: the example pipeline under the names the text uses."""
    shutil.copytree(ROOT / "examples", path / "examples")
    example = (ROOT / "examples" / "ml_pipeline.asl.json").read_text()
    for name in ("definition.asl.json", "pipeline.asl.json", "statemachine/pipeline.asl.json"):
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(example)
    (path / "template.yaml").write_text(SAM_TEMPLATE)
    (path / "template.json").write_text(
        '{"Resources": {"TrainingPipeline": {"Type": "AWS::StepFunctions::StateMachine", '
        '"Properties": {"Definition": ' + example + '}}, "SfnCacheFunction": {"Type": "AWS::Lambda::Function", '
        '"Properties": {"Handler": "sfn_cache.runtime.handler.lambda_handler"}}}}\n')
    (path / "serverless.yml").write_text(  # JSON is YAML: the plugin's layout around the example
        "service: pipeline\nstepFunctions:\n  stateMachines:\n    pipeline:\n      definition: " + " ".join(
            example.split()) + "\nplugins:\n  - serverless-step-functions\n")
    return path


def produce(example: Example, sandbox: Path) -> subprocess.CompletedProcess:
    """Run the example's command in ``sandbox`` with this interpreter's console script first on PATH."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "SFN_CACHE_BUCKET", "SFN_CACHE_CONTEXT", "COLUMNS"):
        env.pop(name, None)
    return subprocess.run(["bash", "-euo", "pipefail", "-c", example.command], cwd=sandbox, env=env,
                          capture_output=True, text=True, timeout=300)


def matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` equals ``actual`` where each ``...`` line stands for any lines (none included)."""
    cuts = [index for index, line in enumerate(expected) if line.strip() == ELIDED]
    if not cuts:
        return expected == actual
    cut = cuts[0]
    head, rest = expected[:cut], expected[cut + 1:]
    if actual[:len(head)] != head:
        return False
    return any(matches(rest, actual[start:]) for start in range(len(head), len(actual) + 1))


def regenerated(expected: list[str], actual: list[str], where: str) -> list[str]:
    """``expected``'s shape (its ``...`` cuts and the line that starts each part) over ``actual``'s lines."""
    parts: list[list[str]] = []
    cuts: list[str] = []  # each ``...`` line as written (its indentation kept)
    current: list[str] = []
    for line in expected:
        if line.strip() == ELIDED:
            parts.append(current)
            cuts.append(line)
            current = []
        else:
            current.append(line)
    parts.append(current)
    out: list[str] = []
    at = 0
    for number, part in enumerate(parts):
        if number:
            out.append(cuts[number - 1])
            if not part:
                continue
            anchors = [i for i in range(at, len(actual)) if actual[i] == part[0]]
            if not anchors:
                raise SystemExit(f"{where}: the output has no line {part[0]!r} any more: edit the block by hand")
            at = anchors[0]
        out += actual[at:at + len(part)] if (number or len(parts) > 1) else actual
        at += len(part)
    return out


def regenerate(sandbox: Path, where: list[Path] | None = None) -> list[str]:
    """Rewrite every marked block of the pages (default: all) with the tool's output; the blocks changed."""
    changed = []
    for page in pages() if where is None else where:
        before = len(changed)
        lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
        for example in reversed(examples(page)):  # bottom up: earlier indexes stay valid
            result = produce(example, sandbox)
            if result.returncode not in (0, 1):
                raise SystemExit(f"{example.where}: `{example.command}` failed: {result.stderr.strip()}")
            actual = [line.rstrip() for line in result.stdout.splitlines()]
            new = regenerated(example.expected, actual, example.where)
            if new != example.expected:
                lines[example.line:example.end] = [f"{example.indent}{line}".rstrip() + "\n" for line in new]
                changed.append(example.where)
        if len(changed) > before:
            page.write_text("".join(lines), encoding="utf-8")
    return changed


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sfn-cache-examples-") as tmp:
        changed = regenerate(make_sandbox(Path(tmp)))
    print("\n".join(f"regenerated {where}" for where in changed) or "every marked example is up to date")


if __name__ == "__main__":
    main()
