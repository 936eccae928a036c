"""Wrap options, written once: the table (``table``) and what is derived from it.

The click options (``sfn_cache.cli.selection``), the project configuration (``project_config``), the
command-line values (``flags``), the API keywords (``keywords``) and the state selectors
(``selectors``) all loop over ``table.OPTIONS``; ``precedence`` is the one rule that decides
between a flag, the configuration and the environment. Nothing here imports click.
"""
