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

    [tool.sfn-cache.files."machines/etl*"]     # only for the files this glob matches
    ttl = "1d"
    [tool.sfn-cache.files."machines/etl*".states.Load]
    exclude = true

A ``files.<GLOB>`` table takes the same keys as the top level (``states`` included) and applies to the
files whose path relative to the configuration's folder matches GLOB (``*`` crosses folders), or, for
a GLOB without ``/``, whose name does; its values replace the top level's, its ``states`` tables come
after the top level's. Tables apply in the order written.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
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
SECTION_KEYS = dict(GLOBAL_KEYS)  # what a files.<GLOB> table takes: the top level's keys but files
GLOBAL_KEYS["files"] = dict
STATE_KEYS: dict[str, type | tuple[type, ...]] = {key: option.state_type for key, option in STATE.items()}
CHOICES = {key: option.choices for key, option in [*GLOBAL.items(), *STATE.items()] if option.choices}


@dataclass
class FileSection:
    """One ``files.<GLOB>`` table: settings and per-state rules for the files GLOB matches."""

    pattern: str
    settings: dict[str, Any]
    rules: list[StateRule]

    def matches(self, relative: str) -> bool:
        if "/" not in self.pattern.rstrip("/"):
            return fnmatch.fnmatchcase(PurePosixPath(relative).name, self.pattern)
        return fnmatch.fnmatchcase(relative, self.pattern.removeprefix("./"))


@dataclass
class ProjectConfig:
    path: Path
    settings: dict[str, Any] = field(default_factory=dict)  # global keys, validated
    rules: list[StateRule] = field(default_factory=list)
    sections: list[FileSection] = field(default_factory=list)
    # how selectors name a value that a files.<GLOB> table gave: config key -> "files.GLOB.key";
    # and the key of each rule, in order (default: states.<PATTERN>)
    setting_keys: dict[str, str] = field(default_factory=dict)
    rule_keys: list[str] = field(default_factory=list)

    def error(self, message: str) -> SfnCacheError:
        return SfnCacheError(message, file=str(self.path))

    def rule_key(self, index: int) -> str:
        return self.rule_keys[index] if index < len(self.rule_keys) else f"states.{self.rules[index].pattern}"

    def for_file(self, path: str) -> ProjectConfig:
        """The configuration as it applies to ``path`` (a file name as given; ``-`` is stdin, which no
        ``files`` table matches): the top level, then every matching ``files.<GLOB>`` table in order."""
        applied = [section for section in self.sections if path != "-" and section.matches(self._relative(path))]
        if not applied:
            return self
        config = ProjectConfig(self.path, dict(self.settings), list(self.rules),
                               rule_keys=[self.rule_key(i) for i in range(len(self.rules))])
        for section in applied:
            config.settings.update(section.settings)
            config.setting_keys.update({key: f"files.{section.pattern}.{key}" for key in section.settings})
            config.rules += section.rules
            config.rule_keys += [f"files.{section.pattern}.states.{rule.pattern}" for rule in section.rules]
        return config

    def _relative(self, path: str) -> str:
        """``path`` relative to the configuration's folder, with ``/`` (the form globs are written in)."""
        return Path(os.path.relpath(Path(path).resolve(), self.path.parent.resolve())).as_posix()


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
    config.settings, config.rules = _table(config, raw, GLOBAL_KEYS, prefix)
    for pattern, table in (raw.get("files") or {}).items():
        where = f"{prefix}files.{pattern}"
        if not isinstance(table, dict):
            raise config.error(f"{where}: must be a table of options for the files the glob matches")
        settings, rules = _table(config, table, SECTION_KEYS, where + ".")
        config.sections.append(FileSection(str(pattern), settings, rules))
    return config


def _table(config: ProjectConfig, raw: dict[str, Any], allowed: dict[str, type | tuple[type, ...]],
           prefix: str) -> tuple[dict[str, Any], list[StateRule]]:
    """The settings and per-state rules of the top level or of a ``files.<GLOB>`` table, checked."""
    for key, value in raw.items():
        _check(config, allowed, key, value, prefix)
    settings = {key: _parsed(config, GLOBAL[key].parse, value, prefix + key)
                for key, value in raw.items() if key not in ("states", "files")}
    rules = []
    for pattern, options in (raw.get("states") or {}).items():
        where = f"{prefix}states.{pattern}"
        if not isinstance(options, dict):
            raise config.error(f"{where}: must be a table of per-state options")
        for key, value in options.items():
            _check(config, STATE_KEYS, key, value, where + ".")
        rules.append(_rule(config, pattern, options, where))
    return settings, rules


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
