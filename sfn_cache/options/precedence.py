"""Flags beat config beat environment: the one rule for where a setting comes from.

``wrap`` (and explain, graph, verify, run) and the cache commands (``ls``, ``show``, ``rm``, ``stats``,
``doctor``) both ask it. A flag counts only when it was typed on the command line: a value click took
from an environment variable (``--bucket`` of the cache commands reads ``$SFN_CACHE_BUCKET``) or from
the option's default ranks below the project configuration, which says what ``wrap`` wrote into the
machine. For ``wrap`` the environment is the Lambda's own (``SFN_CACHE_BUCKET``), read at run time
when neither a flag nor the configuration set a value.
"""

from __future__ import annotations

from typing import Any, Mapping


def layered(typed: bool, flag: Any, config: Mapping[str, Any], key: str | None) -> Any:
    """``flag`` when typed on the command line, else the configuration's ``key``, else ``flag`` (the value
    click took from the environment or the option's default)."""
    if typed or key is None or key not in config:
        return flag
    return config[key]
