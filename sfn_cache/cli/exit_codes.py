"""The exit codes each command's ``--help`` lists (black's and ruff's convention): one place, so the
help texts and the code cannot disagree."""

from __future__ import annotations

OK = 0
CHANGES = 1  # wrap --check/--diff: a file is out of date; doctor: a check failed
BAD_INPUT = 2  # a file, an option or the configuration is wrong (one line on stderr, nothing written)


def epilog(*middle: str) -> str:
    """The ``Exit codes`` paragraph of a command's help, with the command's own meaning of 1, if any.
    (``\\b`` keeps click from rewrapping the lines.)"""
    lines = ["\b", "Exit codes:", f"  {OK}  success"]
    lines += [f"  {CHANGES}  {text}" for text in middle]
    lines.append(f"  {BAD_INPUT}  bad input: a file, an option or the configuration (one line on stderr, "
                 "nothing written)")
    return "\n".join(lines)
