"""sfn-cache: result caching and data versioning for AWS Step Functions.

This module stays import-light on purpose: the caching Lambda imports
``sfn_cache.runtime`` and must not pull in click, YAML or the rewriter.
The library API (``Caching``, ``PipelineCaching``) is loaded on first use.
"""

__version__ = "0.1.0"

__all__ = ["Caching", "PipelineCaching", "unwrap", "__version__"]


def __getattr__(name: str):
    if name in ("Caching", "PipelineCaching", "unwrap"):
        from sfn_cache import api

        return getattr(api, name)
    raise AttributeError(f"module 'sfn_cache' has no attribute {name!r}")
