"""Pictures of a state machine: Mermaid (rendered by GitHub in a README) and Graphviz DOT.

States are nodes, transitions are edges (Next; Choice rules and Default; Catch dashed), Parallel
branches and Map processors are subgraphs entered by a dotted edge. ``marks`` colours nodes:
``cached`` (a task that is or will be cached), ``injected`` (a state sfn-cache generated),
``refused``/``excluded`` (a task left as it is). Node ids are ``n0, n1, ...`` in document order, so
any state name (spaces, quotes, unicode) is safe and the output is deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sfn_cache.model import Scope, nested_scope_bodies, parse, transitions

STYLES = {
    "cached": ("#d4edda", "#1e7e34"),
    "injected": ("#fff3cd", "#b8860b"),
    "refused": ("#f8d7da", "#c82333"),
    "excluded": ("#e2e3e5", "#6c757d"),
}


@dataclass
class _Edge:
    source: str
    target: str
    label: str = ""
    kind: str = "next"  # next | catch | enter


@dataclass
class _Cluster:
    id: str
    label: str
    nodes: list[str] = field(default_factory=list)
    clusters: list["_Cluster"] = field(default_factory=list)


@dataclass
class _Graph:
    ids: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)
    root: _Cluster = field(default_factory=lambda: _Cluster("top", ""))


def _build(definition: dict) -> _Graph:
    graph = _Graph()
    top = parse(definition)
    _add_scope(graph, top, graph.root, is_top=True)
    return graph


def _add_scope(graph: _Graph, scope: Scope, cluster: _Cluster, is_top: bool = False) -> None:
    for name in scope.states:
        node = f"n{len(graph.ids)}"
        graph.ids[name] = node
        graph.labels[node] = name
        cluster.nodes.append(node)
    if is_top:
        graph.edges.append(_Edge("start", graph.ids[scope.body["StartAt"]]))
    children = iter(scope.children)
    for name, state in scope.states.items():
        node = graph.ids[name]
        for field_name, target in transitions(state):
            if target not in graph.ids:
                continue
            if field_name.startswith("Catch"):
                graph.edges.append(_Edge(node, graph.ids[target], "catch", "catch"))
            elif field_name.startswith("Choices"):
                graph.edges.append(_Edge(node, graph.ids[target], f"choice {field_name[8:-6]}"))
            elif field_name == "Default":
                graph.edges.append(_Edge(node, graph.ids[target], "default"))
            else:
                graph.edges.append(_Edge(node, graph.ids[target]))
        if is_top and (state.get("End") is True or state.get("Type") in ("Succeed", "Fail")):
            graph.edges.append(_Edge(node, "stop"))
        for path, _ in nested_scope_bodies(name, state):
            child = next(children)
            label = re.sub(r"Branches\[(\d+)\]", lambda m: f"branch {int(m.group(1)) + 1}", path[len(name) + 1:])
            sub = _Cluster(f"g{len(graph.ids)}_{len(cluster.clusters)}", f"{name}: {label}")
            cluster.clusters.append(sub)
            _add_scope(graph, child, sub)
            kind_label = "each item" if state["Type"] == "Map" else "branch"
            graph.edges.append(_Edge(node, graph.ids[child.body["StartAt"]], kind_label, "enter"))


def to_mermaid(definition: dict, marks: dict[str, str] | None = None) -> str:
    """A ``flowchart TD`` that GitHub renders; ``marks`` maps state names to a style in STYLES."""
    graph = _build(definition)
    lines = ["flowchart TD", "  start((start))", "  stop((end))"]

    def emit(cluster: _Cluster, indent: str) -> None:
        for node in cluster.nodes:
            lines.append(f'{indent}{node}["{_mermaid_text(graph.labels[node])}"]')
        for sub in cluster.clusters:
            lines.append(f'{indent}subgraph {sub.id} ["{_mermaid_text(sub.label)}"]')
            emit(sub, indent + "  ")
            lines.append(f"{indent}end")

    emit(graph.root, "  ")
    arrows = {"next": "-->", "catch": "-.->", "enter": "-.->"}
    for edge in graph.edges:
        arrow = arrows[edge.kind]
        label = f"|{_mermaid_text(edge.label)}|" if edge.label else ""
        lines.append(f"  {edge.source} {arrow}{label} {edge.target}")
    for style, (fill, stroke) in STYLES.items():
        members = sorted((graph.ids[name] for name, mark in (marks or {}).items()
                          if mark == style and name in graph.ids), key=lambda n: int(n[1:]))
        if members:
            dash = ",stroke-dasharray: 4 2" if style == "injected" else ""
            lines.append(f"  classDef {style} fill:{fill},stroke:{stroke}{dash}")
            lines.append(f"  class {','.join(members)} {style}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("|", "#124;").replace("\n", " "))


def to_dot(definition: dict, marks: dict[str, str] | None = None) -> str:
    """A Graphviz digraph with the same nodes, edges, clusters and marks as the Mermaid picture."""
    graph = _build(definition)
    marks = marks or {}
    lines = ["digraph state_machine {", "  rankdir=TB;", '  node [shape=box, style="rounded,filled", fillcolor=white];',
             '  start [shape=circle, label="start"];', '  stop [shape=doublecircle, label="end"];']

    def emit(cluster: _Cluster, indent: str) -> None:
        for node in cluster.nodes:
            name = graph.labels[node]
            style = ""
            if marks.get(name) in STYLES:
                fill, stroke = STYLES[marks[name]]
                dashed = ', style="rounded,filled,dashed"' if marks[name] == "injected" else ""
                style = f', fillcolor="{fill}", color="{stroke}"{dashed}'
            lines.append(f'{indent}{node} [label="{_dot_text(name)}"{style}];')
        for sub in cluster.clusters:
            lines.append(f"{indent}subgraph cluster_{sub.id} {{")
            lines.append(f'{indent}  label="{_dot_text(sub.label)}";')
            emit(sub, indent + "  ")
            lines.append(f"{indent}}}")

    emit(graph.root, "  ")
    for edge in graph.edges:
        attributes = []
        if edge.label:
            attributes.append(f'label="{_dot_text(edge.label)}"')
        if edge.kind != "next":
            attributes.append("style=dashed" if edge.kind == "catch" else "style=dotted")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {edge.source} -> {edge.target}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
