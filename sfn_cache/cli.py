"""The ``sfn-cache`` command line: one group, with each command family in its own module."""

from __future__ import annotations

import click

from sfn_cache import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sfn-cache")
def cli() -> None:
    """Add result caching and data versioning to AWS Step Functions state machines."""


def _register() -> None:
    from sfn_cache.cli_build import build_lambda_command
    from sfn_cache.cli_cache import cache_commands
    from sfn_cache.cli_inspect import inspect_commands
    from sfn_cache.cli_wrap import wrap_commands

    for command in wrap_commands + inspect_commands + cache_commands + [build_lambda_command]:
        cli.add_command(command)


_register()


def main() -> None:
    cli()
