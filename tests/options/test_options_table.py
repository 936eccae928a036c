"""The options table is the one list: every surface offers exactly its entries, with its choices and defaults."""

from __future__ import annotations

import dataclasses
import inspect

import click
import pytest

from sfn_cache.api import Caching
from sfn_cache.cli.inspect import explain_command, graph_command
from sfn_cache.cli.verify import run_command, verify_command
from sfn_cache.cli.wrap import wrap_command
from sfn_cache.options.precedence import layered
from sfn_cache.options.project_config import CHOICES, GLOBAL_KEYS, STATE_KEYS
from sfn_cache.options.table import OPTIONS
from sfn_cache.rewrite.options import PATTERNS, StateRule, WrapOptions
from sfn_cache.runtime import choices
from sfn_cache.runtime.events import FIELDS

COMMANDS = {"wrap": wrap_command, "explain": explain_command, "graph": graph_command, "verify": verify_command,
            "run": run_command}


def click_options(command: click.Command) -> dict[str, click.Option]:
    return {param.name: param for param in command.params if isinstance(param, click.Option)}


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
def test_every_entry_is_a_click_option_of_its_commands(option):
    assert {"wrap", "explain", "graph"} & set(option.commands)
    for name, command in COMMANDS.items():
        offered = click_options(command)
        if name in option.commands:
            assert option.flag in offered[option.param].opts, name
            assert offered[option.param].multiple == option.repeatable
        else:
            assert option.param not in offered, name


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
def test_every_entry_is_a_configuration_key_and_an_api_keyword(option):
    keywords = inspect.signature(Caching.__init__).parameters
    if option.config_key:
        assert GLOBAL_KEYS[option.config_key] == option.config_type
    if option.state_key:
        assert STATE_KEYS[option.state_key] == option.state_type
        assert option.rule_field in {f.name for f in dataclasses.fields(StateRule)}
    if option.api:
        assert option.name in keywords
        assert keywords[option.name].default == option.default or option.name == "lambda_arn"
    if option.field:
        assert option.field in {f.name for f in dataclasses.fields(WrapOptions)}


def test_the_entries_a_surface_leaves_out_are_these():
    """--comments is wrap's alone and not a configuration key; per-state-only options are no Caching keyword
    (cache_step takes bundle_name)."""
    assert [o.name for o in OPTIONS if not (o.config_key or o.state_key)] == ["comments"]
    assert [o.name for o in OPTIONS if not o.api] == ["bundle_name", "key_paths"]
    assert set(GLOBAL_KEYS) == {o.config_key for o in OPTIONS if o.config_key} | {"states", "files"}
    assert set(STATE_KEYS) == {o.state_key for o in OPTIONS if o.state_key}
    assert set(inspect.signature(Caching.__init__).parameters) == {"self", "verbose"} | {o.name for o in OPTIONS
                                                                                        if o.api}
    assert "bundle_name" in inspect.signature(Caching.cache_step).parameters


def test_defaults_are_the_wrap_options_defaults():
    defaults = WrapOptions()
    for option in OPTIONS:
        if option.field:
            assert getattr(defaults, option.field) == option.default, option.name


def test_choice_lists_agree_with_the_runtime():
    by_name = {option.name: option for option in OPTIONS}
    assert by_name["concurrent"].choices == choices.CONCURRENT
    assert by_name["key_code"].choices == choices.KEY_CODE
    assert by_name["key_s3"].choices == choices.KEY_S3
    assert by_name["pattern"].choices == PATTERNS
    for name in ("concurrent", "key_code", "key_s3"):  # the event field the machine sends has the option's name
        check, _ = FIELDS[name]
        assert {value for value in ("run", "wait", "auto", "off", "etag", "other") if check(value)} == \
            set(by_name[name].choices)
    assert CHOICES == {"pattern": PATTERNS, "concurrent": choices.CONCURRENT, "key-code": choices.KEY_CODE,
                       "key-s3": choices.KEY_S3}
    for name in ("pattern", "concurrent"):
        assert tuple(click_options(wrap_command)[name].type.choices) == by_name[name].choices


def test_flags_beat_config_beat_environment():
    config = {"bucket": "s3://from-config"}
    assert layered(True, "s3://typed", config, "bucket") == "s3://typed"
    assert layered(False, "s3://from-environment", config, "bucket") == "s3://from-config"
    assert layered(False, "s3://from-environment", {}, "bucket") == "s3://from-environment"
    assert layered(False, None, config, None) is None
