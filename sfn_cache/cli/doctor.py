"""``sfn-cache doctor``: is the cache working, from the user's own credentials? One line per check.

Checks, in order: credentials; the bucket exists and answers; a real miss -> store -> hit round trip
under the cache prefix through the runtime's own pull and push (the result is larger than the inline
limit, so the bundle path is exercised too), then removed again; and, with ``--lambda-arn``, that the
function's handler and environment match the cache being checked.
"""

from __future__ import annotations

import json
import uuid as uuid_module
from dataclasses import dataclass

from sfn_cache.cli import inventory
from sfn_cache.deploy.lambda_package import HANDLER
from sfn_cache.rewrite.options import parse_duration
from sfn_cache.runtime.config import CacheConfig, parse_s3_url
from sfn_cache.runtime.index import entry_key
from sfn_cache.runtime.metrics import describe

DOCTOR_BUNDLE = "sfn-cache-doctor"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAIL':5} {self.name:12} {self.detail}"


def run(config: CacheConfig, *, lambda_arn: str | None = None, session=None) -> list[Check]:
    """Every check, stopping after the first whose failure makes the next ones meaningless."""
    import boto3

    session = session or boto3.session.Session()
    checks = [_credentials(session)]
    if checks[-1].ok:
        s3 = session.client("s3")
        checks.append(_bucket(s3, config))
        if checks[-1].ok:
            checks.append(_round_trip(s3, config))
        if lambda_arn:
            checks.extend(_function(session.client("lambda"), lambda_arn, config))
    return checks


def _credentials(session) -> Check:
    try:
        identity = session.client("sts").get_caller_identity()
    except Exception as error:
        return Check("credentials", False, f"{describe(error)} (set AWS credentials or AWS_PROFILE)")
    return Check("credentials", True, identity.get("Arn", "?"))


def _bucket(s3, config: CacheConfig) -> Check:
    """A listing of one key under the prefix: what the policies allow (HeadBucket names no prefix,
    which the prefix-conditioned ListBucket grant refuses), and it fails on a missing bucket alike."""
    try:
        s3.list_objects_v2(Bucket=config.bucket, Prefix=config.s3_key(""), MaxKeys=1)
    except Exception as error:
        return Check("bucket", False, f"s3://{config.bucket}: {describe(error)}")
    return Check("bucket", True, f"s3://{config.bucket} answers")


def _round_trip(s3, config: CacheConfig) -> Check:
    from sfn_cache.runtime.handler import pull, push
    from sfn_cache.runtime.keys import PROTOCOL

    probe = uuid_module.uuid4().hex
    event = {"sfn_cache": "pull", "protocol": PROTOCOL, "state": DOCTOR_BUNDLE, "bundle": DOCTOR_BUNDLE,
             "resource": "sfn-cache:doctor", "cache_version": "", "force": False, "input": {"probe": probe}}
    result = {"probe": probe, "padding": "x" * (config.inline_max_bytes + 1)}  # too big to inline
    step, key, bundle_uuid = "pull (miss)", None, None
    try:
        miss = pull(event, config, s3)
        if miss["hit"]:
            return Check("round trip", False, f"a fresh key was a hit under {config.remote_url}")
        step, key = "push", miss["key"]
        stored = push({**event, "sfn_cache": "push", "key": miss["key"], "base": miss["base"], "result": result},
                      config, s3)
        step, bundle_uuid = "pull (hit)", stored.get("uuid")
        hit = pull(event, config, s3)
        if not hit["hit"] or hit["data"] != result:
            _remove_probe(s3, config, key, bundle_uuid)
            return Check("round trip", False, f"the stored result did not come back from {config.remote_url}")
        step = "clean up"
        inventory.remove(s3, config, [inventory.find(s3, config, miss["key"], DOCTOR_BUNDLE)])
    except Exception as error:
        if step != "clean up":
            _remove_probe(s3, config, key, bundle_uuid or getattr(error, "uuid", None))
        return Check("round trip", False, f"{step} under {config.remote_url} failed: {describe(error)}")
    return Check("round trip", True, f"miss, store, hit (bundle {stored['uuid']}) under {config.remote_url}, "
                                     f"context {config.context}; removed again")


def _remove_probe(s3, config: CacheConfig, key: str | None, bundle_uuid: str | None) -> None:
    """Best effort after a failed round trip: the probe's index entry, hit counts and bundle objects
    (whatever of them exists), so a broken cache is not also left holding a doctor bundle."""
    if key is None:
        return
    probe = inventory.Entry(s3_key=entry_key(config, DOCTOR_BUNDLE, key), key=key, bundle=DOCTOR_BUNDLE,
                            state=DOCTOR_BUNDLE, uuid=bundle_uuid or "", created=0.0, expires=None, size=0,
                            inline=False, record={})
    try:
        inventory.remove(s3, config, [probe])
    except Exception:  # the check already failed and says why; this is tidying only
        pass


def _function(client, arn: str, config: CacheConfig) -> list[Check]:
    try:
        function = client.get_function_configuration(FunctionName=arn)
    except Exception as error:
        return [Check("function", False, f"{arn}: {describe(error)}")]
    env = (function.get("Environment") or {}).get("Variables") or {}
    checks = [Check("function", True, f"{function.get('FunctionName', arn)} ({function.get('Runtime', '?')})")]
    if function.get("Handler") != HANDLER:
        checks.append(Check("handler", False, f"is {function.get('Handler')!r}, expected {HANDLER!r}"))
    checks.append(_env_bucket(env, config))
    timeout = _timeout(function.get("Timeout"))
    if timeout:
        checks.append(timeout)
    context = env.get("SFN_CACHE_CONTEXT") or "sfn-cache"
    if context != config.context:
        checks.append(Check("context", False, f"the function uses context {context!r}, this check used {config.context!r}"))
    if env.get("SFN_CACHE_TTL"):
        try:
            parse_duration(int(env["SFN_CACHE_TTL"]) if env["SFN_CACHE_TTL"].isdigit() else env["SFN_CACHE_TTL"])
        except ValueError:
            checks.append(Check("ttl", False, f"SFN_CACHE_TTL={env['SFN_CACHE_TTL']!r} is not a duration (e.g. 3600, 12h, 7d)"))
    return checks


def _timeout(seconds) -> Check | None:
    """The function must outlast the cache states' TimeoutSeconds: a hung call is then States.Timeout,
    which their States.TaskFailed retrier does not retry, not a Lambda timeout retried three times."""
    from sfn_cache.rewrite.payloads import CACHE_TIMEOUT_SECONDS

    if isinstance(seconds, int) and seconds <= CACHE_TIMEOUT_SECONDS:
        return Check("timeout", False, f"{seconds} s; set it above the cache states' TimeoutSeconds "
                                       f"({CACHE_TIMEOUT_SECONDS} s), e.g. 150")
    return None


def _env_bucket(env: dict, config: CacheConfig) -> Check:
    url = env.get("SFN_CACHE_BUCKET")
    if not url:
        return Check("environment", False, "SFN_CACHE_BUCKET is not set on the function (pulls fail unless wrap set --bucket)")
    try:
        bucket, prefix = parse_s3_url(url)
    except ValueError as error:
        return Check("environment", False, str(error))
    if (bucket, prefix) != (config.bucket, config.prefix):
        return Check("environment", False, f"SFN_CACHE_BUCKET={url} but the cache checked is {config.remote_url}")
    return Check("environment", True, f"SFN_CACHE_BUCKET={url}")


def as_json(checks: list[Check]) -> str:
    return json.dumps([{"check": c.name, "ok": c.ok, "detail": c.detail} for c in checks], indent=2)
