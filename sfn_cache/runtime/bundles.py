"""disdat bundles in the S3 context: every stored result is one, a versioned data product.

disdat is imported here and only here, lazily: importing it costs about half a second (pandas), and
a hit on an inlined result never needs it. disdat 1.2 facts this module works around (design.md):
``push`` of an uncommitted bundle silently does nothing and ``push`` hides S3 errors, so every push
is committed first and verified by reading the bundle's frame back from S3; lists and dicts do not
round-trip as literals, so the result is stored as one JSON string; names containing ``.`` are
matched with LIKE, so disdat sees only the safe slug of a bundle name.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from types import SimpleNamespace

from sfn_cache.runtime.config import CacheConfig
from sfn_cache.runtime.index import bundle_slug


class BundleStoreError(RuntimeError):
    """A bundle could not be written or read back; ``uuid`` names it (its objects may be partly there)."""

    def __init__(self, message: str, uuid: str | None = None):
        super().__init__(message)
        self.uuid = uuid


_LOCK = threading.Lock()  # disdat keeps process-wide state; one operation at a time
_BOUND: set[tuple[str, str, str]] = set()


def _api(config: CacheConfig):
    """disdat's api, configured with its meta root under ``config.local_root`` (``/tmp`` on Lambda)."""
    import disdat.config
    from disdat.common import DisdatConfig

    os.makedirs(config.local_root, exist_ok=True)
    DisdatConfig.instance(meta_dir_root=config.local_root,
                          config_dir=os.path.join(os.path.dirname(disdat.config.__file__), "disdat"))
    import disdat.api as api

    binding = (config.context, config.remote_url, config.local_root)
    if binding not in _BOUND:
        with contextlib.redirect_stdout(io.StringIO()):  # disdat prints "already bound" notices
            api.context(config.context)
            api.remote(config.context, config.context, config.remote_url)
        _BOUND.add(binding)
    return api


def frame_key(config: CacheConfig, uuid: str) -> str:
    """Where disdat puts a pushed bundle's frame: the object whose presence proves the push landed."""
    return config.s3_key("context", config.context, "objects", uuid, f"{uuid}_hframe.pb")


def processing_name(bundle: str, key: str) -> str:
    return f"{bundle_slug(bundle)}_{key}"


def write_bundle(s3, config: CacheConfig, *, bundle: str, key: str, result_json: str, tags: dict[str, str],
                 dependencies: list[dict] = ()) -> str:
    """Create, commit and push one bundle holding ``result_json``; return its uuid once it is on S3.

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
        created.commit()
        created.push()
        uuid = created.uuid
        try:
            s3.head_object(Bucket=config.bucket, Key=frame_key(config, uuid))
        except Exception as error:  # disdat swallowed the failure: say so instead of indexing a ghost
            raise BundleStoreError(f"bundle {uuid} was not stored in {config.remote_url}: {error}", uuid) from error
        _forget_locally(api, config, uuid)
    return uuid


def read_bundle(config: CacheConfig, uuid: str) -> str:
    """The JSON string stored in bundle ``uuid``, pulled from S3 (bundles are never kept locally)."""
    with _LOCK:
        api = _api(config)
        api.pull(config.context, uuid=uuid)
        found = api.get(config.context, None, uuid=uuid)
        data = found.data if found is not None else None  # read before the local copy is dropped
        if found is not None:
            _forget_locally(api, config, uuid)
    if not isinstance(data, str):
        raise BundleStoreError(f"bundle {uuid} is not in {config.remote_url}")
    return data


def _forget_locally(api, config: CacheConfig, uuid: str) -> None:
    """Drop the local copy (S3 keeps the bundle): a warm Lambda's /tmp stays small, and disdat's pull,
    which lists S3 in 256 parallel prefixes once the local context holds 2000 bundles, stays cheap."""
    with contextlib.redirect_stdout(io.StringIO()):
        api.rm(config.context, uuid=uuid)
