"""Which Task states get cached, and what their cache key is made of.

A task is left as written (and reported) when caching it could change what the machine does:
callback tasks whose result comes from outside, reads of the context object that a hit would answer
otherwise, and the cache states of an already wrapped definition. A task whose effect is the point
(side_effects.py) is cached only when an include names it.
"""

from __future__ import annotations

import json

from sfn_cache.asl.model import StateRef
from sfn_cache.rewrite.context_reads import differing_context_reads
from sfn_cache.rewrite.dialects import DIALECTS
from sfn_cache.rewrite.forms.classic import classic_refusal
from sfn_cache.rewrite.key_checks import check_key_paths, check_key_spec, no_input, nondeterministic_reads
from sfn_cache.rewrite.key_spec import describe_key, key_input
from sfn_cache.rewrite.options import StateOptions, WrapOptions
from sfn_cache.rewrite.report import Action, TaskReport
from sfn_cache.rewrite.resource_shape import callback
from sfn_cache.rewrite.side_effects import secret_read, side_effect


def _refusal(ref: StateRef, pattern: str) -> str | None:
    if ref.query_language not in DIALECTS:
        return f"unknown QueryLanguage {ref.query_language!r}"
    if callback(ref.state.get("Resource")):
        return "callback task (.waitForTaskToken): its result comes from outside the task"
    if pattern == "classic":
        return classic_refusal(ref.state, ref.query_language)
    return None


def named(state_name: str, options: WrapOptions) -> bool:
    """Whether an include names this state exactly (a glob such as ``*`` does not name it): the
    --include flag or the configuration's ``include``, a ``states.<STATE>`` table with ``include``,
    or the API's ``include``/``cache_step``."""
    return state_name in options.include or any(
        rule.include and rule.pattern == state_name for rule in options.rules)


def plan_task(ref: StateRef, options: WrapOptions, wrapped: set[str], source: str
              ) -> tuple[TaskReport, StateOptions, list[str]]:
    """Decide what to do with one Task state; returns its report, its options and warnings."""
    opts = options.for_state(ref.name)
    report = TaskReport(state=ref.name, scope=ref.scope.path, action=Action.WRAPPED, reason="wrapped",
                        bundle_name=opts.bundle_name,
                        key_fields=key_input(ref.state, ref.query_language, opts.key_paths),
                        ttl=opts.ttl, cache_version=opts.cache_version, force=opts.force)
    warnings: list[str] = []
    effect = side_effect(ref.state, ref.query_language)
    secret = None if effect else secret_read(ref.state)
    left_out = (f"side effect: {effect}" if effect else
                f"reads a secret: {secret} (a cached result would be stored in the cache bucket)" if secret else None)
    if ref.name in wrapped:
        report.action, report.reason = Action.ALREADY_WRAPPED, "already behind a cache_pull state"
    elif not opts.selected:
        report.action, report.reason = Action.EXCLUDED, opts.reason
    elif (refusal := _refusal(ref, options.pattern)) is not None:
        report.action, report.reason = Action.REFUSED, refusal
    elif ((context := differing_context_reads(ref.state, ref.query_language, options.pattern))
          and not opts.allow_context_reads):
        report.action, report.reason = Action.REFUSED, (
            f"reads {context[0]} after the task, which a cache hit would read in a generated state; "
            f"--allow-context-reads '{ref.name}' caches it anyway")
    elif left_out and not named(ref.name, options):
        report.action, report.reason = Action.EXCLUDED, f"{left_out}; --include {ref.name} caches it anyway"
    if report.action != Action.WRAPPED:
        report.bundle_name = None
        return report, opts, warnings

    if secret:
        report.reason = f"wrapped: reads a secret ({secret}), named by an include"
        warnings.append(f"{source}: state '{ref.name}': cached although it reads a secret ({secret}), because an "
                        f"include names it: its result is stored in the cache bucket")
    if effect:
        report.reason = f"wrapped: side effect {effect}, named by an include"
        warnings.append(f"{source}: state '{ref.name}': cached although it is a side effect ({effect}), because an "
                        f"include names it: a cache hit skips the call")
    check_key_paths(opts.key_paths, ref.name, source)
    check_key_spec(ref.state, opts, ref.name, source, ref.query_language)
    report.key_parts = describe_key(ref.state, ref.query_language, opts.key_paths, opts.key_code, opts.key_s3,
                                    options.context)
    if not opts.key_paths:
        reads = nondeterministic_reads(ref.state.get("Parameters", ref.state.get("Arguments")))
        if reads:
            warnings.append(
                f"{source}: state '{ref.name}': the cache key reads {json.dumps(reads[0])}, which changes "
                f"between runs, so this task may never hit; choose the key fields with "
                f"--key-path '{ref.name}=$.field'")
    if (why := no_input(ref.state, ref.query_language, opts.key_paths)) is not None:
        warnings.append(
            f"{source}: state '{ref.name}': its cache key holds no input ({why}): every execution gets the "
            f"first result stored, until it expires (--ttl) or --cache-version changes")
    context = differing_context_reads(ref.state, ref.query_language, options.pattern)
    if context:
        warnings.append(
            f"{source}: state '{ref.name}': cached although it reads {', '.join(context)} after the task "
            f"(--allow-context-reads): on a hit these are the generated state's values")
    return report, opts, warnings
