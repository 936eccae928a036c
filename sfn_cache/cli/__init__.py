"""The ``sfn-cache`` command line: one group, with each command family in its own module.

The group loads a command's module only when that command runs (or shows its own help), so
``sfn-cache --help`` imports click alone and ``wrap`` never imports boto3 (docs/architecture.md).
"""

from __future__ import annotations

import copy
import difflib
import functools
import importlib
import importlib.util
import sys

import click

from sfn_cache import __version__
from sfn_cache.errors import install_hint

# name -> (module, attribute, the summary `sfn-cache --help` lists; tests check it is the command's own)
COMMANDS = {
    "wrap": ("sfn_cache.cli.wrap", "wrap_command",
             "Rewrite every selected Task state of each FILE into its cached form."),
    "unwrap": ("sfn_cache.cli.unwrap", "unwrap_command",
               "Give back the original definition of a wrapped FILE (a definition or a template)."),
    "explain": ("sfn_cache.cli.inspect", "explain_command",
                "Show what wrap will do to every Task state of FILE (a definition or a template) and why."),
    "graph": ("sfn_cache.cli.inspect", "graph_command",
              "Draw FILE's state machine (Mermaid for a README, or DOT) with the cached tasks marked."),
    "ls": ("sfn_cache.cli.cache", "ls_command",
           "List cached results: bundle, state, key, age, size and where a hit reads from."),
    "show": ("sfn_cache.cli.cache", "show_command",
             "Show one cached result: its key material, the result itself and its lineage."),
    "rm": ("sfn_cache.cli.cache", "rm_command",
           "Remove cached results (index entries and their bundles): one key, one bundle, or old ones."),
    "stats": ("sfn_cache.cli.cache", "stats_command",
              "Per bundle name: entries, hits, seconds saved, bytes stored, oldest and newest entry."),
    "doctor": ("sfn_cache.cli.cache", "doctor_command",
               "Check that the cache works from your credentials: bucket, a real round trip, the function's settings."),
    "verify": ("sfn_cache.cli.verify", "verify_command",
               "Run FILE's state machine and its wrapped form locally on each input and compare them."),
    "run": ("sfn_cache.cli.verify", "run_command",
            "Run the wrapped form of FILE once locally, printing a line per state as it happens."),
    "build-lambda": ("sfn_cache.cli.build", "build_lambda_command",
                     "Build the caching Lambda from pip's manylinux wheels (no Docker); "
                     "byte-identical on every build."),
}

# name -> (the extra that installs what the command needs, the modules it needs); the base install brings
# what wrap, explain, graph, --check, ls, rm and stats need (pyproject.toml)
EXTRAS = {
    "show": ("cache", ("disdat",)),
    "doctor": ("cache", ("disdat",)),
    "verify": ("verify", ("disdat",)),  # moto and jsonata: sfn_cache.local.require, with the same hint
    "run": ("verify", ("disdat",)),
}


class MissingExtra(click.ClickException):
    exit_code = 2  # bad setup, like bad input


def missing_extra(name: str, command: click.Command) -> click.Command:
    """``command`` as is, or, when a module its extra installs is missing, a copy that says so in one line
    (exit 2) when it runs; its ``--help`` still works."""
    extra, modules = EXTRAS.get(name, ("", ()))
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if not missing:
        return command

    @functools.wraps(command.callback or (lambda: None))
    def refuse(*args: object, **kwargs: object) -> None:
        raise MissingExtra(f"{name} needs {missing[0]}, which is not installed; run: {install_hint(extra)}")

    guarded = copy.copy(command)
    guarded.callback = refuse
    return guarded


class OneLineErrors(click.Group):
    """Click's usage errors print a usage block and a hint over several lines; a refusal here is one line
    (``error: COMMAND: what is wrong (what to do)``), with the usage block behind ``-v``."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            error.show()  # no command at all: the help text is the answer
            sys.exit(error.exit_code)
        except click.UsageError as error:
            command = error.ctx.command_path if error.ctx else "sfn-cache"
            click.echo(f"error: {command}: {error.format_message()} (see {command} --help)", err=True)
            if error.ctx and ("-v" in argv or "--verbose" in argv):
                click.echo(error.ctx.get_usage(), err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(f"error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


class LazyGroup(OneLineErrors):
    """The group: one-line refusals, and commands imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        command: click.Command = missing_extra(name, getattr(importlib.import_module(module), attribute))
        if command.epilog is None:  # every command's --help ends with its exit codes
            from sfn_cache.cli.exit_codes import epilog

            command.epilog = epilog(name)
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                            list[str]]:
        """A mistyped command gets the nearest one: ``No such command 'wrapp'. Did you mean wrap?``"""
        name = click.utils.make_str(args[0])
        if self.get_command(ctx, name) is None and not ctx.resilient_parsing and not name.startswith("-"):
            near = difflib.get_close_matches(name, sorted(COMMANDS), n=1, cutoff=0.6)
            if near:
                ctx.fail(f"No such command {name!r}. Did you mean {near[0]}?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the summaries above, so that ``--help`` imports no command module."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sfn-cache")
def cli() -> None:
    """Add result caching and data versioning to AWS Step Functions state machines."""


def main() -> None:
    cli()
