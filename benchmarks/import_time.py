"""The caching handler's cold-start cost on a hit and on a miss: import time and time to answer.

Each run is a fresh interpreter (``sys.executable``, like a cold Lambda) with an empty local disdat
root. It imports ``sfn_cache.runtime.handler`` and handles one event against ``moto.server`` on
127.0.0.1, the way tests/cli/test_cache_commands.py reaches it (AWS_ENDPOINT_URL and fake credentials).
Medians of seven runs. A hit on a result inlined in the key index must not import disdat or pandas.
If it does, the script exits non-zero.

    python benchmarks/import_time.py
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
from source_tree import compile_package

from sfn_cache.runtime.protocol import PROTOCOL  # the events' shape of this tree's handler

RUNS = 7
BUCKET = "import-time"
# Times are from just before the import. "process" (measured by the parent) adds interpreter start-up.
CHILD = r"""
import json, sys, time
start = time.perf_counter()
from sfn_cache.runtime.handler import lambda_handler
imported = time.perf_counter()
event = json.loads(sys.argv[1])
answer = lambda_handler(event)
stored = None
if sys.argv[2] == "miss-then-push":
    stored = lambda_handler({**event, "sfn_cache": "push", "key": answer["key"], "base": answer["base"],
                             "result": {"fresh": True}})["stored"]
done = time.perf_counter()
print(json.dumps({"import": imported - start, "total": done - start, "hit": answer["hit"], "stored": stored,
                  "disdat": "disdat" in sys.modules, "pandas": "pandas" in sys.modules}))
"""


def pull_event(which: str) -> dict:
    return {"sfn_cache": "pull", "protocol": PROTOCOL, "state": "Train", "bundle": "model", "ttl": None,
            "resource": "arn:aws:lambda:us-east-1:1:function:train", "cache_version": "", "force": False,
            "input": {"which": which}, "execution": f"arn:aws:states:us-east-1:1:execution:m:{which}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    """``python -m moto.server`` on a free port. Return the process and its URL once it accepts connections."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto.server did not start")


def child(env: dict, event: dict, mode: str) -> dict:
    """One cold run in a fresh interpreter and a fresh local disdat root. Return the child's figures plus 'process'."""
    env = {**env, "SFN_CACHE_LOCAL_ROOT": tempfile.mkdtemp(prefix="import-time-")}
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(event), mode], env=env, capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"child failed:\n{done.stderr}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process": time.perf_counter() - began}


def main() -> int:
    started = time.monotonic()
    compile_package()  # a deployed package has its .pyc (build-lambda --compile); time the import, not compiling
    server, url = start_moto()
    try:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": url, "SFN_CACHE_BUCKET": f"s3://{BUCKET}/team"}
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "SFN_CACHE_INLINE_MAX_BYTES", "SFN_CACHE_LINEAGE"):
            env.pop(name, None)
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
        primed = child(env, pull_event("primed"), "miss-then-push")  # the inlined result to hit (also warms .pyc)
        assert primed["stored"] is True, primed
        scenarios = {"hit (inlined)": lambda i: child(env, pull_event("primed"), "pull"),
                     "miss + push": lambda i: child(env, pull_event(f"new-{i}"), "miss-then-push")}
        print(f"handler cold start: fresh interpreter per run, median of {RUNS}, moto.server on 127.0.0.1")
        print(f"{'scenario':<13} | median import s | median total s | disdat imported | pandas imported "
              f"| median process s")
        failed = False
        for name, run in scenarios.items():
            hit = name.startswith("hit")
            results = [run(i) for i in range(RUNS)]
            assert all(r["hit"] is hit and r["stored"] is (None if hit else True) for r in results), results
            disdat, pandas = any(r["disdat"] for r in results), any(r["pandas"] for r in results)
            median = {field: statistics.median(r[field] for r in results) for field in ("import", "total", "process")}
            print(f"{name:<13} | {median['import']:>15.3f} | {median['total']:>14.3f} | {str(disdat):<15} | "
                  f"{str(pandas):<15} | {median['process']:>16.3f}")
            failed |= hit and (disdat or pandas)
        print("import s: the import of sfn_cache.runtime.handler; total s: import + handling the event(s);")
        print(f"process s: the whole child, interpreter start-up included, as timed by the parent. "
              f"({time.monotonic() - started:.0f} s)")
        if failed:
            print("FAIL: a hit on an inlined result imported disdat or pandas", file=sys.stderr)
        return int(failed)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
