"""The cached forms: each rewrites one Task state into the states that replace it.

Both expose the same ``rewrite_task(name, task, opts, options, names, scope_language) -> CachedForm``;
``form_for`` is the one place that picks one by the pattern's name.
"""

from __future__ import annotations

from typing import Any, Protocol

from sfn_cache.rewrite.forms import classic, variables
from sfn_cache.rewrite.forms.common import CachedForm
from sfn_cache.rewrite.naming import NameAllocator
from sfn_cache.rewrite.options import PATTERNS, StateOptions, WrapOptions


class RewriteTask(Protocol):
    def __call__(self, name: str, task: dict[str, Any], opts: StateOptions, options: WrapOptions,
                 names: NameAllocator, scope_language: str) -> CachedForm: ...


FORMS: dict[str, RewriteTask] = dict(zip(PATTERNS, (variables.rewrite_task, classic.rewrite_task), strict=True))


def form_for(pattern: str) -> RewriteTask:
    """The rewriter of ``pattern`` (a name of options.PATTERNS)."""
    return FORMS[pattern]
