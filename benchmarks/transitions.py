"""What caching costs and saves in state transitions and Lambda calls, per cached form.

Runs the bundled example pipeline in moto's Step Functions interpreter (the test harness), with
every task stubbed and the real caching handler storing in moto's S3: original, wrapped (all
misses), wrapped again (all hits). Prints the counts and each run's status, and exits 1 unless every
run succeeded with the original's output (a count of a failed run describes another path).
Usage: python benchmarks/transitions.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from sfn_cache.local.engine import CACHE_ARN, CACHE_BUCKET, CACHE_FUNCTION, REGION, Engine  # noqa: E402
from sfn_cache.local.seams import install_aws_paths, install_seams  # noqa: E402
from sfn_cache.local.seams import install_service_seams as install_corpus_seams  # noqa: E402
from sfn_cache.rewrite.options import WrapOptions  # noqa: E402
from sfn_cache.rewrite.wrap import wrap_definition  # noqa: E402
from sfn_cache.runtime.handler import lambda_handler  # noqa: E402
from tests.support.example import EXAMPLE_INPUT, example_service, example_task  # noqa: E402


class Patch:
    """The harness seams want pytest's monkeypatch; this is the same, undone at exit."""

    def __init__(self):
        self.undo = []

    def setattr(self, target, name, value):
        self.undo.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def restore(self):
        for target, name, value in reversed(self.undo):
            setattr(target, name, value)


def main() -> int:
    definition = json.loads((ROOT / "examples" / "ml_pipeline.asl.json").read_text())
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": REGION,
                       "SFN_CACHE_BUCKET": f"s3://{CACHE_BUCKET}/cache", "SFN_CACHE_CONTEXT": "bench",
                       "SFN_CACHE_LOCAL_ROOT": tempfile.mkdtemp()})
    print(f"{'form':10} {'run':9} {'transitions':>11} {'cache calls':>11} {'task calls':>10}   status")
    failures = []
    for pattern in ("variables", "classic"):
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            boto3.client("s3", region_name=REGION).create_bucket(Bucket=CACHE_BUCKET)
            patch = Patch()
            engine = Engine({}, lambda_handler, default_task=example_task)
            install_seams(patch, engine)
            install_corpus_seams(patch, example_service)
            install_aws_paths(patch)
            options = WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern)
            wrapped = wrap_definition(definition, options).definition
            expected = None
            for label, machine in (("original", definition), ("miss", wrapped), ("hit", wrapped)):
                before_cache, before_tasks = engine.calls[CACHE_FUNCTION], sum(engine.calls.values())
                outcome = engine.run(machine, EXAMPLE_INPUT)
                expected = outcome.output if expected is None else expected
                status = outcome.status if outcome.output == expected else f"{outcome.status}, other output"
                if status != "SUCCEEDED":
                    failures.append(f"{pattern} {label}: {status}")
                cache_calls = engine.calls[CACHE_FUNCTION] - before_cache
                task_calls = sum(engine.calls.values()) - before_tasks - cache_calls
                print(f"{pattern:10} {label:9} {engine.state_transitions():>11} {cache_calls:>11} {task_calls:>10}"
                      f"   {status}")
            patch.restore()
    for failure in failures:
        print(f"FAILED: {failure}: these counts do not describe the example's success path", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
