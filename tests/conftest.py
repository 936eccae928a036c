"""Shared fixtures: moto (S3 + the Step Functions interpreter), the local engine (sfn_cache.local), moto.server
for code in other processes, and the corpus-wide tallies of the per-file corpus tests."""

from __future__ import annotations

import collections
import os
import socket
import subprocess
import sys
import time
import types

import boto3
import botocore.client
import botocore.loaders
import botocore.session
import pytest

from sfn_cache.local.engine import Engine
from sfn_cache.local.seams import install_seams
from sfn_cache.local.world import fresh_aws_clients, local_aws
from tests.support import asl_parse_cache
from tests.support.cli import CACHE_CLI_BUCKET
from tests.support.corpus import MINIMUMS
from tests.support.net import free_port


@pytest.fixture(autouse=True, scope="session")
def shared_botocore_models():
    """One botocore loader for the whole test process. Tests start from fresh boto3 sessions (a new
    moto world each), and each new session would parse the service models' JSON again: 0.1 s per
    client, several clients per test. The models are the same files; only the re-reading goes."""
    loader = botocore.loaders.create_loader()
    with pytest.MonkeyPatch.context() as patcher:
        patcher.setattr(botocore.session, "create_loader", lambda *args, **kwargs: loader)
        yield


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

    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    def make(tasks: dict, cache_handler=None, default_task=None) -> Engine:
        engine = Engine(tasks, cache_handler or default_cache_handler(), default_task)
        install_seams(monkeypatch, engine)
        # Retry intervals return at once (as in verify and run): what a Retry does is unchanged, only
        # the waiting (1 + 2 + 4 s per retried call by default) is skipped
        monkeypatch.setattr(retrier_decl, "time", types.SimpleNamespace(sleep=lambda seconds: None))
        asl_parse_cache.install(monkeypatch)
        return engine

    return make


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


@pytest.fixture
def cache_env(moto_server, monkeypatch, tmp_path):
    """The console script's environment against moto.server: an emptied bucket, a private local root."""
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": moto_server, "SFN_CACHE_BUCKET": f"s3://{CACHE_CLI_BUCKET}/team",
           "SFN_CACHE_CONTEXT": "cli", "SFN_CACHE_LOCAL_ROOT": str(tmp_path / "local")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    fresh_aws_clients(monkeypatch)
    s3 = boto3.client("s3")
    if CACHE_CLI_BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=CACHE_CLI_BUCKET):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=CACHE_CLI_BUCKET, Key=item["Key"])
    else:
        s3.create_bucket(Bucket=CACHE_CLI_BUCKET)
    return {**os.environ, **env}


@pytest.fixture
def requests(monkeypatch):
    """Every AWS API call made in the test, as (service, operation, params)."""
    made: list[tuple[str, str, dict]] = []
    real = botocore.client.BaseClient._make_api_call

    def recording(client, operation_name, api_params):
        made.append((client.meta.service_model.service_name, operation_name, dict(api_params)))
        return real(client, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return made


# --- corpus-wide tallies (tests.support.corpus.tally) -----------------------------------------------
# Each per-file corpus test records its counts; with xdist the reports (and their user_properties)
# reach the controlling process, so the sums and the MINIMUMS are checked where every file is seen.

TALLIES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
REPORTED: dict[str, set[str]] = collections.defaultdict(set)


def pytest_runtest_logreport(report):
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "corpus_tally":
            TALLIES[value["group"]].update(value["counts"])
            REPORTED[value["group"]].add(report.nodeid)


def corpus_shortfalls() -> list[str]:
    """Floors missed by a group whose every file reported (a partial run checks nothing)."""
    missed = []
    for group, (files, floors) in MINIMUMS.items():
        if len(REPORTED[group]) < files or not files:
            continue
        for key, floor in floors.items():
            if TALLIES[group][key] < floor:
                missed.append(f"corpus {group}: {key} {TALLIES[group][key]}, expected at least {floor}")
    return missed


def pytest_terminal_summary(terminalreporter):
    for group in sorted(TALLIES):
        counts = ", ".join(f"{key} {count}" for key, count in sorted(TALLIES[group].items()))
        terminalreporter.write_line(f"corpus {group} ({len(REPORTED[group])} files): {counts}")
    for line in corpus_shortfalls():
        terminalreporter.write_line(f"FAILED {line}", red=True)


def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker sees only its share; the controller checks the whole
    if corpus_shortfalls() and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
