"""A template's text, its round-trip tree, and its new text after the state machines changed.

YAML templates are read with ruamel.yaml's round-trip mode, so what is not changed is written back as
it was (see splice.py); JSON templates are re-emitted whole with the indentation they use.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from sfn_cache.asl.loader import load_text, looks_like_json
from sfn_cache.asl.yaml_roundtrip import plain
from sfn_cache.errors import SfnCacheError
from sfn_cache.template.splice import (
    Edit,
    Ranges,
    drop_trailing_comment,
    resource_ranges,
    splice,
    splice_json,
    splice_values,
)

STATE_MACHINE_TYPES = ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine")
EXPRESS = "EXPRESS"  # the workflow type whose executions end after 5 minutes (the other: STANDARD, the default)


def _round_trip_yaml(text: str) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    sequence, offset = _sequence_indent(text)
    mapping = _mapping_indent(text)
    yaml.indent(mapping=mapping, sequence=max(sequence, offset + 2), offset=offset)
    return yaml


def _mapping_indent(text: str) -> int:
    """How far most nested mappings of the template are indented (2 or 4 spaces...), so a rewritten
    definition is indented as the lines around it."""
    steps: dict[int, int] = {}
    previous = None
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if previous is not None and previous.rstrip().endswith(":") and not previous.lstrip().startswith("- ") \
                and not stripped.startswith("- "):
            step = len(line) - len(stripped) - (len(previous) - len(previous.lstrip(" ")))
            if 0 < step <= 8:
                steps[step] = steps.get(step, 0) + 1
        previous = line
    return max(sorted(steps), key=lambda s: steps[s]) if steps else 2


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
class Template:
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

    def dump(self, changed: list[str], edits: list[Edit] | None = None) -> str:
        """The template's new text: in YAML, the original text with only the values in ``edits``
        rewritten (splice.py), else with only the ``changed`` resources' lines replaced, so a diff shows
        the change and nothing else."""
        if self.is_json:
            spliced = self._splice_json(edits) if edits is not None else None
            if spliced is not None:
                return spliced
            return json.dumps(self.tree, indent=_json_indent(self.text), ensure_ascii=False) + "\n"
        assert self.yaml is not None
        if edits is not None:
            spliced = splice_values(self.text, edits, self._render)
            if spliced is not None:
                return spliced
        buffer = io.StringIO()
        self.yaml.dump(self.tree, buffer)
        dumped = buffer.getvalue()
        before = self.ranges
        after = resource_ranges(self.yaml.load(dumped), dumped) if before is not None else None
        if before is None or after is None or not all(name in after and name in before for name in changed):
            return dumped
        return splice(self.text, before, dumped, after, changed)


    def _splice_json(self, edits: list[Edit]) -> str | None:
        """The JSON text with only the edited values rewritten (splice.splice_json), or None."""
        paths: dict[int, tuple[str, ...]] = {id(self.tree): ()}
        resources = self.tree.get("Resources")
        if isinstance(resources, dict):
            paths[id(resources)] = ("Resources",)
            for name, body in resources.items():
                if isinstance(body, dict):
                    paths[id(body)] = ("Resources", name)
                    if isinstance(body.get("Properties"), dict):
                        paths[id(body["Properties"])] = ("Resources", name, "Properties")
        if any(id(mapping) not in paths for mapping, _ in edits):
            return None
        return splice_json(self.text, [(paths[id(mapping)], key, plain(mapping[key])) for mapping, key in edits],
                           _json_indent(self.text))

    def _render(self, key: str, node: Any) -> str:
        """One key and its value as this template's YAML, at column 0."""
        assert self.yaml is not None
        wrapper = CommentedMap()
        wrapper[key] = node
        drop_trailing_comment(wrapper)  # the comment lines after the value stay where they are written
        buffer = io.StringIO()
        self.yaml.dump(wrapper, buffer)
        return buffer.getvalue()


def read_template(text: str, source: str) -> Template:
    """The template as a round-trip tree (YAML) or plain data (JSON); errors name the file and line."""
    if looks_like_json(text):
        return Template(source, text, True, load_text(text, source), None)
    load_text(text, source)  # the strict loader's errors (duplicate keys, syntax) with file and line
    yaml = _round_trip_yaml(text)
    try:
        tree = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or "not readable"
        raise SfnCacheError(f"invalid YAML: {problem}", file=source, line=mark.line + 1 if mark else None,
                            details=str(exc)) from None
    return Template(source, text, False, tree, yaml, resource_ranges(tree, text))


def state_machines(resources: dict[str, Any], resource: str | None, source: str) -> list[str]:
    """The logical ids of the template's state machines, or just ``resource`` (which must be one)."""
    machines = [name for name, body in resources.items()
                if isinstance(body, dict) and body.get("Type") in STATE_MACHINE_TYPES]
    if resource is not None:
        if resource not in resources:
            raise SfnCacheError(f"no resource {resource!r} in this template", file=source)
        if resource not in machines:
            body = plain(resources[resource])
            kind = f"a {body.get('Type')}" if isinstance(body, dict) else f"{json.dumps(body)[:40]} (not an object)"
            raise SfnCacheError(f"resource {resource!r} is {kind}, not a state machine", file=source)
        return [resource]
    if not machines:
        raise SfnCacheError("no AWS::StepFunctions::StateMachine or AWS::Serverless::StateMachine resource",
                            file=source)
    return machines



def is_serverless(tree: Any) -> bool:
    """A Serverless Framework service (serverless.yml): its machines are ``stepFunctions.stateMachines``."""
    steps = tree.get("stepFunctions") if isinstance(tree, dict) else None
    return "Resources" not in tree and isinstance(steps, dict) and isinstance(steps.get("stateMachines"), dict)


def serverless_machines(tree: Any, resource: str | None, source: str) -> list[str]:
    """The names under ``stepFunctions.stateMachines``, or just ``resource`` (which must be one)."""
    machines = tree["stepFunctions"]["stateMachines"]
    if resource is not None:
        if resource not in machines:
            raise SfnCacheError(f"no state machine {resource!r} under stepFunctions.stateMachines", file=source)
        return [resource]
    if not machines:
        raise SfnCacheError("no state machine under stepFunctions.stateMachines", file=source)
    return [str(name) for name in machines]


def definition_object(definition: Any, where: str, key: str) -> dict[str, Any]:
    """A ``Definition``/``definition`` value that is a definition, or one line saying why it is not."""
    if isinstance(definition, dict) and list(definition) == ["Fn::If"]:
        raise SfnCacheError(f"{where}: {key} is Fn::If: which definition deploys depends on a condition, and "
                            f"sfn-cache wraps one definition: give each branch its own state machine or file")
    if not isinstance(definition, dict):
        raise SfnCacheError(f"{where}: {key} is not an object")
    return definition


def workflow_type(machine: Any, serverless: bool) -> tuple[str, Any]:
    """(the key that gives a state machine's workflow type, its value as plain data or None): CloudFormation's
    ``StateMachineType``, SAM's ``Type`` (Properties), the serverless-step-functions plugin's ``type`` (which
    it copies to StateMachineType)."""
    if serverless:
        return "type", plain(machine.get("type")) if isinstance(machine, dict) else None
    key = "StateMachineType" if machine.get("Type") == STATE_MACHINE_TYPES[0] else "Type"
    properties = machine.get("Properties")
    return key, plain(properties.get(key)) if isinstance(properties, dict) else None


def is_express(value: Any) -> bool | None:
    """Whether a workflow type value is EXPRESS (in any case: AWS and the plugin accept upper case only, and
    the short timeouts are the safe side); None when it is not written as a value (an intrinsic function, a
    Serverless variable), so the deployed type cannot be read here."""
    if value is None:
        return False
    if isinstance(value, str) and "${" not in value:
        return value.strip().upper() == EXPRESS
    return None
