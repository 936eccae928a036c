"""The contract between the wrapped machine and the caching Lambda lives in one module.

Each fact is checked where the other side reads it (the generated machine, the deploy files, the
handler, the local engine), so a copy that drifts from ``sfn_cache.runtime.protocol`` fails here.
"""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

import pytest

from sfn_cache.runtime import protocol
from sfn_cache.runtime.keys import json_bytes
from sfn_cache.runtime.protocol import (
    CACHE_TIMEOUT_SECONDS,
    CLAIM_WITHIN_SECONDS,
    DEFAULT_LEASE_SECONDS,
    FUNCTION_TIMEOUT_SECONDS,
    HANDLER,
    HISTORY_QUOTA_EVENTS,
    PAYLOAD_QUOTA_BYTES,
    PROTOCOL,
)
from tests.support.paths import ROOT

PACKAGE = ROOT / "sfn_cache"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:sfn-cache"
ONE_TASK = {"StartAt": "Work", "States": {"Work": {
    "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "End": True}}}
KEY = "a" * 64
UUID = "12345678-1234-1234-1234-123456789abc"


def test_the_timeouts_keep_their_order():
    """A pull leads a key only well before its state times out, and the function outlives its state
    (a hung call is then States.Timeout, not a retried Lambda timeout): see the module docstring."""
    assert 0 < CLAIM_WITHIN_SECONDS < CACHE_TIMEOUT_SECONDS < FUNCTION_TIMEOUT_SECONDS


def test_the_quotas_are_aws_quotas():
    assert PAYLOAD_QUOTA_BYTES == 262_144 and HISTORY_QUOTA_EVENTS == 25_000


@pytest.mark.parametrize("pattern", ["variables", "classic"])
def test_the_generated_machine_uses_the_protocol(pattern):
    from sfn_cache.rewrite.options import WrapOptions
    from sfn_cache.rewrite.wrap import wrap_definition

    options = WrapOptions(lambda_arn=ARN, pattern=pattern, concurrent="wait")
    states = wrap_definition(ONE_TASK, options).definition["States"]
    cache_states = {name: state for name, state in states.items() if name.startswith(("cache_pull_", "cache_push_"))}
    assert len(cache_states) == 2
    for state in cache_states.values():
        assert state["TimeoutSeconds"] == CACHE_TIMEOUT_SECONDS
    pull = states["cache_pull_Work"]
    payload = pull.get("Parameters") or pull.get("Arguments")
    assert payload["protocol"] == PROTOCOL and payload["lease"] == DEFAULT_LEASE_SECONDS


def test_the_deployed_function_uses_the_protocol():
    from sfn_cache.asl.loader import load_text
    from sfn_cache.deploy.deploy_files import sam_template
    from sfn_cache.deploy.lambda_package import Target

    text = sam_template(target=Target("3.12", "arm64"), layout="function",
                        zips=["sfn-cache-function-python3.12-arm64.zip"], bucket_url="s3://b/p", context="ctx")
    props = load_text(text, "template.yaml")["Resources"]["SfnCacheFunction"]["Properties"]
    assert props["Handler"] == HANDLER and props["Timeout"] == FUNCTION_TIMEOUT_SECONDS


def test_the_handler_path_names_the_handler():
    import importlib

    module, _, name = HANDLER.rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))


def test_the_local_engine_stops_at_the_history_quota():
    import inspect

    from sfn_cache.local.engine import Engine

    assert inspect.signature(Engine.run).parameters["max_events"].default == HISTORY_QUOTA_EVENTS


def _literal_copies(path: Path) -> list[str]:
    """Where ``path`` spells a contract fact itself instead of importing it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and node.value in (HANDLER, PAYLOAD_QUOTA_BYTES, HISTORY_QUOTA_EVENTS):
            found.append(f"{path}:{node.lineno}: {node.value!r}")
        if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)
                and {getattr(node.left, "value", None), getattr(node.right, "value", None)} == {256, 1024}):
            found.append(f"{path}:{node.lineno}: 256 * 1024")
    return found


def test_no_module_keeps_its_own_copy_of_a_contract_fact():
    copies = [line for path in sorted(PACKAGE.rglob("*.py")) if path.name != "protocol.py"
              for line in _literal_copies(path)]
    assert copies == []


def _entry(**changes):
    fields = dict(key=KEY, bundle="model", state="Train", uuid=UUID, material={"protocol": 3, "input": {"x": 1}},
                  created=1764086400.5, execution="arn:aws:states:us-east-1:1:execution:m:e", state_machine=None,
                  size=7, duration=1.25, lineage=None)
    return protocol.new_entry(**{**fields, **changes})


def test_an_index_entry_round_trips():
    entry = {**_entry(), "inline": {"ok": True}}
    read = json.loads(json_bytes(entry))
    assert read == entry and list(read) == list(entry)
    assert protocol.well_formed(read, KEY) and protocol.listed_entry(read) == entry
    assert protocol.entry_duration(read) == 1.25


def test_a_pull_trusts_only_a_well_formed_entry():
    assert not protocol.well_formed(_entry(), "b" * 64)  # another key's
    assert not protocol.well_formed({**_entry(), "v": protocol.ENTRY_VERSION + 1}, KEY)
    assert not protocol.well_formed(_entry(uuid="../other"), KEY)
    assert not protocol.well_formed(_entry(size=True), KEY)
    assert not protocol.well_formed(_entry(created="yesterday"), KEY)
    assert protocol.entry_duration(_entry(duration=float("inf"))) is None


def test_the_administration_lists_what_a_pull_would_not_serve():
    older = {"key": KEY, "v": 1}
    assert not protocol.well_formed(older, KEY) and protocol.listed_entry(older) == older
    assert protocol.listed_entry({"v": 2}) is None and protocol.listed_entry([KEY]) is None


def test_the_two_key_patterns():
    assert protocol.HEX_KEY.match(KEY) and not protocol.HEX_KEY.match("A" * 64)
    assert protocol.SAFE_KEY.fullmatch("user-key_1") and not protocol.SAFE_KEY.fullmatch("a/b")


def test_reading_an_event_leaves_it_as_it_was():
    from sfn_cache.runtime.events import read_envelope, read_fields

    event = {"sfn_cache": "pull", "protocol": PROTOCOL, "state": "Train", "resource": "r", "input": {},
             "execution": "arn:aws:states:us-east-1:123456789012:execution:m:e"}
    before = copy.deepcopy(event)
    operation, envelope = read_envelope(event)
    read = read_fields(envelope)
    assert event == before
    assert operation == "pull" and envelope["bundle"] == "Train" and "state_machine" not in envelope
    assert read["state_machine"] == "arn:aws:states:us-east-1:123456789012:stateMachine:m"


def test_doctor_asks_for_the_protocols_function_timeout():
    from sfn_cache.admin.doctor import _timeout

    too_short = _timeout(CACHE_TIMEOUT_SECONDS)
    assert too_short is not None and not too_short.ok and f"e.g. {FUNCTION_TIMEOUT_SECONDS}" in too_short.detail
    assert _timeout(FUNCTION_TIMEOUT_SECONDS) is None
