"""Shared fixtures: moto (S3 + the Step Functions interpreter) and the local engine (sfn_cache.local)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sfn_cache.local.engine import Engine
from sfn_cache.local.seams import install_seams
from sfn_cache.local.world import fresh_aws_clients, local_aws  # noqa: F401  (fresh_aws_clients: for other tests)

# ../shared/corpus beside the project; SFN_CACHE_CORPUS names it from a checkout elsewhere (a worktree)
CORPUS = Path(os.environ.get("SFN_CACHE_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus")


@pytest.fixture
def aws(monkeypatch, tmp_path):
    """A private moto world: dummy credentials, one cache bucket, and the cache's environment."""
    with local_aws(monkeypatch, tmp_path / "sfn-cache-local", context="harness"):
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


