"""Wrap the state machines inside a CloudFormation/SAM template, leaving everything else as written.

Only the nodes of a definition that really change are replaced (nodes.merge), and in the text only
the values of the keys that changed (splice.py). A definition can be a ``Definition`` object, a
``DefinitionString`` (definition_string.py) or a ``DefinitionUri`` pointing to a local file
(definition_uri.py); a Serverless Framework service's machines (``stepFunctions.stateMachines``)
are wrapped the same way. The wrapping itself is the caller's ``Rewriter``: this package never imports
the rewriter. A machine the template declares Express (workflow_type) is wrapped as one: its executions
end after 5 minutes, so its cache states must give up sooner.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generic, Protocol, Sequence, TypeVar

from ruamel.yaml.comments import CommentedMap

from sfn_cache.asl.loader import load_text, read_source
from sfn_cache.asl.yaml_roundtrip import plain
from sfn_cache.errors import SfnCacheError
from sfn_cache.runtime.protocol import HANDLER
from sfn_cache.template.definition_string import read_definition_string
from sfn_cache.template.definition_uri import (
    cached_file_name,
    definition_source,
    inside,
    is_local_uri,
    local_definition_path,
    mark_source,
    template_dir,
    unmark_source,
)
from sfn_cache.template.document import (
    STATE_MACHINE_TYPES,
    Template,
    definition_object,
    is_express,
    is_serverless,
    read_template,
    serverless_machines,
    state_machines,
    workflow_type,
)
from sfn_cache.template.nodes import as_node, merge
from sfn_cache.template.splice import Edit, drop_trailing_comment

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
DEFAULT_FUNCTION_ID = "SfnCacheFunction"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


class _Task(Protocol):
    @property
    def action(self) -> str: ...


class Wrapped(Protocol):
    """What the rewriter returns for one definition (``rewrite.wrap.WrapResult``)."""

    @property
    def definition(self) -> dict[str, Any]: ...

    @property
    def tasks(self) -> Sequence[_Task]: ...

    @property
    def unwrapped(self) -> Sequence[str]: ...  # tasks a previous wrap cached that are left uncached now


W = TypeVar("W", bound=Wrapped)


@dataclass(frozen=True)
class Rewriter(Generic[W]):
    """What a template needs from the rewriter, handed in by the pipeline."""

    wrap: Callable[[dict[str, Any], str, bool], W]  # (definition, where, an Express workflow) -> its cached form
    to_json: Callable[[dict[str, Any]], str]  # a wrapped definition as wrap writes it
    # (wrapped definition, its file's text, that text's definition) -> the file as wrap writes it, its layout kept
    write_file: Callable[[dict[str, Any], str, dict[str, Any]], str]
    placeholder: str  # the ``${...}`` ARN of the caching Lambda that DefinitionSubstitutions fills
    invokes_placeholder: bool  # the wrapped machines call ``placeholder``: feed it through the template
    unwraps: bool = False  # sfn-cache unwrap: a DefinitionUri points to its source again, the substitution goes
    express_refusal: str | None = None  # "OPTION: why" an Express machine cannot be wrapped with the options
    # a definition a previous wrap wrote (a build directory's copy): re-wrapped where it is, never copied again
    is_wrapped: Callable[[dict[str, Any]], bool] = lambda definition: False


@dataclass
class MachineReport(Generic[W]):
    resource: str
    action: str  # "wrapped" | "unchanged" | "refused"
    detail: str
    result: W | None = None


@dataclass
class TemplateResult(Generic[W]):
    text: str
    machines: list[MachineReport[W]]
    notes: list[str] = field(default_factory=list)
    definition_files: dict[Path, str] = field(default_factory=dict)  # wrapped DefinitionUri files


def wrap_template(text: str, source: str, rewriter: Rewriter[W], *, resource: str | None = None,
                  definition_uri: str = "copy", output: str | None = None,
                  add_function: dict[str, Any] | None = None) -> TemplateResult[W]:
    """Wrap every state machine of a template (or only ``resource``); see the module docstring.
    ``add_function``: the caching function's resource (plain data), written when the machines invoke
    one the template does not define (else that is refused)."""
    template = read_template(text, source)
    if is_serverless(template.tree):
        return _wrap_serverless(template, rewriter, resource)
    resources = template.tree["Resources"]
    machines = state_machines(resources, resource, source)
    result: TemplateResult[W] = TemplateResult(text="", machines=[])
    express = {name: _express(resources[name], False, f"{source}: resource '{name}'", rewriter, result.notes)
               for name in machines}
    function_id = _caching_function(plain(resources))
    if _is_cdk_output(source, plain(resources)):
        result.notes.append(f"{source}: CDK synth output: the next cdk synth overwrites this file; wrap the "
                            f"state machine's ASL file and load it with DefinitionBody.fromFile and "
                            f"definitionSubstitutions instead (docs/deploying.md)")
    before = {name: plain(resources[name]) for name in machines}
    if template.ranges is not None:
        for name in machines:  # before any key is added after them (the splice keeps them from the text)
            drop_trailing_comment(resources[name])
    for name in machines:
        where = f"{source}: resource '{name}'"
        try:
            report = _wrap_machine(template, name, rewriter, where, definition_uri, output, result, express[name])
        except SfnCacheError as error:
            if resource is not None:
                raise
            report = MachineReport(name, "refused", str(error))
        result.machines.append(report)
        if report.result is not None and rewriter.invokes_placeholder and any(
                task.action == "wrapped" for task in report.result.tasks):
            _add_substitution(template, name, function_id, rewriter.placeholder, result.notes, where)
        if report.result is not None and (rewriter.unwraps or report.result.unwrapped) and (
                rewriter.placeholder not in json.dumps(report.result.definition)):  # nothing calls the function now
            _drop_substitution(template, name, function_id, rewriter.placeholder)
    if not any(m.action in ("wrapped", "unchanged") for m in result.machines):
        first = result.machines[0]
        raise SfnCacheError(f"no state machine could be wrapped: resource '{first.resource}': {first.detail}",
                            file=source)
    added = []
    if function_id is None and rewriter.invokes_placeholder:
        needing = [m.resource for m in result.machines if m.action != "refused"
                   and _invokes(resources[m.resource], rewriter.placeholder)]
        if needing:
            _add_function(template, needing, add_function, result.notes)
            added = [DEFAULT_FUNCTION_ID]
    changed = [name for name in machines if plain(resources[name]) != before[name]]
    edits = _edits(resources, changed, before)
    result.text = template.dump(changed + added, None if edits is None else edits + [(resources, n) for n in added])
    return result


def _wrap_serverless(template: Template, rewriter: Rewriter[W], resource: str | None) -> TemplateResult[W]:
    """A serverless.yml: each ``stepFunctions.stateMachines.NAME.definition`` wrapped in place."""
    source = template.source
    machines = template.tree["stepFunctions"]["stateMachines"]
    result: TemplateResult[W] = TemplateResult(text="", machines=[])
    edits: list[Edit] = []
    names = serverless_machines(template.tree, resource, source)
    express = {name: _express(machines[name], True, f"{source}: state machine '{name}'", rewriter, result.notes)
               for name in names}
    for name in names:
        where = f"{source}: state machine '{name}'"
        try:
            machine = machines[name]
            if not isinstance(machine, dict) or "definition" not in machine:
                raise SfnCacheError(f"{where}: has no definition")
            definition = plain(machine["definition"])
            wrapped = rewriter.wrap(definition_object(definition, where, "definition"), f"{where} definition",
                                    express[name] is not None)
        except SfnCacheError as error:
            if resource is not None:
                raise
            result.machines.append(MachineReport(name, "refused", str(error)))
            continue
        count = sum(1 for task in wrapped.tasks if task.action == "wrapped")
        if count and rewriter.invokes_placeholder:
            raise SfnCacheError(f"state machine '{name}' would invoke {rewriter.placeholder}, which Serverless "
                                f"reads as one of its variables: pass --lambda-arn ARN (the caching function's)",
                                file=source)
        if wrapped.definition != definition:
            machine["definition"] = merge(machine["definition"], wrapped.definition, template.short_forms)
            if isinstance(machine, CommentedMap):
                edits.append((machine, "definition"))
        detail = f"{count} task(s) wrapped" if count else "nothing new to wrap"
        result.machines.append(MachineReport(name, "wrapped" if count else "unchanged",
                                             detail + _express_detail(express[name]), wrapped))
    if not any(m.action in ("wrapped", "unchanged") for m in result.machines):
        first = result.machines[0]
        raise SfnCacheError(f"no state machine could be wrapped: '{first.resource}': {first.detail}", file=source)
    result.text = template.dump([], edits)
    return result


def _express(machine: Any, serverless: bool, where: str, rewriter: Rewriter[W], notes: list[str]) -> str | None:
    """How the template declares ``machine`` Express (``StateMachineType: EXPRESS``), None for a Standard one.
    Refused (one line, before anything is wrapped) when the options do not go with an Express workflow; a
    type the template computes (an intrinsic function, a Serverless variable) gets a note."""
    if rewriter.unwraps:  # unwrap gives back what wrap was given, whatever the type
        return None
    key, value = workflow_type(machine, serverless)
    express = is_express(value)
    if express is None:
        notes.append(f"{where}: {key} is {json.dumps(value, default=str)}, not a value sfn-cache can read: "
                     f"if the machine deploys as EXPRESS, pass --express (shorter cache timeouts)")
    if not express:
        return None
    declared = f"{key}: {value}"
    if rewriter.express_refusal is not None:
        raise SfnCacheError(f"{where} is an Express workflow ({declared}), which does not go with "
                            f"{rewriter.express_refusal}")
    return declared


def _express_detail(declared: str | None) -> str:
    return f"; Express workflow ({declared}): shorter cache timeouts" if declared else ""


def _is_cdk_output(source: str, resources: dict[str, Any]) -> bool:
    """A template ``cdk synth`` wrote: under ``cdk.out/``, or with CDK's ``aws:cdk:path`` metadata."""
    return "cdk.out" in Path(source).parts or any(
        isinstance(body, dict) and isinstance(body.get("Metadata"), dict) and "aws:cdk:path" in body["Metadata"]
        for body in resources.values())


def _invokes(resource: Any, placeholder: str) -> bool:
    """Whether a state machine hands the default caching function's ARN to its definition."""
    substitutions = plain(resource.get("Properties") or {}).get("DefinitionSubstitutions")
    return isinstance(substitutions, dict) and \
        substitutions.get(placeholder[2:-1]) == {"Fn::GetAtt": [DEFAULT_FUNCTION_ID, "Arn"]}


def _add_function(template: Template, needing: list[str], function: dict[str, Any] | None, notes: list[str]) -> None:
    """Write the caching function (``--add-function``) and let each machine in ``needing`` invoke it,
    or refuse: a template whose machines invoke a function it does not define cannot deploy."""
    source, resources = template.source, template.tree["Resources"]
    names = ", ".join(f"'{name}'" for name in needing)
    transform = plain(template.tree.get("Transform"))
    sam = SAM_TRANSFORM in (transform if isinstance(transform, list) else [transform])
    if function is None:
        plural = "s" if len(needing) > 1 else ""
        fix = ("pass --add-function CODE_URI to add it (the zip sfn-cache build-lambda writes), or --lambda-arn ARN "
               "for a function deployed elsewhere" if sam else  # --add-function writes a SAM resource
               "define the caching function yourself, or pass --lambda-arn ARN for a function deployed elsewhere")
        raise SfnCacheError(f"state machine{plural} {names} would invoke '{DEFAULT_FUNCTION_ID}', which the "
                            f"template does not define: {fix}", file=source)
    if not sam:
        raise SfnCacheError(f"--add-function writes an AWS::Serverless::Function, and the template has no "
                            f"'Transform: {SAM_TRANSFORM}': add the caching function yourself, or pass "
                            f"--lambda-arn ARN", file=source)
    resources[DEFAULT_FUNCTION_ID] = as_node(function, template.short_forms)
    invoke = {"LambdaInvokePolicy": {"FunctionName": {"Ref": DEFAULT_FUNCTION_ID}}}
    for name in needing:
        properties = resources[name]["Properties"]
        policies = plain(properties.get("Policies"))
        if resources[name].get("Type") != STATE_MACHINE_TYPES[1] or "Role" in properties:
            notes.append(f"{source}: resource '{name}': allow its role lambda:InvokeFunction on "
                         f"'{DEFAULT_FUNCTION_ID}'")
        elif isinstance(policies, list):
            properties["Policies"].append(as_node(invoke, template.short_forms))
        else:
            properties["Policies"] = as_node(([policies] if policies else []) + [invoke], template.short_forms)


def _edits(resources: Any, changed: list[str], before: dict[str, Any]) -> list[Edit] | None:
    """The keys whose values wrap rewrote or added: a machine's own keys and its Properties' (so the
    splice leaves the rest of each resource as written); None when a key was removed."""
    edits: list[Edit] = []
    for name in changed:
        for mapping, old in ((resources[name], before[name]),
                             (resources[name].get("Properties"), before[name].get("Properties"))):
            if not isinstance(mapping, dict) or not isinstance(old, dict) or any(k not in mapping for k in old):
                return None
            edits += [(mapping, key) for key in mapping
                      if key != "Properties" and (key not in old or plain(mapping[key]) != old[key])]
    return edits


def _wrap_machine(template: Template, name: str, rewriter: Rewriter[W], where: str, definition_uri: str,
                  output: str | None, result: TemplateResult[W], express: str | None) -> MachineReport[W]:
    properties = template.tree["Resources"][name].get("Properties")
    if not isinstance(properties, dict):
        raise SfnCacheError(f"{where}: has no Properties")
    if "Definition" in properties:
        definition = definition_object(plain(properties["Definition"]), where, "Definition")
        wrapped = rewriter.wrap(definition, f"{where} Definition", express is not None)
        properties["Definition"] = merge(properties["Definition"], wrapped.definition, template.short_forms)
    elif "DefinitionString" in properties:
        string = read_definition_string(plain(properties["DefinitionString"]), where)
        wrapped = rewriter.wrap(string.definition, f"{where} DefinitionString", express is not None)
        if wrapped.definition != string.definition:
            new = string.write(wrapped.definition, rewriter.to_json, rewriter.placeholder)
            properties["DefinitionString"] = merge(properties["DefinitionString"], new, template.short_forms)
    elif "DefinitionUri" in properties:
        wrapped = _wrap_definition_uri(template, properties, rewriter, where, definition_uri, output, result,
                                       template.tree["Resources"][name], express is not None)
    else:
        raise SfnCacheError(f"{where}: no Definition, DefinitionString or DefinitionUri")
    count = sum(1 for task in wrapped.tasks if task.action == "wrapped")
    action = "wrapped" if count or wrapped.unwrapped else "unchanged"
    detail = "; ".join(([f"{count} task(s) wrapped"] if count else []) + (
        [f"{len(wrapped.unwrapped)} task(s) no longer cached"] if wrapped.unwrapped else [])) or "nothing new to wrap"
    return MachineReport(name, action, detail + _express_detail(express), wrapped)


def _wrap_definition_uri(template: Template, properties: dict[str, Any], rewriter: Rewriter[W], where: str,
                         mode: str, output: str | None, result: TemplateResult[W], resource: Any, express: bool) -> W:
    uri = plain(properties["DefinitionUri"])
    if not is_local_uri(uri):
        raise SfnCacheError(f"{where}: DefinitionUri {json.dumps(uri)} is not a local file "
                            f"(wrap the definition before uploading it)")
    directory = template_dir(template.source)
    source_uri = definition_source(plain(resource), directory)
    path = local_definition_path(source_uri, directory, where)
    text = read_source(str(path))
    definition = load_text(text, str(path))
    wrapped = rewriter.wrap(definition, str(path), express)
    rendered = rewriter.write_file(wrapped.definition, text, definition)
    if rewriter.unwraps:  # the template points to its source again; a wrapped source is unwrapped in place
        if source_uri != uri:
            properties["DefinitionUri"] = source_uri
            unmark_source(resource)
        if wrapped.definition != definition:
            result.definition_files[path] = rendered
        return wrapped
    out_dir = Path(output).parent if output else directory
    if mode == "in-place" and source_uri == uri:
        target = path
    elif mode == "in-place":  # the copy the template points to; its source stays as written
        target = local_definition_path(uri, directory, where)
    elif out_dir.resolve() == directory.resolve() and rewriter.is_wrapped(definition):
        target = path  # the template points at a wrapped file (wrap -o build/...): wrapping it again is a no-op
    elif out_dir.resolve() != directory.resolve():
        # a build directory: the wrapped copy goes where the new template points, inside out_dir
        target = out_dir / path.resolve().relative_to(directory.resolve())
        if not inside(target, out_dir):
            raise SfnCacheError(f"{where}: the wrapped copy of DefinitionUri {uri!r} would land outside "
                                f"{out_dir} ({target.resolve()})")
        if Path(uri).is_absolute():
            properties["DefinitionUri"] = Path(os.path.relpath(target, out_dir)).as_posix()
    else:
        target = cached_file_name(path)
        new_uri = Path(os.path.relpath(target, out_dir)).as_posix()
        if new_uri != uri:
            properties["DefinitionUri"] = new_uri
        mark_source(template, resource, source_uri)
    if rendered != text or target != path:
        result.definition_files[target] = rendered
    return wrapped


def _caching_function(resources: dict[str, Any]) -> str | None:
    """The logical id of the template's caching Lambda, if it defines one."""
    for name, body in resources.items():
        if isinstance(body, dict) and body.get("Type") in FUNCTION_TYPES:
            properties = body.get("Properties")
            if isinstance(properties, dict) and properties.get("Handler") == HANDLER:
                return name
    return DEFAULT_FUNCTION_ID if DEFAULT_FUNCTION_ID in resources else None


def _drop_substitution(template: Template, name: str, function_id: str | None, placeholder: str) -> None:
    """Undo _add_substitution: the entry it writes, and DefinitionSubstitutions when that leaves it empty."""
    properties = template.tree["Resources"][name]["Properties"]
    substitutions = properties.get("DefinitionSubstitutions")
    if not isinstance(substitutions, dict):
        return
    written = {"Fn::GetAtt": [function_id or DEFAULT_FUNCTION_ID, "Arn"]}
    if plain(substitutions.get(placeholder[2:-1])) == written:
        del substitutions[placeholder[2:-1]]
        if not substitutions:
            del properties["DefinitionSubstitutions"]


def _add_substitution(template: Template, name: str, function_id: str | None, placeholder: str, notes: list[str],
                      where: str) -> None:
    """Feed the placeholder ARN through DefinitionSubstitutions; tell the user what is missing."""
    properties = template.tree["Resources"][name]["Properties"]
    target = function_id or DEFAULT_FUNCTION_ID
    substitution = placeholder[2:-1]  # ${SfnCacheFunctionArn} -> SfnCacheFunctionArn
    substitutions = properties.get("DefinitionSubstitutions")
    if substitutions is None:
        properties["DefinitionSubstitutions"] = substitutions = CommentedMap() if not template.is_json else {}
    if not isinstance(substitutions, dict):
        raise SfnCacheError(f"{where}: DefinitionSubstitutions is not an object")
    if substitution not in substitutions:
        substitutions[substitution] = as_node({"Fn::GetAtt": [target, "Arn"]}, template.short_forms)
    granted = json.dumps(plain(properties.get("Policies", properties.get("RoleArn", ""))), default=str)
    if function_id is not None and target not in granted:
        notes.append(f"{where}: allow the state machine to invoke '{target}' (SAM: Policies: - LambdaInvokePolicy: "
                     f"{{FunctionName: !Ref {target}}}; CloudFormation: lambda:InvokeFunction in its role)")
