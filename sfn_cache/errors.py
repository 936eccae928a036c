"""One error type for bad input: the CLI prints it as one line and exits with code 2."""

from __future__ import annotations

import sys
from typing import NoReturn


class SfnCacheError(Exception):
    """A problem with the user's input, reported as ``FILE: state 'S': problem``."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, state: str | None = None,
                 line: int | None = None, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.state = state
        self.line = line
        self.details = details  # shown by ``-v``: a parser's full multi-line report, for instance

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.state:
            where.append(f"state '{self.state}'")
        prefix = ": ".join(where)
        message = one_line(self.message)
        return escaped(f"{prefix}: {message}" if prefix else message)


def one_line(text: str) -> str:
    """A refusal is one line: a multi-line message (a parser's report) keeps its first line only."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def escaped(text: str) -> str:
    """``text`` with newlines, other control characters and lone surrogates escaped, so a state or
    file name holding them cannot break the ``FILE:LINE: state 'S': problem`` line or stderr's encoding."""
    return text if text.isprintable() else "".join(map(_printable, text))


def _printable(char: str) -> str:
    if char.isprintable():
        return char
    code = ord(char)
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char) or (
        f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def install_hint(extra: str) -> str:
    """How to install an extra: there is no package-index release, so from a clone (docs/usage.md's recipes)."""
    return f"pip install '.[{extra}]' from a clone of the repository"


def exit_with(error: SfnCacheError, verbose: bool = False) -> NoReturn:
    """Print the refusal as one ``error:`` line on stderr (details too with ``-v``) and exit with its code."""
    print(f"error: {error}", file=sys.stderr)
    if verbose and error.details:
        print(error.details.rstrip("\n"), file=sys.stderr)
    sys.exit(error.exit_code)
