"""Names for generated states and variables: stable, at most 80 characters, never colliding."""

from __future__ import annotations

import hashlib
import re

from sfn_cache.asl.model import MAX_NAME_LENGTH

VARIABLE_PREFIX = "sfncache_"
PUSH_EXPRESSION_START = re.compile(r"\{% \(\$p ?:= ?\$" + VARIABLE_PREFIX)  # how a push expression begins
# (written without spaces since protocol 4; a protocol-3 machine's ``$p := $`` is still recognised,
# so that a re-wrap can refuse it for its protocol)
FORCE_VARIABLE = VARIABLE_PREFIX + "force"  # the execution input's sfn_cache.force, read once (force.py)
GENERATED_COMMENT = "sfn-cache: "  # starts the Comment of every state the rewriters add


def short_digest(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


class NameAllocator:
    """Hands out state names that are free in the whole state machine (ASL needs global uniqueness).

    ``prefix + base`` when it fits and is free; otherwise the base is cut and a digest of the full
    base is appended, so the same definition always gets the same names.
    """

    def __init__(self, taken: set[str], variables: set[str] = frozenset()):
        self.taken = set(taken)
        self.variables: set[str] = set(variables)  # those a previous wrap gave its tasks (a re-wrap adds more)

    def allocate(self, prefix: str, base: str) -> str:
        candidate = prefix + base
        if len(candidate) > MAX_NAME_LENGTH or candidate in self.taken:
            digest = short_digest(base)
            room = MAX_NAME_LENGTH - len(prefix) - len(digest) - 1
            candidate = f"{prefix}{base[:room]}~{digest}"
            counter = 2
            while candidate in self.taken:
                suffix = f"~{digest}.{counter}"
                candidate = f"{prefix}{base[:MAX_NAME_LENGTH - len(prefix) - len(suffix)]}{suffix}"
                counter += 1
        self.taken.add(candidate)
        return candidate


    def variable(self, state_name: str) -> str:
        """A workflow variable name for one task: ``sfncache_<digest>``, unique in this wrap.

        Short on purpose (it is written about eight times per cached task); the digest of the state
        name keeps it stable, and grows only in the rare case of two names sharing a prefix of it.
        """
        length = 8
        while (candidate := f"{VARIABLE_PREFIX}{short_digest(state_name, length)}") in self.variables:
            length += 8
        self.variables.add(candidate)
        return candidate
