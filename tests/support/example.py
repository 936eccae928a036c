"""The bundled example (examples/ml_pipeline.asl.json) with every task stubbed: one input and the two
stubs that make it take its success path (auc 0.9 >= 0.8), shared by its test and benchmarks/transitions.py."""

from __future__ import annotations

from typing import Any

EXAMPLE_INPUT = {"dataset": {"uri": "s3://data/2026-11-01", "snapshot": "v7"}, "regions": ["eu", "us"],
                 "hyperparameters": {"depth": 6}, "run_date": "2026-11-01"}


def example_task(event: Any) -> dict:
    """Every Lambda task of the example: a trained, evaluated model."""
    return {"ok": True, "metrics": {"auc": 0.9}, "model_uri": "s3://m", "echo": event}


def example_service(resource: str, parameters: Any) -> dict:
    """Every service integration of the example (its Glue job run)."""
    return {"Id": "jr_1", "JobRunState": "SUCCEEDED"}
