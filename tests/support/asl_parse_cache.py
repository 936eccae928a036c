"""Parse each definition's ASL once per test process.

moto parses a definition with its ANTLR grammar (pure Python, about 0.2 s for a real definition) when
the state machine is created and again when each execution starts, and the local engine re-creates
the machine for every run: a test that runs an original and its wrapped form three ways parses six
times. The parse tree depends on the text alone and moto's Preprocessor only reads it, so the tree is
kept per definition text and each call still gets freshly built evaluation components (no state is
shared between executions). What the interpreter does is unchanged; only the repeated parsing goes.
"""

from __future__ import annotations

from typing import Any

from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

_TREES: dict[str, Any] = {}
_PARSE = asl_parser.AmazonStateLanguageParser.parse


def parse(definition: str) -> tuple[Any, Any]:
    tree = _TREES.get(definition)
    if tree is None:
        program, tree = _PARSE(definition)  # raises for a definition moto refuses: nothing is kept
        _TREES[definition] = tree
        return program, tree
    return Preprocessor().visit(tree), tree


def install(patcher: Any) -> None:
    """``patcher``: pytest's monkeypatch (undone after the test) or anything with its ``setattr``."""
    patcher.setattr(asl_parser.AmazonStateLanguageParser, "parse", staticmethod(parse))
