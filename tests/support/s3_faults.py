"""Record, and fail on demand, the S3 requests made on the real code path (ours and disdat's).

A botocore ``before-send`` handler placed ahead of moto's own sees every S3 request of every client
created after it is installed. It records ``(operation, path)`` and, when armed, answers one chosen
request with an injected fault (``FAULTS``: a 500, a timeout before S3 acts, or a timeout after it
acted). Nothing of sfn_cache or disdat is replaced: the code under test runs as it would on AWS,
where botocore's retries are exhausted (``AWS_MAX_ATTEMPTS=1`` makes every request one attempt).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import botocore.handlers
from botocore.exceptions import ClientError, ReadTimeoutError
from moto.core.models import botocore_stubber

from sfn_cache.local.world import fresh_aws_clients

# error: S3 answers 500 without acting; timeout: the request never reaches S3; lost: S3 acts on the
# request (the object is written) but its answer never arrives, as when a connection drops late.
FAULTS = ("error", "timeout", "lost")


@dataclass(frozen=True)
class Call:
    operation: str
    path: str
    headers: dict

    @property
    def name(self) -> str:
        """A stable label: the operation and what it touched (uuids and keys elided)."""
        tail = self.path.rsplit("/", 1)[-1]
        for marker in ("_hframe.pb", "_frame.pb", ".json"):
            if tail.endswith(marker):
                area = "leases" if "/leases/" in self.path else "index" if "/index/" in self.path else "bundle"
                return f"{self.operation} {area} *{marker}"
        if "/executions/" in self.path:
            return f"{self.operation} lineage"
        return f"{self.operation} {'bundle' if '/objects/' in self.path else 'prefix'}"


class S3Requests:
    """Install with ``S3Requests.install(monkeypatch)`` before any client is created."""

    def __init__(self):
        self.calls: list[Call] = []
        self._target = None
        self._fault: str | None = None
        self.failed: Call | None = None

    @classmethod
    def install(cls, monkeypatch) -> "S3Requests":
        recorder = cls()
        monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS",
                            [("before-send.s3", recorder._before_send)] + list(botocore.handlers.BUILTIN_HANDLERS))
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        monkeypatch.setenv("AWS_RETRY_MODE", "standard")
        fresh_aws_clients(monkeypatch)  # handlers are bound when a session is made: new sessions, new clients
        return recorder

    def arm(self, target, fault: str) -> None:
        """Fail, with ``fault``, the first request from now on that ``target`` names: a ``Call.name``
        label, or a predicate on the ``Call`` (disdat uploads a bundle's files in directory order,
        which varies with their uuids, so requests are named, not numbered)."""
        assert fault in FAULTS
        self.calls, self._target, self._fault, self.failed = [], target, fault, None

    def record(self) -> None:
        self.calls, self._target, self._fault, self.failed = [], None, None, None

    def _before_send(self, request, event_name: str, **_) -> None:
        url = urlsplit(request.url)
        call = Call(event_name.rsplit(".", 1)[-1], unquote(url.path) + ("?" + unquote(url.query) if url.query else ""),
                    dict(request.headers))
        self.calls.append(call)
        wanted = self._target
        if wanted is not None and self.failed is None and (wanted(call) if callable(wanted) else call.name == wanted):
            self.failed = call
            if self._fault == "lost":
                botocore_stubber(event_name=event_name, request=request)  # moto serves it: the write lands
            if self._fault in ("timeout", "lost"):
                raise ReadTimeoutError(endpoint_url=request.url)
            # raised, not returned: every before-send handler runs, and moto's would still act on it
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected by the test"},
                               "ResponseMetadata": {"HTTPStatusCode": 500}}, call.operation)
        return None
