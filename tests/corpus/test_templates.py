"""``sfn-cache wrap`` on every template of the corpus: written with only its state machines changed
and a re-wrap that changes nothing, or refused in one line (exit 2) with nothing written."""

from __future__ import annotations

import collections
import functools
import json
import re
import shutil
from pathlib import Path

from sfn_cache.asl.loader import load_text
from sfn_cache.asl.model import parse, walk
from sfn_cache.rewrite.recognise import cache_operation
from tests.support.cli import wrap as wrap_cli
from tests.support.corpus import MACHINE_TYPES, TEMPLATES, per_file, tally

DEFINITION_FIELDS = ("Definition", "DefinitionString", "DefinitionUri", "DefinitionSubstitutions")

wrap = functools.partial(wrap_cli, "--no-config")  # a template wraps the same wherever the test runs
CACHE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:sfn-cache"  # for templates without the function


def load(path: Path) -> dict:
    return load_text(path.read_text(encoding="utf-8"), str(path))


def pulls(definition: dict) -> set[str]:
    return {ref.name for ref in walk(parse(definition)) if cache_operation(ref.state) == "pull"}


@per_file(TEMPLATES)
def test_corpus_template(path, tmp_path, record_property):
    counts = collections.Counter()
    work = tmp_path
    shutil.copytree(path.parent, work / "src")  # DefinitionUri files are read relative to the template
    source = work / "src" / path.name
    out = work / "out" / path.name
    arn: tuple[str, ...] = ()
    result = wrap(source, "-o", out)
    if result.exit_code == 2 and "would invoke 'SfnCacheFunction'" in result.stderr:  # no caching function
        arn = ("--lambda-arn", CACHE_ARN)
        result = wrap(source, *arn, "-o", out)
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {source}"), result.stderr
        assert not out.exists()
        tally(record_property, "templates", **{"template refused (exit 2)": 1})
        return
    assert result.exit_code == 0, result.stderr
    before, after = load(source), load(out)
    assert set(before) == set(after)
    for key in before:
        if key != "Resources":
            assert before[key] == after[key], key
    assert set(before["Resources"]) == set(after["Resources"])
    for name, resource in before["Resources"].items():
        new = after["Resources"][name]
        if not (isinstance(resource, dict) and resource.get("Type") in MACHINE_TYPES):
            assert new == resource, f"{path}: resource {name} changed"
            continue
        props, new_props = resource.get("Properties", {}), new.get("Properties", {})
        assert {k: v for k, v in props.items() if k not in DEFINITION_FIELDS} == \
               {k: v for k, v in new_props.items() if k not in DEFINITION_FIELDS}
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            assert new_props["DefinitionSubstitutions"][key] == value
        if f"resource '{name}' left unchanged" in result.stderr:
            assert props == new_props
            counts["state machine refused"] += 1
            continue
        if "Definition" in new_props:
            wrapped = new_props["Definition"]
        elif "DefinitionUri" in new_props:
            wrapped = load(out.parent / new_props["DefinitionUri"])
        else:
            text = new_props["DefinitionString"]
            if isinstance(text, dict) and "Fn::Sub" in text:
                body = text["Fn::Sub"] if isinstance(text["Fn::Sub"], str) else text["Fn::Sub"][0]
                text = re.sub(r"\$\{(?!!)[^}]*\}", "X", body).replace("${!", "${")
            elif isinstance(text, dict) and "Fn::Join" in text:
                text = "".join(p if isinstance(p, str) else '"X"' for p in text["Fn::Join"][1])
            wrapped = json.loads(text)
        if pulls(wrapped) and arn:
            assert "SfnCacheFunctionArn" not in (new_props.get("DefinitionSubstitutions") or {})
            counts["state machine wrapped"] += 1
        elif pulls(wrapped):
            assert new_props["DefinitionSubstitutions"]["SfnCacheFunctionArn"] == \
                   {"Fn::GetAtt": ["SfnCacheFunction", "Arn"]}
            counts["state machine wrapped"] += 1
        else:
            counts["state machine with nothing to cache"] += 1
    counts["template written"] += 1
    assert wrap(out, *arn, "-o", work / "again" / path.name).exit_code == 0
    assert (work / "again" / path.name).read_text() == out.read_text(), f"{path}: rewrapping changed it"
    tally(record_property, "templates", **counts)
