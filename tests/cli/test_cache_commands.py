"""``sfn-cache ls / show / rm`` as a user runs them: the real console script against moto.server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from sfn_cache.runtime.handler import lambda_handler
from tests.support.cli import CACHE_CLI_BUCKET as BUCKET  # noqa: F401
from tests.support.cli import sfn_cache_in as sfn_cache


def store(bundle: str, state: str, value, x: int = 1) -> str:
    pull = {"sfn_cache": "pull", "protocol": 5, "state": state, "bundle": bundle, "ttl": None,
            "resource": "arn:aws:lambda:us-east-1:1:function:f", "cache_version": "", "force": False,
            "input": {"x": x}, "execution": "arn:exec:7"}
    answer = lambda_handler(pull)
    lambda_handler({"sfn_cache": "push", "protocol": 5, "state": state, "bundle": bundle, "ttl": None,
                    "key": answer["key"], "base": answer["base"],
                    "result": value, "execution": "arn:exec:7"})
    return answer["key"]


def test_ls_show_rm(cache_env, monkeypatch):
    model_key = store("model", "Train", {"auc": 0.9})
    store("features", "Prepare", {"rows": 10})
    monkeypatch.setenv("SFN_CACHE_INLINE_MAX_BYTES", "5")
    big_key = store("features", "Prepare", {"rows": list(range(50))}, x=2)

    listed = sfn_cache(cache_env, "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert sorted((r["bundle"], r["state"], r["stored"]) for r in rows) == [
        ("features", "Prepare", "bundle"), ("features", "Prepare", "inline+bundle"),
        ("model", "Train", "inline+bundle")]
    table = sfn_cache(cache_env, "ls", "--bundle", "model")
    assert "Train" in table.stdout and model_key[:12] in table.stdout and "Prepare" not in table.stdout

    shown = json.loads(sfn_cache(cache_env, "show", model_key[:10], "--json").stdout)
    assert shown["result"] == {"auc": 0.9}
    assert shown["material"]["input"] == {"x": 1} and shown["execution"] == "arn:exec:7"
    big = sfn_cache(cache_env, "show", big_key, "--json")
    assert big.returncode == 0, big.stderr
    assert json.loads(big.stdout)["result"] == {"rows": list(range(50))}

    dry = sfn_cache(cache_env, "rm", "--bundle", "features")
    assert dry.returncode == 0 and dry.stdout.count("would remove") == 2
    assert len(json.loads(sfn_cache(cache_env, "ls", "--json").stdout)) == 3
    assert sfn_cache(cache_env, "rm", "--older-than", "1d", "--yes").stdout == ""
    removed = sfn_cache(cache_env, "rm", "--bundle", "features", "--yes")
    assert removed.returncode == 0 and removed.stdout.count("removed") == 2
    assert [r["bundle"] for r in json.loads(sfn_cache(cache_env, "ls", "--json").stdout)] == ["model"]
    sfn_cache(cache_env, "rm", "--key", model_key, "--yes")
    assert json.loads(sfn_cache(cache_env, "ls", "--json").stdout) == []
    assert lambda_handler({"sfn_cache": "pull", "protocol": 5, "state": "Train", "bundle": "model",
                           "resource": "arn:aws:lambda:us-east-1:1:function:f", "input": {"x": 1}})["hit"] is False


@pytest.mark.parametrize("args,message", [
    (["ls", "--bucket", "s3://no-such-bucket-xyz"], "NoSuchBucket"),
    (["ls", "--bucket", "bucket-without-scheme"], "must look like s3://bucket"),
    (["show", "abc"], "too short"),
    (["show", "abcdef0123"], "no cached result with key abcdef0123"),
    (["rm"], "say what to remove"),
    (["rm", "--older-than", "soon"], "not a duration"),
])
def test_errors_are_one_line_exit_2(cache_env, args, message):
    result = sfn_cache(cache_env, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_no_bucket_configured(cache_env):
    env = {k: v for k, v in cache_env.items() if k != "SFN_CACHE_BUCKET"}
    result = sfn_cache(env, "ls")
    assert result.returncode == 2 and "no cache bucket" in result.stderr


def test_ls_show_rm_use_the_configuration_and_rm_leaves_nothing_behind(cache_env, monkeypatch, tmp_path):
    """The project configuration names the cache (as it does for wrap), over $SFN_CACHE_BUCKET; rm
    deletes the index entry, the bundle's objects and the lineage records naming the bundle."""
    monkeypatch.setenv("SFN_CACHE_BUCKET", f"s3://{BUCKET}/from-config")
    key = store("model", "Train", {"auc": 0.9})
    store("features", "Prepare", {"rows": 10})  # same execution: its lineage records stay
    s3 = boto3.client("s3")
    (tmp_path / "sfn-cache.yaml").write_text(f"bucket: s3://{BUCKET}/from-config\n")
    exe = shutil.which("sfn-cache", path=str(Path(sys.executable).parent))

    def run(*args):
        return subprocess.run([exe, *args], capture_output=True, text=True, env=cache_env, cwd=tmp_path)

    listed = run("ls", "--json")  # cache_env's SFN_CACHE_BUCKET is s3://BUCKET/team: empty
    assert listed.returncode == 0, listed.stderr
    assert sorted(row["bundle"] for row in json.loads(listed.stdout)) == ["features", "model"]
    assert run("ls").stderr.strip() == f"2 cached result(s) in s3://{BUCKET}/from-config"
    assert json.loads(run("ls", "--json", "--no-config").stdout) == []
    assert json.loads(run("show", key[:8], "--json").stdout)["result"] == {"auc": 0.9}

    def objects():
        return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="from-config/").get("Contents", [])]

    uuid = json.loads(run("ls", "--json", "--bundle", "model").stdout)[0]["uuid"]
    assert [k for k in objects() if "/sfn-cache/executions/" in k and f"~{uuid}~" in k]  # recorded by the push
    removed = run("rm", "--bundle", "model", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert [k for k in objects() if uuid in k or "/index/model/" in k] == []
    assert [k for k in objects() if "/sfn-cache/executions/" in k]  # the other bundle's lineage is kept
    assert [row["bundle"] for row in json.loads(run("ls", "--json").stdout)] == ["features"]
