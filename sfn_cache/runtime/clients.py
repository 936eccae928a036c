"""AWS clients kept for the life of a warm Lambda container.

Building a boto3 client costs tens of milliseconds of CPU (endpoint and service-model loading); a
warm container serves many calls, so each client is built once per (service, region, endpoint):
the only things an event or the environment can change. boto3 clients are thread-safe; the
session that builds them is not, hence the lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

import boto3

_CLIENTS: dict[tuple[str, str | None, str | None], object] = {}
_LOCK = threading.Lock()


def client(service: str, environ: Mapping[str, str] = os.environ, region: str | None = None) -> Any:
    """A shared boto3 client for ``service`` in ``region`` (default: the current one) and endpoint."""
    region = region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    endpoint = environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or environ.get("AWS_ENDPOINT_URL")
    where = (service, region, endpoint)
    found = _CLIENTS.get(where)
    if found is None:
        with _LOCK:
            found = _CLIENTS.get(where)
            if found is None:
                found = _CLIENTS[where] = boto3.client(service, region_name=region, endpoint_url=endpoint)
    return found


def forget() -> None:
    """Drop every kept client (tests that change credentials or endpoints between calls)."""
    with _LOCK:
        _CLIENTS.clear()
