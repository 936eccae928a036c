"""Wrap the state machines inside a CloudFormation/SAM template, leaving everything else as written.

YAML templates are edited with ruamel.yaml's round-trip mode, so comments, key order, quoting and
the ``!Sub``/``!GetAtt``/``!Ref`` short forms survive; only the nodes of a definition that really
change are replaced (``merge``). A definition can be a ``Definition`` object, a ``DefinitionString``
(a plain string, ``Fn::Sub`` or ``Fn::Join`` of strings and intrinsics, which are kept intact), or a
``DefinitionUri`` pointing to a local file.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import YAMLError
from ruamel.yaml.tag import Tag

from sfn_cache.asl.emit import dump_yaml
from sfn_cache.asl.limits import check_document
from sfn_cache.asl.loader import is_template, load_json, load_text, looks_like_json, read_source
from sfn_cache.asl.yaml_splice import Ranges, drop_trailing_comment, resource_ranges, splice
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.options import DEFAULT_LAMBDA_ARN, WrapOptions
from sfn_cache.rewrite.wrap import WrapResult, wrap_definition, wrapped_json
from sfn_cache.runtime.protocol import HANDLER

STATE_MACHINE_TYPES = ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine")
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
SUBSTITUTION = DEFAULT_LAMBDA_ARN[2:-1]  # SfnCacheFunctionArn
DEFAULT_FUNCTION_ID = "SfnCacheFunction"
SOURCE_MARKER = ("SfnCache", "DefinitionSource")  # Metadata.SfnCache.DefinitionSource: the unwrapped file
_SUB_VARIABLE = re.compile(r"\$\{[^}]*\}")


@dataclass
class MachineReport:
    resource: str
    action: str  # "wrapped" | "unchanged" | "refused"
    detail: str
    result: WrapResult | None = None


@dataclass
class TemplateResult:
    text: str
    machines: list[MachineReport]
    notes: list[str] = field(default_factory=list)
    definition_files: dict[Path, str] = field(default_factory=dict)  # wrapped DefinitionUri files


# --- plain values <-> round-trip nodes -----------------------------------------------------------

def _intrinsic_name(tag: str) -> str:
    suffix = tag[1:]
    return suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"


def plain(node: Any) -> Any:
    """The template value as plain data, with short forms read as their long forms (like the loader)."""
    tag = getattr(getattr(node, "tag", None), "value", None)
    if isinstance(node, TaggedScalar):
        value = node.value
        if tag == "!GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {_intrinsic_name(tag): value}
    if isinstance(node, dict):
        value = {str(k): plain(v) for k, v in node.items()}
    elif isinstance(node, list):
        value = [plain(v) for v in node]
    elif isinstance(node, bool):
        return bool(node)
    elif isinstance(node, int):
        return int(node)
    elif isinstance(node, float):
        return float(node)
    elif isinstance(node, str):
        return str(node)
    else:
        return node
    return {_intrinsic_name(tag): value} if tag and tag.startswith("!") else value


def _as_node(value: Any, short_forms: bool) -> Any:
    """A round-trip node for plain ``value``; intrinsics in short form when the template uses them."""
    if isinstance(value, dict):
        if short_forms and len(value) == 1:
            (key, inner), = value.items()
            if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                tag = "!" + key.split("::")[-1]
                if key == "Fn::GetAtt" and isinstance(inner, list) and all(isinstance(p, str) for p in inner):
                    return TaggedScalar(".".join(inner), tag=tag)
                if isinstance(inner, str):
                    return TaggedScalar(inner, tag=tag)
                node = _as_node(inner, short_forms)
                node.yaml_set_ctag(Tag(suffix=tag))
                return node
        mapping = CommentedMap()
        for key, inner in value.items():
            mapping[key] = _as_node(inner, short_forms)
        return mapping
    if isinstance(value, list):
        return CommentedSeq([_as_node(v, short_forms) for v in value])
    return value


def merge(old: Any, new: Any, short_forms: bool) -> Any:
    """``new`` as a node, reusing the nodes of ``old`` (and their comments) wherever they are equal."""
    if plain(old) == new:
        return old
    old_tag = getattr(getattr(old, "tag", None), "value", None)
    if isinstance(old, CommentedMap) and isinstance(new, dict) and not old_tag:
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, value in new.items():
            old[key] = merge(old[key], value, short_forms) if key in old else _as_node(value, short_forms)
        for key in new:  # the new key order (generated states go where wrap put them)
            old.move_to_end(key)
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list) and len(old) == len(new) and not old_tag:
        for i, value in enumerate(new):
            old[i] = merge(old[i], value, short_forms)
        return old
    return _as_node(new, short_forms)


# --- reading and writing templates ---------------------------------------------------------------

def _round_trip_yaml(text: str) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    sequence, offset = _sequence_indent(text)
    yaml.indent(mapping=2, sequence=sequence, offset=offset)
    return yaml


def _sequence_indent(text: str) -> tuple[int, int]:
    """(sequence, offset) as most lists of the template are written: ``- x`` under its key or indented."""
    offsets: dict[int, int] = {}
    previous = None
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("- ") and previous is not None and previous.rstrip().endswith(":"):
            offset = max(0, len(line) - len(stripped) - (len(previous) - len(previous.lstrip(" "))))
            offsets[offset] = offsets.get(offset, 0) + 1
        previous = line
    if not offsets:
        return 4, 2
    offset = max(sorted(offsets), key=lambda o: offsets[o])
    return offset + 2, offset


def _json_indent(text: str) -> int:
    for line in text.splitlines()[1:]:
        if line.strip():
            return max(1, len(line) - len(line.lstrip(" ")))
    return 2


@dataclass
class _Template:
    source: str
    text: str
    is_json: bool
    tree: Any
    yaml: YAML | None
    ranges: Ranges | None = None  # each resource's lines in ``text`` (YAML), for splicing

    @cached_property  # asked for every node merged: one search of the whole text, not one per node
    def short_forms(self) -> bool:
        return not self.is_json and re.search(r"(^|[\s:\-\[,])!(Ref|Sub|GetAtt|Join|If|Select|Split|"
                                               r"FindInMap|ImportValue|Base64|GetAZs|Equals|Not|And|Or)\b",
                                               self.text, re.M) is not None

    def dump(self, changed: list[str]) -> str:
        """The template's new text: in YAML, the original text with only the ``changed`` resources'
        lines replaced (see yaml_splice), so a diff shows the change and nothing else."""
        if self.is_json:
            return json.dumps(self.tree, indent=_json_indent(self.text), ensure_ascii=False) + "\n"
        assert self.yaml is not None
        buffer = io.StringIO()
        self.yaml.dump(self.tree, buffer)
        dumped = buffer.getvalue()
        after = resource_ranges(self.yaml.load(dumped), dumped) if self.ranges is not None else None
        if after is None or not all(name in after and name in self.ranges for name in changed):
            return dumped
        return splice(self.text, self.ranges, dumped, after, changed)


def _read_template(text: str, source: str) -> _Template:
    if looks_like_json(text):
        return _Template(source, text, True, load_text(text, source), None)
    load_text(text, source)  # the strict loader's errors (duplicate keys, syntax) with file and line
    yaml = _round_trip_yaml(text)
    try:
        tree = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or "not readable"
        raise SfnCacheError(f"invalid YAML: {problem}", file=source, line=mark.line + 1 if mark else None,
                            details=str(exc)) from None
    return _Template(source, text, False, tree, yaml, resource_ranges(tree, text))


# --- the definitions ------------------------------------------------------------------------------

@dataclass
class _Tokens:
    """Intrinsics and ``${...}`` inside a definition string, swapped for JSON-safe tokens while wrapping."""

    values: list[Any] = field(default_factory=list)

    def token(self, value: Any, in_string: bool) -> str:
        self.values.append(value)
        name = f"__sfn_cache_token_{len(self.values) - 1}__"
        return name if in_string else f'"{name}!raw"'

    def pieces(self, text: str) -> list[Any]:
        """Split ``text`` at the tokens: strings and the original values, in order."""
        parts: list[Any] = []
        pattern = re.compile(r'"__sfn_cache_token_(\d+)__!raw"|__sfn_cache_token_(\d+)__')
        last = 0
        for match in pattern.finditer(text):
            parts.append(text[last:match.start()])
            parts.append(self.values[int(match.group(1) or match.group(2))])
            last = match.end()
        parts.append(text[last:])
        return parts


def _inside_string(text: str, index: int) -> bool:
    """Whether ``text[index]`` sits inside a JSON string literal."""
    inside = escaped = False
    for ch in text[:index]:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = inside
        elif ch == '"':
            inside = not inside
    return inside


def _tokenise_sub(text: str, tokens: _Tokens) -> str:
    out, last = [], 0
    for match in _SUB_VARIABLE.finditer(text):
        out.append(text[last:match.start()])
        out.append(tokens.token(match.group(0), _inside_string(text, match.start())))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def _definition_from_string(value: Any, where: str) -> tuple[dict, Callable[[dict], Any]]:
    """Parse a DefinitionString and return (definition, a function that writes a new one back alike)."""
    if isinstance(value, str):
        return _parse_definition_text(value, where), lambda new: wrapped_json(new).rstrip("\n")
    if isinstance(value, dict) and len(value) == 1:
        (kind, inner), = value.items()
        if kind == "Fn::Sub":
            text, variables = _sub_parts(inner, where)
            tokens = _Tokens()
            definition = _parse_definition_text(_tokenise_sub(text, tokens), where)

            def write_sub(new: dict) -> Any:
                # inside Fn::Sub, ${SfnCacheFunctionArn} must reach DefinitionSubstitutions untouched
                body = wrapped_json(new).rstrip("\n").replace(DEFAULT_LAMBDA_ARN, "${!" + SUBSTITUTION + "}")
                rebuilt = "".join(p for p in tokens.pieces(body))
                return {"Fn::Sub": rebuilt if variables is None else [rebuilt, variables]}

            return definition, write_sub
        if kind == "Fn::Join" and isinstance(inner, list) and len(inner) == 2 and isinstance(inner[1], list):
            delimiter, parts = inner
            if not isinstance(delimiter, str):
                raise SfnCacheError(f"{where}: Fn::Join needs a string delimiter")
            tokens = _Tokens()
            text = ""
            for i, part in enumerate(parts):
                text += delimiter if i else ""
                text += part if isinstance(part, str) else tokens.token(part, _inside_string(text, len(text)))
            definition = _parse_definition_text(text, where)

            def write_join(new: dict) -> Any:
                pieces = [p for p in tokens.pieces(wrapped_json(new).rstrip("\n")) if p != ""]
                return {"Fn::Join": ["", pieces]}

            return definition, write_join
        raise SfnCacheError(f"{where}: DefinitionString uses {kind}; sfn-cache understands a plain string, "
                            f"Fn::Sub and Fn::Join")
    raise SfnCacheError(f"{where}: DefinitionString is neither a string nor Fn::Sub/Fn::Join")


def _sub_parts(inner: Any, where: str) -> tuple[str, Any]:
    """``Fn::Sub``'s (text, variables): a string, or a list of a string and a variables object."""
    if isinstance(inner, str):
        return inner, None
    if isinstance(inner, list) and len(inner) == 2 and isinstance(inner[0], str) and isinstance(inner[1], dict):
        return inner[0], inner[1]
    raise SfnCacheError(f"{where}: Fn::Sub takes a string or a list of a string and a variables object, "
                        f"got {json.dumps(inner, default=str)[:80]}")


def _parse_definition_text(text: str, where: str) -> dict:
    try:
        definition = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SfnCacheError(f"{where}: DefinitionString is not JSON: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, RecursionError):  # over-long integers, too deep nesting: check_document says which
        definition = load_json(text, f"{where} DefinitionString")
    if not isinstance(definition, dict):
        raise SfnCacheError(f"{where}: DefinitionString is not a JSON object")
    check_document(definition, f"{where} DefinitionString")
    return definition


def cached_file_name(path: Path) -> Path:
    """``sm.asl.json`` -> ``sm.cached.asl.json``; a ``.cached.`` file is its own cached copy."""
    if ".cached." in path.name:
        return path
    stem, dot, rest = path.name.partition(".")
    return path.with_name(f"{stem}.cached{dot}{rest}" if dot else f"{stem}.cached")


# --- the template as a whole ----------------------------------------------------------------------

def _state_machines(resources: dict, resource: str | None, source: str) -> list[str]:
    """The logical ids of the template's state machines, or just ``resource`` (which must be one)."""
    machines = [name for name, body in resources.items()
                if isinstance(body, dict) and body.get("Type") in STATE_MACHINE_TYPES]
    if resource is not None:
        if resource not in resources:
            raise SfnCacheError(f"no resource {resource!r} in this template", file=source)
        if resource not in machines:
            raise SfnCacheError(f"resource {resource!r} is a {plain(resources[resource]).get('Type')}, "
                                f"not a state machine", file=source)
        return [resource]
    if not machines:
        raise SfnCacheError("no AWS::StepFunctions::StateMachine or AWS::Serverless::StateMachine resource",
                            file=source)
    return machines


def wrap_template(text: str, source: str, options: WrapOptions, *, resource: str | None = None,
                  definition_uri: str = "copy", output: str | None = None) -> TemplateResult:
    """Wrap every state machine of a template (or only ``resource``); see the module docstring."""
    template = _read_template(text, source)
    resources = template.tree["Resources"]
    machines = _state_machines(resources, resource, source)
    result = TemplateResult(text="", machines=[])
    function_id = _caching_function(plain(resources))
    before = {name: plain(resources[name]) for name in machines}
    if template.ranges is not None:
        for name in machines:  # before any key is added after them (the splice keeps them from the text)
            drop_trailing_comment(resources[name])
    for name in machines:
        where = f"{source}: resource '{name}'"
        try:
            report = _wrap_machine(template, name, options, where, definition_uri, output, result)
        except SfnCacheError as error:
            if resource is not None:
                raise
            report = MachineReport(name, "refused", str(error))
        result.machines.append(report)
        if report.result is not None and options.lambda_arn == DEFAULT_LAMBDA_ARN and report.action == "wrapped":
            _add_substitution(template, name, function_id, result.notes, where)
    if not any(m.action in ("wrapped", "unchanged") for m in result.machines):
        first = result.machines[0]
        raise SfnCacheError(f"no state machine could be wrapped: resource '{first.resource}': {first.detail}",
                            file=source)
    result.text = template.dump([name for name in machines if plain(resources[name]) != before[name]])
    return result


def machine_definitions(text: str, source: str, resource: str | None = None) -> list[tuple[str, dict | SfnCacheError]]:
    """Each state machine's definition as plain data (or why it cannot be read), for explain and graph."""
    template = _read_template(text, source)
    resources = template.tree["Resources"]
    names = _state_machines(resources, resource, source)
    found: list[tuple[str, dict | SfnCacheError]] = []
    for name in names:
        where = f"{source}: resource '{name}'"
        properties = plain(resources[name].get("Properties") or {})
        try:
            if not isinstance(properties, dict):
                raise SfnCacheError(f"{where}: Properties is not an object")
            if "Definition" in properties:
                definition = properties["Definition"]
            elif "DefinitionString" in properties:
                definition = _definition_from_string(properties["DefinitionString"], where)[0]
            elif isinstance(properties.get("DefinitionUri"), str) and not properties["DefinitionUri"].startswith("s3:"):
                template_dir = _template_dir(source)
                path = local_definition_path(definition_source(plain(resources[name]), template_dir), template_dir,
                                             where)
                definition = load_text(read_source(str(path)), str(path))
            else:
                raise SfnCacheError(f"{where}: no local Definition, DefinitionString or DefinitionUri")
            if not isinstance(definition, dict):
                raise SfnCacheError(f"{where}: the definition is not an object")
            found.append((name, definition))
        except SfnCacheError as error:
            found.append((name, error))
    return found


def _wrap_machine(template: _Template, name: str, options: WrapOptions, where: str, definition_uri: str,
                  output: str | None, result: TemplateResult) -> MachineReport:
    properties = template.tree["Resources"][name].get("Properties")
    if not isinstance(properties, dict):
        raise SfnCacheError(f"{where}: has no Properties")
    if "Definition" in properties:
        definition = plain(properties["Definition"])
        if not isinstance(definition, dict):
            raise SfnCacheError(f"{where}: Definition is not an object")
        wrapped = wrap_definition(definition, options, f"{where} Definition")
        properties["Definition"] = merge(properties["Definition"], wrapped.definition, template.short_forms)
    elif "DefinitionString" in properties:
        definition, write_back = _definition_from_string(plain(properties["DefinitionString"]), where)
        wrapped = wrap_definition(definition, options, f"{where} DefinitionString")
        if wrapped.definition != definition:
            properties["DefinitionString"] = merge(properties["DefinitionString"], write_back(wrapped.definition),
                                                   template.short_forms)
    elif "DefinitionUri" in properties:
        wrapped = _wrap_definition_uri(template, properties, options, where, definition_uri, output, result,
                                       template.tree["Resources"][name])
    else:
        raise SfnCacheError(f"{where}: no Definition, DefinitionString or DefinitionUri")
    count = sum(1 for task in wrapped.tasks if task.action == "wrapped")
    action = "wrapped" if count else "unchanged"
    detail = f"{count} task(s) wrapped" if count else "nothing new to wrap"
    return MachineReport(name, action, detail, wrapped)


def _wrap_definition_uri(template: _Template, properties: dict, options: WrapOptions, where: str, mode: str,
                         output: str | None, result: TemplateResult, resource: dict) -> WrapResult:
    uri = plain(properties["DefinitionUri"])
    if not isinstance(uri, str) or uri.startswith("s3://"):
        raise SfnCacheError(f"{where}: DefinitionUri {json.dumps(uri)} is not a local file "
                            f"(wrap the definition before uploading it)")
    template_dir = _template_dir(template.source)
    source_uri = definition_source(plain(resource), template_dir)
    path = local_definition_path(source_uri, template_dir, where)
    text = read_source(str(path))
    definition = load_text(text, str(path))
    wrapped = wrap_definition(definition, options, str(path))
    rendered = wrapped_json(wrapped.definition) if looks_like_json(text) else dump_yaml(wrapped.definition)
    out_dir = Path(output).parent if output else template_dir
    if mode == "in-place" and source_uri == uri:
        target = path
    elif mode == "in-place":
        target = local_definition_path(uri, template_dir, where)  # the copy the template points to; its source stays as written
    elif out_dir.resolve() != template_dir.resolve():
        # a build directory: the wrapped copy goes where the new template points, inside out_dir
        target = out_dir / path.resolve().relative_to(template_dir.resolve())
        if not _inside(target, out_dir):
            raise SfnCacheError(f"{where}: the wrapped copy of DefinitionUri {uri!r} would land outside "
                                f"{out_dir} ({target.resolve()})")
        if Path(uri).is_absolute():
            properties["DefinitionUri"] = Path(os.path.relpath(target, out_dir)).as_posix()
    else:
        target = cached_file_name(path)
        new_uri = Path(os.path.relpath(target, out_dir)).as_posix()
        if new_uri != uri:
            properties["DefinitionUri"] = new_uri
        _mark_source(template, resource, source_uri)
    if rendered != text or target != path:
        result.definition_files[target] = rendered
    return wrapped


def definition_source(resource: dict, template_dir: Path) -> str:
    """The file a state machine's definition is wrapped from: its ``DefinitionUri``, or, when that is a
    wrapped copy, the source the copy was made from (recorded by ``wrap`` in the resource's
    ``Metadata``; for copies made before that, the same name without ``.cached``, if it exists)."""
    uri = (resource.get("Properties") or {}).get("DefinitionUri")
    marked = ((resource.get("Metadata") or {}).get(SOURCE_MARKER[0]) or {}).get(SOURCE_MARKER[1])
    if isinstance(marked, str) and marked:
        return marked
    if isinstance(uri, str) and ".cached." in Path(uri).name:
        original = Path(uri).with_name(Path(uri).name.replace(".cached.", ".", 1)).as_posix()
        if (template_dir / original).is_file():
            return original
    return uri


def _mark_source(template: _Template, resource: Any, source_uri: str) -> None:
    """Record in ``Metadata`` which file the wrapped copy comes from, so the next wrap reads that one."""
    group, key = SOURCE_MARKER
    metadata = resource.get("Metadata")
    if metadata is None:
        resource["Metadata"] = metadata = {} if template.is_json else CommentedMap()
    if not isinstance(metadata, dict):
        return
    marker = metadata.get(group)
    if marker is None:
        metadata[group] = marker = {} if template.is_json else CommentedMap()
    if isinstance(marker, dict) and marker.get(key) != source_uri:
        marker[key] = source_uri


def _template_dir(source: str) -> Path:
    return Path(source).parent if source != "<stdin>" else Path.cwd()


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (symbolic links resolved) is ``root`` or below it."""
    resolved, base = path.resolve(), root.resolve()
    return resolved == base or base in resolved.parents


def local_definition_path(uri: str, template_dir: Path, where: str) -> Path:
    """The file a local ``DefinitionUri`` names, refused unless it lies in the template's directory tree
    (a template must not make sfn-cache read, or write a copy next to, files elsewhere)."""
    path = template_dir / uri
    if "\0" in uri or not _inside(path, template_dir):
        raise SfnCacheError(f"{where}: DefinitionUri {uri!r} points outside the template's directory "
                            f"({template_dir.resolve()}): move the definition under it")
    return path


def _caching_function(resources: dict) -> str | None:
    """The logical id of the template's caching Lambda, if it defines one."""
    for name, body in resources.items():
        if isinstance(body, dict) and body.get("Type") in FUNCTION_TYPES:
            properties = body.get("Properties")
            if isinstance(properties, dict) and properties.get("Handler") == HANDLER:
                return name
    return DEFAULT_FUNCTION_ID if DEFAULT_FUNCTION_ID in resources else None


def _add_substitution(template: _Template, name: str, function_id: str | None, notes: list[str], where: str) -> None:
    """Feed ${SfnCacheFunctionArn} through DefinitionSubstitutions; tell the user what is missing."""
    properties = template.tree["Resources"][name]["Properties"]
    target = function_id or DEFAULT_FUNCTION_ID
    substitutions = properties.get("DefinitionSubstitutions")
    if substitutions is None:
        properties["DefinitionSubstitutions"] = substitutions = CommentedMap() if not template.is_json else {}
    if not isinstance(substitutions, dict):
        raise SfnCacheError(f"{where}: DefinitionSubstitutions is not an object")
    if SUBSTITUTION not in substitutions:
        substitutions[SUBSTITUTION] = _as_node({"Fn::GetAtt": [target, "Arn"]}, template.short_forms)
    if function_id is None:
        notes.append(f"{where}: the template has no caching function: add '{DEFAULT_FUNCTION_ID}' "
                     f"(sfn-cache build-lambda writes one in template.yaml) and let the state machine invoke it")
    elif target not in json.dumps(plain(properties.get("Policies", properties.get("RoleArn", "")))):
        notes.append(f"{where}: allow the state machine to invoke '{target}' (SAM: Policies: - LambdaInvokePolicy: "
                     f"{{FunctionName: !Ref {target}}}; CloudFormation: lambda:InvokeFunction in its role)")
