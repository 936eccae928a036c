"""Cache keys: everything that decides a task's result, as canonical JSON hashed with SHA-256.

docs/protocol.md lists every key part and why it is there. One spelling per JSON value: sorted keys,
no insignificant whitespace, UTF-8 kept as is, and numbers as the task receives them: ``1`` and
``1.0`` are different JSON texts for Step Functions and for the task's code (an int and a float in
Python, ``Number.isInteger`` aside in JavaScript), so they are different keys.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sfn_cache.runtime.protocol import KEY_FORMAT

LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:function:")  # group 1: the region
_STATES_ARN = re.compile(r"^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):")
_EXECUTION_ARN = re.compile(r"^(arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}):(?:execution|express):([^:/]+)")
# the optimized integration and the AWS SDK one (aws-sdk:lambda:invoke): both name the function by FunctionName
LAMBDA_INVOKE = re.compile(r"^arn:aws[a-z-]*:states:::(?:aws-sdk:)?lambda:invoke(\.waitForTaskToken)?$")
_CODE_SERVICE = re.compile(r"^arn:aws[a-z-]*:states:::(glue:startJobRun|ecs:runTask|batch:submitJob)(\.sync(:2)?)?$")


def canonical_json(value: Any) -> str:
    """The one spelling of ``value``: integers exactly, other numbers by Python's shortest repr."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def target_parameters(event: dict[str, Any]) -> dict[str, Any]:
    """The parameters that name what runs: the static ones wrap kept (``target``), else the evaluated input."""
    target, given = event.get("target"), event.get("input")
    if isinstance(target, dict):
        return target
    return given if isinstance(given, dict) else {}


def names_account_and_region(resource: Any, parameters: dict[str, Any]) -> bool:
    """True when the target itself names its account and region (a full Lambda function ARN)."""
    if isinstance(resource, str) and LAMBDA_ARN.match(resource):
        return True
    function = parameters.get("FunctionName")
    return (isinstance(resource, str) and bool(LAMBDA_INVOKE.match(resource)) and isinstance(function, str)
            and bool(LAMBDA_ARN.match(function)))


def code_kind(resource: Any, parameters: dict[str, Any]) -> str | None:
    """Which code identity ``--key-code auto`` resolves for this target, or None (nothing to resolve)."""
    if not isinstance(resource, str):
        return None
    if LAMBDA_ARN.match(resource) or (LAMBDA_INVOKE.match(resource) and "FunctionName" in parameters):
        return "lambda"
    match = _CODE_SERVICE.match(resource)
    return match.group(1).split(":")[0] if match else None


def execution_scope(state_machine: Any) -> dict[str, Any]:
    """Account and region of the execution, read from its state machine ARN (the context object)."""
    match = _STATES_ARN.match(state_machine) if isinstance(state_machine, str) else None
    return {"region": match.group(1), "account": match.group(2)} if match else {"region": None, "account": None}


def state_machine_of(execution: Any) -> str | None:
    """The state machine ARN in an execution ARN (standard, express, or a distributed Map's child run:
    ``<name>/<map run>``), unqualified; None when ``execution`` is not one. Wrapped machines send only
    the execution: same account and region, so the same key ``scope``."""
    match = _EXECUTION_ARN.match(execution) if isinstance(execution, str) else None
    return f"{match.group(1)}:stateMachine:{match.group(2)}" if match else None


def key_material(event: dict[str, Any], context: str) -> dict[str, Any]:
    """Everything that decides a task's result that the cache_pull payload and the cache's own
    configuration state (docs/protocol.md); the handler adds the resolved ``code`` and ``s3`` parts."""
    material = {
        "protocol": KEY_FORMAT,
        "resource": event.get("resource"),
        "bundle": event["bundle"],
        "context": context,
        "cache_version": str(event.get("cache_version") or ""),
        "form": event.get("form") or "raw",
        "input": event.get("input"),
    }
    for part in ("target", "credentials"):
        if part in event:
            material[part] = event[part]
    if not names_account_and_region(event.get("resource"), target_parameters(event)):
        material["scope"] = execution_scope(event.get("state_machine"))
    return material


def canonical_bytes(material: Any) -> bytes:
    """The canonical text as bytes: UTF-8, except that a lone surrogate (JSON may escape one,
    ``"\\ud800"``, and Python's json reads it into a str) is written as its 3-byte sequence
    (``surrogatepass``) instead of failing: such material still has a key, distinct per surrogate."""
    return canonical_json(material).encode("utf-8", "surrogatepass")


def json_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON for S3 (index entries, kept material). A lone surrogate, which
    UTF-8 cannot encode, is written as its JSON escape (``\\ud800``), which reads back as the same str."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def cache_key(material: dict[str, Any]) -> str:
    """Lowercase hex SHA-256 of the material's canonical text: safe in S3 keys and disdat names."""
    return hashlib.sha256(canonical_bytes(material)).hexdigest()
