"""``sfn-cache build-lambda`` (issue 4)."""

import click


@click.command("build-lambda")
def build_lambda_command() -> None:
    """Build the caching Lambda package (not implemented yet)."""
    raise click.ClickException("build-lambda is not implemented yet")
