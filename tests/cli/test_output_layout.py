"""What wrap writes is a text a reviewer can read: no line over 120 columns but for a string too long to
fit on any line (the whole corpus, one test per file); a JSON file's indentation and a YAML file's
comments and anchors kept; ``--compact`` the byte-minimal form, and named by the near-quota warning.
"""

from __future__ import annotations

import json
import re

import yaml

from tests.support.cli import sfn_cache, wrap
from tests.support.corpus import NOT_TEMPLATES, classify, per_file
from tests.support.paths import EXAMPLE

WIDTH = 120
LONG_STRING = 40  # a line over WIDTH holds one string at least this long, deep in the file: no layout breaks it


def long_line_is_a_long_string(line: str, is_json: bool) -> bool:
    """``"key": "a long string",`` or ``"a long string",`` (JSON), ``key: a long string`` or ``- a long
    string`` (YAML): one member or list item whose value is a string."""
    text = line.strip().rstrip(",")
    try:
        if is_json:
            value = json.loads(text) if text.startswith('"') and text.endswith('"') and '": ' not in text \
                else next(iter(json.loads("{" + text + "}").values()))
        else:
            parsed = yaml.safe_load(text)
            if isinstance(parsed, list) and len(parsed) == 1 and isinstance(parsed[0], dict):
                parsed = parsed[0]  # - Condition: "{% ... %}": a list item holding one member
            value = parsed[0] if isinstance(parsed, list) and len(parsed) == 1 else \
                next(iter(parsed.values())) if isinstance(parsed, dict) and len(parsed) == 1 else None
    except (ValueError, StopIteration, yaml.YAMLError):
        return False
    return isinstance(value, str) and len(value) >= LONG_STRING


@per_file([path for path in NOT_TEMPLATES if path.suffix in (".json", ".yaml", ".yml")])
def test_no_line_of_the_default_output_is_over_120_columns(path):
    kind, _ = classify(path)
    if kind != "definition":
        return
    result = wrap("--no-config", path)
    if result.exit_code != 0:  # refused: tests/corpus/test_definitions.py checks why
        return
    is_json = result.stdout.lstrip().startswith("{")
    own = {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    long_lines = [line for line in result.stdout.splitlines()
                  if len(line) > WIDTH and line.strip() not in own]  # the user's own long lines are theirs
    assert all(long_line_is_a_long_string(line, is_json) for line in long_lines), long_lines[:3]


YAML_DEFINITIONS = [path for path in NOT_TEMPLATES if path.suffix in (".yaml", ".yml")]


@per_file(YAML_DEFINITIONS)
def test_a_yaml_definition_keeps_its_comments_and_says_what_the_json_output_says(path):
    kind, _ = classify(path)
    if kind != "definition":
        return
    result = wrap("--no-config", path)
    if result.exit_code != 0:
        return
    as_json = wrap("--no-config", path, "--format", "json")
    assert yaml.safe_load(result.stdout) == json.loads(as_json.stdout)
    comments = [match.group(1).strip() for line in path.read_text(encoding="utf-8").splitlines()
                if (match := re.search(r"(?:^|\s)(#.*)$", line))]
    kept = [match.group(1).strip() for line in result.stdout.splitlines()
            if (match := re.search(r"(?:^|\s)(#.*)$", line))]
    assert kept == comments


def test_a_one_option_change_is_a_diff_of_short_lines(tmp_path):
    """Changing the bucket changes each pull's ``bucket`` line, a short one, and each push expression."""
    out = tmp_path / "cached.asl.json"
    assert sfn_cache("wrap", EXAMPLE, "--bucket", "s3://one", "-o", out).returncode == 0
    diff = sfn_cache("wrap", EXAMPLE, "--bucket", "s3://two", "-o", out, "--diff")
    assert diff.returncode == 1
    changed = [line[1:] for line in diff.stdout.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    bucket_lines = [line for line in changed if '"bucket": ' in line]
    assert bucket_lines and all(len(line) <= WIDTH for line in bucket_lines)
    assert all('"bucket": ' in line or "'bucket':'s3://" in line for line in changed), "nothing else changed"


HAND_WRITTEN = """\
{
    "Comment": "hand written",
    "StartAt": "Fetch",
    "States": {
        "Fetch": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fetch",
            "Retry": [ { "ErrorEquals": [ "States.ALL" ], "MaxAttempts": 2 } ],
            "Next": "Train"
        },
        "Train": {
            "Type" : "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:train",
            "End": true
        }
    }
}
"""


def test_a_json_input_keeps_its_own_text_where_nothing_changed(tmp_path):
    """The diff against the input removes only the lines whose values changed (and a bracket or two);
    the user's one-line lists, spacing and 4-space indentation stay as written."""
    source = tmp_path / "machine.asl.json"
    source.write_text(HAND_WRITTEN)
    result = sfn_cache("wrap", source, "--include", "Train", "--diff")
    assert result.returncode == 1, result.stderr
    removed = [line[1:].strip() for line in result.stdout.splitlines() if line[:1] == "-" and line[:3] != "---"]
    changed = set(removed) - {"}", "},", "]", "],"}
    # Train's End becomes its Next; difflib may pair that line with a generated state's "End": true instead
    assert {'"StartAt": "Fetch",', '"Next": "Train"'} <= changed <= {'"StartAt": "Fetch",', '"Next": "Train"',
                                                                   '"End": true'}
    written = sfn_cache("wrap", source, "--include", "Train").stdout
    assert '            "Retry": [ { "ErrorEquals": [ "States.ALL" ], "MaxAttempts": 2 } ],\n' in written
    assert '            "Type" : "Task",\n' in written
    assert '        "cache_pull_Train": {\n            "Type": "Task",\n' in written, "generated: its indentation"
    assert json.loads(written)["States"]["Fetch"]["Next"] == "cache_pull_Train"
    unchanged = tmp_path / "unchanged.asl.json"
    unchanged.write_text(HAND_WRITTEN)
    assert sfn_cache("wrap", unchanged, "--exclude", "*").stdout == HAND_WRITTEN, "nothing wrapped"


YAML_MACHINE = """\
# The nightly pipeline: fetch, then train.
Comment: nightly
StartAt: Fetch
States:
  # get the data
  Fetch:
    Type: Task
    Resource: arn:aws:lambda:us-east-1:123456789012:function:fetch
    Retry: &retry
      - ErrorEquals: [States.TaskFailed]   # flaky upstream
        MaxAttempts: 3
    Next: Train
  Train:
    Type: Task
    Resource: arn:aws:lambda:us-east-1:123456789012:function:train
    Parameters: &params
      bucket: data
      key.$: $.key
    Retry: *retry
    Catch: &catch
      - ErrorEquals: [States.ALL]
        Next: Failed
    Next: Done
  Failed:
    Type: Fail
  Done:
    Type: Succeed
"""


def test_a_yaml_definition_keeps_its_comments_and_anchors(tmp_path):
    source = tmp_path / "machine.asl.yaml"
    source.write_text(YAML_MACHINE)
    result = sfn_cache("wrap", source, "--include", "Train")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "# The nightly pipeline: fetch, then train.\n" in text
    assert "  # get the data\n  Fetch:\n" in text, "the comment stays above its state"
    assert "      - ErrorEquals: [States.TaskFailed]   # flaky upstream\n" in text
    assert "    Retry: &retry\n" in text and "    Retry: *retry\n" in text
    assert "    Parameters: &params\n" in text, "an anchor no alias uses is kept too"
    assert "cache_pull_Train:\n    Type: Task\n" in text, "generated states in the file's block style"
    wrapped = yaml.safe_load(text)
    as_json = json.loads(sfn_cache("wrap", source, "--include", "Train", "--format", "json").stdout)
    assert wrapped == as_json, "the same definition as the JSON output"
    assert all(len(line) <= WIDTH or long_line_is_a_long_string(line, False) for line in text.splitlines())
    source.write_text(text)
    assert sfn_cache("wrap", source, "--include", "Train").stdout == text, "a re-wrap changes nothing"
    source.write_text(YAML_MACHINE)
    assert sfn_cache("wrap", source, "--exclude", "*").stdout == YAML_MACHINE, "nothing wrapped: as it was"


CATCHES = """\
StartAt: A
States:
  A:
    Type: Task
    Resource: arn:aws:lambda:us-east-1:123456789012:function:a
    Catch: &catch
      - ErrorEquals: [States.ALL]
        Next: Train   # recover
    Next: B
  B:
    Type: Task
    Resource: arn:aws:lambda:us-east-1:123456789012:function:b
    Catch: *catch
    Next: Train
  Train: &train
    Type: Task
    Resource: arn:aws:lambda:us-east-1:123456789012:function:train
    End: true
  Again: *train
"""


def test_an_anchor_stays_where_its_node_changes_alike_and_expands_where_it_does_not(tmp_path):
    """Every Catch into Train now goes to Train's pull: the anchored Catch changes the same way at both
    sites, so it stays one anchor and an alias. Train's own body changes but its alias Again's does
    not: Train gets its own copy, Again keeps the original (written out, the anchor no longer needed)."""
    source = tmp_path / "machine.asl.yaml"
    source.write_text(CATCHES)
    result = sfn_cache("wrap", source, "--include", "Train")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.count("Catch: &catch\n") == 1 and text.count("Catch: *catch\n") == 1
    assert "        Next: cache_pull_Train # recover\n" in text
    wrapped = yaml.safe_load(text)
    assert wrapped == json.loads(sfn_cache("wrap", source, "--include", "Train", "--format", "json").stdout)
    assert wrapped["States"]["Again"] == yaml.safe_load(CATCHES)["States"]["Again"]
    assert wrapped["States"]["Train"]["Next"] == "cache_check_Train"  # its size check, then its push


def test_compact_is_byte_minimal_and_deterministic(tmp_path):
    first = sfn_cache("wrap", EXAMPLE, "--compact")
    assert first.returncode == 0
    document = json.loads(first.stdout)
    assert first.stdout == json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    assert sfn_cache("wrap", EXAMPLE, "--compact").stdout == first.stdout
    default = sfn_cache("wrap", EXAMPLE).stdout
    assert json.loads(default) == document and len(default) > len(first.stdout)
