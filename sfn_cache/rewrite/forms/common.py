"""What both cached forms build alike: the shape of a cached form, the cache states' Retry, the
follower's Wait."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.naming import GENERATED_COMMENT, PREFIXES, NameAllocator
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.payloads import POLLS_PER_LEASE, lease_seconds
from sfn_cache.runtime.protocol import CACHE_TIMEOUT_SECONDS, CLAIM_WITHIN_SECONDS, EXPRESS_CACHE_TIMEOUT_SECONDS

# Fail-open (the default): one retrier for every task error. The handler answers its own failures
# (a protocol or configuration mismatch, S3 access denied: a miss without a key, or "not stored"),
# so what still fails the state is the Lambda service's or runtime's (throttling, a 500, a crash,
# out of memory), worth retrying. ASL's defaults: 3 retries from 1 s, backoff 2.0. States.Timeout
# is not retried. --fail-closed: the handler raises its failures, so the retrier names only the
# Lambda service's transient errors and throttling, as AWS's best practice lists them.
LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
]


@dataclass(frozen=True)
class CachedForm:
    """The states that replace one task, in the order they are written."""

    states: dict[str, dict[str, Any]]
    entry: str  # where references to the task now point
    gate: tuple[str, ...]  # the generated states whose links to the task itself must stay


def cache_retry(options: WrapOptions, evaluates_arguments: bool = False) -> list[dict[str, Any]]:
    """The Retry of a cache_pull or cache_push state. ``evaluates_arguments``: a JSONata pull copying
    T's Arguments or reading key paths, which fails with States.QueryEvaluationError where T would:
    AWS's States.TaskFailed matches every error but States.Timeout, so that one goes to the Catch
    unretried (a push reads only variables and cannot fail so)."""
    if options.fail_closed:
        return [{"ErrorEquals": list(LAMBDA_TRANSIENT_ERRORS)}]
    return ([{"ErrorEquals": ["States.QueryEvaluationError"], "MaxAttempts": 0}] if evaluates_arguments else []) + [
        {"ErrorEquals": ["States.TaskFailed"]}]


def follower_wait(name: str, task: dict[str, Any], options: WrapOptions, names: NameAllocator,
                  pull_name: str) -> dict[str, dict[str, Any]]:
    """``--concurrent wait``: the Wait state a follower loops through before pulling again (none
    otherwise). The loop is bounded: the Lambda answers "wait" only while a live lease exists."""
    if options.concurrent != "wait":
        return {}
    seconds = max(1, min(300, lease_seconds(task) // POLLS_PER_LEASE))
    return {names.allocate(PREFIXES.wait, name): {
        "Type": "Wait", "Comment": f"{GENERATED_COMMENT}another execution is computing '{name}'",
        "Seconds": seconds, "Next": pull_name}}


def going_to(state: dict[str, Any], target: str) -> dict[str, Any]:
    """``state`` with its Next set to ``target``, written where its End was when it had one: the order
    of T's fields is kept, so that unwrap (rewrite/unwrap.py) gives back the original byte for byte."""
    moved = {("Next" if key == "End" else key): value for key, value in state.items()}
    moved["Next"] = target
    return moved


def cache_timeout(options: WrapOptions) -> int:
    """TimeoutSeconds of a cache state. An Express execution ends after 5 minutes with States.Timeout,
    which no Catch of the machine's handles: there a hung caching Lambda must cost seconds, not two
    minutes per cache state, for fail-open to hold (--express). A lease (--concurrent wait) is claimed
    up to CLAIM_WITHIN_SECONDS into a pull, longer than an Express cache state lives: refused."""
    if not options.express:
        return CACHE_TIMEOUT_SECONDS
    refusal = express_refusal(options)
    if refusal is not None:
        option, why = refusal
        raise SfnCacheError(f"--express and {option} do not go together: {why}")
    return EXPRESS_CACHE_TIMEOUT_SECONDS


def express_refusal(options: WrapOptions) -> tuple[str, str] | None:
    """(the option, why) when an Express machine cannot be wrapped with ``options``; None when it can
    (whether --express or a template's ``StateMachineType: EXPRESS`` says it is one)."""
    if options.concurrent != "wait":
        return None
    return "--concurrent wait", (f"a pull may take a lease up to {CLAIM_WITHIN_SECONDS} s into its call, and an "
                                 f"Express cache state gives up after {EXPRESS_CACHE_TIMEOUT_SECONDS} s")
