"""Bytes a cached task adds to a definition: as written by ``wrap`` and minified.

Wraps the bundled example (examples/ml_pipeline.asl.json, 6 Task states in a Map and a Parallel)
and a one-task definition with default options, and prints the growth per wrapped task and the
whole file's growth factor. Checks that every Task was wrapped (status printed). ``--source``
runs the sfn_cache of other source trees side by side (e.g. a checkout of main: before/after).

Goal (issue 13): half of the 3.4 KB per task (as written) that the issue measured, i.e. at most
1,700 bytes per task for the example; exit 1 when missed.

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
GOAL_PER_TASK = 1700
ONE_TASK = {"StartAt": "Work", "States": {"Work": {
    "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "End": True}}}


def minified(text: str) -> int:
    return len(json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False).encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", default=[], metavar="LABEL=DIR")
    args = parser.parse_args()
    tools = parse_sources(args.source) or {"installed": [str(Path(sys.executable).with_name("sfn-cache"))]}
    missed = []
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp, "one.asl.json")
        one.write_text(json.dumps(ONE_TASK, indent=2) + "\n")
        inputs = {"example": ROOT / "examples" / "ml_pipeline.asl.json", "one task": one}
        print(f"{'input':9} {'tool':10} {'Tasks':>5} | {'B/task as written':>17} {'growth':>6} | "
              f"{'B/task minified':>15} {'growth':>6} | status")
        for name, source in inputs.items():
            text = source.read_text()
            tasks = sum(1 for line in text.splitlines() if '"Type": "Task"' in line)
            for label, argv in tools.items():
                wrapped = subprocess.run(argv + ["wrap", str(source), "-v"], check=True, capture_output=True,
                                         text=True)
                done = wrapped.stderr.count("wrapped ")
                status = "all wrapped" if done == tasks else f"{done} of {tasks} wrapped"
                written = (len(wrapped.stdout.encode()) - len(text.encode())) / tasks
                mini = (minified(wrapped.stdout) - minified(text)) / tasks
                print(f"{name:9} {label:10} {tasks:>5} | {written:>17.0f} {len(wrapped.stdout) / len(text):>5.1f}x | "
                      f"{mini:>15.0f} {minified(wrapped.stdout) / minified(text):>5.1f}x | {status}")
                if done != tasks:
                    missed.append(f"{name} {label}: {status}")
                if name == "example" and written > GOAL_PER_TASK:
                    missed.append(f"{name} {label}: {written:.0f} bytes per task as written (goal {GOAL_PER_TASK})")
    return goal_status(missed)


if __name__ == "__main__":
    sys.exit(main())
