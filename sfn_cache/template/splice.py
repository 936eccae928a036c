"""Keep a YAML template's text byte for byte outside the state machines that ``wrap`` changed.

ruamel.yaml's round trip keeps comments and short forms but re-emits indentation, trailing spaces,
blank lines and quoting its own way, so dumping the whole template turns one real change into a
diff of the whole file; and a comment written above the next resource belongs, to ruamel, to the end
of the previous one, so a key appended to a state machine lands under it. Here only the changed
state machine resources are taken from ruamel's output, each spliced into the original text in place
of its old lines; everything else is the original text.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

Ranges = dict[str, tuple[int, int, int]]  # resource -> (first line, end line (exclusive), column)


def resource_ranges(tree: Any, text: str) -> Ranges | None:
    """The lines of each resource, without the blank and comment lines that lead to the next one.

    None when the template's layout is not one this can splice (flow style, no line information).
    """
    lines = text.splitlines()
    try:
        resources = tree["Resources"]
        top = list(tree)
        after = top.index("Resources") + 1
        limit = tree.lc.key(top[after])[0] if after < len(top) else len(lines)
        names = list(resources)
        found: Ranges = {}
        for index, name in enumerate(names):
            line, column = resources.lc.key(name)
            end = resources.lc.key(names[index + 1])[0] if index + 1 < len(names) else limit
            while end > line + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
                end -= 1
            found[name] = (line, end, column)
    except (AttributeError, KeyError, TypeError, IndexError):
        return None
    return found


def drop_trailing_comment(node: Any) -> None:
    """Remove the comment lines ruamel hangs on a resource's last value (they belong to what follows;
    the splice keeps them from the original text). An end-of-line comment on that value stays."""
    while isinstance(node, (CommentedMap, CommentedSeq)) and len(node):
        last = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
        slot = 2 if isinstance(node, CommentedMap) else 0
        entry = node.ca.items.get(last)
        if entry and len(entry) > slot and entry[slot] is not None and hasattr(entry[slot], "value"):
            value = entry[slot].value
            kept = value.split("\n", 1)[0] + "\n" if not value.startswith("\n") else ""
            if kept:
                entry[slot].value = kept
            else:
                entry[slot] = None
        node = node[last]


def splice(original: str, before: Ranges, dumped: str, after: Ranges, names: list[str]) -> str:
    """``original`` with the lines of each resource in ``names`` replaced by its lines in ``dumped``
    (shifted to the original's indentation)."""
    old_lines = original.splitlines(keepends=True)
    new_lines = dumped.splitlines(keepends=True)
    out: list[str] = []
    position = 0
    for name in sorted(names, key=lambda n: before[n][0]):
        start, end, column = before[name]
        new_start, new_end, new_column = after[name]
        out += old_lines[position:start]
        out += [_shift(line, column - new_column) for line in new_lines[new_start:new_end]]
        position = end
    out += old_lines[position:]
    return "".join(out)


def _shift(line: str, by: int) -> str:
    if by > 0 and line.strip():
        return " " * by + line
    if by < 0 and line[:-by].strip() == "":
        return line[-by:]
    return line
