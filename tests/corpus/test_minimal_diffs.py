"""An in-place wrap of a template changes its state machines and nothing else: measured over every
corpus template as lines changed outside the state machine resources (goal and bound: zero)."""

from __future__ import annotations

import difflib
import functools
import shutil

from ruamel.yaml import YAML

from tests.support.cli import wrap as wrap_cli
from tests.support.corpus import MACHINE_TYPES, TEMPLATES, per_file, tally

wrap = functools.partial(wrap_cli, "--no-config")  # a template wraps the same wherever the test runs
CACHE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:sfn-cache"  # for templates without the function


def machine_lines(text: str) -> list[tuple[int, int]]:
    """[first, last] line of each state machine resource's own content (this test's own reading:
    a resource runs from its key to the next key, less the blank and comment lines before that key)."""
    tree = YAML().load(text)
    lines = text.splitlines()
    top = list(tree)
    following = top[top.index("Resources") + 1:]
    limit = tree.lc.key(following[0])[0] if following else len(lines)
    resources = tree["Resources"]
    names = list(resources)
    spans = []
    for index, name in enumerate(names):
        start = resources.lc.key(name)[0]
        end = resources.lc.key(names[index + 1])[0] if index + 1 < len(names) else limit
        while not lines[end - 1].strip() or lines[end - 1].strip().startswith("#"):
            end -= 1
        if isinstance(resources[name], dict) and resources[name].get("Type") in MACHINE_TYPES:
            spans.append((start, end - 1))
    return spans


def lines_changed_outside(before: str, after: str) -> tuple[int, int]:
    """(lines changed outside the state machines, all lines changed) between two versions."""
    spans = machine_lines(before)

    def inside(line: int, end_inclusive: bool = False) -> bool:
        return any(first <= line <= last + (1 if end_inclusive else 0) for first, last in spans)

    old, new = before.splitlines(), after.splitlines()
    outside = total = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        total += (i2 - i1) + (j2 - j1)
        outside += sum(1 for line in range(i1, i2) if not inside(line))
        if j2 > j1 and not (inside(i1, end_inclusive=True) or any(inside(line) for line in range(i1, i2))):
            outside += j2 - j1  # lines added between resources, or under the next resource's comment
    return outside, total


def test_the_measure_sees_a_change_outside():
    before = "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n  # next\n  B:\n    Type: X\n"
    moved = before.replace("  # next\n", "  # next\n    Extra: 1\n")
    assert lines_changed_outside(before, moved) == (1, 1)
    assert lines_changed_outside(before, before.replace("X\n", "Y\n")) == (2, 2)
    assert lines_changed_outside(before, before.replace("Machine\n", "Machine\n    Extra: 1\n")) == (0, 1)


@per_file(TEMPLATES)
def test_an_in_place_wrap_changes_nothing_outside_the_state_machines(path, tmp_path, record_property):
    work = tmp_path / "work"
    shutil.copytree(path.parent, work)
    source = work / path.name
    before = source.read_text(encoding="utf-8")
    result = wrap(source, "-o", source)
    if result.exit_code == 2 and "would invoke 'SfnCacheFunction'" in result.stderr:  # no caching function
        result = wrap(source, "--lambda-arn", CACHE_ARN, "-o", source)
    if result.exit_code != 0:
        tally(record_property, "minimal diffs", refused=1)
        return
    changed_outside, changed = lines_changed_outside(before, source.read_text(encoding="utf-8"))
    tally(record_property, "minimal diffs", written=1,
          **{"lines changed": changed, "lines changed outside the state machines": changed_outside})
    assert changed_outside == 0
