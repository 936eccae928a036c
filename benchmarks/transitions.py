"""What caching costs and saves in state transitions and Lambda calls, per cached form.

Runs the bundled example pipeline in moto's Step Functions interpreter (the test harness), with
every task stubbed and the real caching handler storing in moto's S3: original, wrapped (all
misses), wrapped again (all hits). Prints the counts. Usage: python benchmarks/transitions.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from harness import CACHE_ARN, CACHE_BUCKET, CACHE_FUNCTION, REGION, Engine, install_corpus_seams, install_seams  # noqa: E402
from sfn_cache.options import WrapOptions  # noqa: E402
from sfn_cache.runtime.handler import lambda_handler  # noqa: E402
from sfn_cache.wrap import wrap_definition  # noqa: E402

INPUT = {"dataset": {"uri": "s3://data/2026-11-01", "snapshot": "v7"}, "regions": ["eu", "us"],
         "hyperparameters": {"depth": 6}, "run_date": "2026-11-01"}


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


def main() -> None:
    definition = json.loads((ROOT / "examples" / "ml_pipeline.asl.json").read_text())
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": REGION,
                       "SFN_CACHE_BUCKET": f"s3://{CACHE_BUCKET}/cache", "SFN_CACHE_CONTEXT": "bench",
                       "SFN_CACHE_LOCAL_ROOT": tempfile.mkdtemp()})
    print(f"{'form':10} {'run':9} {'transitions':>11} {'cache calls':>11} {'task calls':>10}")
    for pattern in ("variables", "classic"):
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            boto3.client("s3", region_name=REGION).create_bucket(Bucket=CACHE_BUCKET)
            patch = Patch()
            engine = Engine({}, lambda_handler, default_task=lambda event: {"ok": True, "metrics": {"auc": 0.9},
                                                                           "model_uri": "s3://m", "echo": event})
            install_seams(patch, engine)
            install_corpus_seams(patch, lambda resource, params: {"Id": "jr_1", "JobRunState": "SUCCEEDED"})
            options = WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern)
            wrapped = wrap_definition(definition, options).definition
            for label, machine in (("original", definition), ("miss", wrapped), ("hit", wrapped)):
                before_cache, before_tasks = engine.calls[CACHE_FUNCTION], sum(engine.calls.values())
                outcome = engine.run(machine, INPUT)
                cache_calls = engine.calls[CACHE_FUNCTION] - before_cache
                task_calls = sum(engine.calls.values()) - before_tasks - cache_calls
                print(f"{pattern:10} {label:9} {engine.state_transitions():>11} {cache_calls:>11} {task_calls:>10}"
                      f"   {outcome.status}")
            patch.restore()


if __name__ == "__main__":
    main()
