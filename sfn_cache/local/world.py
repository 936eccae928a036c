"""A private, in-process AWS for local executions: moto's S3 and Step Functions, one cache bucket.

The caching Lambda's real handler runs against it with the environment a deployed one would have.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import boto3

from sfn_cache.local.engine import CACHE_BUCKET, REGION


def fresh_aws_clients(patcher: Any) -> None:
    """boto3's default session and disdat's process-wide S3 client/resource remember the endpoint
    they were made for; each world gets new ones (a Lambda process only ever has one endpoint)."""
    from disdat.utility import aws_s3

    from sfn_cache.runtime import clients

    patcher.setattr(boto3, "DEFAULT_SESSION", None)
    patcher.setattr(clients, "_CLIENTS", {})
    patcher.setattr(aws_s3.get_s3_client, "_s3_client", None)
    patcher.setattr(aws_s3.get_s3_resource, "_s3_resource", None)


@contextmanager
def local_aws(patcher: Any, local_root: Path, context: str = "sfn-cache-local") -> Iterator[None]:
    """Dummy credentials, the cache's environment, moto with executable state machines, one bucket."""
    from moto import mock_aws

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        patcher.delenv(name, raising=False)
    fresh_aws_clients(patcher)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION, "SFN_CACHE_BUCKET": f"s3://{CACHE_BUCKET}/cache",
                        "SFN_CACHE_CONTEXT": context, "SFN_CACHE_LOCAL_ROOT": str(local_root)}.items():
        patcher.setenv(name, value)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=CACHE_BUCKET)
        yield
