"""``sfn-cache explain`` and ``sfn-cache graph``: rows and pictures checked against the definition itself.

Expected nodes and edges are computed here from the raw dicts, never by calling ``sfn_cache.asl.graph``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import asdict, replace

import click
import pytest
from click.testing import CliRunner

from sfn_cache.cli.inspect import inspect_commands
from sfn_cache.rewrite.naming import PREFIXES
from sfn_cache.rewrite.options import StateRule, WrapOptions
from sfn_cache.rewrite.wrap import plan_definition, wrap_definition

LAMBDA = "arn:aws:lambda:us-east-1:1:function:"
DEFINITION = {
    "StartAt": 'Load "raw" data',
    "States": {
        'Load "raw" data': {"Type": "Task", "Resource": LAMBDA + "load", "Next": "Fan out [all]",
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Notify ✉"}]},
        "Fan out [all]": {"Type": "Parallel", "Next": "Per item", "Branches": [
            {"StartAt": "Left", "States": {"Left": {"Type": "Task", "Resource": LAMBDA + "left", "End": True}}},
            {"StartAt": "Approve", "States": {"Approve": {
                "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}}}]},
        "Per item": {"Type": "Map", "ItemsPath": "$.items", "Next": "Route", "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Score",
            "States": {"Score": {"Type": "Task", "Resource": LAMBDA + "score", "End": True}}}},
        "Route": {"Type": "Choice", "Default": "Notify ✉", "Choices": [
            {"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"},
            {"Variable": "$.retry", "BooleanEquals": True, "Next": 'Load "raw" data'}]},
        "Notify ✉": {"Type": "Task", "Resource": LAMBDA + "notify", "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "E"},
        "Done": {"Type": "Succeed"},
    },
}
USER_TASKS_CACHED = {'Load "raw" data', "Left", "Score", "Notify ✉"}
START, END = "<start marker>", "<end marker>"

group = click.Group("sfn-cache", commands={command.name: command for command in inspect_commands})


def invoke(*args: str):
    # COLUMNS unset: not a terminal, so tables keep whole rows whatever the worker's environment says
    return CliRunner().invoke(group, list(args), catch_exceptions=False, env={"COLUMNS": None})


def run(command: str, *args: str, definition=DEFINITION, tmp_path):
    path = tmp_path / "machine.asl.json"
    path.write_text(json.dumps(definition, ensure_ascii=False), encoding="utf-8")
    return invoke(command, str(path), "--no-config", *args)


def wrapped(definition=DEFINITION) -> dict:
    return wrap_definition(definition, WrapOptions()).definition


# --- expectations from the raw definition ---------------------------------------------------------

def scopes(body: dict, owner: tuple[str, str] | None = None):
    """Every StartAt/States object with its (owner state, entry label); the top one has no owner."""
    yield body, owner
    for name, state in body["States"].items():
        for number, branch in enumerate(state.get("Branches", []), 1):
            yield from scopes(branch, (name, f"branch {number}"))
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from scopes(state[key], (name, "each item"))


def all_names(definition: dict) -> list[str]:
    return [name for body, _ in scopes(definition) for name in body["States"]]


def expected_edges(definition: dict) -> Counter:
    """(from, to, label) of every transition, entry into a branch or item, and Start/End marker."""
    edges = Counter()
    for body, owner in scopes(definition):
        if owner is None:
            edges[(START, body["StartAt"], "")] += 1
        else:
            edges[(owner[0], body["StartAt"], owner[1])] += 1
        for name, state in body["States"].items():
            if "Next" in state:
                edges[(name, state["Next"], "")] += 1
            for number, rule in enumerate(state.get("Choices", []), 1):
                edges[(name, rule["Next"], f"choice {number}")] += 1
            if "Default" in state:
                edges[(name, state["Default"], "default")] += 1
            for catcher in state.get("Catch", []):
                edges[(name, catcher["Next"], "catch")] += 1
            if owner is None and (state.get("End") or state["Type"] in ("Succeed", "Fail")):
                edges[(name, END, "")] += 1
    return edges


# --- reading the pictures back --------------------------------------------------------------------

MERMAID_ENTITIES = {"#quot;": '"', "#lt;": "<", "#gt;": ">", "#amp;": "&", "#124;": "|", "#35;": "#", "#96;": "`"}


def mermaid_unescape(text: str) -> str:
    return re.sub(r"#\w+;", lambda m: MERMAID_ENTITIES[m.group(0)], text)


def parse_mermaid(text: str):
    """(node id -> name, Counter of (from, to, label) by name, class -> names) from a flowchart."""
    nodes = {m[1]: mermaid_unescape(m[2]) for m in re.finditer(r'^\s+(s\d+)\["([^"]*)"\]$', text, re.M)}
    names = {**nodes, "start": START, "stop": END}
    edges = Counter((names[m[1]], names[m[4]], mermaid_unescape(m[3] or "")) for m in
                    re.finditer(r"^\s+(\w+) (-->|-\.->)(?:\|([^|]*)\|)? (\w+)$", text, re.M))
    classes = {m[2]: [nodes[n] for n in m[1].split(",")] for m in re.finditer(r"^\s+class (\S+) (\w+)$", text, re.M)}
    return nodes, edges, classes


def dot_unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], text)


def parse_dot(text: str):
    quoted = r'"((?:[^"\\]|\\.)*)"'
    nodes = {m[1]: dot_unescape(m[2]) for m in re.finditer(rf"^\s+(s\d+) \[label={quoted}", text, re.M)}
    names = {**nodes, "start": START, "stop": END}
    edges = Counter()
    for m in re.finditer(r"^\s+(\w+) -> (\w+)(?: \[(.*)\])?;$", text, re.M):
        label = re.search(rf"label={quoted}", m[3] or "")
        edges[(names[m[1]], names[m[2]], dot_unescape(label[1]) if label else "")] += 1
    return nodes, edges


def check_mermaid_syntax(text: str) -> None:
    """Every line is one of the forms we emit, ids are safe, subgraphs balance, edges hit known ids."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD" and text.endswith("\n")
    defined, depth = {"start", "stop"}, 0
    for line in lines[1:]:
        body = line.strip()
        if m := re.fullmatch(r'(s\d+)\["([^"]*)"\]', body):
            assert m[1] not in defined
            defined.add(m[1])
        elif re.fullmatch(r'subgraph g\d+ \["[^"]*"\]', body):
            depth += 1
        elif body == "end":
            depth -= 1
            assert depth >= 0
        elif m := re.fullmatch(r"(\w+) (?:-->|-\.->)(?:\|[^|\"]*\|)? (\w+)", body):
            assert {m[1], m[2]} <= defined
        elif m := re.fullmatch(r"class ((?:s\d+,)*s\d+) (\w+)", body):
            assert set(m[1].split(",")) <= defined
        else:
            assert re.fullmatch(r'(start|stop)\(\("(Start|End)"\)\)|classDef \w+ [\w:#,\- ]+', body), line
    assert depth == 0


# --- explain --------------------------------------------------------------------------------------

def test_explain_json_rows_cover_every_scope_and_round_trip(tmp_path):
    result = run("explain", "--exclude", "Notify*", "--ttl", "Score=2d", "--cache-version", "v3", "--json",
                 tmp_path=tmp_path)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    by_state = {row["state"]: row for row in rows}
    assert [row["state"] for row in rows] == ['Load "raw" data', "Notify ✉", "Left", "Approve", "Score"]
    assert by_state["Left"]["scope"] == "Fan out [all].Branches[0]" and by_state["Left"]["action"] == "wrapped"
    assert by_state["Score"]["scope"] == "Per item.ItemProcessor" and by_state["Score"]["ttl"] == 2 * 86400
    assert by_state["Notify ✉"]["action"] == "excluded" and "--exclude Notify*" in by_state["Notify ✉"]["reason"]
    assert by_state["Notify ✉"]["bundle_name"] is None
    assert by_state["Approve"]["action"] == "refused" and "waitForTaskToken" in by_state["Approve"]["reason"]
    assert by_state['Load "raw" data']["bundle_name"] == 'Load "raw" data'
    assert {row["cache_version"] for row in rows if row["action"] == "wrapped"} == {"v3"}
    # the JSON is exactly plan_definition's reports (less the names of generated states), keys sorted
    options = WrapOptions(exclude=("Notify*",), cache_version="v3", rules=(StateRule("Score", ttl=2 * 86400),))
    reports = plan_definition(DEFINITION, options)
    assert rows == [{k: v for k, v in asdict(r).items() if k != "generated"} for r in reports]
    assert result.stdout == json.dumps(rows, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_explain_table_is_aligned(tmp_path):
    result = run("explain", "--exclude", "Notify*", "--ttl", "Score=2d", "--force-rerun", "Left", tmp_path=tmp_path)
    assert result.exit_code == 0, result.stderr
    table, parts = result.stdout.split("\n\nkey parts (docs/protocol.md):\n")
    header, *lines = table.splitlines()
    assert header.split()[:4] == ["STATE", "SCOPE", "ACTION", "REASON"] and len(lines) == 5
    assert [line.split(":")[0].strip() for line in parts.splitlines()] == ['Load "raw" data', "Left", "Score"]
    assert "resource; bundle; context (the Lambda's); cache version; form; input: " in parts
    for title in ("SCOPE", "ACTION", "REASON", "KEY"):
        column = header.index(title)
        for line in lines:  # every cell of a column starts where its title does
            assert line[column - 2:column] == "  " and line[column] != " ", (title, line)
    score = next(line for line in lines if line.startswith("Score "))
    assert " 2d " in score and " wrapped " in score
    left = next(line for line in lines if line.startswith("Left "))
    assert left.rstrip().endswith("yes")  # FORCE
    notify = next(line for line in lines if line.startswith("Notify "))  # excluded: no cache settings
    assert notify[header.index("KEY"):].split() == ["-"] * 5


def test_explain_names_every_key_part():
    """Issue 10: explain shows what each task's key is made of, including the resolved parts."""
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "B",
              "Parameters": {"FunctionName": "train", "Payload.$": "$"}, "Credentials": {"RoleArn.$": "$.role"}},
        "B": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "Next": "C"},
        "C": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync", "Next": "D",
              "Parameters": {"JobName": "etl", "Arguments.$": "$.args"}},
        "D": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem", "End": True,
              "Parameters": {"TableName": "t", "Key": {"id": {"S.$": "$.id"}}}}}}
    options = WrapOptions(key_s3="etag", context="prod",
                          rules=(StateRule("C", key_paths=("$.day",)), StateRule("B", key_code="off")))
    parts = {r.state: r.key_parts for r in plan_definition(definition, options)}
    common = ["protocol", "resource", "bundle", "context prod", "cache version", "form"]
    assert parts["A"] == common + ["input: Parameters", "credentials", "account and region of the execution",
                                   "code: Lambda CodeSha256 and Version", "data: ETag of every s3:// string"]
    assert parts["B"] == common + ["input: state input", "code: not keyed", "data: ETag of every s3:// string"]
    assert parts["C"] == common + ["input: key paths $.day (absent = {})", "target: static parameters",
                                   "account and region of the execution",
                                   "code: not keyed (--key-code auto keys it)", "data: ETag of every s3:// string"]
    asked = {r.state: r.key_parts for r in plan_definition(definition, replace(options, key_code="auto"))}
    assert "code: Glue job script ETag" in asked["C"], "--key-code auto: the Glue job's script too"
    assert parts["D"][6:8] == ["input: Parameters", "account and region of the execution"]
    assert not any(part.startswith("code") for part in parts["D"])


def test_explain_already_wrapped_input(tmp_path):
    result = run("explain", "--json", definition=wrapped(), tmp_path=tmp_path)
    assert result.exit_code == 0, result.stderr
    actions = {row["state"]: row["action"] for row in json.loads(result.stdout)}
    assert actions == {**dict.fromkeys(USER_TASKS_CACHED, "already wrapped"), "Approve": "refused"}


def test_explain_names_the_configuration_rule(tmp_path, monkeypatch):
    (tmp_path / "sfn-cache.yaml").write_text("states:\n  'Notify*':\n    exclude: true\n")
    (tmp_path / "m.json").write_text(json.dumps(DEFINITION))
    monkeypatch.chdir(tmp_path)
    result = invoke("explain", "m.json", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {row["state"]: row for row in json.loads(result.stdout)}
    assert rows["Notify ✉"]["reason"] == "excluded by states.Notify* in sfn-cache.yaml"


@pytest.mark.parametrize("text", [
    '{"StartAt": ', '{"StartAt": "Nowhere", "States": {"A": {"Type": "Pass", "End": true}}}'])
def test_explain_bad_input_is_one_line_exit_2(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    result = invoke("explain", str(path), "--no-config")
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(f"error: {path}")


# --- graph ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("wrap_it", [False, True])
def test_mermaid_has_every_state_once_and_every_transition(tmp_path, wrap_it):
    result = run("graph", *(["--wrapped"] if wrap_it else []), tmp_path=tmp_path)
    assert result.exit_code == 0, result.stderr
    drawn = wrapped() if wrap_it else DEFINITION
    check_mermaid_syntax(result.stdout)
    nodes, edges, classes = parse_mermaid(result.stdout)
    assert sorted(nodes.values()) == sorted(all_names(drawn))
    assert edges == expected_edges(drawn)
    # wrapped, Load's hit is a Parallel of one branch (its Catch on States.ALL could see a result error)
    assert result.stdout.count("\n  subgraph ") == 3 + wrap_it and "    subgraph" not in result.stdout
    assert set(classes["cached"]) == USER_TASKS_CACHED and classes["refused"] == ["Approve"]
    if wrap_it:
        generated = set(all_names(drawn)) - set(all_names(DEFINITION))
        assert set(classes["injected"]) == generated and any(n.startswith(PREFIXES.choice) for n in generated)
    else:
        assert "injected" not in classes


def test_nasty_names_get_safe_ids_and_escaped_labels(tmp_path):
    nasty = ['say "hi" [now]', "a|b <c> & d", "#quot; literal", "`tick`", "ünï cødé ✓", "end", "subgraph x"]
    states = {name: {"Type": "Pass", "Next": following} for name, following in zip(nasty, nasty[1:])}
    states[nasty[-1]] = {"Type": "Task", "Resource": LAMBDA + "f", "End": True}
    definition = {"StartAt": nasty[0], "States": states}
    mermaid = run("graph", definition=definition, tmp_path=tmp_path).stdout
    check_mermaid_syntax(mermaid)
    nodes, edges, classes = parse_mermaid(mermaid)
    assert sorted(nodes.values()) == sorted(nasty) and edges == expected_edges(definition)
    assert classes == {"cached": ["subgraph x"]}
    dot = run("graph", "--format", "dot", definition=definition, tmp_path=tmp_path).stdout
    dot_nodes, dot_edges = parse_dot(dot)
    assert sorted(dot_nodes.values()) == sorted(nasty) and dot_edges == expected_edges(definition)


@pytest.mark.parametrize("wrap_it", [False, True])
def test_dot_has_every_state_once_and_every_transition(tmp_path, wrap_it):
    result = run("graph", "--format", "dot", *(["--wrapped"] if wrap_it else []), tmp_path=tmp_path)
    assert result.exit_code == 0, result.stderr
    text, drawn = result.stdout, wrapped() if wrap_it else DEFINITION
    assert text.startswith("digraph state_machine {\n") and text.endswith("}\n")
    nodes, edges = parse_dot(text)
    assert sorted(nodes.values()) == sorted(all_names(drawn)) and edges == expected_edges(drawn)
    assert text.count("subgraph cluster_") == 3 + wrap_it  # + the Parallel hit of Load when wrapped
    marked = {nodes[m[1]] for m in re.finditer(r'^\s+(s\d+) \[label=.*style="rounded,filled,dashed"', text, re.M)}
    assert marked == (set(all_names(drawn)) - set(all_names(DEFINITION)))
    if shutil.which("dot"):
        checked = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0 and "<svg" in checked.stdout, checked.stderr


def test_wrapped_input_draws_the_same_with_or_without_wrapping_again(tmp_path):
    fresh = run("graph", "--wrapped", tmp_path=tmp_path).stdout
    again = run("graph", "--wrapped", definition=wrapped(), tmp_path=tmp_path).stdout
    plain = run("graph", definition=wrapped(), tmp_path=tmp_path).stdout
    assert fresh == again == plain  # the injected states are recognised without a fresh WrapResult


def test_graph_is_deterministic_and_writes_the_output_file(tmp_path):
    for fmt in ("mermaid", "dot"):
        first = run("graph", "--wrapped", "--format", fmt, tmp_path=tmp_path).stdout
        assert first == run("graph", "--wrapped", "--format", fmt, tmp_path=tmp_path).stdout
        out = tmp_path / f"picture.{fmt}"
        result = run("graph", "--wrapped", "--format", fmt, "-o", str(out), tmp_path=tmp_path)
        assert result.exit_code == 0 and result.stdout == "" and out.read_text(encoding="utf-8") == first


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_graph_errors_are_one_line_exit_2_and_write_nothing(tmp_path, fmt):
    out = tmp_path / "g.txt"
    for broken in (dict(DEFINITION, StartAt="Nowhere"), ["not", "a", "definition"]):
        result = run("graph", "--format", fmt, "-o", str(out), definition=broken, tmp_path=tmp_path)
        assert result.exit_code == 2 and result.stdout == "" and len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith("error: ") and not out.exists()
    missing = invoke("graph", str(tmp_path / "missing.json"), "-o", str(out))
    assert missing.exit_code == 2 and "no such file" in missing.stderr and not out.exists()


def test_graph_of_a_template_needs_one_machine(tmp_path):
    template = {"Resources": {n: {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"Definition": DEFINITION}}
                              for n in ("A", "B")}}
    result = run("graph", definition=template, tmp_path=tmp_path)
    assert result.exit_code == 2 and "pick one with --resource" in result.stderr
    picked = run("graph", "--resource", "B", definition=template, tmp_path=tmp_path)
    assert picked.exit_code == 0 and picked.stdout == run("graph", tmp_path=tmp_path).stdout
