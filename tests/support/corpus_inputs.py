"""An execution input and task answers that make a real definition succeed where that is possible.

A machine run on an arbitrary input mostly fails on its first path that is not there, and comparing
two failures says little about the cached form. So the shape of what the machine reads is read from
the definition itself:

- every JSONPath (``$.a.b[0].c``) and JSONata ``$states.input``/``$states.result`` path it reads
  becomes a field of one nested "shape" object, also under each of its suffixes (a result placed at
  ``$.result`` and read as ``$.result.status`` needs ``status`` in the result itself);
- an ``ItemsPath`` (or a Map's ``InputPath``) is an array, whose items are the shape without arrays,
  so that an inner Map iterates over nothing;
- each Choice is answered: the branch nearest to a successful end is taken, by giving the variables
  its rule tests a value that matches (or, for the Default, values that match no rule).

The execution input is the shape; every task answers with the shape merged under what it received
(deterministic: equal inputs, equal results), so later states find what they read.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable, Iterator

JSONPATH = re.compile(r"\$((?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\]|\['[^']+'\]|\[\"[^\"]+\"\])+)")
JSONATA = re.compile(r"\$states\.(?:input|result)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\['([^']+)'\]|\[\"([^\"]+)\"\]")
FAR = 10**6
ABSENT = object()

Path = tuple  # of str (a field) and int (an index)


def steps(text: str) -> Path:
    return tuple(int(m.group(2)) if m.group(2) else (m.group(1) or m.group(3) or m.group(4))
                 for m in STEP.finditer(text))


def scopes(body: dict) -> Iterator[dict]:
    """Every States table: the machine's, each Map's, each Parallel branch's."""
    yield body.get("States") or {}
    for state in (body.get("States") or {}).values():
        if not isinstance(state, dict):
            continue
        for inner in (state.get("ItemProcessor"), state.get("Iterator"), *(state.get("Branches") or [])):
            if isinstance(inner, dict):
                yield from scopes(inner)


TYPED = {"SecondsPath": 0, "TimestampPath": "2024-01-01T00:00:00Z"}  # what a Wait reads
ARRAY_FUNCTIONS = ("States.ArrayGetItem(", "States.ArrayLength(", "States.ArrayContains(", "States.ArrayUnique(",
                   "States.ArrayPartition(")


def read_paths(definition: dict) -> tuple[set[Path], set[Path], dict[Path, Any]]:
    """(every path read, the paths that must be arrays, the paths whose value has a required type)."""
    paths: set[Path] = set()
    arrays: set[Path] = set()
    typed: dict[Path, Any] = {}

    def visit(node: Any, key: str | None = None) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                visit(value, name)
        elif isinstance(node, list):
            for value in node:
                visit(value, key)
        elif isinstance(node, str):
            for match in JSONPATH.finditer(node):
                path = steps(match.group(1))
                if path:
                    paths.add(path)
                    if key == "ItemsPath" or node.startswith(ARRAY_FUNCTIONS):
                        arrays.add(path)
                    elif key in TYPED:
                        typed[path] = TYPED[key]
                    elif node.startswith("States.StringToJson("):
                        typed[path] = "{}"
            for match in JSONATA.finditer(node):
                paths.add(steps(match.group(1)))

    visit(definition)
    for table in scopes(definition):
        for state in table.values():
            if isinstance(state, dict) and state.get("Type") == "Map" and "ItemsPath" not in state \
                    and isinstance(state.get("InputPath"), str):
                arrays.add(steps(state["InputPath"][1:]))
    return paths, arrays, typed


# --- Choice rules: a value that matches a rule, or values that match none ----------------------------

def _shifted(value: Any, by: int) -> Any:
    return value + by if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _timestamp(later: bool) -> str:
    return "9999-12-31T00:00:00Z" if later else "0001-01-01T00:00:00Z"


CONDITION = re.compile(r"\$states\.input((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*=\s*"
                       r"(?:'([^']*)'|\"([^\"]*)\"|(-?\d+(?:\.\d+)?))")


def matching(rule: dict, want: bool) -> list[tuple[Path, Any]]:
    """Assignments (path, value) that make ``rule`` evaluate to ``want``; ABSENT leaves a path out."""
    if isinstance(rule.get("Condition"), str):  # JSONata: only the common ``$states.input.a.b = 'value'``
        found = CONDITION.search(rule["Condition"])
        if not found:
            return []
        text = found.group(2) if found.group(2) is not None else found.group(3)
        value: Any = text if text is not None else float(found.group(4)) if "." in found.group(4) \
            else int(found.group(4))
        return [(steps(found.group(1)), value if want else _value("StringEquals" if text is not None
                                                                   else "NumericEquals", value, False))]
    if "And" in rule or "Or" in rule:
        parts = rule.get("And") or rule.get("Or") or []
        every = ("And" in rule) == want  # And made true / Or made false: every part; else one part
        chosen = parts if every else parts[:1]
        return [pair for part in chosen if isinstance(part, dict) for pair in matching(part, want)]
    if "Not" in rule:
        return matching(rule["Not"], not want) if isinstance(rule["Not"], dict) else []
    variable = rule.get("Variable")
    if not isinstance(variable, str) or not variable.startswith("$."):
        return []
    path = steps(variable[1:])
    for operator, operand in rule.items():
        if operator in ("Variable", "Next") or operator.endswith("Path"):
            continue
        return [(path, _value(operator, operand, want))]
    return []


def _value(operator: str, operand: Any, want: bool) -> Any:
    if operator == "IsPresent":
        return "present" if operand == want else ABSENT
    if operator.startswith("Is"):
        typed = {"IsNull": None, "IsString": "text", "IsNumeric": 1, "IsBoolean": True,
                 "IsTimestamp": "2024-01-01T00:00:00Z"}[operator] if operator in (
            "IsNull", "IsString", "IsNumeric", "IsBoolean", "IsTimestamp") else "text"
        other = "text" if typed is None else None
        return typed if operand == want else other
    if operator == "BooleanEquals":
        return operand if want else not operand
    if operator == "StringMatches":
        return str(operand).replace("*", "x") if want else "\u2063no match\u2063"
    kind = operator.replace("Equals", "==").replace("GreaterThan", ">").replace("LessThan", "<")
    if operator.startswith("Timestamp"):
        if kind.endswith("=="):
            return operand if want else _timestamp(True)
        later = ">" in kind
        return _timestamp(later if want else not later)
    if kind.endswith("=="):
        return operand if want else (_shifted(operand, 1) if not isinstance(operand, str) else f"{operand}-other")
    if kind.endswith(">="):
        return operand if want else _shifted(operand, -1)
    if kind.endswith("<="):
        return operand if want else _shifted(operand, 1)
    if ">" in kind:
        return _shifted(operand, 1) if want else operand
    if "<" in kind:
        return _shifted(operand, -1) if want else operand
    return operand


def distances(table: dict) -> dict[str, int]:
    """Transitions from each state to a successful end of its scope (FAR: none is reachable)."""
    far = {name: FAR for name in table}

    def successors(state: dict) -> list[str]:
        if state.get("Type") == "Choice":
            return [c.get("Next") for c in state.get("Choices") or [] if isinstance(c, dict)] + \
                   ([state["Default"]] if "Default" in state else [])
        return [state["Next"]] if "Next" in state else []

    changed = True
    while changed:
        changed = False
        for name, state in table.items():
            if not isinstance(state, dict):
                continue
            if state.get("Type") == "Fail":
                best = FAR
            elif state.get("Type") == "Succeed" or state.get("End") is True:
                best = 0
            else:
                best = min([1 + far[n] for n in successors(state) if n in far] or [FAR])
            if best < far[name]:
                far[name], changed = best, True
    return far


def choice_answers(definition: dict) -> dict[Path, Any]:
    """For each JSONPath Choice, the values that take its branch nearest to a successful end."""
    answers: dict[Path, Any] = {}
    for table in scopes(definition):
        far = distances(table)
        for state in table.values():
            if not (isinstance(state, dict) and state.get("Type") == "Choice"):
                continue
            rules = [c for c in state.get("Choices") or [] if isinstance(c, dict)]
            options = [(far.get(rule.get("Next"), FAR), index) for index, rule in enumerate(rules)]
            if "Default" in state:
                options.append((far.get(state["Default"], FAR), len(rules)))
            if not options:
                continue
            _, pick = min(options)
            if pick < len(rules):  # the chosen rule's answer first: it wins over the earlier rules' (setdefault)
                pairs = matching(rules[pick], True) + [pair for rule in rules[:pick] for pair in matching(rule, False)]
            else:
                pairs = [pair for rule in rules for pair in matching(rule, False)]
            for path, value in pairs:
                answers.setdefault(path, value)
    return _through_mappings(definition, answers)


def _through_mappings(definition: dict, answers: dict[Path, Any]) -> dict[Path, Any]:
    """A Choice often tests a field that a ResultSelector or Parameters built (``"status.$": "$.Job.Status"``):
    the answer is also given to the path that field was read from."""
    sources: dict[str, list[Path]] = {}

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                if name.endswith(".$") and isinstance(value, str) and JSONPATH.fullmatch(value):
                    sources.setdefault(name[:-2], []).append(steps(value[1:]))
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(definition)
    out = dict(answers)
    for path, value in answers.items():
        if path and isinstance(path[-1], str):
            for source in sources.get(path[-1], []):
                out.setdefault(source, value)
    return out


# --- the shape ---------------------------------------------------------------------------------------

def _put(tree: dict, path: Path, value: Any, overwrite: bool) -> None:
    node: Any = tree
    for index, step in enumerate(path):
        last = index == len(path) - 1
        if isinstance(step, int):
            return  # an index into an array: the array is written whole, below
        nxt = path[index + 1] if not last else None
        if not isinstance(node, dict):
            return
        if last:
            if overwrite or step not in node:
                node[step] = value
            return
        if isinstance(nxt, int):
            if not isinstance(node.get(step), list):
                node[step] = [{} for _ in range(nxt + 1)]
            while len(node[step]) <= nxt:
                node[step].append({})
            rest = path[index + 2:]
            if rest:
                if not isinstance(node[step][nxt], dict):
                    node[step][nxt] = {}
                _put(node[step][nxt], rest, value, overwrite)
            elif overwrite or node[step][nxt] == {}:
                node[step][nxt] = value
            return
        if not isinstance(node.get(step), dict):
            node[step] = {}
        node = node[step]


def _without_arrays(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {key: ([] if isinstance(value, list) else _without_arrays(value)) for key, value in tree.items()}
    return tree


def shape(definition: dict) -> dict:
    """The one object holding every path the definition reads (see the module's docstring)."""
    paths, arrays, typed = read_paths(definition)
    answers = {**typed, **choice_answers(definition)}
    tree: dict = {}
    suffixes = {path[i:] for path in paths | set(answers) for i in range(len(path)) if isinstance(path[i], str)}
    for path in sorted(suffixes, key=lambda p: (len(p), str(p)), reverse=True):  # deep first: objects win
        _put(tree, path, f"sample-{path[-1]}", overwrite=False)
    for path in sorted(arrays, key=len):
        _put(tree, path, [], overwrite=True)
    item = _without_arrays(tree)
    for path in sorted(arrays, key=len):
        _put(tree, path, [copy.deepcopy(item)], overwrite=True)
    for whole in (False, True):  # an answer's own path wins over another answer's suffix ("Status")
        for path, value in answers.items():
            for i in ([0] if whole else range(1, len(path))):
                if isinstance(path[i], str):
                    if value is ABSENT:
                        _drop(tree, path[i:])
                    else:
                        _put(tree, path[i:], value, overwrite=True)
    return tree


def _drop(tree: dict, path: Path) -> None:
    node: Any = tree
    for step in path[:-1]:
        node = node.get(step) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


def merged(base: Any, over: Any) -> Any:
    """``over`` laid on ``base``, objects merged field by field."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merged(base.get(key), value) if key in base else value
        return out
    return over


class ShapedTasks:
    """A task table (``find``, as sfn_cache.local.tasks.TaskTable) answering every task with the
    current definition's shape merged under what the task received; ``use`` switches definition."""

    def __init__(self) -> None:
        self.answer: Callable[[Any], Any] = lambda received: received

    def use(self, definition: dict) -> dict:
        """Answer for ``definition`` from now on; returns its execution input."""
        tree = shape(definition)
        stub = {"Status": "SUCCEEDED", "StatusCode": 200}
        self.answer = lambda received: merged(merged(stub, tree), received if isinstance(received, dict) else {})
        return copy.deepcopy(tree)

    def find(self, written: str) -> Callable[[Any], Any]:
        return self.answer
