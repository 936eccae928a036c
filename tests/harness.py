"""Kept for tests written against the old module name: the harness now lives in ``sfn_cache.local``."""

from sfn_cache.local.engine import (  # noqa: F401
    ACCOUNT, CACHE_ARN, CACHE_BUCKET, CACHE_FUNCTION, REGION, ROLE_ARN, Engine, ExecutionOverrun, Outcome,
    TaskFailure, function_arn, same_failure_in_generated_state,
)
from sfn_cache.local.seams import install_seams, install_service_seams as install_corpus_seams  # noqa: F401
