"""Kept for tests written against the old module name: the harness now lives in ``sfn_cache.local``."""

from typing import Any

from sfn_cache.local.engine import (  # noqa: F401
    ACCOUNT, CACHE_ARN, CACHE_BUCKET, CACHE_FUNCTION, REGION, ROLE_ARN, Engine, ExecutionOverrun, Outcome,
    TaskFailure, function_arn, same_failure_in_generated_state,
)
from sfn_cache.local.seams import (  # noqa: F401
    definite_path, install_aws_error_seams, install_aws_paths, install_seams,
    install_service_seams as install_corpus_seams,
)


# The bundled example (examples/ml_pipeline.asl.json) with every task stubbed: one input and the two
# stubs that make it take its success path (auc 0.9 >= 0.8), shared by its test and benchmarks.
EXAMPLE_INPUT = {"dataset": {"uri": "s3://data/2026-11-01", "snapshot": "v7"}, "regions": ["eu", "us"],
                 "hyperparameters": {"depth": 6}, "run_date": "2026-11-01"}


def example_task(event: Any) -> dict:
    """Every Lambda task of the example: a trained, evaluated model."""
    return {"ok": True, "metrics": {"auc": 0.9}, "model_uri": "s3://m", "echo": event}


def example_service(resource: str, parameters: Any) -> dict:
    """Every service integration of the example (its Glue job run)."""
    return {"Id": "jr_1", "JobRunState": "SUCCEEDED"}
