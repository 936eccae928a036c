"""Names for generated states and variables: stable, at most 80 characters, never colliding."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Set
from dataclasses import dataclass

from sfn_cache.asl.model import MAX_NAME_LENGTH


@dataclass(frozen=True)
class Prefixes:
    """The start of every name wrap generates: a state's is followed by its task's name, a variable's by a
    digest. One list, so that writing a name and recognising it (re-wrap, explain, graph) cannot drift."""

    pull: str = "cache_pull_"
    choice: str = "use_cache_"
    hit: str = "cache_hit_"
    push: str = "cache_push_"
    assign: str = "cache_assign_"
    apply: str = "cache_apply_"
    done: str = "cache_done_"
    wait: str = "cache_wait_"
    wrap: str = "cache_wrap_"  # the classic form's own states
    out: str = "cache_out_"
    miss: str = "cache_miss_"
    check: str = "cache_check_"
    catch: str = "cache_catch{}_"  # one per catcher of the task: its index
    keys: str = "cache_keys_"  # a JSONPath task's key paths, read by JSONata before its JSONPath pull
    large: str = "cache_large_"  # a JSONPath task's push without its result, too large to cache
    force: str = "cache_"  # + "force": the force reader, once per machine
    variable: str = "sfncache_"

    def catcher(self, index: int) -> str:
        return self.catch.format(index)

    @property
    def task_states(self) -> tuple[str, ...]:
        """The prefixes of the states generated around one task (``catch`` with ``{}`` for its index)."""
        return (self.pull, self.push, self.hit, self.apply, self.assign, self.done, self.wait, self.wrap,
                self.out, self.miss, self.check, self.catch, self.keys, self.large,
                self.choice)

    def pattern(self, prefixes: tuple[str, ...]) -> str:
        """A regular expression alternation matching any of ``prefixes`` (a catch index as digits)."""
        return "(?:" + "|".join(re.escape(p).replace(re.escape("{}"), r"\d+") for p in prefixes) + ")"


PREFIXES = Prefixes()
VARIABLE_PREFIX = PREFIXES.variable
# how a push expression begins; the optional spaces let a re-wrap recognise an older protocol's push
# (``$p := $``), so that it can refuse the machine for its protocol
PUSH_EXPRESSION_START = re.compile(r"\{% \(\$p ?:= ?\$" + VARIABLE_PREFIX)
FORCE_VARIABLE = VARIABLE_PREFIX + "force"  # the execution input's sfn_cache.force, read once (force.py)
GENERATED_COMMENT = "sfn-cache: "  # starts the Comment of every state the rewriters add


def short_digest(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


class NameAllocator:
    """Hands out state names that are free in the whole state machine (ASL needs global uniqueness).

    ``prefix + base`` when it fits and is free; otherwise the base is cut and a digest of the full
    base is appended, so the same definition always gets the same names.
    """

    def __init__(self, taken: Set[str], variables: Set[str] = frozenset()) -> None:
        self.taken = set(taken)
        self.variables: set[str] = set(variables)  # those of tasks kept in their cached form (cache_step)

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
