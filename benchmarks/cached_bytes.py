"""Bytes a cached task adds to a definition: as written by ``wrap`` and minified.

Wraps the bundled example (examples/ml_pipeline.asl.json, 6 Task states in a Map and a Parallel),
a one-task definition and a flat chain of 300 Lambda tasks with default options, and prints the
growth per wrapped task and the whole file's growth factor; for the chain, also how many such tasks
fit under Step Functions' 1 MB definition quota (from the bytes of 300 and 301 tasks: the growth is
linear). Checks that every Task was wrapped (status printed). ``--source`` runs the sfn_cache of
other source trees side by side (e.g. a checkout of main: before/after).

Goal: at most half the bytes the cached form once added (7cb23e7: 3,398 bytes for one Lambda task,
4,435 for the example), so at most 1,699 bytes per task for one task and 2,217 for the example, plus
250 for a JSONPath task's JSONPath push (issue 27), in the byte-minimal form (minified: what ``wrap
--compact`` writes for a machine near the quota; the default layout spends bytes on indentation a
reviewer can read, docs/performance.md); exit 1 when missed (CHANGES.md has the history of these figures).

    python benchmarks/cached_bytes.py [--source before=DIR --source after=.]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from source_tree import goal_status, parse_sources

ROOT = Path(__file__).resolve().parents[1]
ISSUE_FILED_PER_TASK = {"example": 4435, "one task": 3398}  # as written, by this script on 7cb23e7
# issue 27 point 3: a JSONPath task's result and output may not pass through JSONata, so its push is
# JSONPath behind a JSONata size check (docs/cached-form.md): about 230 bytes more per task
JSONPATH_PUSH_BYTES = 250
GOALS = {name: figure // 2 + JSONPATH_PUSH_BYTES for name, figure in ISSUE_FILED_PER_TASK.items()}
QUOTA = 1_048_576  # Step Functions' definition size, in bytes
ARN = "arn:aws:lambda:us-east-1:123456789012:function:work"
ONE_TASK = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": ARN, "End": True}}}


def chain(tasks: int) -> dict:
    """A flat chain of Lambda tasks: the largest machines users wrap are long pipelines."""
    names = [f"Step{i}" for i in range(tasks)]
    return {"StartAt": names[0], "States": {
        name: {"Type": "Task", "Resource": ARN, **({"Next": names[i + 1]} if i + 1 < tasks else {"End": True})}
        for i, name in enumerate(names)}}


def minified(text: str) -> int:
    return len(json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False).encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", default=[], metavar="LABEL=DIR")
    args = parser.parse_args()
    tools = parse_sources(args.source) or {"installed": [str(Path(sys.executable).with_name("sfn-cache"))]}
    missed = []
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {"example": ROOT / "examples" / "ml_pipeline.asl.json"}
        for name, definition in (("one task", ONE_TASK), ("chain 300", chain(300)), ("chain 301", chain(301))):
            inputs[name] = Path(tmp, name.replace(" ", "_") + ".asl.json")
            inputs[name].write_text(json.dumps(definition, indent=2) + "\n")
        print(f"{'input':9} {'tool':11} {'Tasks':>5} | {'B/task as written':>17} {'growth':>6} | "
              f"{'B/task minified':>15} {'growth':>6} | status")
        sizes: dict[tuple[str, str], tuple[int, int]] = {}
        for name, source in inputs.items():
            text = source.read_text()
            tasks = sum(1 for line in text.splitlines() if '"Type": "Task"' in line)
            for label, argv in tools.items():
                # the example's NotifyFailure is a side effect, left uncached unless named: name it, so that
                # every task is cached and bytes per task stay bytes per cached task
                named = ["--include", "*", "--include", "NotifyFailure"] if name == "example" else []
                wrapped = subprocess.run(argv + ["wrap", str(source), "-v", *named], check=True, capture_output=True,
                                         text=True)
                done = sum(line.startswith("wrapped ") for line in wrapped.stderr.splitlines())
                status = "all wrapped" if done == tasks else f"{done} of {tasks} wrapped"
                sizes[name, label] = len(wrapped.stdout.encode()), minified(wrapped.stdout)
                if name == "chain 301":
                    continue
                written = (len(wrapped.stdout.encode()) - len(text.encode())) / tasks
                mini = (minified(wrapped.stdout) - minified(text)) / tasks
                print(f"{name:9} {label:11} {tasks:>5} | {written:>17.0f} {len(wrapped.stdout) / len(text):>5.1f}x | "
                      f"{mini:>15.0f} {minified(wrapped.stdout) / minified(text):>5.1f}x | {status}")
                if done != tasks:
                    missed.append(f"{name} {label}: {status}")
                if name in GOALS and mini > GOALS[name]:
                    missed.append(f"{name} {label}: {mini:.0f} bytes per task minified (goal {GOALS[name]})")
        for label in tools:
            fits = []
            for form, index in (("as written", 0), ("minified", 1)):
                last, step = (sizes["chain 300", label][index],
                              sizes["chain 301", label][index] - sizes["chain 300", label][index])
                fits.append(f"{300 + (QUOTA - last) // step:,} {form} ({last:,} bytes for 300)")
            print(f"Lambda tasks in a flat chain under the 1 MB quota, {label}: " + ", ".join(fits))
    return goal_status(missed)


if __name__ == "__main__":
    sys.exit(main())
