"""The caching handler's cold-start cost on a hit and on a miss: import time and time to answer.

Each run is a fresh interpreter (like a cold Lambda) that imports ``sfn_cache.runtime.handler`` and
handles one event against ``moto.server`` on 127.0.0.1; median of seven runs. A hit on a result
inlined in the key index must not import disdat or pandas: the script exits non-zero if it does.

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

RUNS = 7
BUCKET = "import-time"
CHILD = r"""
import json, sys, time
start = time.perf_counter()
from sfn_cache.runtime.handler import lambda_handler
imported = time.perf_counter()
event = json.loads(sys.argv[1])
answer = lambda_handler(event)
if sys.argv[2] == "miss-then-push":
    lambda_handler({**event, "sfn_cache": "push", "key": answer["key"], "material": answer["material"],
                    "result": {"fresh": True}, "input": None})
done = time.perf_counter()
print(json.dumps({"import": imported - start, "total": done - start, "hit": answer["hit"],
                  "disdat": "disdat" in sys.modules, "pandas": "pandas" in sys.modules}))
"""


def pull_event(which: str) -> dict:
    return {"sfn_cache": "pull", "protocol": 1, "state": "Train", "bundle": "model", "ttl": None,
            "resource": "arn:aws:lambda:us-east-1:1:function:train", "cache_version": "", "force": False,
            "input": {"which": which}, "execution": f"arn:aws:states:us-east-1:1:execution:m:{which}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto.server did not start")


def child(env: dict, event: dict, mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(event), mode], env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    server, url = start_moto()
    try:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": url, "SFN_CACHE_BUCKET": f"s3://{BUCKET}/team",
               "SFN_CACHE_LOCAL_ROOT": tempfile.mkdtemp(prefix="import-time-")}
        env.pop("AWS_PROFILE", None)
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
        child(env, pull_event("primed"), "miss-then-push")  # an inlined result to hit
        scenarios = {"hit (inlined)": lambda i: child(env, pull_event("primed"), "pull"),
                     "miss + push": lambda i: child(env, pull_event(f"new-{i}"), "miss-then-push")}
        print(f"handler cold start, fresh interpreter per run, median of {RUNS} (moto.server on 127.0.0.1)")
        print(f"{'scenario':<14} | {'import s':>8} | {'total s':>7} | disdat imported | pandas imported")
        failed = False
        for name, run in scenarios.items():
            results = [run(i) for i in range(RUNS)]
            assert all(r["hit"] == (name.startswith("hit")) for r in results), results
            disdat, pandas = any(r["disdat"] for r in results), any(r["pandas"] for r in results)
            print(f"{name:<14} | {statistics.median(r['import'] for r in results):>8.3f} | "
                  f"{statistics.median(r['total'] for r in results):>7.3f} | {str(disdat):<15} | {pandas}")
            failed |= name.startswith("hit") and (disdat or pandas)
        if failed:
            print("FAIL: a hit on an inlined result imported disdat or pandas", file=sys.stderr)
        return int(failed)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
