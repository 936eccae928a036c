"""Deterministic output and atomic writes: same input and options, same bytes; never a half file."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Collection

from sfn_cache.errors import SfnCacheError


def dump_json(document: Any, compact: bool = False, one_line: Collection[str] = ()) -> str:
    """Two-space JSON (or, compact, no whitespace at all), key order as built, UTF-8 kept, trailing newline.

    ``one_line`` names states (entries of the ``States`` of a scope, one with ``StartAt``, at any depth)
    written each on one line: the states sfn-cache generated, whose indentation would otherwise be
    about 40% of a cached task's bytes against the 1 MB definition quota (six levels deep). Everything
    else is byte for byte ``json.dumps(indent=2)``."""
    if compact:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    if not one_line:
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return _indented(document, 0, frozenset(one_line)) + "\n"


def _indented(value: Any, level: int, one_line: frozenset[str], states: bool = False) -> str:
    """``json.dumps(value, indent=2)`` at ``level``, except the ``one_line`` states of a ``States`` object."""
    if isinstance(value, dict) and value:
        pad = "  " * (level + 1)
        items = []
        for key, item in value.items():
            if states and key in one_line and isinstance(item, dict):
                text = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
            else:
                text = _indented(item, level + 1, one_line,
                                 key == "States" and isinstance(item, dict) and "StartAt" in value)
            items.append(f"{pad}{json.dumps(_key_text(key), ensure_ascii=False)}: {text}")
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    if isinstance(value, (list, tuple)) and value:
        pad = "  " * (level + 1)
        return ("[\n" + ",\n".join(pad + _indented(item, level + 1, one_line) for item in value) + "\n"
                + "  " * level + "]")
    return json.dumps(value, ensure_ascii=False)


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
