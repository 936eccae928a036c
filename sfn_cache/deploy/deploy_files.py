"""What ``build-lambda`` writes beside the zips: least-privilege IAM policies and a SAM snippet.

The policies are limited to the cache prefix: the runtime reads and writes objects under it (index
entries, lineage logs, hit counts, disdat bundles), deletes only its own leases, and lists only keys
under it. Every listing names the prefix and the runtime never calls HeadBucket (which AWS
authorises as a ListBucket without a prefix), so the listing grant needs no ``IfExists``: a
ListObjects naming no prefix, or another team's, is denied. disdat uploads every
bundle object with the canned ACL ``bucket-owner-full-control``; AWS authorises a PutObject that
carries ACL headers as ``s3:PutObject`` *and* ``s3:PutObjectAcl``, so the function gets
``s3:PutObjectAcl`` for exactly that one canned ACL (which buckets with ACLs disabled, Object
Ownership "bucket owner enforced", also accept). tests/deploy/test_iam_requests.py records every request the
runtime and the inspection commands make and checks each against these policies.
With ``--key-code auto`` (the default of wrap) the function's policy also allows the four read
calls that name a target's code; with ``--key-s3-bucket`` the HEAD/list reads of ``--key-s3 etag``
(and of Glue job scripts) in those buckets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sfn_cache.deploy.lambda_package import Target
from sfn_cache.runtime.config import parse_s3_url
from sfn_cache.runtime.protocol import FUNCTION_TIMEOUT_SECONDS, HANDLER

PLACEHOLDER_BUCKET = "s3://YOUR-CACHE-BUCKET/sfn-cache"


BUNDLE_ACL = "bucket-owner-full-control"
KEY_CODE_STATEMENTS: list[dict[str, Any]] = [
    # one read call per target kind (sfn_cache/runtime/resolve.py); Lambda and Glue name resources,
    # ECS DescribeTaskDefinition and Batch DescribeJobDefinitions support no resource-level permissions
    {"Sid": "KeyCodeLambda", "Effect": "Allow", "Action": "lambda:GetFunctionConfiguration",
     "Resource": "arn:aws:lambda:*:*:function:*"},
    {"Sid": "KeyCodeGlue", "Effect": "Allow", "Action": "glue:GetJob", "Resource": "arn:aws:glue:*:*:job/*"},
    {"Sid": "KeyCodeDescribe", "Effect": "Allow",
     "Action": ["batch:DescribeJobDefinitions", "ecs:DescribeTaskDefinition"], "Resource": "*"},
]


def key_part_statements(key_code: bool, data_buckets: tuple[str, ...]) -> list[dict[str, Any]]:
    """The read calls the caching Lambda makes to resolve --key-code and --key-s3 key parts."""
    statements = [dict(s) for s in KEY_CODE_STATEMENTS] if key_code else []
    if data_buckets:
        statements.append({"Sid": "KeyDataObjects", "Effect": "Allow", "Action": "s3:GetObject",
                           "Resource": [f"arn:aws:s3:::{b}/*" for b in sorted(data_buckets)]})
        statements.append({"Sid": "KeyDataListings", "Effect": "Allow", "Action": "s3:ListBucket",
                           "Resource": [f"arn:aws:s3:::{b}" for b in sorted(data_buckets)]})
    return statements


def iam_policy(bucket_url: str, key_code: bool = True, data_buckets: tuple[str, ...] = ()) -> dict:
    """The caching function's policy: GetObject/PutObject on ``prefix/*`` (PutObjectAcl only for
    disdat's canned ACL), DeleteObject on the leases, ListBucket for listings under the prefix only;
    plus the key-part reads (``key_part_statements``). ``parse_s3_url`` refuses ``*``, ``?`` and ``${``
    (wildcards in an ARN)."""
    bucket, prefix = parse_s3_url(bucket_url)
    under = f"{bucket}/{prefix}/" if prefix else f"{bucket}/"
    objects = f"arn:aws:s3:::{under}*"
    statement_list: dict[str, Any] = {"Sid": "ListCachePrefix", "Effect": "Allow", "Action": "s3:ListBucket",
                      "Resource": f"arn:aws:s3:::{bucket}"}
    if prefix:
        statement_list["Condition"] = {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadWriteCacheObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": objects},
            {"Sid": "UploadWithBundleAcl", "Effect": "Allow", "Action": "s3:PutObjectAcl", "Resource": objects,
             "Condition": {"StringEquals": {"s3:x-amz-acl": BUNDLE_ACL}}},
            {"Sid": "ReleaseLeases", "Effect": "Allow", "Action": "s3:DeleteObject",
             "Resource": f"arn:aws:s3:::{under}sfn-cache/leases/*"},
            statement_list,
        ] + key_part_statements(key_code, data_buckets),
    }


def operator_policy(bucket_url: str) -> dict:
    """For whoever runs ``sfn-cache ls / show / rm / stats / doctor``: the function's policy plus
    DeleteObject under the prefix (``rm``, and ``doctor`` removing its probe)."""
    policy = iam_policy(bucket_url, key_code=False)
    objects = policy["Statement"][0]["Resource"]
    policy["Statement"].append({"Sid": "PruneCacheObjects", "Effect": "Allow", "Action": "s3:DeleteObject",
                                "Resource": objects})
    return policy


MEMORY_MB = 1024


def sam_function(code_uri: str, target: Target, bucket_url: str, context: str, key_code: bool = True) -> dict:
    """The caching function as a SAM resource (plain data), for ``wrap --add-function``: the handler,
    runtime and limits ``build-lambda``'s template.yaml gives it, and the least-privilege policy
    ``iam_policy`` writes to iam-policy.json."""
    policy = iam_policy(bucket_url, key_code=key_code)
    return {"Type": "AWS::Serverless::Function",
            "Properties": {"CodeUri": code_uri, "Handler": HANDLER, "Runtime": target.runtime,
                           "Architectures": [target.arch], "MemorySize": MEMORY_MB,
                           "Timeout": FUNCTION_TIMEOUT_SECONDS,
                           "Environment": {"Variables": {"SFN_CACHE_BUCKET": bucket_url.rstrip("/"),
                                                         "SFN_CACHE_CONTEXT": context}},
                           "Policies": [{"Version": policy["Version"], "Statement": policy["Statement"]}]}}


def sam_template(*, target: Target, layout: str, zips: list[str], bucket_url: str, context: str,
                 key_statements: Sequence[dict[str, Any]] = ()) -> str:
    """A SAM template that deploys the function and hands its ARN to a wrapped state machine."""
    extra = "".join(f"\n            - {json.dumps(statement, sort_keys=True)}" for statement in key_statements)
    bucket, prefix = parse_s3_url(bucket_url)
    under = f"${{CacheBucket}}/{prefix}/" if prefix else "${CacheBucket}/"
    function_zip = next((z for z in zips if "-function-" in z), None)
    layer_zip = next((z for z in zips if "-layer-" in z), None)
    code = (f"      CodeUri: {function_zip}\n" if function_zip
            else "      InlineCode: ' '  # the handler is in the layer\n")
    layer_resource = layer_ref = ""
    if layer_zip:
        layer_resource = f"""
  SfnCacheLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: {layer_zip}
      CompatibleRuntimes: [{target.runtime}]
      CompatibleArchitectures: [{target.arch}]
"""
        layer_ref = "      Layers:\n        - !Ref SfnCacheLayer\n"
    condition = f"""
              Condition:
                StringLike:
                  s3:prefix: ['{prefix}', '{prefix}/*']""" if prefix else ""
    return f"""# SAM template written by `sfn-cache build-lambda` ({layout} layout, {target.runtime}, {target.arch}).
# Deploy:  sam deploy --guided --template-file template.yaml
# Then point your wrapped state machine at the function with DefinitionSubstitutions (see Pipeline).
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: sfn-cache caching Lambda and an example cached state machine

Parameters:
  CacheBucket:
    Type: String
    Default: {bucket}
    Description: S3 bucket that holds the cache (disdat context, key index, lineage)

Resources:
  SfnCacheFunction:
    Type: AWS::Serverless::Function
    Properties:
{code}      Handler: {HANDLER}
      Runtime: {target.runtime}
      Architectures: [{target.arch}]
      MemorySize: {MEMORY_MB}
      Timeout: {FUNCTION_TIMEOUT_SECONDS}
{layer_ref}      Environment:
        Variables:
          SFN_CACHE_BUCKET: !Sub 's3://${{CacheBucket}}{'/' + prefix if prefix else ''}'
          SFN_CACHE_CONTEXT: {context}
      Policies:
        - Version: '2012-10-17'
          Statement:
            - Effect: Allow
              Action: ['s3:GetObject', 's3:PutObject']
              Resource: !Sub 'arn:aws:s3:::{under}*'
            - Effect: Allow
              Action: s3:DeleteObject
              Resource: !Sub 'arn:aws:s3:::{under}sfn-cache/leases/*'
            - Effect: Allow
              Action: s3:PutObjectAcl
              Resource: !Sub 'arn:aws:s3:::{under}*'
              Condition:
                StringEquals:
                  s3:x-amz-acl: {BUNDLE_ACL}
            - Effect: Allow
              Action: s3:ListBucket
              Resource: !Sub 'arn:aws:s3:::${{CacheBucket}}'{condition}{extra}
{layer_resource}
  # Your pipeline, wrapped with: sfn-cache wrap definition.asl.json -o cached.asl.json
  Pipeline:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: cached.asl.json
      DefinitionSubstitutions:
        SfnCacheFunctionArn: !GetAtt SfnCacheFunction.Arn
      Policies:
        - LambdaInvokePolicy:
            FunctionName: !Ref SfnCacheFunction
        # ... plus the policies your own tasks need

Outputs:
  SfnCacheFunctionArn:
    Value: !GetAtt SfnCacheFunction.Arn
"""
