"""Every option value that names states, and the check that each one matches a state.

A state name or glob that matches no state is a typo: the same error whether it came from a flag,
a ``files.<GLOB>`` table of the project configuration or the API, naming the option and the closest
state name. The configuration's top level is shared by every file of the project, so its selectors
are for the files that have such states and never an error (issue 28).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any, Mapping

from sfn_cache.errors import SfnCacheError
from sfn_cache.options.flags import state_and_value
from sfn_cache.options.table import SELECTED
from sfn_cache.rewrite.options import StateRule

if TYPE_CHECKING:
    from sfn_cache.options.project_config import ProjectConfig

Selector = tuple[str, str, "str | None"]  # (the option as written, the state name or glob, the file or None)

# globs first, then the values that assign to a state, then the bare state names (errors name the first)
_FORM_ORDER = {"globs": 0, "state=value": 1, "[state=]value": 1, "[state]": 2}
NAMING = sorted((option for option in SELECTED if option.form in _FORM_ORDER and option.checks_states),
                key=lambda option: _FORM_ORDER[option.form])


def selectors(values: Mapping[str, Any], config: ProjectConfig | None) -> list[Selector]:
    """(option, state name or glob, configuration file or None) for every value that must name a state.

    ``values``: the command line's, by click parameter name (checked already: each splits cleanly).
    From ``config``, only the values a ``files.<GLOB>`` table gave: the top level's are shared.
    """
    found: list[Selector] = []
    for option in NAMING:
        for value in values[option.param]:
            state = value if option.form == "globs" else state_and_value(option, value)[0]
            if state is not None:
                found.append((f"{option.flag} {value}", state, None))
    if config:
        for option in NAMING:
            key = str(option.config_key)
            if option.form == "globs" and not values[option.param] and key in config.setting_keys:
                found += [(f"{config.setting_keys[key]} {glob}", glob, str(config.path))
                          for glob in config.settings.get(key, ())]
        found += [(config.rule_key(index), rule.pattern, str(config.path)) for index, rule in enumerate(config.rules)
                  if config.rule_key(index).startswith("files.")]
    return found


def closest_name(pattern: str, names: set[str]) -> str | None:
    """The state name nearest to a pattern that matched nothing (for "did you mean" in errors)."""
    found = difflib.get_close_matches(pattern.strip("*?[]"), sorted(names), n=1, cutoff=0.0)
    return found[0] if found else None


def check_matches(wanted: list[Selector], definitions: list[tuple[dict[str, Any], str]], what: str) -> None:
    """SfnCacheError for the first selector that matches no state of ``definitions`` (dict, source)."""
    check_run([(wanted, definitions, what)])


def check_run(files: list[tuple[list[Selector], list[tuple[dict[str, Any], str]], str]]) -> None:
    """SfnCacheError for the first selector that matches no state in any file it applies to.

    ``files``: for each file of a run, (the selectors that apply to it, its definitions, its name).
    A selector shared by many files (a flag, a ``files.<GLOB>`` table) need not match in each, only
    in some file of the run.
    """
    from sfn_cache.rewrite.wrap import state_names

    matched: set[Selector] = set()
    missed: dict[Selector, list[tuple[str, str | None]]] = {}  # in the order first met
    for wanted, definitions, what in files:
        if not wanted:
            continue
        names: set[str] = set()
        for definition, source in definitions:
            names |= state_names(definition, source)
        for selector in wanted:
            if any(StateRule(pattern=selector[1]).matches(name) for name in names):
                matched.add(selector)
            else:
                missed.setdefault(selector, []).append((what, closest_name(selector[1], names)))
    for (option, pattern, file), misses in missed.items():
        if (option, pattern, file) in matched:
            continue
        if len(misses) == 1:
            what, closest = misses[0]
            hint = f" (closest state name: {closest!r})" if closest else ""
            raise SfnCacheError(f"{option}: matches no state in {what}{hint}", file=file)
        raise SfnCacheError(f"{option}: matches no state in any of the {len(misses)} files", file=file)


def unmatched_shared(values: Mapping[str, Any], config: ProjectConfig | None,
                     definitions: list[tuple[dict[str, Any], str]]) -> list[str]:
    """Warnings (never errors) for the configuration's top-level selectors that match no state in any of
    a run's ``definitions``: shared by every file, so no file needs such a state, but a run where none
    has one may hold a typo. A flag given for the same option replaces the top level's value."""
    if config is None:
        return []
    from sfn_cache.rewrite.wrap import state_names

    shared: list[tuple[str, str]] = []
    for option in NAMING:
        key = str(option.config_key)
        if option.form == "globs" and not values[option.param]:
            shared += [(f"{key} {glob}", glob) for glob in config.settings.get(key, ())]
    shared += [(f"states.{rule.pattern}", rule.pattern) for rule in config.rules]
    names: set[str] = set()
    for definition, source in definitions:
        names |= state_names(definition, source)
    return [f"{config.path}: {where}: matches no state in the files of this run (the configuration's top level "
            f"is shared by every file; a typo?)" for where, pattern in shared
            if not any(StateRule(pattern=pattern).matches(name) for name in names)]


def check_selectors(values: Mapping[str, Any], config: ProjectConfig | None,
                    definitions: list[tuple[dict[str, Any], str]], what: str) -> None:
    """A state name or glob, from a flag or the file, that matches no state is an error."""
    check_matches(selectors(values, config), definitions, what)
