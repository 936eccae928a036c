"""``sfn-cache build-lambda``: real pip builds, run in a clean interpreter against moto.server.

The builds need the package registry (CI reaches it) and take tens of seconds each: they are marked
``slow`` and CI runs them all.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sfn_cache.asl.loader import load_text
from sfn_cache.cli import cli
from sfn_cache.deploy.lambda_package import PROVIDED_BY_RUNTIME, Target, check_limits, default_target, normalise

HERE = default_target()
RUNNING = Target(f"{sys.version_info[0]}.{sys.version_info[1]}", HERE.arch)
OTHER_ARCH = "arm64" if HERE.arch == "x86_64" else "x86_64"
ELF_MACHINE = {"x86_64": 0x3E, "arm64": 0xB7}
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


def build(*args: str) -> subprocess.CompletedProcess:
    """The console command, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "sfn_cache", "build-lambda", *args],
                          capture_output=True, text=True)


def only_zip(directory: Path) -> Path:
    zips = sorted(directory.glob("*.zip"))
    assert len(zips) == 1, zips
    return zips[0]


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    """The wheels of this machine's target, downloaded once, for the offline builds."""
    house = tmp_path_factory.mktemp("wheelhouse")
    command = [sys.executable, "-m", "pip", "download", "-q", "--dest", str(house), "--only-binary=:all:",
               "--implementation", "cp", "--python-version", RUNNING.python, "disdat==1.2.0"]
    for tag in RUNNING.platforms:
        command += ["--platform", tag]
    subprocess.run(command, check=True)
    return house


@pytest.fixture(scope="module")
def registry_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("registry-build")
    done = build("-o", str(out), "--python", RUNNING.python, "--arch", RUNNING.arch, "--bucket", "s3://cache/team")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def runtime_only_path(tmp_path_factory) -> Path:
    """What the Lambda runtime adds to the package: boto3 and its pure-Python dependencies."""
    path = tmp_path_factory.mktemp("lambda-runtime")
    for module in RUNTIME_MODULES:
        spec = importlib.util.find_spec(module)
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (path / source.name).symlink_to(source)
    return path


CLEAN_RUN = r"""
import json, os, sys
sys.path[:0] = [os.environ["PACKAGE"], os.environ["RUNTIME_ONLY"]]
from sfn_cache.runtime.handler import lambda_handler
import sfn_cache

def event(op, **fields):
    base = {"sfn_cache": op, "protocol": 5, "state": "Train", "bundle": "model", "ttl": None,
            "execution": "arn:aws:states:us-east-1:1:execution:m:run"}
    return {**base, **fields}

report = {"sfn_cache_file": sfn_cache.__file__}
for name, result in (("small", {"ok": 1}), ("large", {"rows": list(range(2000))})):
    pull = {"resource": "arn:aws:lambda:us-east-1:1:function:train", "cache_version": "", "force": False,
            "input": {"which": name}}
    miss = lambda_handler(event("pull", **pull))
    lambda_handler(event("push", key=miss["key"], base=miss["base"], result=result))
    hit = lambda_handler(event("pull", **pull))
    report[name] = {"miss": miss["hit"], "hit": hit["hit"], "same": hit.get("data") == result}
try:
    import click
    report["click"] = True
except ImportError:
    report["click"] = False
report["disdat_file"] = sys.modules["disdat"].__file__
print(json.dumps(report))
"""


@pytest.mark.slow
def test_package_runs_in_a_clean_interpreter(registry_build, runtime_only_path, moto_server, tmp_path):
    package = tmp_path / "unzipped"
    with zipfile.ZipFile(only_zip(registry_build)) as archive:
        archive.extractall(package)
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="clean-run")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PACKAGE": str(package),
           "RUNTIME_ONLY": str(runtime_only_path), "AWS_ENDPOINT_URL": moto_server,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "SFN_CACHE_BUCKET": "s3://clean-run/team", "SFN_CACHE_LOCAL_ROOT": str(tmp_path / "local"),
           "SFN_CACHE_INLINE_MAX_BYTES": "1000"}
    # -I: no environment paths or user site; -S: not even this virtualenv's site-packages.
    done = subprocess.run([sys.executable, "-I", "-S", "-c", CLEAN_RUN], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["sfn_cache_file"].startswith(str(package))
    assert report["disdat_file"].startswith(str(package))
    assert report["click"] is False, "the CLI's dependencies must not be in the Lambda package"
    assert report["small"] == {"miss": False, "hit": True, "same": True}
    assert report["large"] == {"miss": False, "hit": True, "same": True}
    entries = [json.loads(s3.get_object(Bucket="clean-run", Key=item["Key"])["Body"].read())
               for item in s3.list_objects_v2(Bucket="clean-run", Prefix="team/sfn-cache/index/")["Contents"]]
    # the large result was read back through disdat from its bundle, the small one from the index
    assert sorted("inline" in entry for entry in entries) == [False, True]


@pytest.mark.slow
def test_package_holds_the_handler_and_disdat_but_not_the_runtime_or_dead_weight(registry_build):
    with zipfile.ZipFile(only_zip(registry_build)) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names}
    for module in RUNTIME_MODULES:
        assert module not in tops and f"{module}.py" not in tops
    assert "disdat" in tops and "pandas" in tops
    ours = sorted(n for n in names if n.startswith("sfn_cache/") and n.endswith(".py"))
    assert "sfn_cache/runtime/handler.py" in ours
    assert not [n for n in ours if not n.startswith("sfn_cache/runtime/") and n != "sfn_cache/__init__.py"]
    assert not [n for n in names if "/tests/" in n or n.startswith("bin/")]
    tag = sys.implementation.cache_tag
    pycs = [n for n in names if n.endswith(".pyc")]
    assert pycs and all(f".{tag}." in n for n in pycs)
    assert "sfn_cache/runtime/__pycache__/handler." + tag + ".pyc" in names
    manifest = json.loads((registry_build / "manifest.json").read_text())
    listed = {normalise(d["name"]): d["version"] for d in manifest["distributions"]}
    in_zip = {}
    for name in names:
        if name.endswith(".dist-info/METADATA"):
            dist, version = name.split("/")[0][: -len(".dist-info")].rsplit("-", 1)
            in_zip[normalise(dist)] = version
    assert listed == in_zip
    assert {normalise(d["name"]) for d in manifest["provided_by_runtime"]} <= set(PROVIDED_BY_RUNTIME)
    assert manifest["compiled"] is True and manifest["handler"] == "sfn_cache.runtime.handler.lambda_handler"


@pytest.mark.slow
def test_offline_builds_from_a_wheelhouse_are_byte_identical(wheelhouse, tmp_path):
    outputs = []
    for name in ("first", "second"):
        out = tmp_path / name
        done = build("-o", str(out), "--no-index", "--find-links", str(wheelhouse), "--quiet",
                     "--python", RUNNING.python, "--arch", RUNNING.arch)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        outputs.append(out)
    first, second = outputs
    assert sorted(p.name for p in first.iterdir()) == sorted(p.name for p in second.iterdir())
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name
    with zipfile.ZipFile(only_zip(first)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} <= {0o644, 0o755}


@pytest.mark.slow
def test_cross_build_picks_wheels_for_the_target(tmp_path):
    target = Target("3.12" if RUNNING.python != "3.12" else "3.13", OTHER_ARCH)
    out = tmp_path / "cross"
    done = build("-o", str(out), "--python", target.python, "--arch", target.arch, "--layout", "both")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["compiled"] is False  # .pyc can only be made for the running interpreter
    python_tag = "cp" + target.python.replace(".", "")
    for dist in manifest["distributions"]:
        for tag in dist["tags"]:
            interpreter, abi, plat = tag.split("-")
            if plat == "any":
                assert interpreter.startswith("py") or interpreter == python_tag, (dist, tag)
                continue
            if abi == "abi3":  # the stable ABI: built for an older CPython, loads on newer ones
                assert int(interpreter[3:]) <= int(python_tag[3:]) and interpreter[:3] == "cp3", (dist, tag)
            else:
                assert interpreter == python_tag and abi == python_tag, (dist, tag)
            assert plat.endswith(target.machine) and plat.startswith("manylinux"), (dist, tag)
    assert any(plat_tag.endswith(target.machine) for d in manifest["distributions"] for plat_tag in d["tags"])
    layer = out / f"sfn-cache-layer-{target.runtime}-{target.arch}.zip"
    function = out / f"sfn-cache-function-{target.runtime}-{target.arch}.zip"
    with zipfile.ZipFile(layer) as archive:
        names = archive.namelist()
        assert all(n.startswith("python/") for n in names)
        shared_objects = [n for n in names if n.endswith(".so")]
        assert shared_objects
        for name in shared_objects[:20]:
            header = archive.read(name)[:20]
            assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[target.arch], name
    with zipfile.ZipFile(function) as archive:
        assert all(n.startswith("sfn_cache/") for n in archive.namelist())
    template = load_text((out / "template.yaml").read_text(), "template.yaml")
    function_props = template["Resources"]["SfnCacheFunction"]["Properties"]
    assert function_props["CodeUri"] == function.name
    assert function_props["Runtime"] == target.runtime and function_props["Architectures"] == [target.arch]
    assert template["Resources"]["SfnCacheLayer"]["Properties"]["ContentUri"] == layer.name


def test_a_wildcard_bucket_is_refused_in_one_line_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    done = build("-o", str(out), "--bucket", "s3://cache/team*")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "wildcard" in done.stderr
    assert not out.exists() or not any(out.iterdir())


def test_compile_for_another_python_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    other = "3.12" if RUNNING.python != "3.12" else "3.13"
    done = build("-o", str(out), "--python", other, "--compile")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "--no-compile" in done.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_pip_failure_is_one_clear_line_and_writes_nothing(tmp_path):
    empty = tmp_path / "empty-wheelhouse"
    empty.mkdir()
    out = tmp_path / "out"
    done = build("-o", str(out), "--no-index", "--find-links", str(empty), "--quiet")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "pip could not install disdat==1.2.0" in lines[0] and "ERROR:" in lines[0]
    assert not any(out.iterdir())


def test_size_limits_are_hard_errors():
    mib = 1024 * 1024
    assert check_limits({"f.zip": (40 * mib, 200 * mib)}) == []
    over_zip = check_limits({"f.zip": (51 * mib, 100 * mib)})
    assert len(over_zip) == 1 and "f.zip" in over_zip[0] and "50.0 MiB" in over_zip[0]
    over_total = check_limits({"f.zip": (10 * mib, 130 * mib), "l.zip": (10 * mib, 130 * mib)})
    assert len(over_total) == 1 and "260.0 MiB" in over_total[0] and "250.0 MiB" in over_total[0]


@pytest.mark.slow
def test_a_package_over_the_limit_fails_the_build(wheelhouse, tmp_path, monkeypatch):
    monkeypatch.setattr("sfn_cache.deploy.lambda_package.ZIPPED_LIMIT", 1024 * 1024)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build-lambda", "-o", str(out), "--no-index", "--find-links", str(wheelhouse),
                                      "--quiet", "--python", RUNNING.python, "--arch", RUNNING.arch, "--no-compile"])
    assert result.exit_code == 2
    assert "over Lambda's 1.0 MiB limit" in result.output
    assert list(out.iterdir()) == []


def test_iam_policy_is_limited_to_the_cache_prefix(tmp_path):
    from sfn_cache.deploy.deploy_files import iam_policy

    policy = iam_policy("s3://cache-bucket/team/ml")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadWriteCacheObjects"]["Resource"] == "arn:aws:s3:::cache-bucket/team/ml/*"
    assert sorted(by_sid["ReadWriteCacheObjects"]["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert by_sid["ListCachePrefix"]["Resource"] == "arn:aws:s3:::cache-bucket"
    assert by_sid["ListCachePrefix"]["Condition"]["StringLike"]["s3:prefix"] == ["team/ml", "team/ml/*"]
    assert not any("*" == a or a.endswith(":*") for s in policy["Statement"] for a in
                   ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))


def test_sam_template_wires_the_function_arn_into_the_wrapped_definition():
    from sfn_cache.deploy.deploy_files import sam_template

    text = sam_template(target=Target("3.12", "arm64"), layout="function",
                        zips=["sfn-cache-function-python3.12-arm64.zip"], bucket_url="s3://b/p", context="ctx")
    template = load_text(text, "template.yaml")
    resources = template["Resources"]
    props = resources["SfnCacheFunction"]["Properties"]
    assert props["Handler"] == "sfn_cache.runtime.handler.lambda_handler"
    assert props["Environment"]["Variables"]["SFN_CACHE_CONTEXT"] == "ctx"
    substitutions = resources["Pipeline"]["Properties"]["DefinitionSubstitutions"]
    assert substitutions["SfnCacheFunctionArn"] == {"Fn::GetAtt": ["SfnCacheFunction", "Arn"]}
    assert yaml.safe_load(json.dumps(template)) == template  # plain data once the short forms are read


@pytest.mark.parametrize("layout, zips", [
    ("function", ["sfn-cache-function-python3.12-arm64.zip"]),
    ("layer", ["sfn-cache-layer-python3.12-arm64.zip"]),
    ("both", ["sfn-cache-function-python3.12-arm64.zip", "sfn-cache-layer-python3.12-arm64.zip"]),
])
def test_sam_template_passes_cfn_lint(tmp_path, layout, zips):
    """cfn-lint (installed with moto's server extra) knows CloudFormation's and SAM's schemas."""
    cfnlint_api = pytest.importorskip("cfnlint.api")
    from sfn_cache.deploy.deploy_files import sam_template

    path = tmp_path / "template.yaml"
    path.write_text(sam_template(target=Target("3.12", "arm64"), layout=layout, zips=zips,
                                 bucket_url="s3://b/p", context="ctx"))
    (tmp_path / "cached.asl.json").write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}')
    problems = cfnlint_api.lint_file(path, config=cfnlint_api.ManualArgs())
    assert [str(p) for p in problems] == []
