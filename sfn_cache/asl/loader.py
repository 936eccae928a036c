"""Load a definition from a file or stdin: JSON or YAML, with the file and line in every error."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from sfn_cache.asl.limits import MAX_DEPTH, MAX_INPUT_BYTES, MAX_INT_DIGITS, check_document
from sfn_cache.errors import SfnCacheError

_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16",
         b"\xfe\xff": "UTF-16"}


def read_source(path: str) -> str:
    """The text of ``path`` (``-`` reads standard input): UTF-8, no NUL bytes, within MAX_INPUT_BYTES."""
    source = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            stream = getattr(sys.stdin, "buffer", None)
            data = stream.read(MAX_INPUT_BYTES + 1) if stream is not None else \
                sys.stdin.read(MAX_INPUT_BYTES + 1).encode("utf-8", "surrogatepass")
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise SfnCacheError("no such file", file=source) from None
    except IsADirectoryError:
        raise SfnCacheError("is a directory, not a definition file", file=source) from None
    except OSError as exc:
        raise SfnCacheError(exc.strerror or str(exc), file=source) from None
    except ValueError:  # a NUL byte in the path
        raise SfnCacheError("not a valid file name", file=source) from None
    return decode_source(data, source)


def decode_source(data: bytes, source: str) -> str:
    """UTF-8 text from ``data``, or one clear reason why it is not a definition's text."""
    if len(data) > MAX_INPUT_BYTES:
        raise SfnCacheError(f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB (the input limit; "
                            f"Step Functions takes definitions up to 1 MB)", file=source)
    for bom, encoding in _BOMS.items():
        if data.startswith(bom):
            raise SfnCacheError(f"{encoding} text: save it as UTF-8", file=source)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise SfnCacheError(f"not a text file (NUL byte at offset {nul})", file=source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SfnCacheError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=source) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as text mode reads them


def is_template(document: Any) -> bool:
    """A CloudFormation/SAM template, or a Serverless Framework service whose state machines the
    serverless-step-functions plugin declares (``stepFunctions: stateMachines:``), rather than a state
    machine definition (no ruamel needed to tell)."""
    if not isinstance(document, dict) or "States" in document:
        return False
    steps = document.get("stepFunctions")
    return isinstance(document.get("Resources"), dict) or \
        (isinstance(steps, dict) and isinstance(steps.get("stateMachines"), dict))


def looks_like_json(text: str) -> bool:
    stripped = text.lstrip("\ufeff \t\r\n")
    return stripped[:1] in ("{", "[")


def load_text(text: str, source: str) -> Any:
    """Parse JSON (text starting with ``{`` or ``[``) or YAML, then check the result is plain JSON
    data within the limits (limits.py); duplicate keys are errors."""
    if not text.strip():
        raise SfnCacheError("empty file", file=source)
    if looks_like_json(text):
        document = load_json(text, source)
    else:
        from sfn_cache.asl.yaml_loader import load_yaml  # only YAML input pays for importing PyYAML

        document = load_yaml(text, source)
    check_document(document, source)
    return document


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class _LongInteger(ValueError):
    pass


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _LongInteger(text)
    return int(text)


_PLACEHOLDER = re.compile(r"[$%]\{[^}\n]{0,80}\}?")  # ${var} of Terraform/Serverless, %{ if } of Terraform


def load_json(text: str, source: str) -> Any:
    """Strict JSON: duplicate keys, over-long integers and too deep nesting are one-line errors."""
    try:
        return json.loads(text.lstrip("\ufeff"), object_pairs_hook=_reject_duplicates, parse_int=_parse_int)
    except _DuplicateKey as exc:
        raise SfnCacheError(f"duplicate key {exc.key!r} (a JSON object may name a key once)",
                            file=source) from None
    except _LongInteger:
        raise SfnCacheError(f"an integer of more than {MAX_INT_DIGITS} digits (the limit)", file=source) from None
    except json.JSONDecodeError as exc:
        placeholder = _PLACEHOLDER.match(exc.doc, exc.pos)
        if placeholder:
            raise SfnCacheError(f"invalid JSON: {placeholder.group(0)} (column {exc.colno}) is an unquoted "
                                f"template placeholder (Terraform templatefile, Serverless): quote it, or render "
                                f"the template first and wrap the result", file=source, line=exc.lineno) from None
        raise SfnCacheError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=source,
                            line=exc.lineno) from None
    except RecursionError:
        raise too_deep(source) from None


def too_deep(source: str) -> SfnCacheError:
    """Python's recursion limit reached while parsing: one line, not a traceback."""
    return SfnCacheError(f"nested deeper than {MAX_DEPTH} levels (the limit)", file=source)
