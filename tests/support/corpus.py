"""The shared corpus (../shared/corpus, or SFN_CACHE_CORPUS): its files, one test id per file, and the
corpus-wide tallies.

Corpus tests are parametrized per file so that xdist spreads them and a failure names its file. What
only the whole corpus can show (a tally, "at least N wrapped") is recorded per file with ``tally``
and checked once every file of the group has reported (tests/conftest.py, ``MINIMUMS``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest

from sfn_cache.asl.loader import load_text
from sfn_cache.errors import SfnCacheError
from tests.support.paths import CORPUS

MACHINE_TYPES = ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine")
MACHINE_TYPE = re.compile(r"AWS::(StepFunctions|Serverless)::StateMachine")

FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".json", ".yaml", ".yml")) if CORPUS.exists() else []


def classify(path: Path):
    try:
        document = load_text(path.read_text(encoding="utf-8"), str(path))
    except SfnCacheError as error:
        return "malformed", error
    if isinstance(document, dict) and "Resources" in document:
        return "template", None
    return "definition", document


def corpus_templates() -> list[Path]:
    if not CORPUS.exists():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".json", ".yaml", ".yml")
                  and MACHINE_TYPE.search(p.read_text(errors="ignore")))


TEMPLATES = corpus_templates()
# every file but the state machine templates: definitions, malformed files, templates without a machine
# (told apart by classify inside the test: loading all 260 files at collection would cost each worker 4 s)
NOT_TEMPLATES = [path for path in FILES if path not in set(TEMPLATES)]


def name_of(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def per_file(files: list[Path]) -> pytest.MarkDecorator:
    """Parametrize a test's ``path`` over ``files``, one test id per file, skipped without a corpus."""
    if not files:
        return pytest.mark.skip(reason="../shared/corpus is not beside the project (or set SFN_CACHE_CORPUS)")
    return pytest.mark.parametrize("path", files, ids=name_of)


# Corpus-wide floors, checked when every file of the group has reported (a run of the whole group):
# {group: (number of files in the group, {tally key: at least})}.
MINIMUMS: dict[str, tuple[int, dict[str, int]]] = {
    "definitions": (len(NOT_TEMPLATES), {"wrapped": 1, "jsonata wrapped": 3, "malformed": 1}),
    "templates": (len(TEMPLATES), {"state machine wrapped": 60}),
    "minimal diffs": (len(TEMPLATES), {"written": 51}),
    "verify": (len(NOT_TEMPLATES), {"identical, succeeded": 80}),  # 83 of the 153 distinct definitions
}


def tally(record_property: Callable[[str, object], None], group: str, **counts: int) -> None:
    """Record this file's contribution to ``group``'s corpus-wide tally (read by tests/conftest.py)."""
    record_property("corpus_tally", {"group": group, "counts": counts})
