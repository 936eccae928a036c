"""The API's keywords (``Caching(...)``), checked and turned into WrapOptions from the table.

A wrong value raises SfnCacheError naming the keyword and what it takes (``Caching(ttl=...): ...``),
checked in table order, like the command line's flags.
"""

from __future__ import annotations

from typing import Any, Mapping

from sfn_cache.errors import SfnCacheError
from sfn_cache.options.table import OPTIONS, Option
from sfn_cache.rewrite.options import WrapOptions

KEYWORDS = tuple(option for option in OPTIONS if option.api)


def wrap_options(keywords: Mapping[str, Any]) -> WrapOptions:
    """WrapOptions from the API's keywords (every table option with ``api``, by name)."""
    return WrapOptions(**{str(option.field): _value(option, keywords[option.name]) for option in KEYWORDS})


def _value(option: Option, value: Any) -> Any:
    if option.form == "globs":
        return _globs(option.name, value)
    if option.choices:
        if value not in option.choices and not (value is None and option.default is None):
            raise _error(option.name, f"expected one of {', '.join(option.choices)}, got {value!r}")
        return value
    if option.form in ("flag", "[state]"):
        _check_type(option.name, value, bool)
        return value
    if value is None and option.default is None:
        return None
    if option.api_expects:
        if isinstance(value, bool) or not isinstance(value, option.config_type):
            raise _error(option.name, f"expected {option.api_expects}, got {value!r}")
    else:  # a value no parser checks says that None is taken too
        takes_none = option.default is None and option.parse is None
        _check_type(option.name, value, (*_types(option.config_type), type(None)) if takes_none else option.config_type)
    try:
        return option.parse(value) if option.parse else value
    except ValueError as error:
        raise _error(option.name, str(error)) from None


def _error(name: str, message: str) -> SfnCacheError:
    return SfnCacheError(f"Caching({name}=...): {message}")


def _types(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def _check_type(name: str, value: Any, expected: type | tuple[type, ...]) -> None:
    types = _types(expected)
    if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
        wanted = " or ".join("None" if t is type(None) else t.__name__ for t in types)
        raise _error(name, f"expected {wanted}, got {type(value).__name__} {value!r}")


def _globs(name: str, value: Any) -> tuple[str, ...]:
    """One glob or a list of globs; a string is one glob, never a sequence of one-letter globs."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise _error(name, f"expected a glob string or a list of them, got {value!r}")
