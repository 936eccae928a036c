"""How long ``sfn-cache --help`` and ``sfn-cache wrap --help`` take next to a bare ``python -c pass``.

Runs the installed console script (the one next to this interpreter) as a user would, RUNS times
each, interleaved so that a busy neighbour slows every command alike, and prints the best wall time
and the best CPU time (user + system) and their ratios to ``python -c pass`` (the best of the runs:
start-up cost is what is measured, and the noise of a shared machine only ever adds). The goal is
checked on CPU time: on a loaded machine a longer process is preempted more, so wall ratios grow
with the neighbours' load, not with the command's work. Also lists which heavy modules each command imports,
from ``-X importtime``, and wraps a small definition to show that ``wrap`` imports no boto3.

Goals, checked, exit 1 when one is missed: both ``--help`` within 3x of ``python -c pass``
(CPU time);
no boto3, botocore, disdat, pandas, ruamel, yaml or jsonpath_ng import for either ``--help``; no
boto3, botocore, disdat or pandas import for ``wrap`` of a definition.

    python benchmarks/cli_startup.py
    python benchmarks/cli_startup.py --source before=DIR --source after=.   # side by side (see --help)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from source_tree import goal_status, parse_sources

RUNS = 21
MAX_RATIO = 3.0
HEAVY = ("boto3", "botocore", "disdat", "pandas", "ruamel", "yaml", "jsonpath_ng")
NOT_FOR_WRAP = ("boto3", "botocore", "disdat", "pandas")
DEFINITION = {"StartAt": "Work", "States": {"Work": {
    "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "End": True}}}


def best_times(commands: dict[str, list[str]]) -> dict[str, tuple[float, float]]:
    """label -> (best wall s, best CPU s: user + system) over RUNS interleaved runs."""
    best = dict.fromkeys(commands, (float("inf"), float("inf")))
    for _ in range(RUNS):
        for label, argv in commands.items():
            started = time.perf_counter()
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"FAILED: {' '.join(argv)}")
            best[label] = (min(best[label][0], wall), min(best[label][1], usage.ru_utime + usage.ru_stime))
    return best


def heavy_imports(argv: list[str]) -> list[str]:
    """Top-level packages from HEAVY that ``argv`` (a python -m sfn_cache command) imports."""
    stderr = subprocess.run(argv, check=True, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}).stderr
    modules = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in stderr.splitlines()
               if line.startswith("import time:")}
    return sorted(modules & set(HEAVY))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", default=[], metavar="LABEL=DIR",
                        help="run the sfn_cache package in DIR (without site, like python -S) instead of the "
                             "installed script; repeatable, for before/after side by side")
    args = parser.parse_args()
    sources = parse_sources(args.source)
    if sources:  # (argv to time, argv under -X importtime); the floor runs without site too
        tools = {label: (argv, argv) for label, argv in sources.items()}
        floor_argv = [sys.executable, "-S", "-c", "pass"]
    else:
        tools = {"sfn-cache": ([str(Path(sys.executable).with_name("sfn-cache"))], [sys.executable, "-m", "sfn_cache"])}
        floor_argv = [sys.executable, "-c", "pass"]
    floor_label = " ".join(["python"] + floor_argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "one.asl.json")
        source.write_text(json.dumps(DEFINITION))
        wrap = ["wrap", str(source), "-o", str(Path(tmp, "out.json"))]
        cases = {"--help": ["--help"], "wrap --help": ["wrap", "--help"], "wrap (1 Task)": wrap}
        commands = {floor_label: floor_argv}
        commands.update({f"{label} {case}": timed + argv for label, (timed, _) in tools.items()
                         for case, argv in cases.items()})
        best = best_times(commands)
        imports = {f"{label} {case}": heavy_imports(probe + argv) for label, (_, probe) in tools.items()
                   for case, argv in cases.items()}
    floor_wall, floor_cpu = best[floor_label]
    print(f"CLI start-up: "
          f"{', '.join(f'{label} = {timed[-2] if sources else timed[0]}' for label, (timed, _) in tools.items())}; "
          f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; best of {RUNS} runs, interleaved")
    print(f"{'command':<32} | {'wall ms':>7} {'cpu ms':>6} | {'wall x':>6} {'cpu x':>5} | heavy imports   "
          f"(x = ratio to {floor_label})")
    missed = []
    for label, (wall, cpu) in best.items():
        heavy = imports.get(label)
        print(f"{label:<32} | {wall * 1000:>7.1f} {cpu * 1000:>6.1f} | "
              f"{wall / floor_wall:>6.1f} {cpu / floor_cpu:>5.1f} | "
              f"{'-' if heavy is None else ', '.join(heavy) or 'none'}")
        if label.endswith("--help"):
            if cpu / floor_cpu > MAX_RATIO:
                missed.append(f"{label}: {cpu / floor_cpu:.1f}x the CPU time of {floor_label} (goal {MAX_RATIO:.0f}x)")
            if heavy:
                missed.append(f"{label} imports {', '.join(heavy)}")
        elif heavy and set(heavy) & set(NOT_FOR_WRAP):
            missed.append(f"{label} imports {', '.join(sorted(set(heavy) & set(NOT_FOR_WRAP)))}")
    return goal_status(missed)


if __name__ == "__main__":
    sys.exit(main())
