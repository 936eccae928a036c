"""Run state machines locally: moto's Step Functions interpreter with this project's seams.

``verify``, ``run`` and the test suite share it. It needs the ``verify`` extra (moto and
jsonata-python, pinned exactly because the seams touch moto internals); ``require`` turns their
absence into the one-line error every command prints.
"""

from __future__ import annotations

from sfn_cache.errors import SfnCacheError, install_hint


def require() -> None:
    """Raise a one-line SfnCacheError naming the extra to install when moto or jsonata is missing."""
    try:
        import jsonata  # noqa: F401
        import moto.stepfunctions.parser  # noqa: F401
    except ImportError as exc:
        missing = (exc.name or "moto").split(".")[0]
        raise SfnCacheError(f"the local Step Functions interpreter is not installed ({missing} is missing); "
                            f"run: {install_hint('verify')}") from None
