"""Deterministic output and atomic writes: same input and options, same bytes; never a half file."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection

from sfn_cache.asl.json_source import JsonSource, ValuePath, same
from sfn_cache.errors import SfnCacheError

WIDTH = 120  # the longest line the default layout writes for a generated state (a scalar longer stays whole)


def dump_json(document: Any, compact: bool = False, generated: Collection[str] = (), indent: str = "  ",
              source: JsonSource | None = None) -> str:
    """A definition's JSON text, key order as built, UTF-8 kept, trailing newline.

    ``compact``: no whitespace at all (the byte-minimal form, for definitions near Step Functions' 1 MB
    quota). Otherwise every value is indented by ``indent`` (the input's own unit: json_indent), and
    the ``generated`` states (entries of the ``States`` of a scope, one with ``StartAt``, at any depth)
    are written to fit in WIDTH columns: an object or list that fits on its line stays on it, one that
    does not is broken one member per line (fitted_json). So a diff of a changed option shows the short
    lines that changed. ``source``: the input as read; every value still as it was there (same path,
    same JSON) is written back as its text was, so a diff against the input shows only what changed.
    Everything else is byte for byte ``json.dumps(indent=len(indent))`` (tabs: indented by tabs)."""
    if compact:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    if not generated and indent == "  " and source is None:
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    layout = _Layout(frozenset(generated), indent, source)
    text = layout.indented(document, 0, source.document if source else _MISSING, ()) + "\n"
    if source is not None and not same(json.loads(text), document):  # the input's text read back wrong:
        return dump_json(document, compact, generated, indent)  # never write another definition
    return text


def json_indent(text: str) -> str:
    """The indentation unit of a JSON text, for writing the user's states back with it: the step most
    of its lines opening an object or a list indent the next one by (tabs when it indents with tabs;
    ``"  "`` when nothing is indented)."""
    steps: dict[str, int] = {}
    previous = None
    for line in text.splitlines():
        if not line.strip():
            continue
        lead = line[:len(line) - len(line.lstrip(" \t"))]
        if previous is not None and previous[1].rstrip().endswith(("{", "[")) and lead.startswith(previous[0]):
            step = lead[len(previous[0]):]
            if step and len(set(step)) == 1 and len(step) <= 8:
                steps[step] = steps.get(step, 0) + 1
        previous = (lead, line)
    return max(sorted(steps, key=len), key=lambda step: steps[step]) if steps else "  "


_MISSING = object()  # no value at this path in the input


@dataclass(frozen=True)
class _Layout:
    generated: frozenset[str]
    indent: str
    source: JsonSource | None

    def indented(self, value: Any, level: int, original: Any, path: ValuePath, states: bool = False) -> str:
        """``json.dumps(value, indent=indent)`` at ``level``, except the ``generated`` states of a
        ``States`` object (fitted_json) and the values as they were in ``source`` (their text)."""
        if self.source is not None and original is not _MISSING and same(original, value):
            return self.source.value_text(path)
        indent = self.indent
        if isinstance(value, dict) and value:
            pad = indent * (level + 1)
            items = []
            last = len(value) - 1
            for index, (key, item) in enumerate(value.items()):
                key_text = json.dumps(_key_text(key), ensure_ascii=False)
                before = original.get(key, _MISSING) if isinstance(original, dict) else _MISSING
                kept = self._kept((*path, key), before, item)
                if kept is not None:
                    items.append(kept)
                    continue
                if states and key in self.generated and isinstance(item, dict):
                    text = _fitted(item, level + 1, indent, _columns(pad) + len(key_text) + 2, int(index < last))
                else:
                    text = self.indented(item, level + 1, before, (*path, key),
                                         key == "States" and isinstance(item, dict) and "StartAt" in value)
                own_pad = self.source.pad((*path, key)) if self.source and before is not _MISSING else None
                items.append(f"{pad if own_pad is None else own_pad}{key_text}: {text}")
            return "{\n" + ",\n".join(items) + "\n" + indent * level + "}"
        if isinstance(value, (list, tuple)) and value:
            pad = indent * (level + 1)
            items = []
            for index, item in enumerate(value):
                before = original[index] if isinstance(original, list) and index < len(original) else _MISSING
                kept = self._kept((*path, index), before, item)
                items.append(kept if kept is not None else
                             pad + self.indented(item, level + 1, before, (*path, index)))
            return "[\n" + ",\n".join(items) + "\n" + indent * level + "]"
        return json.dumps(value, ensure_ascii=False)

    def _kept(self, path: ValuePath, original: Any, value: Any) -> str | None:
        """The input's own line(s) for a member or item left as it was, from the start of its line."""
        if self.source is None or original is _MISSING or not same(original, value):
            return None
        return self.source.kept(path)


def fitted_json(value: Any, indent: str = "  ", width: int = WIDTH) -> str:
    """``value`` as JSON in ``width`` columns: an object or list whose one-line form (``", "`` and
    ``": "`` separators) fits on its line stays on it, else one member per line, indented by ``indent``,
    each member fitted in turn. Only a scalar (a long string) makes a line longer than ``width``."""
    return _fitted(value, 0, indent, 0, 0, width)


def _fitted(value: Any, level: int, indent: str, used: int, after: int, width: int = WIDTH) -> str:
    """``value`` at ``level``, its line already holding ``used`` characters and to be followed by ``after``
    (a comma)."""
    if not isinstance(value, (dict, list, tuple)) or not value:
        return json.dumps(value, ensure_ascii=False)
    flat = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if used + _columns(flat) + after <= width:
        return flat
    pad = indent * (level + 1)
    last = len(value) - 1
    if isinstance(value, dict):
        lines = []
        for index, (key, item) in enumerate(value.items()):
            key_text = json.dumps(_key_text(key), ensure_ascii=False) + ": "
            lines.append(pad + key_text + _fitted(item, level + 1, indent, _columns(pad + key_text),
                                                  int(index < last), width))
        return "{\n" + ",\n".join(lines) + "\n" + indent * level + "}"
    return ("[\n" + ",\n".join(pad + _fitted(item, level + 1, indent, _columns(pad), int(index < last), width)
                               for index, item in enumerate(value)) + "\n" + indent * level + "]")


def _columns(text: str) -> int:
    """Columns on screen: a tab counts as the 8 an editor or a terminal usually shows."""
    return len(text) + 7 * text.count("\t")


def _key_text(key: Any) -> str:
    """A mapping key as ``json.dumps`` writes it (YAML may give int, float, bool or null keys)."""
    return key if isinstance(key, str) else next(iter(json.loads(json.dumps({key: 0}))))


def dump_yaml(document: Any) -> str:
    """Block-style YAML with the key order as built."""
    import yaml  # here, not at the top: a JSON run never needs it

    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False,
                               width=4096)
    return text


def check_output_path(path: str | os.PathLike[str]) -> None:
    """Refuse an output path the temp-file rename would wreck: a symbolic link (the rename replaces the
    link, not its target), a directory, a device such as ``/dev/null``, a FIFO or a socket; and a
    directory sfn-cache cannot write into. A regular file or a new path is fine."""
    target = Path(path)
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise SfnCacheError(f"cannot write here: {exc.strerror}", file=str(target)) from None
    if mode is not None and stat.S_ISLNK(mode):
        raise SfnCacheError("is a symbolic link: sfn-cache replaces the file it writes, so give the path "
                            "the link points to", file=str(target))
    if mode is not None and not stat.S_ISREG(mode):
        raise SfnCacheError(f"is {_file_kind(mode)}, not a regular file: sfn-cache writes only regular "
                            f"files", file=str(target))
    parent = _existing_ancestor(target.parent)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise SfnCacheError(f"cannot write here: {parent} is not a writable directory", file=str(target))


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def _existing_ancestor(directory: Path) -> Path:
    while not os.path.lexists(directory) and directory != directory.parent:
        directory = directory.parent
    return directory


def atomic_write(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to a temp file beside ``path`` and rename it into place (check_output_path first)."""
    target = Path(path)
    check_output_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise SfnCacheError(f"cannot write here: {exc.strerror or exc}", file=str(target)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        check_output_path(target)  # again, right before the rename: it may have changed meanwhile
        os.replace(tmp, target)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise SfnCacheError(f"cannot write here: {exc.strerror or exc}", file=str(target)) from None
        raise
