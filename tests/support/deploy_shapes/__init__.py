"""Deployment-shaped fixtures, and what deploying them does to a definition, for the tests of issue 26.

- ``cdk.template.json``: what ``cdk synth`` writes for a ``LambdaInvoke`` followed by an ``SnsPublish``
  (the shape of aws-cdk's ``integ.invoke.js.snapshot``: a ``DefinitionString`` that is an ``Fn::Join``
  of JSON text, ``{"Ref": "AWS::Partition"}`` and ``{"Fn::GetAtt": [function, "Arn"]}``);
- ``template.yaml`` + ``statemachine/pipeline.asl.json``: a SAM project whose definition names its
  targets through ``DefinitionSubstitutions`` (``${ScoreFunctionArn}``, ``${DDBPutItem}``);
- ``pipeline.asl.json.tftpl``: a Terraform ``templatefile`` definition (``${score_fn_arn}``).

``resolve`` plays CloudFormation (and Step Functions' DefinitionSubstitutions, and Terraform's
templatefile) for these shapes only: ``Ref``, ``Fn::GetAtt``, ``Fn::Join`` and ``${name}``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CDK = HERE / "cdk.template.json"
SAM = HERE / "template.yaml"
TERRAFORM = HERE / "pipeline.asl.json.tftpl"


def substitute(text: str, values: dict[str, str]) -> str:
    """``${name}`` -> its value, as DefinitionSubstitutions and templatefile do (every name must be given)."""
    return re.sub(r"\$\{([A-Za-z0-9_:]+)\}", lambda match: values[match.group(1)], text)


def resolve(value: Any, refs: dict[str, str], attributes: dict[str, str]) -> Any:
    """A template value with ``Ref``/``Fn::GetAtt``/``Fn::Join`` replaced by what CloudFormation gives:
    ``refs`` by logical id (and pseudo parameter), ``attributes`` by ``"Id.Attribute"``."""
    if isinstance(value, list):
        return [resolve(item, refs, attributes) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return refs[value["Ref"]]
    if set(value) == {"Fn::GetAtt"}:
        return attributes[".".join(value["Fn::GetAtt"])]
    if set(value) == {"Fn::Join"}:
        delimiter, parts = value["Fn::Join"]
        return delimiter.join(resolve(part, refs, attributes) for part in parts)
    return {key: resolve(inner, refs, attributes) for key, inner in value.items()}
