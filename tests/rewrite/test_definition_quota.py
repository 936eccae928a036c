"""Step Functions' definition quotas, checked on what ``wrap`` writes: 1,048,576 bytes per definition,
80-character state names, and machines with many states."""

from __future__ import annotations

import json

from sfn_cache.asl.model import transitions
from sfn_cache.rewrite.quotas import DEFINITION_QUOTA_BYTES
from tests.support.cli import wrap

ARN = "arn:aws:lambda:us-east-1:123456789012:function:cache"  # 52 characters


def chain(n: int, name=lambda i: f"Task{i}") -> dict:
    """A flat chain of n Lambda tasks, each keeping its result under its own field."""
    states = {}
    for i in range(n):
        states[name(i)] = {"Type": "Task", "Resource": f"arn:aws:lambda:us-east-1:123456789012:function:step{i}",
                           "ResultPath": f"$.r{i}", **({"Next": name(i + 1)} if i < n - 1 else {"End": True})}
    return {"StartAt": name(0), "States": states}


def write(tmp_path, definition: dict):
    path = tmp_path / "machine.asl.json"
    path.write_text(json.dumps(definition, indent=2))
    return path


def test_over_the_definition_quota_is_refused_naming_the_size_and_the_way_out(tmp_path):
    source = write(tmp_path, chain(tasks_filling(1.02, tmp_path)))  # 2% over the quota once wrapped, under
    # it compact (the indentation --compact leaves out is about 12% of the bytes here)
    out = tmp_path / "cached.asl.json"
    result = wrap(source, "-o", out, "--lambda-arn", ARN)
    assert result.exit_code == 2
    assert result.stdout == "" and not out.exists(), "no partial output"
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and str(source) in message
    size = int(message.split("definition is ")[1].split(" bytes")[0].replace(",", ""))
    assert size > DEFINITION_QUOTA_BYTES and "1,048,576-byte limit" in message
    assert "--compact" in message and "--include/--exclude" in message

    compact = wrap(source, "-o", out, "--lambda-arn", ARN, "--compact")
    assert compact.exit_code == 0, compact.stderr
    written = out.read_bytes()
    assert len(written) < DEFINITION_QUOTA_BYTES and b"\n  " not in written
    assert json.loads(written)["States"]["cache_pull_Task0"]["Resource"] == ARN


def tasks_filling(fraction: float, tmp_path) -> int:
    """The chain length whose wrap (with ARN) is about ``fraction`` of the quota, measured from two
    small wraps: the bytes per cached task change as the cached form does, the quota does not."""
    small, large = (len(wrap(write(tmp_path, chain(n)), "--lambda-arn", ARN).stdout.encode()) for n in (10, 20))
    per_task = (large - small) / 10
    return int((fraction * DEFINITION_QUOTA_BYTES - (small - 10 * per_task)) / per_task)


def test_the_placeholder_arn_is_counted_as_the_longest_arn_it_may_become(tmp_path):
    """DefinitionSubstitutions replace ${SfnCacheFunctionArn} before Step Functions measures."""
    from sfn_cache.rewrite.quotas import LAMBDA_ARN_MAX_CHARS, definition_bytes

    assert definition_bytes('"${SfnCacheFunctionArn}"') == 2 + LAMBDA_ARN_MAX_CHARS
    tasks = tasks_filling(0.99, tmp_path)
    with_arn = wrap(write(tmp_path, chain(tasks)), "--lambda-arn", ARN)
    with_placeholder = wrap(write(tmp_path, chain(tasks)))
    assert with_arn.exit_code == 0 and "limit" in with_arn.stderr, "near the quota: a warning"
    assert with_placeholder.exit_code == 2, "the same machine over the quota once the ARN is substituted"


def test_near_the_quota_is_a_warning_and_far_from_it_is_silent(tmp_path):
    near = wrap(write(tmp_path, chain(tasks_filling(0.95, tmp_path))), "--lambda-arn", ARN)
    assert near.exit_code == 0 and near.stdout
    assert "warning:" in near.stderr and "% of Step Functions' 1,048,576-byte limit" in near.stderr
    assert "(--compact writes it without indentation: " in near.stderr, "the way to more room"
    assert 0.9 * DEFINITION_QUOTA_BYTES <= len(near.stdout.encode()) <= DEFINITION_QUOTA_BYTES
    far = wrap(write(tmp_path, chain(20)), "--lambda-arn", ARN)
    assert far.exit_code == 0 and far.stderr == ""


def test_compact_output_is_deterministic_and_the_same_machine(tmp_path):
    source = write(tmp_path, chain(5))
    first, second = wrap(source, "--compact").stdout, wrap(source, "--compact").stdout
    assert first == second and first.count("\n") == 1
    assert json.loads(first) == json.loads(wrap(source).stdout)


def test_state_names_at_the_80_character_limit(tmp_path):
    """Names of exactly 80 characters (sharing 79) wrap; every generated name is unique and within 80."""
    names = [("N" * 79) + chr(ord("a") + i) for i in range(3)]
    result = wrap(write(tmp_path, chain(3, lambda i: names[i])), "--lambda-arn", ARN)
    assert result.exit_code == 0, result.stderr
    states = json.loads(result.stdout)["States"]
    assert set(names) <= set(states) and max(map(len, states)) == 80
    # the force reader; per task pull, choice, task, size check, push, hit; cache_done
    assert len(states) == 1 + 3 * 6 + 1
    too_long = wrap(write(tmp_path, chain(1, lambda i: "N" * 81)))
    assert too_long.exit_code == 2 and "longer than 80 characters" in too_long.stderr


def test_many_states(tmp_path):
    """About 1,200 states after wrapping (compact output): names stay unique, every Next resolves."""
    definition = chain(200, lambda i: f"Step number {i} of a long pipeline".ljust(80, "."))
    result = wrap(write(tmp_path, definition), "--lambda-arn", ARN, "--compact")
    assert result.exit_code == 0, result.stderr
    states = json.loads(result.stdout)["States"]
    assert len(states) == 1 + 200 * 6 + 1
    assert all(len(name) <= 80 for name in states)
    assert all(target in states for state in states.values() for _, target in transitions(state))
