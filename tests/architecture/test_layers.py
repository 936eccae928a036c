"""Layers are rules: a module imports only from its own layer or a lower one, the Lambda's runtime
imports nothing of sfn_cache but itself, and the runtime needs no library the Lambda does not ship.

Every import counts: at module level, inside functions, under ``TYPE_CHECKING``, and relative ones.
"""

from __future__ import annotations

import ast
import sys

import pytest

from tests.support.paths import ROOT

PACKAGE = ROOT / "sfn_cache"

LAYERS = (  # lowest first; the one list of the layers (docs/architecture.md)
    ("sfn_cache.errors", "sfn_cache.runtime"),
    ("sfn_cache.asl",),  # format and model only
    ("sfn_cache.template",),  # CloudFormation/SAM reading and writing; never calls the rewriter
    ("sfn_cache.rewrite",),  # everything about the cached form
    ("sfn_cache.options",),  # the options table and the project configuration
    ("sfn_cache.pipeline",),  # load a file, wrap, write
    ("sfn_cache.admin", "sfn_cache.deploy", "sfn_cache.local"),
    ("sfn_cache.api",),
    ("sfn_cache.cli", "sfn_cache", "sfn_cache.__main__"),  # the package itself counts as the top
)
SEALED = {  # these may import, of sfn_cache, only what is under the names given
    "sfn_cache.errors": (),
    "sfn_cache.runtime": ("sfn_cache.runtime",),
}
RUNTIME_LIBRARIES = {"boto3", "botocore", "disdat"}  # besides the standard library: what the Lambda ships



def layer_of(module: str) -> tuple[int, str] | None:
    """(index in LAYERS, name) of the most specific layer name that holds ``module``, or None."""
    best: tuple[int, str] | None = None
    for index, names in enumerate(LAYERS):
        for name in names:
            holds = module == name or (name != "sfn_cache" and module.startswith(name + "."))
            if holds and (best is None or len(name) > len(best[1])):
                best = (index, name)
    return best


def imports(module: str, source: str, is_package: bool, known: set[str]) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``source``, relative ones resolved; ``from X import Y``
    names ``X.Y`` when that is a module of ``known``, else ``X``."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _dynamic_import(node):  # importlib.import_module("x"), __import__("x")
            found.append((node.lineno, node.args[0].value))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - (node.level - 1)])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            for alias in node.names:
                candidate = f"{origin}.{alias.name}"
                found.append((node.lineno, candidate if candidate in known else origin))
    return sorted(found)


def _dynamic_import(call: ast.Call) -> bool:
    """A call that imports the module its literal first argument names."""
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
    return (name in ("import_module", "__import__") and bool(call.args)
            and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str))


def _why(module: str, target: str, sealed: tuple[str, ...] | None) -> str | None:
    """Why ``module`` may not import ``target``; None when it may."""
    top = target.split(".")[0]
    if top == "click" and not (module == "sfn_cache.cli" or module.startswith("sfn_cache.cli.")):
        return "click belongs to sfn_cache.cli alone: the layers below it are used without a command line"
    if top != "sfn_cache":
        if sealed is not None and top not in sys.stdlib_module_names and top not in RUNTIME_LIBRARIES:
            return f"the runtime ships only the standard library and {', '.join(sorted(RUNTIME_LIBRARIES))}"
        return None
    if sealed is not None and not any(target == name or target.startswith(name + ".") for name in sealed):
        return f"sealed: only {', '.join(sealed) or 'nothing of sfn_cache'}"
    own, theirs = layer_of(module), layer_of(target)
    if own is not None and theirs is not None and theirs[0] > own[0]:
        return f"layer {theirs[0]} ({theirs[1]}) is above layer {own[0]} ({own[1]})"
    return None


def find_violations(modules: dict[str, tuple[str, bool]]) -> list[tuple[str, int, str, str]]:
    """(module, line, imported module, why) for every import that breaks the layering of ``modules``
    (name -> (source, is a package)); line 0 and no import for a module in no layer."""
    found = []
    for module, (source, is_package) in sorted(modules.items()):
        if layer_of(module) is None:
            found.append((module, 0, "", "in no layer (add its package to LAYERS)"))
            continue
        sealed = next((allowed for name, allowed in SEALED.items()
                       if module == name or module.startswith(name + ".")), None)
        for line, target in imports(module, source, is_package, set(modules)):
            why = _why(module, target, sealed)
            if why:
                found.append((module, line, target, why))
    return found


def violations(modules: dict[str, tuple[str, bool]]) -> list[str]:
    """find_violations as ``module:line imports target (why)``."""
    return [f"{module}:{line} imports {target} ({why})" if line else f"{module}: {why}"
            for module, line, target, why in find_violations(modules)]


def package_modules() -> dict[str, tuple[str, bool]]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = (path.read_text(encoding="utf-8"), is_package)
    return modules


def test_no_module_imports_a_layer_above_its_own():
    assert violations(package_modules()) == []


FAKE = {
    "sfn_cache.errors": ("import json\n", False),
    "sfn_cache.asl": ("", True),
    "sfn_cache.asl.model": ("from sfn_cache.errors import SfnCacheError\n", False),
    "sfn_cache.rewrite": ("", True),
    "sfn_cache.rewrite.wrap": ("from sfn_cache.asl.model import parse\n", False),
    "sfn_cache.runtime": ("", True),
    "sfn_cache.runtime.keys": ("import hashlib\nimport boto3\n", False),
}


def test_the_check_passes_a_well_layered_package():
    assert violations(FAKE) == []


@pytest.mark.parametrize("module, source, expected", [
    ("sfn_cache.asl.upward", "from sfn_cache.rewrite.wrap import wrap\n",
     "sfn_cache.asl.upward:1 imports sfn_cache.rewrite.wrap (layer 3 (sfn_cache.rewrite) is above layer 1"),
    ("sfn_cache.asl.lazy", "def f():\n    import sfn_cache.rewrite.wrap\n",
     "sfn_cache.asl.lazy:2 imports sfn_cache.rewrite.wrap (layer 3"),
    ("sfn_cache.asl.relative", "def f():\n    from ..rewrite import wrap\n",
     "sfn_cache.asl.relative:2 imports sfn_cache.rewrite.wrap (layer 3"),
    ("sfn_cache.asl.package", "from sfn_cache import cli\n",
     "sfn_cache.asl.package:1 imports sfn_cache (layer 8 (sfn_cache)"),
    ("sfn_cache.runtime.leak", "from sfn_cache.errors import SfnCacheError\n",
     "sfn_cache.runtime.leak:1 imports sfn_cache.errors (sealed"),
    ("sfn_cache.runtime.heavy", "def f():\n    import yaml\n", "sfn_cache.runtime.heavy:2 imports yaml (the runtime"),
    ("sfn_cache.newpackage.thing", "", "sfn_cache.newpackage.thing: in no layer"),
    ("sfn_cache.asl.dynamic", "import importlib\ndef f():\n    importlib.import_module('sfn_cache.cli.wrap')\n",
     "sfn_cache.asl.dynamic:3 imports sfn_cache.cli.wrap (layer 8"),
    ("sfn_cache.asl.dunder", "def f():\n    __import__('sfn_cache.api')\n",
     "sfn_cache.asl.dunder:2 imports sfn_cache.api (layer 7"),
    ("sfn_cache.admin.prompt", "import click\n", "sfn_cache.admin.prompt:1 imports click (click belongs"),
])
def test_the_check_reports_a_violation(module, source, expected):
    found = violations({**FAKE, module: (source, False)})
    assert len(found) == 1 and found[0].startswith(expected), found
