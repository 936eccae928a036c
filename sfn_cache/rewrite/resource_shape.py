"""What a Task's ``Resource`` names, read from how it is written rather than from a literal ARN.

Real deployments rarely write a literal ARN: SAM and Terraform substitute ``${FnArn}``, CloudFormation
writes ``!GetAtt Fn.Arn`` or ``!Sub "arn:${AWS::Partition}:states:::lambda:invoke"``, and CDK synthesizes
a ``DefinitionString`` that is an ``Fn::Join`` of ``"...arn:"``, ``{"Ref": "AWS::Partition"}`` and
``":states:::lambda:invoke..."`` (the template reader hands such a definition to the rewriter with a
token, which holds no ``:``, where each intrinsic was). Every part resolved at deploy time is read here
as unknown (``*``); what is left tells the integration. The value itself is resolved by CloudFormation,
DefinitionSubstitutions or Terraform before any execution: the caching Lambda sees it whole, so what
the target *is* (which function, which code) is decided at run time from what Step Functions evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sfn_cache.runtime import keys

UNKNOWN = "*"
_SUBSTITUTION = re.compile(r"\$\{[^}]*\}")  # ${AWS::Partition} holds ':', so it goes before any split
# arn:aws:states:::sns:publish; some definitions write a region and account (arn:aws:states:us-east-1:1:...)
_SERVICE = re.compile(r"^arn:[^:]*:states:[^:]*:[^:]*:(?!activity:|stateMachine:|execution:)(?P<integration>.+)$")
_FUNCTION = re.compile(r"^arn:[^:]*:lambda:[^:]*:[^:]*:function:")
_ACTIVITY = re.compile(r"^arn:[^:]*:states:[^:]*:[^:]*:activity:")
PATTERNS = ("sync", "sync:2", "waitForTaskToken")  # the service integration patterns (connect-to-resource)


@dataclass(frozen=True)
class Target:
    """What a Resource names: ``kind`` is ``function`` (a Lambda function ARN), ``service``
    (``arn:<partition>:states:::<integration>[.<pattern>]``), ``activity``, ``deploy-time`` (the
    whole ARN is filled in at deploy time: a function, or an activity) or ``other``."""

    kind: str
    placeholder: str = ""  # deploy-time: the substitution's name when the Resource is one (${DDBPutItem})
    integration: str = ""  # "sns:publish", "aws-sdk:s3:putObject", "states:startExecution"
    pattern: str = ""  # "", "sync", "sync:2" or "waitForTaskToken"


def written(resource: Any) -> str | None:
    """The Resource as text, each part resolved at deploy time as ``*``; None when it is not a
    string or a CloudFormation intrinsic."""
    if isinstance(resource, str):
        return _SUBSTITUTION.sub(UNKNOWN, resource)
    if not (isinstance(resource, dict) and len(resource) == 1):
        return None
    (name, inner), = resource.items()
    if name == "Fn::Sub":
        text = inner[0] if isinstance(inner, list) and inner else inner
        return _SUBSTITUTION.sub(UNKNOWN, text) if isinstance(text, str) else UNKNOWN
    if name == "Fn::Join" and isinstance(inner, list) and len(inner) == 2 and isinstance(inner[1], list):
        delimiter = inner[0] if isinstance(inner[0], str) else ""
        return delimiter.join(part if isinstance(part, str) else (written(part) or UNKNOWN) for part in inner[1])
    return UNKNOWN  # Ref, Fn::GetAtt, Fn::ImportValue, Fn::If, ...: the whole value comes at deploy time


def target(resource: Any) -> Target:
    """What ``resource`` names (see ``Target``)."""
    text = written(resource)
    if text is None:
        return Target("other")
    if _FUNCTION.match(text):
        return Target("function")
    if _ACTIVITY.match(text):
        return Target("activity")
    service = _SERVICE.match(text)
    if service:
        integration, _, pattern = service.group("integration").rpartition(".")
        if pattern not in PATTERNS or not integration:
            integration, pattern = service.group("integration"), ""
        return Target("service", integration=integration, pattern=pattern)
    if not text.startswith("arn:"):  # a Task Resource is an ARN: this one is filled in at deploy time
        whole = _SUBSTITUTION.fullmatch(resource) if isinstance(resource, str) else None
        return Target("deploy-time", placeholder=whole.group(0)[2:-1] if whole else "")
    return Target("other")


def as_literal(resource: Any) -> Any:
    """A literal ARN of the same shape, for the regexes of runtime/keys.py that the caching Lambda
    applies to the evaluated value (a function filled in at deploy time reads as a function ARN)."""
    found = target(resource)
    if found.kind in ("function", "deploy-time"):
        return "arn:aws:lambda:us-east-1:123456789012:function:deployed"
    if found.kind == "service":
        return f"arn:aws:states:::{found.integration}" + (f".{found.pattern}" if found.pattern else "")
    return resource


def code_kind(resource: Any, parameters: dict[str, Any]) -> str | None:
    """Which code identity the caching Lambda will resolve for this target once deployed (None: none).
    A Resource filled in at deploy time is a Lambda function's ARN or an activity's; the caching Lambda
    reads which from the evaluated value (an activity has no code part)."""
    return keys.code_kind(resource, parameters) or keys.code_kind(as_literal(resource), parameters)


def callback(resource: Any) -> bool:
    """A ``.waitForTaskToken`` task, however its Resource is written."""
    return target(resource).pattern == "waitForTaskToken"
