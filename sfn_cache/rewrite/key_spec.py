"""What wrap writes into a cache_pull payload so that the key names everything that decides a result.

Without ``--key-path`` the key input is the task's whole effective input (its Parameters or Arguments,
evaluated by Step Functions), which already holds every parameter that names the target. With
``--key-path`` only the chosen fields are read, so wrap keeps, beside them:

- every *static* parameter (``target``): written in the definition, the same in every run, so they
  cost no hit rate, and they name what runs (FunctionName, JobName, TaskDefinition, ...);
- the dynamic parameters that name the target (``FunctionName.$`` ...), read like key paths;
- the task's ``Credentials``, evaluated.

A key path that an input lacks must not fail the pull: Step Functions raises ``States.Runtime`` on a
missing JSONPath, which no Catch handles. So key paths are read by a JSONata pull state with an
expression that answers ``{"v": value}`` when the path is there and ``{}`` when it is not.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, NoReturn

from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.resource_shape import code_kind, target
from sfn_cache.runtime.keys import LAMBDA_ARN, names_account_and_region

TARGET_NAMES = ("FunctionName", "Qualifier", "JobName", "JobDefinition", "JobQueue", "TaskDefinition",
                "Cluster", "StateMachineArn", "TrainingJobName", "ProjectName", "ApiEndpoint",
                # what a service integration reads from or writes to: another table, bucket or queue is
                # another result whatever --key-path picks from the input
                "TableName", "Bucket", "QueueUrl", "TopicArn", "EndpointName", "StreamName",
                "DeliveryStreamName", "FunctionArn", "ClusterName", "WorkGroup", "Database")
_LITERAL_PARTITION = re.compile(r"^arn:aws[a-z-]*:")  # else the partition comes at deploy time (CDK's Ref)
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_PLAIN = re.compile(r"^\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*$")


def path_steps(path: str) -> list[str | int]:
    """``$.a.b[0]`` -> ``["a", "b", 0]``; anything but a plain path is refused."""
    if not isinstance(path, str) or not _PLAIN.match(path):
        raise SfnCacheError(f"a key path must be a plain path like $.a.b[0], not {path!r}")
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def guarded(root: str, steps: list[str | int]) -> str:
    """A JSONata expression: ``{"v": <value at steps>}``, or ``{}`` when the value is absent.

    Each step checks the type first: JSONata would otherwise map ``.b`` over an array and read
    ``[0]`` of a non-array, where JSONPath finds nothing."""
    lines = [f"$v := {root}", "$ok := true"]
    for step in steps:
        if isinstance(step, int):
            lines.append(f'$ok := $ok and $type($v) = "array" and $count($v) > {step}')
            lines.append(f"$v := $ok ? $v[{step}] : null")
        else:
            lines.append(f'$ok := $ok and $type($v) = "object" and $exists($lookup($v, {json.dumps(step)}))')
            lines.append(f"$v := $ok ? $lookup($v, {json.dumps(step)}) : null")
    return "{% (" + "; ".join(lines) + '; $ok ? {"v": $v} : {}) %}'


def input_root(task: dict[str, Any], root: str) -> tuple[str, list[str | int]]:
    """Where a JSONPath task's ``$`` is, seen from a JSONata state whose ``$states.input`` is ``root``."""
    if "InputPath" not in task:
        return root, []
    if task["InputPath"] is None:
        return "{}", []
    return root, path_steps(task["InputPath"])


def key_path_input(task: dict[str, Any], key_paths: tuple[str, ...], root: str) -> dict[str, Any]:
    """The ``input`` of a key-path pull: each path's guarded value, keyed by the path."""
    base, prefix = input_root(task, root)
    return {path: guarded(base, prefix + path_steps(path)) for path in key_paths}


def _jsonata_ref(path: str, task: dict[str, Any], root: str) -> str:
    """A JSONPath reference of a JSONPath task as JSONata read by the pull (context or input)."""
    try:
        if path.startswith("$$."):
            base, steps = "$states.context", path_steps(path[1:])
        else:
            base, prefix = input_root(task, root)
            steps = prefix + path_steps(path)
    except SfnCacheError:
        _not_plain(path)
    return "{% " + base + "".join(f"[{s}]" if isinstance(s, int) else f".`{s}`" for s in steps) + " %}"


def _as_written(value: Any) -> Any:
    """A JSONPath task's static string as the JSONata pull must write it: one that looks like a JSONata
    expression would be evaluated there, so it becomes an expression for that very string."""
    if isinstance(value, str) and value.startswith("{%") and value.endswith("%}"):
        return "{% " + json.dumps(value, ensure_ascii=False) + " %}"
    return value


def _not_plain(path: str) -> NoReturn:
    raise SfnCacheError(f"with --key-path, {path!r} must be a plain path: it names the task's target or "
                        "credentials, which stay in the key")


def _static(value: Any, language: str) -> Any:
    if isinstance(value, dict):
        kept = {k: _static(v, language) for k, v in value.items()
                if not (language == "JSONPath" and k.endswith(".$"))}
        return {k: v for k, v in kept.items() if v is not _DYNAMIC}
    if isinstance(value, list):
        return [_static(v, language) for v in value]
    if language == "JSONata" and isinstance(value, str) and value.strip().startswith("{%"):
        return _DYNAMIC
    return _as_written(value) if language == "JSONPath" else copy.deepcopy(value)


_DYNAMIC = object()


def target_part(task: dict[str, Any], language: str, root: str) -> Any | None:
    """The parameters kept in a key-path key: every static one, plus the dynamic ones naming the target."""
    parameters = task.get("Parameters" if language == "JSONPath" else "Arguments")
    if isinstance(parameters, str):  # JSONata Arguments as one expression: all of it names the target
        return parameters
    if not isinstance(parameters, dict):
        return None
    kept = _static(parameters, language)
    for name in TARGET_NAMES:
        if language == "JSONPath" and isinstance(parameters.get(name + ".$"), str):
            kept[name] = _jsonata_ref(parameters[name + ".$"], task, root)
        elif language == "JSONata" and name in parameters:
            kept[name] = copy.deepcopy(parameters[name])
    return kept or None


def credentials_part(task: dict[str, Any], language: str, jsonata_pull: bool, root: str) -> Any | None:
    """The task's Credentials, to be evaluated by the pull as the task evaluates them.

    ``RoleArn`` is written ``role_arn``: ASL parsers treat ``RoleArn`` as a keyword wherever it
    appears (moto's does not evaluate ``RoleArn.$`` inside Parameters)."""
    if not isinstance(task.get("Credentials"), dict):
        return copy.deepcopy(task.get("Credentials"))
    part = {}
    for key, value in task["Credentials"].items():
        name = key[:-2] if key.endswith(".$") else key
        name = "role_arn" if name == "RoleArn" else name
        if not key.endswith(".$") or language == "JSONata":
            part[name] = _as_written(value) if jsonata_pull and language == "JSONPath" else copy.deepcopy(value)
        elif jsonata_pull:
            part[name] = _jsonata_ref(value, task, root)
        else:
            part[name + ".$"] = value
    return part


def code_keyed(task: dict[str, Any], language: str, key_code: str | None) -> str | None:
    """Which code identity the pull asks the caching Lambda to resolve for this task, or None.

    Unset (the default) keys Lambda targets only: their CodeSha256 is one cheap call and a redeploy
    is the common way a cache lies. ``.sync`` jobs are keyed when ``auto`` is asked for, since their
    code lookup needs read grants on Glue, ECS or Batch that many roles do not have (and a failed
    lookup is a miss on every run)."""
    if key_code == "off":
        return None
    kind = code_kind(task.get("Resource"), _named_targets(task, language))
    return kind if key_code == "auto" or kind == "lambda" else None


def _named_targets(task: dict[str, Any], language: str) -> dict[str, Any]:
    """The parameters naming the target, statically or not (their values are only known at run time).
    JSONata Arguments written as one expression may name any of them."""
    parameters = task.get("Parameters" if language == "JSONPath" else "Arguments")
    if language == "JSONata" and isinstance(parameters, str):
        return {name: "" for name in TARGET_NAMES}
    parameters = parameters if isinstance(parameters, dict) else {}
    return {name: "" for name in TARGET_NAMES if name in parameters or f"{name}.$" in parameters}


_CODE_PART = {"lambda": "code: Lambda CodeSha256 and Version", "glue": "code: Glue job script ETag",
              "ecs": "code: ECS task definition revision", "batch": "code: Batch job definition revision"}


def key_input(task: dict[str, Any], language: str, key_paths: tuple[str, ...]) -> str:
    """What of the task's input its key reads, in the words ``wrap -v`` and ``explain`` both use."""
    if key_paths:
        return "key paths " + ", ".join(key_paths)
    if language == "JSONPath" and "Parameters" in task:
        return "Parameters"
    if "Arguments" in task:
        return "Arguments"
    at = task.get("InputPath") if language == "JSONPath" else None
    return "state input" + (f" at InputPath {at}" if isinstance(at, str) else "")


_AT_DEPLOY = " (of the function named at deploy time, resolved at run time)"


def _function_named_at_deploy(task: dict[str, Any], static: dict[str, Any]) -> bool:
    """A Lambda target whose function is filled in at deploy time (``${FnArn}``, an intrinsic, a CDK
    token) in its Resource or its FunctionName, rather than written in the definition."""
    resource = task.get("Resource")
    if (isinstance(resource, str) and LAMBDA_ARN.match(resource)) or code_kind(resource, static) != "lambda":
        return False
    if target(resource).kind in ("function", "deploy-time") or not isinstance(resource, str):
        return True
    function = static.get("FunctionName", "")
    return not _LITERAL_PARTITION.match(resource) or not isinstance(function, str) or "${" in function


def describe_key(task: dict[str, Any], language: str, key_paths: tuple[str, ...], key_code: str | None, key_s3: str,
                 context: str | None) -> list[str]:
    """Every part of the task's key, in words (``sfn-cache explain``; docs/protocol.md says why)."""
    parameters = task.get("Parameters" if language == "JSONPath" else "Arguments")
    parameters = parameters if isinstance(parameters, dict) else {}
    static = _static(parameters, language) if parameters else {}
    parts = ["protocol", "resource", "bundle", f"context {context}" if context else "context (the Lambda's)",
             "cache version", "form"]
    if key_paths:
        parts.append("input: key paths " + ", ".join(key_paths) + " (absent = {})")
        parts.append("target: static parameters" + "".join(
            f", {name}" for name in TARGET_NAMES if f"{name}.$" in parameters or
            (language == "JSONata" and name in parameters and name not in static)))
    else:
        parts.append("input: " + key_input(task, language, key_paths))
    if "Credentials" in task:
        parts.append("credentials")
    if not names_account_and_region(task.get("Resource"), static):
        parts.append("account and region of the execution" + (
            " (unless the deployed function ARN names them)" if _function_named_at_deploy(task, static) else ""))
    kind = code_keyed(task, language, key_code)
    if kind:
        parts.append(_CODE_PART[kind] + (_AT_DEPLOY if _function_named_at_deploy(task, static) else ""))
    elif code_kind(task.get("Resource"), {n: "" for n in TARGET_NAMES}):
        parts.append("code: not keyed" + (" (--key-code auto keys it)" if key_code is None else ""))
    if key_s3 == "etag":
        parts.append("data: ETag of every s3:// string")
    return parts
