"""Keep a template's text byte for byte outside the values that ``wrap`` rewrote.

ruamel.yaml's round trip keeps comments and short forms but re-emits indentation, trailing spaces,
blank lines, quoting and ``False`` its own way, and ``json.dumps`` rewrites a whole JSON template.
So only the keys whose value changed (a machine's ``Definition``, ``DefinitionSubstitutions``...) are
written anew, each in place of the lines (YAML: ``splice_values``) or the characters (JSON:
``splice_json``) of its old value; added keys go after the last key of their mapping. Everything else
is the original text. When a layout cannot be spliced that way (flow-style Properties), the older
resource-level splice (``splice``: the changed resources' lines from ruamel's output) is the fallback.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

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


Edit = tuple[dict[str, Any], str]  # a key of a mapping whose value wrap replaced or added


def value_end(lines: list[str], line: int, column: int) -> int:
    """The line after the value of the key at (``line``, ``column``): the lines below that are blank,
    comments, indented deeper, or a zero-offset sequence's ``- `` items; trailing blank and comment
    lines belong to what follows."""
    end = line + 1
    while end < len(lines):
        text = lines[end]
        stripped = text.lstrip(" ")
        indent = len(text) - len(stripped)
        if stripped.strip() and not stripped.startswith("#") and indent < column + 1 and \
                not (indent == column and (stripped.startswith("- ") or stripped.rstrip() == "-")):
            break
        end += 1
    while end > line + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def _key_position(mapping: CommentedMap, key: str, lines: list[str]) -> tuple[int, int] | None:
    """Where ``key`` of a block mapping is written, or None if it is not where ruamel says."""
    position = mapping.lc.data.get(key)
    if position is None or mapping.fa.flow_style():
        return None
    line, column = position[0], position[1]
    text = lines[line] if line < len(lines) else ""
    if text[:column].strip() not in ("", "-") or not text[column:].lstrip("'\"").startswith(key):
        return None
    return line, column


def splice_values(original: str, edits: list[Edit], render: Callable[[str, Any], str]) -> str | None:
    """``original`` with only the values in ``edits`` rewritten (``render(key, node)``: the YAML of the
    one-key mapping, at column 0); added keys go after the last key of their mapping. None when a
    mapping's layout is not one this can splice (flow style, keys ruamel placed elsewhere)."""
    unterminated = bool(original) and not original.endswith("\n")
    lines = (original + "\n" if unterminated else original).splitlines(keepends=True)
    bare = [line.rstrip("\r\n") for line in lines]
    replacements: dict[int, tuple[int, list[tuple[int, int, list[str]]]]] = {}  # start -> (end, new blocks)
    for mapping, key in edits:
        if not isinstance(mapping, CommentedMap):
            return None
        found = _key_position(mapping, key, bare)
        if found is not None:
            line, column = found
            start, end = line, value_end(bare, line, column)
        else:
            originals = [k for k in mapping if k in mapping.lc.data]
            last = _key_position(mapping, originals[-1], bare) if originals else None
            if last is None:
                return None
            column = last[1]
            start = end = value_end(bare, last[0], column)
        new = [" " * column + text if text.strip() else text
               for text in render(key, mapping[key]).splitlines(keepends=True)]
        if start in replacements and (start != end or replacements[start][0] != start):
            return None
        replacements.setdefault(start, (end, []))[1].append((-column, len(replacements[start][1]), new))
    out: list[str] = []
    position = 0
    for start in sorted(replacements):
        end, added = replacements[start]  # keys added at one line: the deeper mapping's first
        new = [text for _, _, block in sorted(added, key=lambda a: a[:2]) for text in block]
        if start < position:
            return None  # overlapping edits: a key inside a value also rewritten
        out += lines[position:start] + new
        position = end
    out += lines[position:]
    text = "".join(out)
    return text[:-1] if unterminated and text.endswith("\n") else text


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def _members(text: str, position: int) -> list[tuple[str, int, int, int]] | None:
    """The members of the JSON object at ``position``: (key, key start, value start, value end)."""
    if text[position:position + 1] != "{":
        return None
    found: list[tuple[str, int, int, int]] = []
    index = _SPACE.match(text, position + 1).end()  # type: ignore[union-attr]
    if text[index:index + 1] == "}":
        return found
    while True:
        key_start = index
        key, index = _DECODER.raw_decode(text, index)
        index = _SPACE.match(text, index).end()  # type: ignore[union-attr]
        if text[index:index + 1] != ":":
            return None
        value_start = _SPACE.match(text, index + 1).end()  # type: ignore[union-attr]
        _, value_end = _DECODER.raw_decode(text, value_start)
        found.append((key, key_start, value_start, value_end))
        index = _SPACE.match(text, value_end).end()  # type: ignore[union-attr]
        if text[index:index + 1] == "}":
            return found
        if text[index:index + 1] != ",":
            return None
        index = _SPACE.match(text, index + 1).end()  # type: ignore[union-attr]


def _line_indent(text: str, position: int) -> str:
    start = text.rfind("\n", 0, position) + 1
    line = text[start:position]
    return line[:len(line) - len(line.lstrip(" \t"))]


JsonEdit = tuple[tuple[str, ...], str, Any]  # (path of the object, key, its new value)


def splice_json(original: str, edits: list[JsonEdit], indent: int) -> str | None:
    """``original`` (a JSON template) with only the values in ``edits`` rewritten, each written with
    ``indent`` at its key's indentation; added keys go after the last key of their object. None when
    the text is not laid out as this expects (a duplicate key, an empty object)."""
    compact = "\n" not in original.strip()
    replacements: list[tuple[int, int, str]] = []
    try:
        root = _SPACE.match(original.lstrip("\ufeff")).end() + (1 if original.startswith("\ufeff") else 0)  # type: ignore[union-attr]
        for path, key, value in edits:
            position = root
            for part in path:
                members = _members(original, position)
                spans = [m for m in members or [] if m[0] == part]
                if len(spans) != 1:
                    return None
                position = spans[0][2]
            members = _members(original, position)
            if not members:
                return None
            mine = [m for m in members if m[0] == key]
            if len(mine) > 1:
                return None
            anchor = mine[0] if mine else members[-1]
            prefix = _line_indent(original, anchor[1])
            rendered = json.dumps(value, indent=None if compact else indent, ensure_ascii=False)
            rendered = rendered.replace("\n", "\n" + prefix)
            if mine:
                replacements.append((anchor[2], anchor[3], rendered))
            else:
                separator = ", " if compact else ",\n" + prefix
                replacements.append((anchor[3], anchor[3], f"{separator}{json.dumps(key)}: {rendered}"))
    except (ValueError, AttributeError):
        return None
    out, last = [], 0
    for start, end, text in sorted(replacements, key=lambda r: (r[0], r[1])):
        if start < last:
            return None
        out += [original[last:start], text]
        last = end
    return "".join(out) + original[last:]
