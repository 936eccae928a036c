"""Pictures of a state machine: Mermaid (rendered by GitHub in a README) and Graphviz DOT.

States are nodes, transitions are edges (Next; Choice rules and Default; Catch dashed), Parallel
branches and Map processors are subgraphs entered by a dotted edge from their state. ``marks``
colours nodes: ``cached`` (a task that is or will be cached), ``injected`` (a state sfn-cache
generated), ``refused``/``excluded`` (a task left as it is). Node ids are ``s0, s1, ...`` in
document order, so any state name (spaces, quotes, unicode) is safe and the output deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sfn_cache.asl.model import Scope, nested_scope_bodies, parse, transitions

STYLES = {  # mark -> (fill, stroke)
    "cached": ("#d4edda", "#1e7e34"),
    "injected": ("#fff3cd", "#b8860b"),
    "refused": ("#f8d7da", "#c82333"),
    "excluded": ("#e2e3e5", "#6c757d"),
}
START, STOP = "start", "stop"  # the ids of the Start and End markers (never s<N>)


@dataclass
class Edge:
    source: str
    target: str
    label: str = ""
    kind: str = "next"  # next | catch | enter (a Parallel branch or a Map processor)


@dataclass
class Cluster:
    id: str
    label: str
    nodes: list[str] = field(default_factory=list)
    clusters: list["Cluster"] = field(default_factory=list)


@dataclass
class Picture:
    """The drawing, independent of the output format: node id -> state name, edges, nesting."""

    names: dict[str, str] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    root: Cluster = field(default_factory=lambda: Cluster("top", ""))
    clusters: int = 0


def build_picture(definition: dict[str, Any]) -> Picture:
    """Nodes, edges and subgraphs of ``definition`` (its shape is checked by ``model.parse``)."""
    picture = Picture()
    _add_scope(picture, parse(definition), picture.root, top=True)
    return picture


def _add_scope(picture: Picture, scope: Scope, cluster: Cluster, top: bool = False) -> str:
    """Draw one scope into ``cluster``; returns the id of its StartAt state."""
    ids: dict[str, str] = {}  # per scope: transitions never leave their scope
    for name in scope.states:
        ids[name] = f"s{len(picture.names)}"
        picture.names[ids[name]] = name
        cluster.nodes.append(ids[name])
    start = ids.get(scope.body["StartAt"])
    if top and start:
        picture.edges.append(Edge(START, start))
    children = iter(scope.children)  # parse() made them in the order nested_scope_bodies yields
    for name, state in scope.states.items():
        for field_name, target in transitions(state):
            if target in ids:
                picture.edges.append(Edge(ids[name], ids[target], *_edge_style(field_name)))
        if top and (state.get("End") is True or state.get("Type") in ("Succeed", "Fail")):
            picture.edges.append(Edge(ids[name], STOP))
        bodies = list(nested_scope_bodies(name, state))
        for number, _ in enumerate(bodies, 1):
            child = next(children)
            label = f"branch {number}" if state["Type"] == "Parallel" else "each item"
            picture.clusters += 1
            sub = Cluster(f"g{picture.clusters}", f"{name}: {label}")
            cluster.clusters.append(sub)
            entry = _add_scope(picture, child, sub)
            if entry:
                picture.edges.append(Edge(ids[name], entry, label, "enter"))
    return start or ""


def _edge_style(field_name: str) -> tuple[str, str]:
    if field_name.startswith("Catch"):
        return "catch", "catch"
    if field_name.startswith("Choices["):
        return f"choice {int(field_name[8:field_name.index(']')]) + 1}", "next"
    if field_name == "Default":
        return "default", "next"
    return "", "next"


def to_mermaid(definition: dict[str, Any], marks: dict[str, str] | None = None) -> str:
    """A ``flowchart TD`` that GitHub renders; ``marks`` maps state names to a style in STYLES."""
    picture = build_picture(definition)
    lines = ["flowchart TD", f'  {START}(("Start"))', f'  {STOP}(("End"))']

    def emit(cluster: Cluster, indent: str) -> None:
        for node in cluster.nodes:
            lines.append(f'{indent}{node}["{_mermaid_text(picture.names[node])}"]')
        for sub in cluster.clusters:
            lines.append(f'{indent}subgraph {sub.id} ["{_mermaid_text(sub.label)}"]')
            emit(sub, indent + "  ")
            lines.append(f"{indent}end")

    emit(picture.root, "  ")
    for edge in picture.edges:
        arrow = "-->" if edge.kind == "next" else "-.->"
        label = f"|{_mermaid_text(edge.label)}|" if edge.label else ""
        lines.append(f"  {edge.source} {arrow}{label} {edge.target}")
    for style, members in _marked(picture, marks).items():
        fill, stroke = STYLES[style]
        dash = ",stroke-dasharray: 4 2" if style == "injected" else ""
        lines.append(f"  classDef {style} fill:{fill},stroke:{stroke}{dash}")
        lines.append(f"  class {','.join(members)} {style}")
    return "\n".join(lines) + "\n"


def _marked(picture: Picture, marks: dict[str, str] | None) -> dict[str, list[str]]:
    """style -> node ids (document order), for the styles that mark at least one node."""
    found: dict[str, list[str]] = {}
    for node, name in picture.names.items():
        style = (marks or {}).get(name)
        if style in STYLES:
            found.setdefault(style, []).append(node)
    return {style: found[style] for style in STYLES if style in found}


_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "&": "#amp;", "<": "#lt;", ">": "#gt;", "|": "#124;",
                     "`": "#96;", "\n": " ", "\r": " ", "\t": " "}


def _mermaid_text(text: str) -> str:
    """Text for inside ``"..."``: Mermaid entity codes (``#quot;``) for what would end or bend it."""
    return "".join(_MERMAID_ENTITIES.get(char, char) for char in text)


def to_dot(definition: dict[str, Any], marks: dict[str, str] | None = None) -> str:
    """A Graphviz digraph with the same nodes, edges, clusters and marks as the Mermaid picture."""
    picture = build_picture(definition)
    style_of = {node: style for style, nodes in _marked(picture, marks).items() for node in nodes}
    lines = ["digraph state_machine {", "  rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fillcolor=white];',
             f'  {START} [shape=circle, label="Start"];', f'  {STOP} [shape=doublecircle, label="End"];']

    def emit(cluster: Cluster, indent: str) -> None:
        for node in cluster.nodes:
            extra = ""
            if node in style_of:
                fill, stroke = STYLES[style_of[node]]
                dashed = ', style="rounded,filled,dashed"' if style_of[node] == "injected" else ""
                extra = f', fillcolor="{fill}", color="{stroke}"{dashed}'
            lines.append(f'{indent}{node} [label="{_dot_text(picture.names[node])}"{extra}];')
        for sub in cluster.clusters:
            lines.append(f"{indent}subgraph cluster_{sub.id} {{")
            lines.append(f'{indent}  label="{_dot_text(sub.label)}";')
            emit(sub, indent + "  ")
            lines.append(f"{indent}}}")

    emit(picture.root, "  ")
    for edge in picture.edges:
        attributes = [f'label="{_dot_text(edge.label)}"'] if edge.label else []
        if edge.kind != "next":
            attributes.append("style=dashed" if edge.kind == "catch" else "style=dotted")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {edge.source} -> {edge.target}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    """Text for inside a DOT ``"..."`` string (a backslash would otherwise start an escape)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")
