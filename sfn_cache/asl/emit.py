"""Deterministic output and atomic writes: same input and options, same bytes; never a half file."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Collection

from sfn_cache.errors import SfnCacheError


WIDTH = 120  # the longest line the default layout writes for a generated state (a scalar longer stays whole)


def dump_json(document: Any, compact: bool = False, generated: Collection[str] = (), indent: str = "  ") -> str:
    """A definition's JSON text, key order as built, UTF-8 kept, trailing newline.

    ``compact``: no whitespace at all (the byte-minimal form, for definitions near Step Functions' 1 MB
    quota). Otherwise every value is indented by ``indent`` (the input's own unit: json_indent), and
    the ``generated`` states (entries of the ``States`` of a scope, one with ``StartAt``, at any depth)
    are written to fit in WIDTH columns: an object or list that fits on its line stays on it, one that
    does not is broken one member per line (fitted_json). So a diff of a changed option shows the short
    lines that changed, and the generated states take a third of the lines of indenting them fully.
    Everything else is byte for byte ``json.dumps(indent=len(indent))`` (tabs: indented by tabs)."""
    if compact:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    if not generated and indent == "  ":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return _indented(document, 0, frozenset(generated), indent) + "\n"


def json_indent(text: str) -> str:
    """The indentation unit of a JSON text: the leading spaces or tabs of its first indented line
    (``"  "`` when it has none, or mixes them): the user's states are written back with it."""
    for line in text.splitlines()[1:]:
        unit = line[:len(line) - len(line.lstrip(" \t"))]
        if line.strip():
            return unit if unit and len(set(unit)) == 1 and len(unit) <= 8 else "  "
    return "  "


def _indented(value: Any, level: int, generated: frozenset[str], indent: str, states: bool = False) -> str:
    """``json.dumps(value, indent=indent)`` at ``level``, except the ``generated`` states of a ``States``
    object, written by fitted_json."""
    if isinstance(value, dict) and value:
        pad = indent * (level + 1)
        items = []
        last = len(value) - 1
        for index, (key, item) in enumerate(value.items()):
            key_text = json.dumps(_key_text(key), ensure_ascii=False)
            if states and key in generated and isinstance(item, dict):
                text = _fitted(item, level + 1, indent, _columns(pad) + len(key_text) + 2, int(index < last))
            else:
                text = _indented(item, level + 1, generated, indent,
                                 key == "States" and isinstance(item, dict) and "StartAt" in value)
            items.append(f"{pad}{key_text}: {text}")
        return "{\n" + ",\n".join(items) + "\n" + indent * level + "}"
    if isinstance(value, (list, tuple)) and value:
        pad = indent * (level + 1)
        return ("[\n" + ",\n".join(pad + _indented(item, level + 1, generated, indent) for item in value)
                + "\n" + indent * level + "]")
    return json.dumps(value, ensure_ascii=False)


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
