"""Which Task states get cached, and what their cache key is made of.

A task is left as written (and reported) when caching it could change what the machine does:
callback tasks whose result comes from outside, and the cache states of an already wrapped
definition.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sfn_cache.rewrite.context_reads import differing_context_reads
from sfn_cache.rewrite.dialects import DIALECTS
from sfn_cache.asl.model import Scope, StateRef, walk
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.classic import classic_refusal
from sfn_cache.rewrite.key_spec import credentials_part, describe_key, key_path_input, target_part
from sfn_cache.rewrite.force import is_force_reader
from sfn_cache.rewrite.naming import GENERATED_COMMENT, PUSH_EXPRESSION_START, short_digest
from sfn_cache.rewrite.options import StateOptions, WrapOptions

PROTOCOL_MARKER = "sfn_cache"


@dataclass
class TaskReport:
    """What happens to one Task state; the rows of ``sfn-cache explain``."""

    state: str
    scope: str
    action: str  # "wrapped" | "excluded" | "refused" | "already wrapped"
    reason: str
    bundle_name: str | None = None
    key_fields: str = ""
    ttl: int | None = None
    cache_version: str = ""
    force: bool = False
    key_parts: list[str] = field(default_factory=list)
    generated: tuple[str, ...] = ()


def cache_payload(state: dict) -> dict | None:
    """The cache protocol payload of a state that sfn-cache generated (JSONPath or JSONata), else None."""
    if state.get("Type") != "Task":
        return None
    for field in ("Parameters", "Arguments"):
        payload = state.get(field)
        if isinstance(payload, str):
            payload = _expression_fields(payload)
        if (isinstance(payload, dict) and payload.get(PROTOCOL_MARKER) in ("pull", "push") and "protocol" in payload
                and isinstance(payload.get("state"), str)):
            return payload
    return None


def _expression_fields(arguments: str) -> dict | None:
    """The literal fields a push written as one JSONata expression starts its object with
    (rewrite.push_arguments): ``... $merge([$p,{'sfn_cache':'push','protocol':4,'state':'T', ...``."""
    start = arguments.find("{'sfn_cache'")
    if not (PUSH_EXPRESSION_START.match(arguments) and arguments.endswith("%}")) or start < 0:
        return None
    from sfn_cache.asl.expressions import iter_jsonata_tokens

    fields = {}
    tokens = iter_jsonata_tokens(arguments[start:-2])  # from the object on: its first fields are all we read
    try:
        if next(tokens).value != "{":
            return None
        while True:
            key, colon, value, after = next(tokens), next(tokens), next(tokens), next(tokens)
            if key.type != "string" or colon.value != ":" or value.type not in ("string", "number", "value"):
                break
            fields[key.value] = value.value
            if after.value != ",":
                break
    except StopIteration:
        pass
    except Exception:  # the tokenizer's errors: not an expression sfn-cache wrote
        return None
    return fields


def cache_operation(state: dict) -> str | None:
    """``pull``/``push`` for a state that sfn-cache generated, else None."""
    payload = cache_payload(state)
    return payload[PROTOCOL_MARKER] if payload else None


def already_wrapped_tasks(top: Scope) -> set[str]:
    """Names of user tasks that a previous ``wrap`` already put behind a cache_pull state."""
    return {cache_payload(ref.state).get("state") for ref in walk(top) if cache_operation(ref.state) == "pull"}


_GENERATED_NAME = re.compile(
    r"^(?:cache_(?:pull|push|hit|apply|assign|done|wait|wrap|out|miss|check|catch\d+)_|use_cache_)(.*)$")


def generated_states(top: Scope) -> set[str]:
    """Names of every state a previous ``wrap`` generated: the cache calls and the states around them.

    Generated states carry a Comment only with ``--comments``; otherwise they are known by their name:
    a rewriter prefix plus the name of a task behind a cache_pull state, as NameAllocator spells it
    (``cache_hit_T``, or ``cache_hit_<T cut>~<digest of T>[.n]`` when that was long or taken).
    """
    wrapped = already_wrapped_tasks(top)
    by_digest = {short_digest(task): task for task in wrapped}
    return {ref.name for ref in walk(top) if cache_operation(ref.state) or _generated_comment(ref.state)
            or is_force_reader(ref.state) or _names_a_wrapped_task(ref.name, wrapped, by_digest)}


def _names_a_wrapped_task(name: str, wrapped: set[str], by_digest: dict[str, str]) -> bool:
    match = _GENERATED_NAME.match(name)
    if not match:
        return False
    base = match.group(1)
    if base in wrapped or _names_a_wrapped_task(base, wrapped, by_digest):  # cache_check_cache_out_T
        return True
    cut, _, digest = base.rpartition("~")
    task = by_digest.get(digest.split(".", 1)[0])
    return task is not None and task.startswith(cut)


def _generated_comment(state: dict) -> bool:
    comment = state.get("Comment")
    return isinstance(comment, str) and comment.startswith(GENERATED_COMMENT)


def key_fields(state: dict, opts: StateOptions) -> str:
    if opts.key_paths:
        return "key paths: " + ", ".join(opts.key_paths)
    if "Parameters" in state:
        return "Parameters (effective input)"
    return "state input" + (f" at InputPath {state['InputPath']}" if "InputPath" in state else "")


def _refusal(ref: StateRef, pattern: str) -> str | None:
    if ref.query_language not in DIALECTS:
        return f"unknown QueryLanguage {ref.query_language!r}"
    resource = ref.state.get("Resource")
    if isinstance(resource, str) and resource.endswith(".waitForTaskToken"):
        return "callback task (.waitForTaskToken): its result comes from outside the task"
    if pattern == "classic":
        return classic_refusal(ref.state, ref.query_language)
    return None


_JSONATA_VOLATILE = re.compile(r"\$(uuid|now|millis|random)\s*\(|\$states\.context")


def _nondeterministic_reads(value: Any) -> list[str]:
    """Context-object reads and UUID/clock/random calls in a Parameters, Arguments or ResultSelector."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.endswith(".$") and isinstance(inner, str):
                if "$$" in inner or "States.UUID" in inner:
                    found.append(inner)
            else:
                found.extend(_nondeterministic_reads(inner))
    elif isinstance(value, str) and "{%" in value and _JSONATA_VOLATILE.search(value):
        found.append(value)
    elif isinstance(value, list):
        for inner in value:
            found.extend(_nondeterministic_reads(inner))
    return found


def check_key_paths(paths: tuple[str, ...], state_name: str, source: str) -> None:
    if not paths:
        return
    from jsonpath_ng import parse as parse_jsonpath  # only when key paths are given
    from jsonpath_ng.exceptions import JsonPathParserError

    for path in paths:
        if not isinstance(path, str) or not path.startswith("$") or path.startswith("$$"):
            raise SfnCacheError(f"key path must be a JSONPath on the task input starting with '$': {path!r}",
                                file=source, state=state_name)
        try:
            parse_jsonpath(path)
        except (JsonPathParserError, Exception) as exc:  # jsonpath-ng raises plain Exceptions too
            raise SfnCacheError(f"invalid key path {path!r}: {exc}", file=source,
                                state=state_name) from None


def check_key_spec(task: dict, opts: StateOptions, state_name: str, source: str, language: str) -> None:
    """Key paths, and with them the target and credentials refs, must be plain paths (key_spec.py)."""
    if not opts.key_paths:
        return
    try:
        key_path_input(task if language == "JSONPath" else {}, opts.key_paths, "$states.input")
        target_part(task, language, "$states.input")
        credentials_part(task, language, True, "$states.input")
    except SfnCacheError as exc:
        raise SfnCacheError(exc.message, file=source, state=state_name) from None


def plan_task(ref: StateRef, options: WrapOptions, wrapped: set[str], source: str
              ) -> tuple[TaskReport, StateOptions, list[str]]:
    """Decide what to do with one Task state; returns its report, its options and warnings."""
    opts = options.for_state(ref.name)
    report = TaskReport(state=ref.name, scope=ref.scope.path, action="wrapped", reason="wrapped",
                        bundle_name=opts.bundle_name, key_fields=key_fields(ref.state, opts),
                        ttl=opts.ttl, cache_version=opts.cache_version, force=opts.force)
    warnings: list[str] = []
    if ref.name in wrapped:
        report.action, report.reason = "already wrapped", "already behind a cache_pull state"
    elif not opts.selected:
        report.action, report.reason = "excluded", opts.reason
    elif (refusal := _refusal(ref, options.pattern)) is not None:
        report.action, report.reason = "refused", refusal
    elif ((context := differing_context_reads(ref.state, ref.query_language, options.pattern))
          and not opts.allow_context_reads):
        report.action, report.reason = "refused", (
            f"reads {context[0]} after the task, which a cache hit would read in a generated state; "
            f"--allow-context-reads '{ref.name}' caches it anyway")
    if report.action != "wrapped":
        report.bundle_name = None
        return report, opts, warnings

    check_key_paths(opts.key_paths, ref.name, source)
    check_key_spec(ref.state, opts, ref.name, source, ref.query_language)
    report.key_parts = describe_key(ref.state, ref.query_language, opts.key_paths, opts.key_code, opts.key_s3,
                                    options.context)
    if not opts.key_paths:
        reads = _nondeterministic_reads(ref.state.get("Parameters", ref.state.get("Arguments")))
        if reads:
            warnings.append(
                f"{source}: state '{ref.name}': the cache key reads {json.dumps(reads[0])}, which changes "
                f"between runs, so this task may never hit; choose the key fields with "
                f"--key-path '{ref.name}=$.field'")
    context = differing_context_reads(ref.state, ref.query_language, options.pattern)
    if context:
        warnings.append(
            f"{source}: state '{ref.name}': cached although it reads {', '.join(context)} after the task "
            f"(--allow-context-reads): on a hit these are the generated state's values")
    return report, opts, warnings
