"""unwrap(wrap(x)) == x over the whole corpus, both patterns, templates included; and a re-wrap of a
wrapped file is what wrapping the original gives, byte for byte. One test per file (see
tests/support/corpus.py); every file costs a few milliseconds per pattern."""

from __future__ import annotations

import json
import shutil

from sfn_cache import pipeline
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.options import StateRule, WrapOptions
from sfn_cache.rewrite.unwrap import unwrap_definition
from sfn_cache.rewrite.wrap import wrap_definition, wrapped_json
from sfn_cache.template.machines import machine_definitions
from tests.support.corpus import NOT_TEMPLATES, TEMPLATES, classify, per_file

PATTERNS = [WrapOptions(), WrapOptions(pattern="classic")]
# other options a file may be re-wrapped with: every field of the cached form they change
OTHERS = [WrapOptions(bucket="s3://other/prefix", context="ctx", ttl=3600, concurrent="wait", fail_closed=True,
                      runtime_force=False, lambda_arn="arn:aws:lambda:us-east-1:123456789012:function:c",
                      comments=True, key_s3="etag", rules=(StateRule(pattern="*Lambda*", key_paths=("$.a",)),)),
          WrapOptions(pattern="classic", cache_version="2", exclude=("*Notify*", "*Send*"), concurrent="wait",
                      comments=True, rules=(StateRule(pattern="*Lambda*", key_paths=("$.a",)),))]


def wrapped_or_none(document: dict, options: WrapOptions, source: str) -> dict | None:
    try:
        return wrap_definition(document, options, source).definition
    except SfnCacheError:
        return None  # refused (tests/corpus/test_definitions.py checks how)


@per_file(NOT_TEMPLATES)
def test_unwrap_gives_back_every_definition(path):
    kind, document = classify(path)
    if kind != "definition":
        return
    for options, other in zip(PATTERNS, OTHERS):
        wrapped = wrapped_or_none(document, options, str(path))
        if wrapped is None:
            continue
        assert unwrap_definition(wrapped, str(path)).definition == document
        assert wrapped_json(wrap_definition(wrapped, options, str(path)).definition) == wrapped_json(wrapped)
        direct = wrapped_or_none(document, other, str(path))
        again = wrapped_or_none(wrapped, other, str(path))
        assert again == direct and (direct is None or wrapped_json(again) == wrapped_json(direct))
        assert direct is None or unwrap_definition(direct, str(path)).definition == document


@per_file(TEMPLATES)
def test_unwrap_gives_back_every_template(path, tmp_path):
    """In a copy of the template's directory (a DefinitionUri file is wrapped in place with it); the
    re-wrap rule is the definitions' (above): a template only carries them."""
    root = tmp_path / "t"
    shutil.copytree(path.parent, root)
    template = root / path.name
    try:
        before = _machines(template)
    except SfnCacheError:
        return  # malformed (tests/corpus/test_templates.py checks the refusal)
    for options in PATTERNS[:1]:  # the patterns' forms are the definitions' (above); a template costs 0.4 s each
        try:
            written = pipeline.wrap(pipeline.load(str(template)), options, output=str(template),
                                    definition_uri="in-place")
        except SfnCacheError:
            continue
        pipeline.write(written.writes, str(template))
        pipeline.write(pipeline.unwrap(pipeline.load(str(template)), output=str(template)).writes, str(template))
        assert _machines(template) == before


def _machines(template) -> dict:
    return {name: json.dumps(d, sort_keys=True) if isinstance(d, dict) else str(d)
            for name, d in machine_definitions(template.read_text(encoding="utf-8"), str(template))}
