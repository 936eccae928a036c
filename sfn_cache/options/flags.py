"""The command line's values of the table's options, over the project configuration: one WrapOptions.

Click hands over each option's raw values (strings, tuples of strings); this module splits
``STATE=VALUE``, parses and checks them, and applies the precedence rule against the configuration.
It raises ``FlagError`` naming the flag, which the command line shows as click's "Invalid value".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Container, Mapping

from sfn_cache.options.precedence import layered
from sfn_cache.options.table import SELECTED, Option
from sfn_cache.rewrite.options import StateRule, WrapOptions

if TYPE_CHECKING:  # reading a file needs the loader; the command line's --help does not
    from sfn_cache.options.project_config import ProjectConfig


class FlagError(ValueError):
    """A flag's value is not what the option takes; ``flag`` names it."""

    def __init__(self, flag: str, message: str):
        super().__init__(message)
        self.flag = flag


def split_assignment(value: str, flag: str) -> tuple[str, str]:
    """``STATE=VALUE`` -> (STATE, VALUE); the state part may itself hold ``=`` only before the last one."""
    state, sep, rest = value.rpartition("=")
    if not sep or not state or not rest:
        raise FlagError(flag, f"expected STATE=VALUE, got {value!r}")
    return state, rest


def state_and_value(option: Option, value: str) -> tuple[str | None, str]:
    """(the state a value names or None, the value itself) for a repeatable option's value."""
    if option.form == "[state]":
        return (None, value) if value == "*" else (value, value)
    if option.split_at_first_equals:
        state, _, path = value.partition("=")
        if not state or not path:
            raise FlagError(option.flag, f"expected {option.metavar}, got {value!r}")
        return state, path
    if option.form == "state=value" or "=" in value:
        return split_assignment(value, option.flag)
    return None, value


def _parsed(option: Option, text: str) -> Any:
    if option.choices and text not in option.choices:
        raise FlagError(option.flag, f"expected one of {', '.join(option.choices)}, got {text!r}")
    try:
        return option.parse(text) if option.parse else text
    except ValueError as error:
        raise FlagError(option.flag, str(error)) from None


def read(option: Option, values: Any) -> tuple[Any, list[StateRule]]:
    """(the global value the flag gives, or the option's default; the rules its per-state values make)."""
    if option.form == "flag" or values is None:
        return values, []
    if option.form == "value":
        return _parsed(option, values), []
    if option.form == "globs":
        return tuple(values), []
    chosen, rules = option.default, []
    per_state: dict[str, list[Any]] = {}
    for value in values:
        state, text = state_and_value(option, value)
        if option.form == "[state]":
            chosen = chosen or state is None
            if state is not None:
                rules.append(_rule(option, state, True))
        elif option.accumulates:
            per_state.setdefault(str(state), []).append(text)
        elif state is None:
            chosen = _parsed(option, text)
        else:
            rules.append(_rule(option, state, _parsed(option, text)))
    rules += [_rule(option, state, tuple(texts)) for state, texts in per_state.items()]
    return chosen, rules


def _rule(option: Option, state: str, value: Any) -> StateRule:
    fields: dict[str, Any] = {str(option.rule_field): value}
    return StateRule(pattern=state, **fields)


def _given(option: Option, values: Any, typed: bool) -> bool:
    """Whether the command line sets the option's global value (so the configuration's does not count)."""
    if typed and option.state_flags_keep_config:
        return any(state_and_value(option, value)[0] is None for value in values)
    return typed


def _from_config(option: Option, value: Any) -> Any:
    """A configuration value (checked and parsed when read) as the WrapOptions field holds it."""
    if option.form == "globs":
        return tuple(value)
    if option.form == "[state]":
        return bool(value)
    return value


def wrap_options(values: Mapping[str, Any], typed: Container[str], config: ProjectConfig | None) -> WrapOptions:
    """WrapOptions from the flags' values (by click parameter name), over the configuration's.

    ``typed`` holds the parameters typed on the command line (see ``precedence``). The configuration's
    per-state rules come first, so that a flag's rule for the same state wins over the file's.
    """
    settings = config.settings if config else {}
    from_config = {option.config_key: _from_config(option, settings[option.config_key]) for option in SELECTED
                   if option.config_key in settings}
    fields: dict[str, Any] = {}
    rules: list[StateRule] = list(config.rules) if config else []
    origins: dict[str, Any] = {}
    for option in SELECTED:
        raw = values[option.param]
        value, option_rules = read(option, raw)
        rules += option_rules
        if option.field is None:
            continue
        given = _given(option, raw, option.param in typed)
        fields[option.field] = layered(given, value, from_config, option.config_key)
        if option.form == "globs" and config and not given:
            key = config.setting_keys.get(str(option.config_key), option.config_key)
            origins[f"{option.field}_origin"] = f"{key} {{}} in {config.path}"
    return WrapOptions(**fields, **origins, rules=tuple(rules))
