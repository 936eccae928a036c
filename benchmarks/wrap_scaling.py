"""Does ``wrap`` / ``explain`` / ``graph`` stay linear? Wall, CPU and peak RSS against the floor.

Generates four shapes of state machine at each size (Task states): a flat chain, a 10-deep nesting of
Parallel and Map, a wide Choice fanning out to every task, and one Parallel with a branch per task.
Each command runs as a user runs it (the installed ``sfn-cache`` next to this interpreter, one fresh
process per run, output to a file). Two floors, both the same interpreter doing only ``json.load``
and ``json.dumps`` (indent 2, as wrap writes) of one file: of the input file, and (for ``wrap``) of the
output file too, which is what any wrapper must at least write: a cached task is about ten times the
bytes of a plain one, so the output floor is the one a linear wrap can be held to.

Prints, per shape, command and size, the best of a few runs: wall s, CPU s (user + system), peak RSS
MiB, the input floor's wall s, the I/O floor's wall s / CPU s / RSS, and the ratios to the I/O floor;
then the growth exponent of wall time (the slope of log wall against log size from 1,000 Tasks up;
1.0 is linear).

From 1,000 Lambda tasks up, a wrapped definition is over Step Functions' 1 MB definition quota, and
from 2,000 over sfn-cache's own limit of 10,000 states in a definition: ``wrap`` refuses both (exit 2),
the quota after doing all the work. So each command runs with those two constants lifted
(``DEFINITION_QUOTA_BYTES``, ``MAX_STATES``, set before the command starts; the checks still run):
the output is written and the I/O floor has a file to read.

Goals, checked, exit 1 when one is missed: CPU time within 5x of the I/O floor's (CPU, not
wall: on a shared machine wall time measures the neighbours; both are printed), peak RSS within 3x of
the I/O floor's, and no super-linear growth (CPU exponent <= 1.15; the wall exponent is printed).

    python benchmarks/wrap_scaling.py                      # sizes 10,100,1000,5000,10000
    WRAP_SIZES=10,1000 python benchmarks/wrap_scaling.py   # a quick run
    python benchmarks/wrap_scaling.py --source before=DIR --source after=.
        # side by side, interleaved: the sfn_cache package of each source tree instead of the installed
        # one (e.g. a checkout of main as "before"), same floors, same minute of the same machine
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from source_tree import compile_package, goal_status, parse_sources

# Run sfn-cache with the definition quota lifted (see above); trees from before the layout move had quotas.py flat.
LIFT_QUOTA = ("import importlib\n"
              "for name, constant in (('sfn_cache.rewrite.quotas', 'DEFINITION_QUOTA_BYTES'), ('sfn_cache.quotas', "
              "'DEFINITION_QUOTA_BYTES'), ('sfn_cache.asl.model', 'MAX_STATES'), "
              "('sfn_cache.asl.limits', 'MAX_STATES'), "
              "('sfn_cache.model', 'MAX_STATES'), ('sfn_cache.limits', 'MAX_STATES')):\n"
              "    try:\n"
              "        setattr(importlib.import_module(name), constant, 1 << 40)\n"
              "    except ImportError:\n"
              "        pass\n")

SIZES = tuple(int(n) for n in os.environ.get("WRAP_SIZES", "10,100,1000,5000,10000").split(","))
SHAPES = ("flat", "nested", "choice", "parallel")
COMMANDS = {"wrap": ["wrap", "{file}", "-o", "{out}"], "explain": ["explain", "{file}"],
            "graph": ["graph", "{file}", "-o", "{out}"]}
FLOOR = "import json, sys; d = json.load(open(sys.argv[1])); open(sys.argv[2], 'w').write(json.dumps(d, indent=2))"
IO_FLOOR = "import json, sys; json.load(open(sys.argv[1])); d = json.load(open(sys.argv[2])); " \
           "open(sys.argv[3], 'w').write(json.dumps(d, indent=2))"
MAX_RATIO, MAX_RSS_RATIO, MAX_EXPONENT = 5.0, 3.0, 1.15
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:work"


def task(following: str | None) -> dict:
    return {"Type": "Task", "Resource": LAMBDA, "Parameters": {"x.$": "$.x"},
            **({"Next": following} if following else {"End": True})}


def chain(names: list[str], tail: tuple[str, dict] | None = None) -> dict:
    """Tasks one after the other, then ``tail`` (a named state) if given."""
    order = names + ([tail[0]] if tail else [])
    states = {name: task(order[i + 1] if i + 1 < len(order) else None) for i, name in enumerate(names)}
    if tail:
        states[tail[0]] = tail[1]
    return {"StartAt": order[0], "States": states}


def flat(n: int) -> dict:
    return chain([f"T{i}" for i in range(n)])


def nested(n: int, depth: int = 10) -> dict:
    """``depth`` levels, alternately Parallel and Map, each level holding its share of the tasks."""
    share = [n // depth + (1 if level < n % depth else 0) for level in range(depth)]
    names = iter(f"T{i}" for i in range(n))
    body: dict | None = None
    for level in reversed(range(depth)):
        own = [next(names) for _ in range(share[level])] or [f"Pad{level}"]
        if body is None:
            body = chain(own)
        elif level % 2:
            body = chain(own, (f"Map{level}", {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": body,
                                               "End": True}))
        else:
            body = chain(own, (f"Par{level}", {"Type": "Parallel", "Branches": [body], "End": True}))
    return body


def choice(n: int) -> dict:
    states = {"Route": {"Type": "Choice", "Default": "T0",
                        "Choices": [{"Variable": "$.k", "NumericEquals": i, "Next": f"T{i}"} for i in range(n)]}}
    states.update({f"T{i}": task("Done") for i in range(n)})
    states["Done"] = {"Type": "Succeed"}
    return {"StartAt": "Route", "States": states}


def parallel(n: int) -> dict:
    return {"StartAt": "Fan", "States": {"Fan": {"Type": "Parallel", "End": True,
                                                 "Branches": [chain([f"T{i}"]) for i in range(n)]}}}


def measure(argv: list[str], runs: int, timeout: float) -> dict | None:
    """Best wall of ``runs`` fresh processes, with that run's CPU and the highest peak RSS; None on timeout."""
    best = None
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                process.wait()
                return None
            time.sleep(0.002)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"FAILED ({os.waitstatus_to_exitcode(status)}): {' '.join(argv)}\n"
                             f"{process.stderr.read().decode()}")
        run = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024}
        if best is None or run["wall"] < best["wall"]:
            best = {**run, "rss": max(run["rss"], best["rss"] if best else 0)}
    return best


def exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(wall) against log(size)."""
    if len(points) < 2:
        return None
    xs, ys = [math.log(size) for size, _ in points], [math.log(wall) for _, wall in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", default=[], metavar="LABEL=DIR",
                        help="run the sfn_cache package in DIR instead of the installed one (repeatable)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a run counts as missed")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--commands", default=",".join(COMMANDS))
    args = parser.parse_args()
    tools = {label: argv[:3] + [argv[3].replace("from sfn_cache.cli", LIFT_QUOTA + "from sfn_cache.cli")] + argv[4:]
             for label, argv in parse_sources(args.source).items()}
    if not tools:
        compile_package()
        tools = {"installed": [sys.executable, "-c", LIFT_QUOTA + "import sys; sys.argv[0] = 'sfn-cache'\n"
                               "from sfn_cache.cli import main; main()"]}
    trees = {label: spec.partition("=")[2] for label, spec in zip(tools, args.source)} or {"installed": "site-packages"}
    print(f"wrap scaling: {', '.join(f'{label} = {tree}' for label, tree in trees.items())} (definition quota lifted); "
          f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; best of 3 runs below 5,000 Tasks, 1 above")
    print(f"{'shape':8} {'command':8} {'tool':9} {'Tasks':>6} | {'wall s':>6} {'cpu s':>6} {'RSS MiB':>7} | "
          f"{'in floor':>8} | {'I/O floor wall/cpu s, RSS':>25} | {'wall x':>6} {'cpu x':>5} {'RSS x':>5}")
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes.split(","):
            runs_of = [(command, label) for command in args.commands.split(",") for label in tools]
            walls: dict[tuple, list[tuple[int, float]]] = {key: [] for key in runs_of}
            cpus: dict[tuple, list[tuple[int, float]]] = {key: [] for key in runs_of}
            for size in SIZES:
                source, out = Path(tmp, f"{shape}-{size}.json"), Path(tmp, "out")
                source.write_text(json.dumps(globals()[shape](size), indent=2))
                runs = 3 if size < 5000 else 1
                floor = measure([sys.executable, "-c", FLOOR, str(source), str(out)], runs, args.timeout)
                for command, label in runs_of:
                    if walls[command, label] and walls[command, label][-1][1] is None:
                        continue  # timed out at a smaller size
                    argv = tools[label] + [part.format(file=source, out=out) for part in COMMANDS[command]]
                    got = measure(argv, runs, args.timeout)
                    if got is None:
                        print(f"{shape:8} {command:8} {label:9} {size:>6} | > {args.timeout:.0f} s (timed out)",
                              flush=True)
                        missed.append(f"{shape} {command} {label} {size}: timed out")
                        walls[command, label].append((size, None))
                        continue
                    io = floor if command != "wrap" else measure(
                        [sys.executable, "-c", IO_FLOOR, str(source), str(out), str(Path(tmp, "io"))],
                        runs, args.timeout)
                    ratio, cpu_ratio, rss_ratio = (got[field] / io[field] for field in ("wall", "cpu", "rss"))
                    print(f"{shape:8} {command:8} {label:9} {size:>6} | "
                          f"{got['wall']:>6.2f} {got['cpu']:>6.2f} {got['rss']:>7.0f} | "
                          f"{floor['wall']:>8.2f} | {io['wall']:>9.2f} {io['cpu']:>6.2f} {io['rss']:>6.0f} MiB | "
                          f"{ratio:>6.1f} {cpu_ratio:>5.1f} {rss_ratio:>5.1f}", flush=True)
                    walls[command, label].append((size, got["wall"]))
                    cpus[command, label].append((size, got["cpu"]))
                    if cpu_ratio > MAX_RATIO:
                        missed.append(f"{shape} {command} {label} {size}: {cpu_ratio:.1f}x the I/O floor's CPU time")
                    if rss_ratio > MAX_RSS_RATIO:
                        missed.append(f"{shape} {command} {label} {size}: {rss_ratio:.1f}x the I/O floor's peak RSS")
            for (command, label), points in walls.items():
                slope = exponent([(size, wall) for size, wall in points if size >= 1000 and wall is not None])
                cpu_slope = exponent([(size, cpu) for size, cpu in cpus[command, label] if size >= 1000])
                if slope is not None:
                    print(f"{shape:8} {command:8} {label:9} growth exponent from 1,000 Tasks: wall {slope:.2f}, "
                          f"CPU {cpu_slope:.2f}")
                    if cpu_slope > MAX_EXPONENT:
                        missed.append(f"{shape} {command} {label}: CPU growth exponent {cpu_slope:.2f}")
    return goal_status(missed)


if __name__ == "__main__":
    sys.exit(main())
