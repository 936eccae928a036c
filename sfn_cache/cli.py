"""The ``sfn-cache`` command line: one group, with each command family in its own module."""

from __future__ import annotations

import sys

import click

from sfn_cache import __version__


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


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sfn-cache")
def cli() -> None:
    """Add result caching and data versioning to AWS Step Functions state machines."""


def _register() -> None:
    from sfn_cache.cli_build import build_lambda_command
    from sfn_cache.cli_cache import cache_commands
    from sfn_cache.cli_inspect import inspect_commands
    from sfn_cache.cli_verify import verify_commands
    from sfn_cache.cli_wrap import wrap_commands

    for command in wrap_commands + inspect_commands + cache_commands + verify_commands + [build_lambda_command]:
        cli.add_command(command)


_register()


def main() -> None:
    cli()
