"""``sfn-cache stats`` and ``sfn-cache doctor`` as a user runs them: the console script against moto.server."""

from __future__ import annotations

import io
import json
import time
import zipfile

import boto3

from sfn_cache.runtime.handler import lambda_handler
from sfn_cache.runtime.protocol import PROTOCOL
from tests.support.cli import CACHE_CLI_BUCKET as BUCKET
from tests.support.cli import sfn_cache_in as sfn_cache


def pull_event(bundle: str, x: int) -> dict:
    return {"sfn_cache": "pull", "protocol": PROTOCOL, "state": bundle.title(), "bundle": bundle, "ttl": None,
            "resource": "arn:aws:lambda:us-east-1:1:function:f", "cache_version": "", "force": False,
            "input": {"x": x}}


def store(bundle: str, x: int, result, task_seconds: float) -> str:
    miss = lambda_handler(pull_event(bundle, x))
    lambda_handler({**pull_event(bundle, x), "sfn_cache": "push", "key": miss["key"], "base": miss["base"],
                    "result": result, "pulled": time.time() - task_seconds})
    return miss["key"]


def compact_size(value) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def test_stats_per_bundle(cache_env):
    results = {("model", 1): {"auc": 0.9}, ("model", 2): {"auc": 0.8, "notes": "x" * 100},
               ("features", 1): {"rows": 10}}
    store("model", 1, results[("model", 1)], task_seconds=60)
    store("model", 2, results[("model", 2)], task_seconds=30)
    store("features", 1, results[("features", 1)], task_seconds=5)
    for _ in range(3):
        assert lambda_handler(pull_event("model", 1))["hit"] is True
    assert lambda_handler(pull_event("model", 2))["hit"] is True

    done = sfn_cache(cache_env, "stats", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["bundle"]: row for row in json.loads(done.stdout)}
    assert set(rows) == {"model", "features"}
    model = rows["model"]
    assert (model["entries"], model["hits"]) == (2, 4)
    assert 3 * 60 + 30 <= model["seconds_saved"] < 3 * 60 + 30 + 10  # 3 hits of a 60 s task, 1 of a 30 s one
    assert model["bytes_stored"] == compact_size(results[("model", 1)]) + compact_size(results[("model", 2)])
    assert model["oldest"] <= model["newest"] <= time.time()
    assert (rows["features"]["entries"], rows["features"]["hits"], rows["features"]["seconds_saved"]) == (1, 0, 0)

    table = sfn_cache(cache_env, "stats")
    assert table.returncode == 0
    assert [line.split()[0] for line in table.stdout.splitlines()] == ["BUNDLE", "features", "model"]
    assert "3 entries, 4 hits" in table.stderr

    only = json.loads(sfn_cache(cache_env, "stats", "--json", "--bundle", "features").stdout)
    assert [row["bundle"] for row in only] == ["features"]


def test_stats_since_counts_only_recent_hits(cache_env):
    key = store("model", 1, {"auc": 0.9}, task_seconds=10)
    lambda_handler(pull_event("model", 1))
    s3 = boto3.client("s3")
    old_hit = next(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="team/sfn-cache/hits/")["Contents"])
    eight_days_ago = time.time_ns() - 8 * 86400 * 10**9
    s3.put_object(Bucket=BUCKET, Key=old_hit.rsplit("/", 1)[0] + f"/{eight_days_ago:020d}", Body=b"")
    everything = json.loads(sfn_cache(cache_env, "stats", "--json").stdout)[0]
    recent = json.loads(sfn_cache(cache_env, "stats", "--json", "--since", "7d").stdout)[0]
    assert (everything["hits"], recent["hits"]) == (2, 1)
    assert key
    bad = sfn_cache(cache_env, "stats", "--since", "soon")
    assert bad.returncode == 2 and "not a duration" in bad.stderr


def test_doctor_round_trip_leaves_nothing_behind(cache_env):
    done = sfn_cache(cache_env, "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [["ok", "credentials"], ["ok", "bucket"], ["ok", "round"]]
    assert f"s3://{BUCKET}/team" in lines[2] and "context cli" in lines[2]
    left = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="team/").get("Contents", [])
    assert [o["Key"] for o in left if "/objects/" in o["Key"] or "/sfn-cache/" in o["Key"]] == []


def test_doctor_names_what_is_wrong(cache_env):
    done = sfn_cache(cache_env, "doctor", "--bucket", "s3://no-such-bucket/team", "--json")
    assert done.returncode == 1
    checks = {c["check"]: c for c in json.loads(done.stdout)}
    assert checks["credentials"]["ok"] is True
    assert checks["bucket"]["ok"] is False and "no-such-bucket" in checks["bucket"]["detail"]
    assert "round trip" not in checks  # meaningless without the bucket


def test_doctor_checks_the_function_settings(cache_env):
    iam = boto3.client("iam")
    role = iam.create_role(RoleName=f"doctor-{time.time_ns()}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return {}\n")

    def function(name: str, handler: str, env: dict, **settings) -> str:
        return boto3.client("lambda").create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler=handler, Code={"ZipFile": code.getvalue()},
            Environment={"Variables": env}, **settings)["FunctionArn"]

    good = function(f"cache-ok-{time.time_ns()}", "sfn_cache.runtime.handler.lambda_handler",
                    {"SFN_CACHE_BUCKET": f"s3://{BUCKET}/team", "SFN_CACHE_CONTEXT": "cli", "SFN_CACHE_TTL": "7d"},
                    Timeout=150)
    done = sfn_cache(cache_env, "doctor", "--lambda-arn", good)
    assert done.returncode == 0, done.stdout
    assert [line.split()[1] for line in done.stdout.splitlines()][-2:] == ["function", "environment"]

    wrong = function(f"cache-wrong-{time.time_ns()}", "handler.lambda_handler",
                     {"SFN_CACHE_BUCKET": "s3://elsewhere/team", "SFN_CACHE_TTL": "a week"})
    done = sfn_cache(cache_env, "doctor", "--lambda-arn", wrong, "--json")
    assert done.returncode == 1
    failed = {c["check"]: c["detail"] for c in json.loads(done.stdout) if not c["ok"]}
    assert set(failed) == {"handler", "environment", "timeout", "context", "ttl"}
    assert "s3://elsewhere/team" in failed["environment"] and "'a week'" in failed["ttl"]
    assert failed["timeout"].startswith("3 s;"), "Lambda's default timeout: a hung call would be retried"


def test_stats_of_one_bundle_lists_only_that_bundles_hits(aws, requests):
    """--bundle reads one bundle's hit counts: its cost does not grow with other bundles' hits."""
    from click.testing import CliRunner

    from sfn_cache.cli import cli

    store("model", 1, {"auc": 0.9}, task_seconds=10)
    store("features", 1, {"rows": 1}, task_seconds=1)
    for _ in range(3):
        lambda_handler(pull_event("features", 1))
    lambda_handler(pull_event("model", 1))
    requests.clear()
    result = CliRunner().invoke(cli, ["stats", "--bundle", "model", "--json"])
    assert result.exit_code == 0, result.output
    assert [(row["bundle"], row["hits"], row["seconds_saved"] >= 10) for row in json.loads(result.output)] == \
        [("model", 1, True)]
    listed = [params["Prefix"] for _, op, params in requests if op == "ListObjectsV2"]
    assert listed and all("features" not in prefix and not prefix.endswith("/hits/") for prefix in listed), listed
