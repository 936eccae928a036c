"""A ``DefinitionString``: a plain string, or ``Fn::Sub``/``Fn::Join`` of strings and intrinsics.

The intrinsics and ``${...}`` variables are swapped for JSON-safe tokens while the definition is read
and wrapped, then put back where they were, so the template keeps them intact.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from sfn_cache.asl.limits import check_document
from sfn_cache.asl.loader import load_json
from sfn_cache.errors import SfnCacheError

_SUB_VARIABLE = re.compile(r"\$\{[^}]*\}")

ToJson = Callable[[dict[str, Any]], str]  # a wrapped definition as wrap writes it


@dataclass
class _Tokens:
    """Intrinsics and ``${...}`` inside a definition string, swapped for JSON-safe tokens while wrapping."""

    values: list[Any] = field(default_factory=list)

    def token(self, value: Any, in_string: bool) -> str:
        self.values.append(value)
        name = f"__sfn_cache_token_{len(self.values) - 1}__"
        return name if in_string else f'"{name}!raw"'

    def pieces(self, text: str) -> list[Any]:
        """Split ``text`` at the tokens: strings and the original values, in order."""
        parts: list[Any] = []
        pattern = re.compile(r'"__sfn_cache_token_(\d+)__!raw"|__sfn_cache_token_(\d+)__')
        last = 0
        for match in pattern.finditer(text):
            parts.append(text[last:match.start()])
            parts.append(self.values[int(match.group(1) or match.group(2))])
            last = match.end()
        parts.append(text[last:])
        return parts


class _StringTracker:
    """Whether the text fed so far ends inside a JSON string literal. Each character is scanned once:
    a Fn::Sub with 20,000 ``${...}`` must not rescan the text for each of them."""

    def __init__(self) -> None:
        self.inside = self.escaped = False

    def feed(self, chunk: str) -> None:
        for ch in chunk:
            if self.escaped:
                self.escaped = False
            elif ch == "\\":
                self.escaped = self.inside
            elif ch == '"':
                self.inside = not self.inside


def _tokenise_sub(text: str, tokens: _Tokens) -> str:
    out, last = [], 0
    tracker = _StringTracker()
    for match in _SUB_VARIABLE.finditer(text):
        tracker.feed(text[last:match.start()])
        out.append(text[last:match.start()])
        out.append(tokens.token(match.group(0), tracker.inside))
        tracker.feed(match.group(0))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


@dataclass
class DefinitionString:
    """A parsed DefinitionString, able to write a new definition back in the same form."""

    definition: dict[str, Any]
    kind: str  # "string" | "Fn::Sub" | "Fn::Join"
    tokens: _Tokens = field(default_factory=_Tokens)
    variables: Any = None  # Fn::Sub's variables object, if it has one
    newline: str = ""  # the text's final newline (a ``|`` block's), kept

    def write(self, new: dict[str, Any], to_json: ToJson, placeholder: str) -> Any:
        """``new`` in this DefinitionString's form; ``placeholder`` is the ``${...}`` that must reach
        DefinitionSubstitutions untouched (inside Fn::Sub it is escaped as ``${!...}``)."""
        body = to_json(new).rstrip("\n") + self.newline
        if self.kind == "Fn::Sub":
            body = body.replace(placeholder, "${!" + placeholder[2:-1] + "}")
            rebuilt = "".join(p for p in self.tokens.pieces(body))
            return {"Fn::Sub": rebuilt if self.variables is None else [rebuilt, self.variables]}
        if self.kind == "Fn::Join":
            return {"Fn::Join": ["", [p for p in self.tokens.pieces(body) if p != ""]]}
        return body


def read_definition_string(value: Any, where: str) -> DefinitionString:
    """Parse a DefinitionString (plain data), or say why sfn-cache cannot."""
    if isinstance(value, str):
        return DefinitionString(_parse_definition_text(value, where), "string", newline=_final_newline(value))
    if isinstance(value, dict) and len(value) == 1:
        (kind, inner), = value.items()
        if kind == "Fn::Sub":
            text, variables = _sub_parts(inner, where)
            tokens = _Tokens()
            definition = _parse_definition_text(_tokenise_sub(text, tokens), where)
            return DefinitionString(definition, kind, tokens, variables, _final_newline(text))
        if kind == "Fn::Join" and isinstance(inner, list) and len(inner) == 2 and isinstance(inner[1], list):
            delimiter, parts = inner
            if not isinstance(delimiter, str):
                raise SfnCacheError(f"{where}: Fn::Join needs a string delimiter")
            tokens = _Tokens()
            pieces: list[str] = []
            tracker = _StringTracker()
            for i, part in enumerate(parts):
                if i:
                    pieces.append(delimiter)
                    tracker.feed(delimiter)
                pieces.append(part if isinstance(part, str) else tokens.token(part, tracker.inside))
                tracker.feed(pieces[-1])
            return DefinitionString(_parse_definition_text("".join(pieces), where), kind, tokens)
        raise SfnCacheError(f"{where}: DefinitionString uses {kind}; sfn-cache understands a plain string, "
                            f"Fn::Sub and Fn::Join")
    raise SfnCacheError(f"{where}: DefinitionString is neither a string nor Fn::Sub/Fn::Join")


def _final_newline(text: str) -> str:
    return "\n" if text.endswith("\n") else ""


def _sub_parts(inner: Any, where: str) -> tuple[str, Any]:
    """``Fn::Sub``'s (text, variables): a string, or a list of a string and a variables object."""
    if isinstance(inner, str):
        return inner, None
    if isinstance(inner, list) and len(inner) == 2 and isinstance(inner[0], str) and isinstance(inner[1], dict):
        return inner[0], inner[1]
    raise SfnCacheError(f"{where}: Fn::Sub takes a string or a list of a string and a variables object, "
                        f"got {json.dumps(inner, default=str)[:80]}")


def _parse_definition_text(text: str, where: str) -> dict[str, Any]:
    try:
        definition = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SfnCacheError(f"{where}: DefinitionString is not JSON: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, RecursionError):  # over-long integers, too deep nesting: check_document says which
        definition = load_json(text, f"{where} DefinitionString")
    if not isinstance(definition, dict):
        raise SfnCacheError(f"{where}: DefinitionString is not a JSON object")
    check_document(definition, f"{where} DefinitionString")
    return definition
