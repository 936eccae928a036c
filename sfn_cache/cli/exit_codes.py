"""The exit codes each command's ``--help`` lists (black's and ruff's convention): one place, so the
help texts and the code cannot disagree. The group adds the paragraph to every command it loads."""

from __future__ import annotations

OK = 0
CHANGES = 1  # what 1 means differs by command: MEANING_OF_1
BAD_INPUT = 2  # a file, an option or the configuration is wrong (one line on stderr, nothing written)

MEANING_OF_1 = {
    "wrap": "--check/--diff: a file would change (named, with the command that fixes it)",
    "verify": "a wrapped run differs from the original's (or a run could not be compared)",
    "doctor": "a check failed",
}
CACHE_COMMANDS = ("ls", "show", "rm", "stats", "doctor")


def epilog(command: str) -> str:
    """The ``Exit codes`` paragraph of ``command``'s help (``\\b`` keeps click from rewrapping it)."""
    lines = ["\b", "Exit codes:", f"  {OK}  success"]
    if command in MEANING_OF_1:
        lines.append(f"  {CHANGES}  {MEANING_OF_1[command]}")
    lines.append(f"  {BAD_INPUT}  " + ("bad input, or the cache's bucket refused (one line on stderr)"
                                       if command in CACHE_COMMANDS else
                                       "bad input: a file, an option or the configuration (one line on stderr, "
                                       "nothing written)"))
    return "\n".join(lines)
