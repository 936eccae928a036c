"""The click options of the options table, and the WrapOptions a command line gives.

``selection_options`` decorates ``wrap``, ``explain``, ``graph``, ``verify`` and ``run`` alike. Only
the table is imported at start-up: reading a configuration file (and its YAML loader) waits until a
command runs, so ``--help`` stays cheap (benchmarks/cli_startup.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import click
from click.core import ParameterSource

from sfn_cache.options.table import SELECTED, Option
from sfn_cache.rewrite.options import WrapOptions

if TYPE_CHECKING:
    from sfn_cache.options.project_config import ProjectConfig

F = TypeVar("F", bound=Callable[..., Any])


def click_option(option: Option) -> Callable[[F], F]:
    """The click option for a table entry."""
    settings: dict[str, Any] = {"help": option.help}
    if option.repeatable:
        settings["multiple"] = True
    if option.form == "[state]":  # the flag alone means every task
        settings.update(is_flag=False, flag_value="*")
    if option.form == "flag":
        settings["is_flag"] = True
        if option.default is True:  # a --no-... switch
            settings.update(flag_value=False, default=True)
    if option.metavar:
        settings["metavar"] = option.metavar
    if option.form == "value" and option.choices:
        settings["type"] = click.Choice(list(option.choices))
    if option.show_default:
        settings.update(default=option.default, show_default=True)
    return click.option(option.flag, option.param, **settings)


# which project configuration applies: every command that reads one (wrap's family and the cache's)
CONFIG_OPTIONS = (
    click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True),
                 help="Project configuration (default: the nearest sfn-cache.yaml or pyproject.toml "
                      "[tool.sfn-cache] from the current directory up)."),
    click.option("--no-config", is_flag=True, help="Ignore any project configuration file."),
)
# the command's own options that come with the selection ones, after them
COMMAND_OPTIONS = (
    click.option("--resource", metavar="LOGICAL_ID", help="In a template: only this state machine."),
    *CONFIG_OPTIONS,
)
SELECTION_PARAMS = tuple(option.param for option in SELECTED) + ("config_path", "no_config")


def config_options(command: F) -> F:
    """``--config``/``--no-config``, as the cache commands take them."""
    for decorator in reversed(CONFIG_OPTIONS):
        command = decorator(command)
    return command


def selection_options(command: F) -> F:
    """The options that decide what is cached and how: shared by ``wrap``, ``explain`` and ``graph``."""
    for decorator in reversed([*(click_option(option) for option in SELECTED), *COMMAND_OPTIONS]):
        command = decorator(command)
    return command


def options_from_command_line(params: dict[str, Any]) -> tuple[WrapOptions, ProjectConfig | None]:
    """WrapOptions from the project configuration, overridden by the flags given on the command line."""
    config = read_config(params)
    return options_for(params, config), config


def read_config(params: dict[str, Any]) -> ProjectConfig | None:
    """The project configuration the command line asks for (``--config``, ``--no-config``) or finds."""
    from sfn_cache.options.project_config import find_config, load_config

    if params["no_config"]:
        return None
    path = Path(params["config_path"]) if params["config_path"] else find_config(Path.cwd())
    return load_config(path) if path else None


def options_for(params: dict[str, Any], config: ProjectConfig | None) -> WrapOptions:
    """WrapOptions from ``config`` (the whole file's, or as it applies to one file), under the flags."""
    from sfn_cache.options.flags import FlagError, wrap_options

    context = click.get_current_context()
    typed = {name for name in params if context.get_parameter_source(name) == ParameterSource.COMMANDLINE}
    try:
        return wrap_options(params, typed, config)
    except FlagError as error:
        raise click.BadParameter(str(error), param_hint=error.flag) from None


def config_line(config: ProjectConfig | None) -> str:
    """Which configuration file applied (``-v`` says it)."""
    return f"configuration: {config.path}" if config else "configuration: none"


# the options that say how to report, not what to write: a fix command leaves them out
REPORTING = {"check", "show_diff", "report_format", "verbose", "output", "in_place", "as_json"}


def fix_command(name: str, file: str, target: list[str]) -> str:
    """The command that writes what ``--check`` compared with: ``sfn-cache NAME FILE TARGET`` and every
    option typed on the command line (the configuration is found again from the same folder)."""
    import shlex

    context = click.get_current_context()
    words = ["sfn-cache", name, file, *target]
    for param in context.command.params:
        if not isinstance(param, click.Option) or param.name in REPORTING or param.name is None:
            continue
        if context.get_parameter_source(param.name) != ParameterSource.COMMANDLINE:
            continue
        value = context.params[param.name]
        flag = next((opt for opt in param.opts if opt.startswith("--")), param.opts[0])
        if param.is_flag:
            on = param.flag_value if isinstance(param.flag_value, bool) else True  # click 8.2+: UNSET for True
            words += [flag] if value == on else []
        elif param.multiple:
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return shlex.join(words)
