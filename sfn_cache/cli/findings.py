"""What ``wrap --check``/``--diff`` and ``explain`` found, for people or for CI: text, JSON, GitHub
workflow-command annotations, or a SARIF 2.1.0 log (code scanning).

A finding names a file and a line (1 when no better one is known), a level and a rule id. The
formats are ruff's and cfn-lint's: ``--output-format github`` prints ``::error file=F,line=L::message``
lines, which a GitHub Actions runner shows on the pull request's diff.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sfn_cache import __version__

FORMATS = ("text", "json", "github", "sarif")
FORMAT_HELP = ("How findings are printed: text, json, github (workflow annotations) or sarif (SARIF 2.1.0), "
               "on stdout.")
RULES = {  # rule id -> what it means (SARIF's rule descriptions)
    "out-of-date": "The file differs from what sfn-cache wrap writes with these options: run the command given.",
    "not-cached": "A Task state that wrap leaves as written (the message says why).",
    "warning": "Something wrap or explain warns about (the message says what).",
}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "note": "notice"}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    level: str  # error, warning or note (SARIF's levels)
    rule: str  # a key of RULES
    message: str

    def text(self) -> str:
        return f"{self.file}: {self.message}"


def first_difference(before: str | None, after: str) -> int:
    """The 1-based line where ``after`` first differs from ``before`` (1 when there is no ``before``)."""
    if before is None:
        return 1
    old, new = before.splitlines(), after.splitlines()
    for number, (a, b) in enumerate(zip(old, new), start=1):
        if a != b:
            return number
    return min(len(old), len(new)) + 1 if len(old) != len(new) else 1


def state_line(text: str, state: str) -> int:
    """The line where ``state`` is first written as a key (JSON or YAML), else 1: an annotation's place."""
    key = re.compile(rf"""(^|[\s{{,])["']?{re.escape(state)}["']?\s*:""")
    for number, line in enumerate(text.splitlines(), start=1):
        if key.search(line):
            return number
    return 1


def render(findings: list[Finding], fmt: str) -> str:
    """``findings`` as ``fmt`` (not text: each command words its own text), ending with a newline
    unless there is nothing to print."""
    if fmt == "json":
        return json.dumps([finding.__dict__ for finding in findings], indent=2, ensure_ascii=False) + "\n"
    if fmt == "github":
        return "".join(_github(finding) + "\n" for finding in findings)
    if fmt == "sarif":
        return json.dumps(sarif(findings), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(fmt)


def _github(finding: Finding) -> str:
    """A workflow command; its values escaped as the runner reads them (%, CR, LF; also : and , in
    the properties)."""
    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:
        return data(text).replace(":", "%3A").replace(",", "%2C")

    return (f"::{_GITHUB_LEVEL[finding.level]} file={prop(finding.file)},line={finding.line},"
            f"title={prop('sfn-cache ' + finding.rule)}::{data(finding.message)}")


def sarif(findings: list[Finding]) -> dict:
    """A minimal valid SARIF 2.1.0 log: one run, the rules used, a result per finding."""
    used = sorted({finding.rule for finding in findings})
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sfn-cache", "version": __version__,
                "rules": [{"id": rule, "shortDescription": {"text": RULES[rule]}} for rule in used],
            }},
            "results": [{
                "ruleId": finding.rule, "ruleIndex": used.index(finding.rule), "level": finding.level,
                "message": {"text": finding.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(finding.file)},
                                                    "region": {"startLine": finding.line}}}],
            } for finding in findings],
        }],
    }


def _uri(path: str) -> str:
    """A relative path as SARIF wants it: forward slashes, percent-encoded where a URI must be."""
    from urllib.parse import quote

    return quote(path.replace("\\", "/"))
