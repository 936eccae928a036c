"""Each state machine's definition read out of a template, as plain data, for explain, graph, verify
and wrap's check of state names (which must see the machines as wrap will)."""

from __future__ import annotations

from typing import Any

from sfn_cache.asl.loader import load_text, read_source
from sfn_cache.asl.yaml_roundtrip import plain
from sfn_cache.errors import SfnCacheError
from sfn_cache.template.definition_string import read_definition_string
from sfn_cache.template.definition_uri import definition_source, is_local_uri, local_definition_path, template_dir
from sfn_cache.template.document import (
    definition_object,
    is_express,
    is_serverless,
    read_template,
    serverless_machines,
    state_machines,
    workflow_type,
)


def machine_definitions(text: str, source: str,
                        resource: str | None = None) -> list[tuple[str, dict[str, Any] | SfnCacheError]]:
    """Each state machine's definition as plain data (or why it cannot be read), in template order."""
    template = read_template(text, source)
    found: list[tuple[str, dict[str, Any] | SfnCacheError]] = []
    if is_serverless(template.tree):
        machines = template.tree["stepFunctions"]["stateMachines"]
        for name in serverless_machines(template.tree, resource, source):
            where = f"{source}: state machine '{name}'"
            try:
                machine = plain(machines[name])
                if not isinstance(machine, dict) or "definition" not in machine:
                    raise SfnCacheError(f"{where}: has no definition")
                found.append((name, definition_object(machine["definition"], where, "definition")))
            except SfnCacheError as error:
                found.append((name, error))
        return found
    resources = template.tree["Resources"]
    for name in state_machines(resources, resource, source):
        try:
            found.append((name, _definition(resources[name], f"{source}: resource '{name}'", source)))
        except SfnCacheError as error:
            found.append((name, error))
    return found


def express_machines(text: str, source: str, resource: str | None = None) -> dict[str, str]:
    """The state machines the template declares Express, each with how (``StateMachineType: EXPRESS``):
    wrap gives their cache states Express timeouts."""
    template = read_template(text, source)
    serverless = is_serverless(template.tree)
    if serverless:
        bodies, names = template.tree["stepFunctions"]["stateMachines"], serverless_machines(template.tree, resource,
                                                                                             source)
    else:
        bodies, names = template.tree["Resources"], state_machines(template.tree["Resources"], resource, source)
    found = {}
    for name in names:
        key, value = workflow_type(bodies[name], serverless)
        if is_express(value):
            found[name] = f"{key}: {value}"
    return found


def _definition(resource: Any, where: str, source: str) -> dict[str, Any]:
    properties = plain(resource.get("Properties") or {})
    if not isinstance(properties, dict):
        raise SfnCacheError(f"{where}: Properties is not an object")
    if "Definition" in properties:
        definition = properties["Definition"]
    elif "DefinitionString" in properties:
        definition = read_definition_string(properties["DefinitionString"], where).definition
    elif is_local_uri(properties.get("DefinitionUri")):
        directory = template_dir(source)
        path = local_definition_path(definition_source(plain(resource), directory), directory, where)
        definition = load_text(read_source(str(path)), str(path))
    else:
        raise SfnCacheError(f"{where}: no local Definition, DefinitionString or DefinitionUri")
    return definition_object(definition, where, "the definition")
