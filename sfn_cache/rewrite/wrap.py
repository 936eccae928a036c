"""The pipeline on one definition: parse -> validate -> select -> rewrite -> re-validate.

Loading and emitting are the caller's (CLI, templates, API); this module works on plain dicts.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field, replace
from typing import Any

from sfn_cache.asl.json_source import JsonSource
from sfn_cache.asl.limits import check_document
from sfn_cache.asl.model import Scope, all_scopes, distributed_scopes, parse, redirect, walk
from sfn_cache.asl.validate import validate
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.force import insert_force_reader
from sfn_cache.rewrite.forms import form_for
from sfn_cache.rewrite.naming import GENERATED_COMMENT, NameAllocator
from sfn_cache.rewrite.options import PATTERNS, StateOptions, WrapOptions
from sfn_cache.rewrite.recognise import (
    cache_operation,
    cache_variables,
    check_reserved_variables,
    generated_states,
    has_force_reader,
)
from sfn_cache.rewrite.report import Action, TaskReport
from sfn_cache.rewrite.select import plan_task
from sfn_cache.rewrite.unwrap import unwrap_definition

__all__ = ["TaskReport", "WrapResult", "wrap_definition", "plan_definition", "plan_with_warnings", "state_names"]


@dataclass
class WrapResult:
    definition: dict[str, Any]
    tasks: list[TaskReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unwrapped: list[str] = field(default_factory=list)  # tasks the input cached that these options do not

    @property
    def changed(self) -> bool:
        return any(task.action == Action.WRAPPED for task in self.tasks)


def wrapped_json(definition: dict[str, Any], compact: bool = False, source: JsonSource | None = None) -> str:
    """A (wrapped) definition as written: the states sfn-cache generated fitted in 120 columns, the
    user's as ``source`` (the JSON input) wrote them where unchanged, else indented as it indents
    (emit.dump_json); ``compact``: no whitespace."""
    from sfn_cache.asl.emit import dump_json, json_indent

    generated = () if compact else generated_states(parse(definition))
    return dump_json(definition, compact, generated, json_indent(source.text) if source else "  ", source)


def state_names(definition: dict[str, Any], source: str = "<definition>") -> set[str]:
    """Every state name in every scope (for checking that per-state rules match something)."""
    return {ref.name for ref in walk(parse(definition, source))}


def plan_definition(definition: dict[str, Any], options: WrapOptions, source: str = "<definition>",
                    checked: bool = False) -> list[TaskReport]:
    """What ``wrap_definition`` would do to each Task state, without rewriting anything. ``checked``:
    the caller's loader already ran check_document (a second pass is a third of ``explain``'s time).
    A task a previous wrap cached, and that these options cache too, is reported already wrapped."""
    return plan_with_warnings(definition, options, source, checked)[0]


def plan_with_warnings(definition: dict[str, Any], options: WrapOptions, source: str = "<definition>",
                       checked: bool = False) -> tuple[list[TaskReport], list[str]]:
    """``plan_definition``'s reports and the warnings ``wrap_definition`` gives for the same tasks
    (explain reports what wrap would warn about)."""
    if not checked:
        check_document(definition, source)
    original = unwrap_definition(definition, source)
    _, reports, _, warnings = _plan(original.definition, options, source)
    _mark_already_wrapped(reports, original.tasks)
    return reports, warnings


def _mark_already_wrapped(reports: list[TaskReport], previously: list[str]) -> None:
    for report in reports:
        if report.action == Action.WRAPPED and report.state in previously:
            report.action, report.reason = Action.ALREADY_WRAPPED, "already behind a cache_pull state"


def wrap_definition(definition: dict[str, Any], options: WrapOptions, source: str = "<definition>",
                    keep: Set[str] = frozenset()) -> WrapResult:
    """Return the cached form of ``definition`` (the input is not modified).

    A wrapped definition is unwrapped first (rewrite/unwrap.py) and its original wrapped with
    ``options``: a re-wrap gives exactly what wrapping the original gives, and is a no-op when the
    options and the tasks are those it was wrapped with (its tasks are then reported already wrapped).
    ``keep``: tasks left in the cached form they have (the API's cache_step caches one more task)."""
    if options.pattern not in PATTERNS:
        raise SfnCacheError(f"unknown pattern {options.pattern!r} (choose from {', '.join(PATTERNS)})")
    check_document(definition, source)  # plain JSON within the limits: API callers skip the loader
    original = unwrap_definition(definition, source)
    kept = keep & set(original.tasks)
    if kept:
        check_reserved_variables(parse(original.definition, source), source)
    document = unwrap_definition(definition, source, kept).definition if kept else original.definition
    top, reports, plans, warnings = _plan(document, options, source, kept)
    names = NameAllocator({ref.name for ref in walk(top)}, cache_variables(top) if kept else frozenset())
    by_name = {report.state: report for report in reports}
    reads_force = options.runtime_force and options.pattern == "variables"
    distributed = distributed_scopes(top)
    forced_at_run_time = False
    for scope in all_scopes(top):
        scope_force = reads_force and id(scope.body) not in distributed
        rewritten = _rewrite_scope(scope, plans, replace(options, runtime_force=scope_force), names, by_name)
        forced_at_run_time |= scope_force and rewritten
    if forced_at_run_time and not (kept and has_force_reader(top)):
        insert_force_reader(top, names, options.comments)
    if any(report.action == Action.WRAPPED for report in reports):
        validate(parse(document, source), source)
    _refuse_when_nothing_cacheable(reports, source)
    if not reports:  # nothing to cache is not an error (a CI step may wrap every file); say so
        warnings.append(f"{source}: no Task state: nothing to cache; written unchanged")
    if original.tasks and document == definition:
        _mark_already_wrapped(reports, original.tasks)
    cached = {report.state for report in reports if report.action in (Action.WRAPPED, Action.ALREADY_WRAPPED)}
    return WrapResult(definition=document, tasks=reports, warnings=warnings,
                      unwrapped=[task for task in original.tasks if task not in cached])


def _plan(document: dict[str, Any], options: WrapOptions, source: str, kept: Set[str] = frozenset()
          ) -> tuple[Scope, list[TaskReport], dict[str, StateOptions], list[str]]:
    """``document`` is unwrapped but for the ``kept`` tasks (whose reserved names the caller checked)."""
    top = parse(document, source)
    warnings = validate(top, source)
    if not kept:
        check_reserved_variables(top, source)
    reports: list[TaskReport] = []
    plans: dict[str, StateOptions] = {}
    for ref in walk(top):
        if ref.state["Type"] != "Task" or cache_operation(ref.state):
            continue
        report, opts, task_warnings = plan_task(ref, options, set(kept), source)
        reports.append(report)
        warnings.extend(task_warnings)
        if report.action == Action.WRAPPED:
            plans[ref.name] = opts
        elif report.action == Action.REFUSED:
            warnings.append(f"{source}: state '{ref.name}': not cached: {report.reason}")
    return top, reports, plans, warnings


def _rewrite_scope(scope: Scope, plans: dict[str, StateOptions], options: WrapOptions, names: NameAllocator,
                   by_name: dict[str, TaskReport]) -> bool:
    """Replace each planned task of this scope by its cached form, keeping document order; returns
    whether any task was rewritten. Linear in the scope's size: each state's transitions are looked
    up once in ``entries``."""
    rewrite = form_for(options.pattern)
    new_states: dict[str, dict[str, Any]] = {}
    entries: dict[str, str] = {}
    gates: dict[str, str] = {}
    for name, state in scope.states.items():
        if name not in plans:
            new_states[name] = state
            continue
        form = rewrite(name, state, plans[name], options, names, scope.query_language)
        if not options.comments:
            _drop_generated_comments(form.states, name)
        new_states.update(form.states)
        entries[name] = form.entry
        gates.update({gate: name for gate in form.gate})
        by_name[name].generated = tuple(n for n in form.states if n != name)
    if not entries:
        return False
    for name, state in new_states.items():
        redirect(state, entries, keep=gates.get(name))  # a task's own pull and choice lead into the task
    if scope.body["StartAt"] in entries:
        scope.body["StartAt"] = entries[scope.body["StartAt"]]
    scope.body["States"] = new_states
    return True


def _drop_generated_comments(states: dict[str, dict[str, Any]], task: str) -> None:
    """The generated states' Comments cost about a tenth of a cached task's bytes: only on --comments."""
    for state_name, state in states.items():
        if state_name != task and str(state.get("Comment", "")).startswith(GENERATED_COMMENT):
            del state["Comment"]
            for branch in state.get("Branches", ()):  # a catching hit's Parallel holds a generated Pass
                _drop_generated_comments(branch["States"], task)


def _refuse_when_nothing_cacheable(reports: list[TaskReport], source: str) -> None:
    actions = {report.action for report in reports}
    if Action.REFUSED in actions and not actions & {Action.WRAPPED, Action.ALREADY_WRAPPED}:
        first = next(r for r in reports if r.action == Action.REFUSED)
        raise SfnCacheError(f"no task can be cached: {first.reason}", file=source, state=first.state)
