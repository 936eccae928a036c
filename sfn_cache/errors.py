"""One error type for bad input: the CLI prints it as one line and exits with code 2."""

from __future__ import annotations


class SfnCacheError(Exception):
    """A problem with the user's input, reported as ``FILE: state 'S': problem``."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, state: str | None = None,
                 line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.state = state
        self.line = line

    def located(self, file: str | None) -> "SfnCacheError":
        """Return this error with ``file`` filled in when it did not know its file yet."""
        if self.file is None:
            self.file = file
        return self

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.state:
            where.append(f"state '{self.state}'")
        prefix = ": ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message
