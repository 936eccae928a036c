"""Shared fixtures: moto (S3 + the Step Functions interpreter) and the harness engine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from harness import CACHE_BUCKET, REGION, Engine, install_seams

# ../shared/corpus beside the project; SFN_CACHE_CORPUS names it from a checkout elsewhere (a worktree)
CORPUS = Path(os.environ.get("SFN_CACHE_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus")


def fresh_aws_clients(monkeypatch) -> None:
    """boto3's default session and disdat's process-wide S3 client/resource remember the endpoint
    they were made for; each test gets new ones (a Lambda process only ever has one endpoint)."""
    from disdat.utility import aws_s3

    from sfn_cache.runtime import clients

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setattr(clients, "_CLIENTS", {})
    monkeypatch.setattr(aws_s3.get_s3_client, "_s3_client", None)
    monkeypatch.setattr(aws_s3.get_s3_resource, "_s3_resource", None)


@pytest.fixture
def aws(monkeypatch, tmp_path):
    """A private moto world: dummy credentials, one cache bucket, and the cache's environment."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    fresh_aws_clients(monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("SFN_CACHE_BUCKET", f"s3://{CACHE_BUCKET}/cache")
    monkeypatch.setenv("SFN_CACHE_CONTEXT", "harness")
    monkeypatch.setenv("SFN_CACHE_LOCAL_ROOT", str(tmp_path / "sfn-cache-local"))
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=CACHE_BUCKET)
        yield


def default_cache_handler():
    from sfn_cache.runtime.handler import lambda_handler

    return lambda_handler


@pytest.fixture
def make_engine(aws, monkeypatch):
    """``make_engine(tasks)`` -> an Engine whose Lambda calls go to ``tasks`` and the real cache handler."""

    def make(tasks: dict, cache_handler=None, default_task=None) -> Engine:
        engine = Engine(tasks, cache_handler or default_cache_handler(), default_task)
        install_seams(monkeypatch, engine)
        return engine

    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server():
    """S3 as a real HTTP server on 127.0.0.1, for code that runs in another process."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("moto.server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


