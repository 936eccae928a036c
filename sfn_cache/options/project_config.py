"""Project configuration: ``[tool.sfn-cache]`` in ``pyproject.toml`` or ``sfn-cache.yaml``.

Found from the current directory upward (the nearest wins), so a CI step and a developer get the same
options. Keys are the command-line option names; per-state options live under ``states``, keyed by a
state name or glob. Unknown keys are errors naming the file and the key.

    [tool.sfn-cache]
    bucket = "s3://ml-cache/prod"
    ttl = "7d"
    exclude = ["Notify*"]

    [tool.sfn-cache.states.Train]
    bundle-name = "model"
    key-paths = ["$.dataset", "$.params"]
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sfn_cache.asl.loader import load_text
from sfn_cache.errors import SfnCacheError
from sfn_cache.options.table import OPTIONS
from sfn_cache.rewrite.options import StateRule

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

YAML_NAME = "sfn-cache.yaml"
GLOBAL = {option.config_key: option for option in OPTIONS if option.config_key}
STATE = {option.state_key: option for option in OPTIONS if option.state_key}
GLOBAL_KEYS: dict[str, type | tuple[type, ...]] = {**{key: o.config_type for key, o in GLOBAL.items()}, "states": dict}
STATE_KEYS: dict[str, type | tuple[type, ...]] = {key: option.state_type for key, option in STATE.items()}
CHOICES = {key: option.choices for key, option in [*GLOBAL.items(), *STATE.items()] if option.choices}


@dataclass
class ProjectConfig:
    path: Path
    settings: dict[str, Any] = field(default_factory=dict)  # global keys, validated
    rules: list[StateRule] = field(default_factory=list)

    def error(self, message: str) -> SfnCacheError:
        return SfnCacheError(message, file=str(self.path))


def find_config(start: Path) -> Path | None:
    """The nearest ``sfn-cache.yaml`` or ``pyproject.toml`` with a ``[tool.sfn-cache]`` table, as a path
    relative to ``start`` (the current directory), which is how messages show it.

    A ``pyproject.toml`` that is not ours is skipped without being parsed, so a broken one elsewhere
    in the tree cannot break ``wrap``; a broken one that has our table is an error.
    """
    for folder in [start.resolve(), *start.resolve().parents]:
        shown = Path(os.path.relpath(folder, start.resolve()))  # messages say ../pyproject.toml
        if (folder / YAML_NAME).is_file():
            return shown / YAML_NAME
        pyproject = shown / "pyproject.toml"
        if (folder / "pyproject.toml").is_file() and _OUR_TABLE.search(_read_text(pyproject)):
            if "sfn-cache" in _read_toml(pyproject).get("tool", {}):
                return pyproject
    return None


# a [tool.sfn-cache...] header, a dotted tool.sfn-cache key, or an inline sfn-cache = {...} table
_OUR_TABLE = re.compile(r"""^\s*\[\s*tool\s*\.\s*["']?sfn-cache|^\s*tool\s*\.\s*["']?sfn-cache"""
                        r"""|sfn-cache["']?\s*=\s*\{""", re.M)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SfnCacheError(f"cannot read the configuration: {error}", file=str(path)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as error:
        raise SfnCacheError(f"invalid TOML: {error}", file=str(path)) from None
    return document


def load_config(path: Path) -> ProjectConfig:
    """Read and check a configuration file: TOML by its ``.toml`` suffix (``[tool.sfn-cache]`` or, in a
    file of its own, top-level keys), YAML otherwise."""
    if path.suffix == ".toml":
        document = _read_toml(path)
        if "sfn-cache" in document.get("tool", {}):
            raw, prefix = document["tool"]["sfn-cache"], "tool.sfn-cache."
        elif path.name == "pyproject.toml":
            raise SfnCacheError("no [tool.sfn-cache] table", file=str(path))
        else:
            raw, prefix = document, ""
    else:
        text = _read_text(path)
        raw = load_text(text, str(path)) if text.strip() else {}
        prefix = ""
    config = ProjectConfig(path)
    if not isinstance(raw, dict):
        raise config.error("the configuration must be a table of options")
    for key, value in raw.items():
        _check(config, GLOBAL_KEYS, key, value, prefix)
    config.settings = {key: _parsed(config, GLOBAL[key].parse, value, prefix + key)
                       for key, value in raw.items() if key != "states"}
    for pattern, options in (raw.get("states") or {}).items():
        where = f"{prefix}states.{pattern}"
        if not isinstance(options, dict):
            raise config.error(f"{where}: must be a table of per-state options")
        for key, value in options.items():
            _check(config, STATE_KEYS, key, value, where + ".")
        config.rules.append(_rule(config, pattern, options, where))
    return config


def _check(config: ProjectConfig, allowed: dict[str, type | tuple[type, ...]], key: str, value: Any,
           prefix: str) -> None:
    """A known key with a value of its type (a list: of strings; a choice: one of them)."""
    if key not in allowed:
        raise config.error(f"unknown key {prefix}{key} (known: {', '.join(sorted(allowed))})")
    if not isinstance(value, allowed[key]) or (allowed[key] is not bool and isinstance(value, bool)):
        raise config.error(f"{prefix}{key}: wrong type {type(value).__name__}")
    if isinstance(value, list) and not all(isinstance(item, str) for item in value):
        raise config.error(f"{prefix}{key}: must be a list of strings")
    if key in CHOICES and value not in CHOICES[key]:
        raise config.error(f"{prefix}{key}: must be one of {', '.join(CHOICES[key])}")


def _parsed(config: ProjectConfig, convert: Callable[[Any], Any] | None, value: Any, where: str) -> Any:
    """A value as its field holds it (a TTL in seconds, a version as a string), or the file's error."""
    try:
        return convert(value) if convert else value
    except ValueError as error:
        raise config.error(f"{where}: {error}") from None


def _rule(config: ProjectConfig, pattern: str, options: dict[str, Any], where: str) -> StateRule:
    """The rule of one ``states.<STATE>`` table (in table order: ``exclude = true`` beats ``include``)."""
    fields: dict[str, Any] = {}
    for key, option in STATE.items():
        if key in options:
            value = _parsed(config, option.state_value or option.parse, options[key], f"{where}.{key}")
            if value is not None:
                fields[str(option.rule_field)] = value
    return StateRule(pattern=pattern, origin=f"{where} in {config.path}", **fields)
