"""Parsers for option values, shared by flags, the configuration file and the API.

Each raises ValueError with a message that says what is expected; the caller adds where the value
came from (``--ttl``, ``tool.sfn-cache.ttl``, ``Caching(ttl=...)``).
"""

from __future__ import annotations

import re

# one duration parser for wrap --ttl and the Lambda's SFN_CACHE_TTL
from sfn_cache.runtime.config import parse_duration, parse_s3_url


def parse_ttl(text: str | int) -> int:
    """A TTL in seconds (see ``parse_duration``). 0 is refused: a result that expires at once would
    never be served, which quietly turns the cache off (``--force-rerun`` says that on purpose)."""
    seconds = parse_duration(text)
    if seconds == 0:
        raise ValueError("a TTL of 0 would never serve a cached result: give a positive duration such as "
                         "1h or 7d, or use --force-rerun to always run the task")
    return seconds


def check_bucket(url: str) -> str:
    """``url`` if it is ``s3://bucket[/prefix]``; ValueError saying what is expected otherwise."""
    try:
        parse_s3_url(url)
    except ValueError as error:
        if url.startswith("s3://") and len(url) > 5:  # well formed but refused (wildcards): say why
            raise ValueError(str(error)) from None
        hint = f" (did you mean s3://{url}?)" if "://" not in url and url else ""
        raise ValueError(f"expected s3://bucket[/prefix], got {url!r}{hint}") from None
    return url


def version(value: str | int) -> str:
    """A cache version: any string; an int (a configuration file's ``cache-version = 3``) as its digits."""
    return str(value)


_SUB = r"\$\{[A-Za-z0-9_.:]+\}"  # a DefinitionSubstitutions or Fn::Sub reference: ${Name}, ${Res.Arn}, ${AWS::Region}


def _segment(body: str) -> str:
    return rf"(?:{body}|{_SUB})+"


_LAMBDA_ARN = re.compile(rf"arn:{_segment('[a-z-]')}:lambda:{_segment('[a-z0-9-]')}:{_segment('[0-9]')}"
                         rf":function:{_segment('[A-Za-z0-9_-]')}(?::{_segment('[A-Za-z0-9_$-]')})?")


def check_lambda_arn(value: str) -> str:
    """``value`` if it is a Lambda function ARN (any part of it may be a ``${...}`` reference, as in a
    template's ``Fn::Sub``) or one ``${...}`` placeholder for DefinitionSubstitutions. Anything else
    would be written into every cache state, and with fail-open the cache would then silently never
    work: ValueError instead."""
    if _LAMBDA_ARN.fullmatch(value) or re.fullmatch(_SUB, value):
        return value
    raise ValueError(f"expected a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME) or a "
                     f"${{...}} placeholder, got {value!r}")
