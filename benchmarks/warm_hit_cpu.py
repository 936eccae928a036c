"""CPU time of a warm Lambda's hit on an inlined result: a new S3 client per call vs. one kept.

One interpreter plays one warm container: the handler is imported and a result stored once, then
``CALLS`` hits are answered and the process CPU time (``time.process_time``, user + system) of
each is taken. "before" drops the kept clients before every call, which is what the handler did
until it kept them (``boto3.client("s3")`` per call); "after" is the handler as it is. S3 is
``moto.server`` on 127.0.0.1 in a child process, so the figures are the handler's own CPU (moto's
work is not counted) and requests cross a real socket, as on Lambda. Lineage, the hit log and metrics
are off: a hit is then exactly one GET. Medians over CALLS calls, after WARMUP calls.

    python benchmarks/warm_hit_cpu.py
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time

from import_time import start_moto  # benchmarks/ is the script's directory: on sys.path

CALLS = 200
WARMUP = 20
BUCKET = "warm-hit"


def main() -> None:
    server, url = start_moto()
    try:
        os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1",
                          AWS_ENDPOINT_URL=url, SFN_CACHE_BUCKET=f"s3://{BUCKET}/cache",
                          SFN_CACHE_LINEAGE="off", SFN_CACHE_HIT_LOG="off", SFN_CACHE_METRICS="off",
                          SFN_CACHE_LOCAL_ROOT=tempfile.mkdtemp())
        import boto3

        boto3.client("s3").create_bucket(Bucket=BUCKET)
        from sfn_cache.runtime import clients
        from sfn_cache.runtime.handler import lambda_handler
        from sfn_cache.runtime.protocol import PROTOCOL

        pull = {"sfn_cache": "pull", "protocol": PROTOCOL, "state": "Train", "bundle": "model", "ttl": None,
                "resource": "arn:aws:lambda:us-east-1:1:function:train", "cache_version": "", "force": False,
                "input": {"x": 1}, "execution": "arn:aws:states:us-east-1:1:execution:m:warm"}
        miss = lambda_handler(pull)
        lambda_handler({**pull, "sfn_cache": "push", "key": miss["key"], "base": miss["base"], "result": {"auc": 0.9}})
        figures = {}
        for label, fresh_client in (("before: new S3 client per call", True), ("after: client kept warm", False)):
            samples = []
            for n in range(WARMUP + CALLS):
                if fresh_client:
                    clients.forget()
                start = time.process_time()
                answer = lambda_handler(pull)
                spent = time.process_time() - start
                assert answer["hit"] is True
                if n >= WARMUP:
                    samples.append(spent)
            figures[label] = statistics.median(samples)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"warm hit on an inlined result, CPU per call (median of {CALLS}), "
          f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs:")
    for label, seconds in figures.items():
        print(f"  {label:34} {seconds * 1000:6.2f} ms")
    before, after = figures.values()
    print(f"  saved per warm hit: {(before - after) * 1000:.2f} ms of CPU ({before / after:.1f}x less)")


if __name__ == "__main__":
    main()
