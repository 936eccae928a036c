"""Where each value of a JSON text is written: so that a rewritten definition can keep the user's own
text (spacing, one-line lists, key spacing) for every value the rewrite left as it was, and a diff
shows only what changed."""

from __future__ import annotations

import json.decoder
import re
from dataclasses import dataclass, field
from typing import Any, Callable

scanstring: Callable[[str, int], tuple[str, int]] = getattr(json.decoder, "scanstring")  # C, untyped in typeshed
_SPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = ("true", "false", "null")

ValuePath = tuple[Any, ...]  # keys and list indexes from the document's root


@dataclass
class JsonSource:
    """A JSON text as read (already known to be valid JSON) and the document it holds."""

    text: str
    document: Any
    values: dict[ValuePath, tuple[int, int]] = field(default_factory=dict)  # each value's [start, end)
    lines: dict[ValuePath, int] = field(default_factory=dict)  # a member or item first on its line: the line's start

    def __post_init__(self) -> None:
        self._value(len(self.text) - len(self.text.lstrip("\ufeff")), ())

    def kept(self, path: ValuePath) -> str | None:
        """The text of the member or item at ``path`` from the start of its line (its indentation,
        key and value as written), or None when something else shares its line."""
        start = self.lines.get(path)
        return None if start is None else self.text[start:self.values[path][1]]

    def pad(self, path: ValuePath) -> str | None:
        """The indentation of the member or item at ``path``, when it starts its line."""
        start = self.lines.get(path)
        if start is None:
            return None
        line = self.text[start:self.values[path][1]]
        return line[:len(line) - len(line.lstrip(" \t"))]

    def value_text(self, path: ValuePath) -> str:
        start, end = self.values[path]
        return self.text[start:end]

    def _skip(self, index: int) -> int:
        match = _SPACE.match(self.text, index)
        return match.end() if match else index

    def _note_line(self, path: ValuePath, start: int) -> None:
        line_start = self.text.rfind("\n", 0, start) + 1
        if not self.text[line_start:start].strip(" \t"):
            self.lines[path] = line_start

    def _value(self, index: int, path: ValuePath) -> int:
        """Read the value at ``index`` (whitespace first) into ``values``; returns where it ends.
        Nesting is bounded by the loader (MAX_DEPTH), which read this text first."""
        text = self.text
        start = self._skip(index)
        char = text[start:start + 1]
        if char == "{":
            end = self._members(start + 1, path)
        elif char == "[":
            end = self._items(start + 1, path)
        elif char == '"':
            end = scanstring(text, start + 1)[1]
        else:
            literal = next((word for word in _LITERALS if text.startswith(word, start)), None)
            match = None if literal else _NUMBER.match(text, start)
            end = start + len(literal) if literal else (match.end() if match else start)
        self.values[path] = (start, end)
        return end

    def _members(self, index: int, path: ValuePath) -> int:
        text = self.text
        index = self._skip(index)
        if text[index] == "}":
            return index + 1
        while True:
            key_start = index
            key, index = scanstring(text, index + 1)
            child = (*path, key)
            self._note_line(child, key_start)
            index = self._skip(self._skip(index) + 1)  # past the colon
            index = self._skip(self._value(index, child))
            if text[index] == "}":
                return index + 1
            index = self._skip(index + 1)  # past the comma

    def _items(self, index: int, path: ValuePath) -> int:
        text = self.text
        index = self._skip(index)
        if text[index] == "]":
            return index + 1
        position = 0
        while True:
            child = (*path, position)
            self._note_line(child, index)
            index = self._skip(self._value(index, child))
            if text[index] == "]":
                return index + 1
            index = self._skip(index + 1)
            position += 1


def same(old: Any, new: Any) -> bool:
    """Equal as JSON data: ``true`` is not ``1``, ``1`` is not ``1.0`` (either may be written back)."""
    if isinstance(new, dict):
        return isinstance(old, dict) and old.keys() == new.keys() and all(same(old[k], v) for k, v in new.items())
    if isinstance(new, list):
        return isinstance(old, list) and len(old) == len(new) and all(map(same, old, new))
    return type(old) is type(new) and old == new
