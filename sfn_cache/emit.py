"""Deterministic output and atomic writes: same input and options, same bytes; never a half file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml


def dump_json(document: Any, compact: bool = False) -> str:
    """Two-space JSON (or, compact, no whitespace at all), key order as built, UTF-8 kept, trailing newline."""
    if compact:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def dump_yaml(document: Any) -> str:
    """Block-style YAML with the key order as built."""
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False,
                          width=4096)


def atomic_write(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to a temp file beside ``path`` and rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
