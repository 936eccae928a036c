"""Generate hostile and broken inputs for ``wrap``, ``explain`` and ``graph`` (issue 15's classes).

Nothing here is committed as a blob: every case is built from a small valid definition or template
by a deterministic mutation, so the fuzz test (tests/cli/test_hostile_input_fuzz.py) sees the same cases on
every run. ``python -m tests.support.hostile_inputs`` prints the tally per class.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from typing import Callable

ARN = "arn:aws:lambda:us-east-1:123456789012:function:work"


@dataclass
class Case:
    """One input: files to create (relative path -> bytes), the file to pass, and the output name."""

    name: str
    kind: str  # the class: traceback, hang, wrong-output, writes, message, honest
    files: dict[str, bytes]
    target: str = "in/machine.asl.json"
    output: str = "out/wrapped.json"
    setup: Callable | None = field(default=None, repr=False)  # makes symlinks/FIFOs under the work dir


def base_definition() -> dict:
    return {
        "Comment": "fuzz base",
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Task", "Resource": ARN, "Parameters": {"x.$": "$.x", "n": 1}, "Next": "Pick",
                        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
                        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]},
            "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Fan"}],
                     "Default": "Done"},
            "Fan": {"Type": "Parallel", "Next": "Each", "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Task", "Resource": ARN, "End": True}}}]},
            "Each": {"Type": "Map", "ItemsPath": "$.items", "Next": "Done", "ItemProcessor": {
                "StartAt": "Item", "States": {"Item": {"Type": "Task", "Resource": ARN, "End": True}}}},
            "Failed": {"Type": "Fail", "Error": "E", "Cause": "c"},
            "Done": {"Type": "Succeed"},
        },
    }


TEMPLATE = """AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Resources:
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
{properties}
"""

DEFINITION_YAML = """      Definition:
        StartAt: Work
        States:
          Work:
            Type: Task
            Resource: {arn}
            End: true
""".format(arn=ARN)

VALUES = [None, 0, -1, 1.5, True, "", "x", [], {}, [1], {"a": 1}, "a\nb", 2 ** 70]
PATHS = [
    ("StartAt",), ("States",), ("States", "Prepare"), ("States", "Prepare", "Type"), ("States", "Prepare", "Next"),
    ("States", "Prepare", "Resource"), ("States", "Prepare", "Parameters"), ("States", "Prepare", "Catch"),
    ("States", "Prepare", "Retry"), ("States", "Prepare", "ResultPath"), ("States", "Pick", "Choices"),
    ("States", "Pick", "Default"), ("States", "Fan", "Branches"), ("States", "Each", "ItemProcessor"),
    ("States", "Done", "Type"), ("QueryLanguage",), ("States", "Prepare", "Catch", 0),
    ("States", "Pick", "Choices", 0, "Next"),
]


def _set(document: dict, path: tuple, value) -> dict:
    document = copy.deepcopy(document)
    inner = document
    for part in path[:-1]:
        inner = inner[part]
    inner[path[-1]] = value
    return document


def _json(document, **kwargs) -> bytes:
    return json.dumps(document, **kwargs).encode("utf-8")


def type_mutations() -> list[Case]:
    """Every field the rewriter follows, replaced by values of every JSON type (and some odd ones)."""
    cases = []
    for path in PATHS:
        for index, value in enumerate(VALUES):
            document = _set(base_definition(), path, value)
            cases.append(Case(f"type:{'.'.join(map(str, path))}={index}", "traceback",
                              {"in/machine.asl.json": _json(document)}))
    return cases


def _yaml_definition(states_block: str) -> bytes:
    return ("StartAt: Work\nStates:\n" + states_block).encode("utf-8")


WORK_YAML = "  Work:\n    Type: Task\n    Resource: " + ARN + "\n    End: true\n"


def _laughs(levels: int, width: int, in_template: bool) -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        name, prev = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * width) + "]")
    body = "\n".join("  " + line if in_template else line for line in lines)
    if in_template:
        return (TEMPLATE.format(properties=DEFINITION_YAML) + "Metadata:\n" + body + "\n").encode()
    return ("StartAt: Work\nStates:\n" + WORK_YAML + "Comment:\n" + "\n".join("  " + line for line in lines)
            + "\n").encode()


def yaml_types() -> list[Case]:
    """YAML that loads into what JSON lacks: odd keys, dates, binary, sets, NaN, aliases, merges."""
    cases = []
    params = {
        "date": "d: 2020-01-01", "datetime": "d: 2001-12-14t21:59:43.10-05:00", "binary": "b: !!binary aGVsbG8=",
        "set": "s: !!set {a: null}", "omap": "o: !!omap [{a: 1}]", "nan": "n: .nan", "inf": "n: -.inf",
        "overflow": "n: 1.0e+999", "overflow-string": "n: 1e999", "long-int": "n: " + "9" * 5000, "int-key": "1: x",
        "null-key": "null: x",
        "bool-key": "true: x", "list-key": "? [a, b]\n      : x", "map-key": "? {a: 1}\n      : x",
        "float-key": "1.5: x", "date-key": "2020-01-01: x", "merge": "<<: {a: 1}", "python-tag": "p: !!python/none ''",
        "tab": "t: \"a\\tb\"", "surrogate": "u: \"\\ud800\"", "nul": "u: \"\\0\"",
    }
    for name, line in params.items():
        text = ("StartAt: Work\nStates:\n  Work:\n    Type: Task\n    Resource: " + ARN + "\n    End: true\n"
                "    Parameters:\n      " + line + "\n")
        cases.append(Case(f"yaml:{name}", "traceback", {"in/machine.asl.yaml": text.encode()},
                          target="in/machine.asl.yaml", output="out/wrapped.yaml"))
    names = {"int-name": "1", "null-name": "null", "list-name": "? [a]\n ", "date-name": "2020-01-01",
             "bool-name": "yes", "newline-name": "\"a\\nb\"", "surrogate-name": "\"\\ud800\"", "nul-name": "\"\\0x\""}
    for name, key in names.items():
        text = f"StartAt: Work\nStates:\n  {key}:\n    Type: Task\n    Resource: {ARN}\n    End: true\n" + WORK_YAML
        cases.append(Case(f"yaml:{name}", "traceback", {"in/machine.asl.yaml": text.encode()},
                          target="in/machine.asl.yaml", output="out/wrapped.yaml"))
    for levels, width in ((9, 9), (12, 10), (6, 30), (3, 2000)):
        cases.append(Case(f"bomb:definition:{levels}x{width}", "hang",
                          {"in/machine.asl.yaml": _laughs(levels, width, False)},
                          target="in/machine.asl.yaml", output="out/wrapped.yaml"))
        cases.append(Case(f"bomb:template:{levels}x{width}", "hang", {"in/template.yaml": _laughs(levels, width, True)},
                          target="in/template.yaml", output="out/template.yaml"))
    quadratic = "a: &a [" + ",".join(["x"] * 3000) + "]\nb: [" + ",".join(["*a"] * 3000) + "]\n"
    cases.append(Case("bomb:quadratic", "hang", {"in/machine.asl.yaml": (WORK_YAML and _yaml_definition(WORK_YAML)
                                                                       + b"Comment:\n" + b"\n".join(
                                                                           b"  " + line.encode() for line in
                                                                           quadratic.splitlines()) + b"\n")},
                      target="in/machine.asl.yaml", output="out/wrapped.yaml"))
    cases.append(Case("bomb:recursive", "hang",
                      {"in/machine.asl.yaml": _yaml_definition(WORK_YAML) + b"Comment: &r [*r]\n"},
                      target="in/machine.asl.yaml", output="out/wrapped.yaml"))
    return cases


def numbers_and_strings() -> list[Case]:
    """JSON text with NaN/Infinity, overflowing floats, huge integers, lone surrogates, control chars."""
    cases = []
    base = json.dumps(base_definition())
    for name, literal in (("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"), ("1e999", "1e999"),
                          ("-1e400", "-1e400"), ("long-int", "9" * 5000), ("int-1000", "9" * 1000),
                          ("int-1001", "9" * 1001), ("tiny", "1e-400"), ("neg-zero", "-0.0")):
        text = base.replace('"n": 1', f'"n": {literal}')
        cases.append(Case(f"number:{name}", "wrong-output", {"in/machine.asl.json": text.encode()}))
    for name, raw in (("surrogate-value", '"x.$": "\\ud800"'), ("surrogate-key", '"\\udfff": 1, "x.$": "$.x"'),
                      ("nul-value", '"x.$": "\\u0000"'), ("bidi", '"x.$": "\\u202e$.x"')):
        text = base.replace('"x.$": "$.x"', raw)
        cases.append(Case(f"string:{name}", "traceback", {"in/machine.asl.json": text.encode()}))
    for name, new in (("newline", "Pre\npare"), ("nul", "Pre\x00pare"), ("tab", "Pre\tpare"),
                      ("surrogate", "Pre\ud800pare"), ("long", "P" * 81), ("unicode", "Prépare ✓"),
                      ("quote", "Pre'pare")):
        text = base.replace('"Prepare"', json.dumps(new))
        cases.append(Case(f"name:{name}", "message", {"in/machine.asl.json": text.encode()}))
    return cases


def nesting() -> list[Case]:
    cases = []
    for depth in (150, 250, 3000, 20000):
        inner = "[" * depth + "]" * depth
        text = json.dumps(base_definition()).replace('"n": 1', f'"n": {inner}')
        cases.append(Case(f"deep:json-parameters:{depth}", "traceback", {"in/machine.asl.json": text.encode()}))
        cases.append(Case(f"deep:json-top:{depth}", "traceback", {"in/machine.asl.json": inner.encode()}))
        yaml_inner = "a: " + "[" * depth + "]" * depth + "\n"
        cases.append(Case(f"deep:yaml:{depth}", "traceback",
                          {"in/machine.asl.yaml": _yaml_definition(WORK_YAML) + b"Comment:\n  " + yaml_inner.encode()},
                          target="in/machine.asl.yaml", output="out/wrapped.yaml"))
    block = "".join("  " * i + f"k{i}:\n" for i in range(1, 400))
    cases.append(Case("deep:yaml-block", "traceback", {"in/machine.asl.yaml": _yaml_definition(WORK_YAML)
                                                      + b"Comment:\n" + block.encode() + b"  " * 400 + b"x: 1\n"},
                      target="in/machine.asl.yaml", output="out/wrapped.yaml"))
    return cases


def encodings() -> list[Case]:
    text = json.dumps(base_definition(), indent=2)
    rng = random.Random(15)
    blobs = {
        "utf-16-le-bom": text.encode("utf-16"), "utf-16-be-bom": b"\xfe\xff" + text.encode("utf-16-be"),
        "utf-16-no-bom": text.encode("utf-16-le"), "utf-32": text.encode("utf-32"),
        "utf-8-bom": b"\xef\xbb\xbf" + text.encode(), "nul-prefix": b"\x00" + text.encode(),
        "nul-inside": text.encode()[:50] + b"\x00" + text.encode()[50:],
        "latin-1": text.replace("fuzz", "f\xfczz").encode("latin-1"),
        "random-1": bytes(rng.randrange(256) for _ in range(64)),
        "random-2": bytes(rng.randrange(256) for _ in range(4096)),
        "png-header": b"\x89PNG\r\n\x1a\n" + bytes(32), "gzip": b"\x1f\x8b\x08\x00" + bytes(20),
        "empty": b"", "whitespace": b" \n\t\n", "bom-only": b"\xef\xbb\xbf", "cr-only": b"\r\r\r",
        "just-null": b"null", "just-number": b"42", "just-string": b'"x"', "array": b"[1,2]",
        "yaml-scalar": b"hello", "yaml-doc-separators": b"---\n---\n", "two-docs": b"StartAt: A\n---\nStartAt: B\n",
    }
    cases = [Case(f"encoding:{name}", "message", {"in/machine.asl.json": blob}) for name, blob in blobs.items()]
    for cut in range(1, len(text), max(1, len(text) // 12)):
        cases.append(Case(f"truncated:{cut}", "message", {"in/machine.asl.json": text[:cut].encode()}))
    return cases


def _template(properties: str, extra: str = "") -> bytes:
    return (TEMPLATE.format(properties=properties) + extra).encode()


def templates() -> list[Case]:
    cases = []
    shapes = {
        "resources-list": "AWSTemplateFormatVersion: 2010-09-09\nResources: [a, b]\n",
        "resources-string": "AWSTemplateFormatVersion: 2010-09-09\nResources: nope\n",
        "resources-null": "AWSTemplateFormatVersion: 2010-09-09\nResources:\n",
        "resource-list": "Resources:\n  Machine: [1]\n",
        "resource-string": "Resources:\n  Machine: x\n",
        "type-list": "Resources:\n  Machine:\n    Type: [AWS::Serverless::StateMachine]\n",
    }
    for name, text in shapes.items():
        cases.append(Case(f"template:{name}", "traceback", {"in/template.yaml": text.encode()},
                          target="in/template.yaml", output="out/template.yaml"))
    properties = {
        "properties-list": "      - a", "properties-string": "      x", "properties-null": "",
        "definition-string": "      Definition: x", "definition-list": "      Definition: [1]",
        "definitionstring-int": "      DefinitionString: 5", "definitionstring-list": "      DefinitionString: [a]",
        "sub-empty": "      DefinitionString: !Sub []", "sub-one": "      DefinitionString: !Sub ['{}']",
        "sub-map": "      DefinitionString: !Sub {a: b}", "sub-three": "      DefinitionString: !Sub ['{}', {}, x]",
        "sub-vars-list": "      DefinitionString: !Sub ['{}', [x]]", "sub-int": "      DefinitionString: !Sub 5",
        "sub-nan": "      DefinitionString: !Sub '{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Pass\", "
                   "\"Result\": NaN, \"End\": true}}}'",
        "join-empty": "      DefinitionString: !Join []", "join-bad-delim": "      DefinitionString: !Join [[1], [a]]",
        "join-parts-map": "      DefinitionString: !Join ['', {a: b}]", "getatt": "      DefinitionString: !GetAtt A.B",
        "uri-list": "      DefinitionUri: [a]", "uri-map": "      DefinitionUri: {Bucket: b, Key: k}",
        "uri-missing": "      DefinitionUri: missing.asl.json", "uri-dir": "      DefinitionUri: .",
        "uri-s3": "      DefinitionUri: s3://b/k.json", "uri-parent": "      DefinitionUri: ../outside.asl.json",
        "uri-deep-parent": "      DefinitionUri: sub/../../outside.asl.json",
        "uri-absolute-outside": "      DefinitionUri: {outside}", "uri-nul": "      DefinitionUri: \"a\\0b\"",
        "substitutions-list": DEFINITION_YAML + "      DefinitionSubstitutions: [a]",
        "substitutions-string": DEFINITION_YAML + "      DefinitionSubstitutions: x",
        "definition-date-key": ("      Definition:\n        StartAt: A\n        States:\n"
                                "          2020-01-01: {Type: Pass, End: true}"),
    }
    for name, text in properties.items():
        cases.append(Case(f"template:{name}", "traceback", {"in/template.yaml": _template(text),
                                                             "outside.asl.json": _json(base_definition())},
                          target="in/template.yaml", output="out/template.yaml"))
    function_properties = ("    Properties: [a]", "    Properties: x", "    Properties:\n      Handler: [x]")
    for index, text in enumerate(function_properties):
        extra = "  Fn:\n    Type: AWS::Serverless::Function\n" + text + "\n"
        cases.append(Case(f"template:function-properties-{index}", "traceback",
                          {"in/template.yaml": _template(DEFINITION_YAML) + extra.encode()},
                          target="in/template.yaml", output="out/template.yaml"))
    good_uri = {"in/template.yaml": _template("      DefinitionUri: sm.asl.json"),
                "in/sm.asl.json": _json(base_definition())}
    cases.append(Case("template:uri-good-build-dir", "writes", good_uri, target="in/template.yaml",
                      output="out/build/template.yaml"))
    cases.append(Case("template:uri-good-same-dir", "writes", dict(good_uri), target="in/template.yaml",
                      output="in/template.cached.yaml"))
    cases.append(Case("template:uri-absolute-inside", "writes",
                      {"in/template.yaml": _template("      DefinitionUri: {inside}"),
                       "in/sm.asl.json": _json(base_definition())},
                      target="in/template.yaml", output="out/build/template.yaml"))
    return cases


def output_paths() -> list[Case]:
    """-o onto what must never be replaced, made safely under the work directory (no real devices)."""
    import os

    def link_to_file(root):
        (root / "out").mkdir()
        (root / "out" / "real.json").write_text("keep")
        os.symlink(root / "out" / "real.json", root / "out" / "wrapped.json")

    def link_to_fifo(root):
        (root / "out").mkdir()
        os.mkfifo(root / "out" / "fifo")
        os.symlink(root / "out" / "fifo", root / "out" / "wrapped.json")

    def fifo(root):
        (root / "out").mkdir()
        os.mkfifo(root / "out" / "wrapped.json")

    def directory(root):
        (root / "out" / "wrapped.json").mkdir(parents=True)

    def dangling(root):
        (root / "out").mkdir()
        os.symlink(root / "nowhere", root / "out" / "wrapped.json")

    def read_only(root):
        (root / "out").mkdir()
        os.chmod(root / "out", 0o555)

    def parent_is_file(root):
        (root / "out").write_text("a file")

    setups = {"symlink-to-file": link_to_file, "symlink-to-fifo": link_to_fifo, "fifo": fifo, "directory": directory,
              "dangling-symlink": dangling, "read-only-dir": read_only, "parent-is-file": parent_is_file}
    cases = []
    for name, setup in setups.items():
        for target, content in (("in/machine.asl.json", _json(base_definition())),
                                ("in/template.yaml", _template(DEFINITION_YAML))):
            output = "out/wrapped.json" if name != "parent-is-file" else "out/sub/wrapped.json"
            cases.append(Case(f"output:{name}:{target.rsplit('.', 1)[-1]}", "writes", {target: content},
                              target=target, output=output, setup=setup))
    return cases


def large_honest() -> list[Case]:
    def chain(count: int) -> dict:
        states = {f"T{i}": {"Type": "Task", "Resource": ARN, "Next": f"T{i + 1}"} for i in range(count)}
        states[f"T{count - 1}"] = {"Type": "Task", "Resource": ARN, "End": True}
        return {"StartAt": "T0", "States": states}

    choice = {"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": ARN, "Next": "Pick"},
        "Pick": {"Type": "Choice", "Default": "Done",
                 "Choices": [{"Variable": "$.n", "NumericEquals": i, "Next": f"P{i}"} for i in range(3000)]},
        **{f"P{i}": {"Type": "Pass", "End": True} for i in range(3000)},
        "Done": {"Type": "Succeed"}}}
    machines = "".join(f"  M{i}:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n{DEFINITION_YAML}"
                       for i in range(50))
    return [
        Case("large:chain-200", "honest", {"in/machine.asl.json": _json(chain(200))}),
        Case("large:chain-20000", "hang", {"in/machine.asl.json": _json(chain(20000))}),
        Case("large:choice-3000", "hang", {"in/machine.asl.json": _json(choice)}),
        Case("large:template-50-machines", "hang",
             {"in/template.yaml": ("Transform: AWS::Serverless-2016-10-31\nResources:\n" + machines).encode()},
             target="in/template.yaml", output="out/template.yaml"),
        Case("large:over-10MiB", "hang", {"in/machine.asl.json": b" " * (10 * 1024 * 1024 + 1) + b"{}"}),
    ]


def all_cases() -> list[Case]:
    return (type_mutations() + yaml_types() + numbers_and_strings() + nesting() + encodings() + templates()
            + output_paths() + large_honest())


if __name__ == "__main__":
    from collections import Counter

    found = all_cases()
    print(len(found), dict(Counter(case.kind for case in found)))
