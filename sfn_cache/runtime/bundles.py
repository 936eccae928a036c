"""disdat bundles in the S3 context: every stored result is one, a versioned data product.

disdat is imported here and only here, lazily: importing it costs about half a second (pandas), and
a hit on an inlined result never needs it. disdat 1.2 facts this module works around (measured):
``push`` of an uncommitted bundle silently does nothing and ``push`` hides S3 errors, so every push
is committed first and verified by listing every one of its objects back from S3; lists and dicts do not
round-trip as literals, so the result is stored as one JSON string; names containing ``.`` are
matched with LIKE, so disdat sees only the safe slug of a bundle name.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

from sfn_cache.runtime.config import CacheConfig
from sfn_cache.runtime.index import bundle_slug
from sfn_cache.runtime.protocol import UUID


class BundleStoreError(RuntimeError):
    """A bundle could not be written or read back; ``uuid`` names it (its objects may be partly there)."""

    def __init__(self, message: str, uuid: str | None = None):
        super().__init__(message)
        self.uuid = uuid


_LOCK = threading.Lock()  # disdat keeps process-wide state; one operation at a time
_BOUND: dict[tuple[str, str], str] = {}  # (context, local root) -> the remote it is bound to now


@contextlib.contextmanager
def _no_head_bucket() -> Iterator[None]:
    """disdat checks the bucket with HeadBucket when it binds a remote; AWS authorises that as an
    unconditioned s3:ListBucket, which would force the IAM policy to let the role list the whole
    bucket. The runtime's first GET or PUT finds a missing bucket anyway."""
    from disdat.utility import aws_s3

    original = aws_s3.s3_bucket_exists
    aws_s3.s3_bucket_exists = lambda bucket: True
    try:
        yield
    finally:
        aws_s3.s3_bucket_exists = original


def _api(config: CacheConfig) -> Any:
    """disdat's api, with ``config.context`` bound to ``config.remote_url`` right now.

    disdat holds one remote per context, so a warm Lambda serving tasks wrapped with different
    buckets rebinds whenever the remote changes (never "bound once, skipped after").
    """
    import disdat.config
    from disdat.common import DisdatConfig

    os.makedirs(config.local_root, exist_ok=True)
    DisdatConfig.instance(meta_dir_root=config.local_root,
                          config_dir=os.path.join(os.path.dirname(disdat.config.__file__), "disdat"))
    import disdat.api as api

    where = (config.context, config.local_root)
    if _BOUND.get(where) != config.remote_url:
        _BOUND.pop(where, None)
        with contextlib.redirect_stdout(io.StringIO()), _no_head_bucket():  # disdat prints notices
            api.context(config.context)
            api.remote(config.context, config.context, config.remote_url)
        _BOUND[where] = config.remote_url
    return api


def objects_prefix(config: CacheConfig, uuid: str) -> str:
    return config.s3_key("context", config.context, "objects", uuid) + "/"


def frame_key(config: CacheConfig, uuid: str) -> str:
    """Where disdat puts a pushed bundle's frame."""
    return objects_prefix(config, uuid) + f"{uuid}_hframe.pb"


def processing_name(bundle: str, key: str) -> str:
    return f"{bundle_slug(bundle)}_{key}"


def _local_files(local_dir: str) -> dict[str, int]:
    return {name: os.path.getsize(os.path.join(local_dir, name)) for name in os.listdir(local_dir)
            if os.path.isfile(os.path.join(local_dir, name))}


def _verify_uploaded(s3: Any, config: CacheConfig, uuid: str, expected: dict[str, int]) -> None:
    """Every file of the bundle is on S3 with its size (one LIST): disdat uploads in directory order
    and hides failures, so the frame alone proves nothing about the data."""
    try:
        listed = s3.list_objects_v2(Bucket=config.bucket, Prefix=objects_prefix(config, uuid))
        remote = {item["Key"].rsplit("/", 1)[-1]: item["Size"] for item in listed.get("Contents", [])}
    except Exception as error:
        raise BundleStoreError(f"bundle {uuid} could not be verified in {config.remote_url}: {error}", uuid) from error
    missing = sorted(name for name, size in expected.items() if remote.get(name) != size)
    if not expected or missing:
        raise BundleStoreError(f"bundle {uuid} was not stored in {config.remote_url}: missing {missing or 'all'}", uuid)


def write_bundle(s3: Any, config: CacheConfig, *, bundle: str, key: str, result_json: str, tags: dict[str, str],
                 dependencies: Sequence[dict[str, Any]] = ()) -> str:
    """Create, commit and push one bundle holding ``result_json``; return its uuid once every one of
    its objects is on S3.

    ``dependencies`` are ``{"uuid", "processing_name"}`` of upstream bundles: disdat records just
    those two, so they need not be pulled.
    """
    with _LOCK:
        api = _api(config)
        with api.Bundle(config.context, name=bundle_slug(bundle), processing_name=processing_name(bundle, key),
                        tags=tags) as created:
            created.add_data(result_json)
            if dependencies:
                created.add_dependencies([SimpleNamespace(**d) for d in dependencies])
        uuid: str = created.uuid
        try:
            created.commit()
            expected = _local_files(created.local_dir)
            created.push()
            _verify_uploaded(s3, config, uuid, expected)
        finally:
            _forget_locally(api, config, uuid)
    return uuid


def read_bundle(config: CacheConfig, uuid: str, key: str | None = None) -> str:
    """The JSON string stored in bundle ``uuid``, pulled from S3 (bundles are never kept locally).

    With ``key``, the bundle's own tag and processing name must name that key: an index entry that
    points at another key's bundle is refused, not served. ``uuid`` must be a
    plain uuid: disdat joins it into local paths it deletes, and ``None`` would pull every bundle.
    """
    if not isinstance(uuid, str) or not UUID.match(uuid):
        raise BundleStoreError(f"refusing bundle uuid {uuid!r}: not a uuid")
    with _LOCK:
        api = _api(config)
        try:
            api.pull(config.context, uuid=uuid)
            found = api.get(config.context, None, uuid=uuid)
            data = found.data if found is not None else None  # read before the local copy is dropped
            tag = (found.tags or {}).get("sfn_cache_key") if found is not None else None
            named = found.processing_name if found is not None else None
        finally:
            _forget_locally(api, config, uuid)
    if not isinstance(data, str):
        raise BundleStoreError(f"bundle {uuid} is not in {config.remote_url}")
    if key is not None and (tag != key or not str(named).endswith(f"_{key}")):
        raise BundleStoreError(f"bundle {uuid} holds key {tag!r}, not {key}: refused")
    return data


def _forget_locally(api: Any, config: CacheConfig, uuid: str) -> None:
    """Drop the local copy (S3 keeps the bundle): a warm Lambda's /tmp stays small, and disdat's pull,
    which lists S3 in 256 parallel prefixes once the local context holds 2000 bundles, stays cheap."""
    with contextlib.redirect_stdout(io.StringIO()):
        api.rm(config.context, uuid=uuid)
