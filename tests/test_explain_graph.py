"""``sfn-cache explain`` and ``sfn-cache graph``: rows and pictures checked against the definition itself."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from sfn_cache.cli import cli
from sfn_cache.options import WrapOptions
from sfn_cache.select import cache_operation
from sfn_cache.wrap import wrap_definition

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
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"}],
                  "Default": "Notify ✉"},
        "Notify ✉": {"Type": "Task", "Resource": LAMBDA + "notify", "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "E"},
        "Done": {"Type": "Succeed"},
    },
}


def run(*args, definition=DEFINITION, tmp_path=None):
    path = tmp_path / "machine.asl.json"
    path.write_text(json.dumps(definition))
    return CliRunner().invoke(cli, [*args[:1], str(path), "--no-config", *args[1:]], catch_exceptions=False)


def expected_edges(definition: dict, as_list: bool = False):
    """(from, to) of every Next/Default/Choice/Catch transition, by walking the raw dicts."""
    edges = []

    def scope(body):
        for name, state in body["States"].items():
            targets = [state.get("Next"), state.get("Default")]
            targets += [c.get("Next") for c in state.get("Choices", []) + state.get("Catch", [])]
            edges.extend((name, t) for t in targets if t)
            for branch in state.get("Branches", []):
                scope(branch)
            for key in ("ItemProcessor", "Iterator"):
                if key in state:
                    scope(state[key])

    scope(definition)
    return edges if as_list else set(edges)


def all_names(definition: dict) -> list[str]:
    names = []

    def scope(body):
        for name, state in body["States"].items():
            names.append(name)
            for branch in state.get("Branches", []) + [state[k] for k in ("ItemProcessor", "Iterator") if k in state]:
                scope(branch)

    scope(definition)
    return names


def unescape(label: str) -> str:
    return (label.replace("#quot;", '"').replace("#lt;", "<").replace("#gt;", ">").replace("#124;", "|")
            .replace("#amp;", "&"))


def parse_mermaid(text: str):
    nodes = {m.group(1): unescape(m.group(2)) for m in re.finditer(r'^\s+(n\d+)\["(.*)"\]$', text, re.M)}
    edges = [(m.group(1), m.group(3), m.group(2)) for m in
             re.finditer(r"^\s+(n\d+) (-->|-\.->)(?:\|[^|]*\|)? (n\d+)$", text, re.M)]
    classes = {m.group(2): m.group(1).split(",") for m in re.finditer(r"^\s+class (\S+) (\w+)$", text, re.M)}
    return nodes, edges, classes


def test_explain_rows(tmp_path):
    result = run("explain", "--exclude", "Notify*", "--ttl", "Score=2d", "--json", tmp_path=tmp_path)
    assert result.exit_code == 0, result.stderr
    rows = {row["state"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {'Load "raw" data', "Left", "Approve", "Score", "Notify ✉"}
    assert rows["Left"]["scope"] == "Fan out [all].Branches[0]" and rows["Left"]["action"] == "wrapped"
    assert rows["Score"]["scope"] == "Per item.ItemProcessor" and rows["Score"]["ttl"] == 2 * 86400
    assert rows["Notify ✉"]["action"] == "excluded" and "--exclude Notify*" in rows["Notify ✉"]["reason"]
    assert rows["Approve"]["action"] == "refused" and "waitForTaskToken" in rows["Approve"]["reason"]
    assert rows['Load "raw" data']["bundle_name"] == 'Load "raw" data'
    table = run("explain", "--exclude", "Notify*", "--ttl", "Score=2d", tmp_path=tmp_path).stdout.splitlines()
    assert table[0].split()[:4] == ["STATE", "SCOPE", "ACTION", "REASON"]
    score = next(line for line in table if line.startswith("Score"))
    assert " 2d " in score and "wrapped" in score


def test_explain_names_the_configuration_rule(tmp_path, monkeypatch):
    (tmp_path / "sfn-cache.yaml").write_text("states:\n  'Notify*':\n    exclude: true\n")
    (tmp_path / "m.json").write_text(json.dumps(DEFINITION))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["explain", "m.json", "--json"])
    rows = {row["state"]: row for row in json.loads(result.stdout)}
    assert rows["Notify ✉"]["reason"] == "excluded by the rule for 'Notify*'"


@pytest.mark.parametrize("wrapped", [False, True])
def test_mermaid_has_every_state_and_transition(tmp_path, wrapped):
    args = ["graph", "--wrapped"] if wrapped else ["graph"]
    result = run(*args, tmp_path=tmp_path)
    assert result.exit_code == 0, result.stderr
    drawn = wrap_definition(DEFINITION, WrapOptions()).definition if wrapped else DEFINITION
    nodes, edges, classes = parse_mermaid(result.stdout)
    assert sorted(nodes.values()) == sorted(all_names(drawn))  # each state exactly once
    assert all(re.fullmatch(r"n\d+", node) for node in nodes)
    by_label = {label: node for node, label in nodes.items()}
    drawn_edges = {(nodes[a], nodes[b]) for a, b, _ in edges}
    assert expected_edges(drawn) <= drawn_edges
    enter_edges = drawn_edges - expected_edges(drawn)  # the only others: into Parallel branches and Map items
    assert {(a, b) for a, b in enter_edges} == {("Fan out [all]", next(iter(x for x in all_names(drawn)
                                                                                if x.endswith("Left")))),
                                               ("Fan out [all]", [x for x in all_names(drawn)
                                                                  if x.endswith("Approve")][0]),
                                               ("Per item", [x for x in all_names(drawn) if x.endswith("Score")][0])}
    assert f'start --> {by_label[drawn["StartAt"]]}' in result.stdout
    if wrapped:
        injected = {nodes[n] for n in classes["injected"]}
        generated = set(all_names(drawn)) - set(all_names(DEFINITION))
        assert injected == generated and injected
        assert {nodes[n] for n in classes["cached"]} == {'Load "raw" data', "Left", "Score", "Notify ✉"}
        assert "refused" in classes and [nodes[n] for n in classes["refused"]] == ["Approve"]
    else:
        assert {nodes[n] for n in classes["cached"]} == {'Load "raw" data', "Left", "Score", "Notify ✉"}
        assert "injected" not in classes


def test_dot_output_quotes_every_label_and_is_deterministic(tmp_path):
    first = run("graph", "--format", "dot", "--wrapped", tmp_path=tmp_path).stdout
    second = run("graph", "--format", "dot", "--wrapped", tmp_path=tmp_path).stdout
    assert first == second and first.startswith("digraph state_machine {") and first.rstrip().endswith("}")
    labels = re.findall(r'^\s+n\d+ \[label="((?:[^"\\]|\\.)*)"', first, re.M)
    drawn = wrap_definition(DEFINITION, WrapOptions()).definition
    assert sorted(label.replace('\\"', '"') for label in labels) == sorted(all_names(drawn))
    assert first.count("subgraph cluster_") == 3
    edge_count = len(re.findall(r"^\s+n\d+ -> n\d+", first, re.M))
    assert edge_count == len(expected_edges(drawn, as_list=True)) + 3  # + one edge into each branch / item


def test_graph_errors_are_one_line_and_write_nothing(tmp_path):
    broken = dict(DEFINITION, StartAt="Nowhere")
    out = tmp_path / "g.mmd"
    result = run("graph", "-o", str(out), definition=broken, tmp_path=tmp_path)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
    template = {"Resources": {n: {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"Definition": DEFINITION}}
                              for n in ("A", "B")}}
    result = run("graph", definition=template, tmp_path=tmp_path)
    assert result.exit_code == 2 and "pick one with --resource" in result.stderr
    picked = run("graph", "--resource", "B", definition=template, tmp_path=tmp_path)
    assert picked.exit_code == 0 and "flowchart TD" in picked.stdout
