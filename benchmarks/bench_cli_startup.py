"""Seconds until the command line answers: ``sgtheory --help``, every ``sgtheory <cmd> --help`` and option errors.

Each command runs as a fresh process (the installed ``sgtheory`` script of this environment) ``--repeats`` times
after one warm-up; the table gives the median and the minimum wall time and the peak resident memory of the
process (``os.wait4``). Baselines in the same run: ``python -c pass`` (the interpreter alone) and ``python -c
"import torch"`` (what every command paid before issue 17, when the CLI imported torch, pandas and matplotlib before
parsing). Goal: every answer under 0.5 s. The option errors are a bad value (``train --N abc``), an unknown option
(``train --bogus``) and a config value refused by validation (``train --delay 7``: the XOR task needs an even
delay); each must exit with code 2, every help with 0.

Speed is measured here, never asserted in tests (tests/test_bench_cli_startup.py runs a tiny configuration).

Usage: .venv/bin/python benchmarks/bench_cli_startup.py [--repeats 5] [--commands train lyap ...]
                                                        [--out benchmarks/out/bench_cli_startup.json]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

from common import Timer, finish_report, machine_info  # noqa: E402  (benchmarks/ is on sys.path)

from sgtheory.cli import cli

GOAL_S = 0.5
PYTHON = sys.executable
SCRIPT = str(Path(PYTHON).parent / "sgtheory")
ERRORS = (("train", "--N", "abc"), ("train", "--bogus"), ("train", "--delay", "7"))


# Forks, execs and reaps the command in a small interpreter of its own, so the child's peak resident memory starts
# from that interpreter's few MiB, not from this process's (a forked child's peak includes its parent's pages).
LAUNCHER = """import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def timed(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak resident MiB and exit code of one process running ``argv``."""
    wall, kib, code = subprocess.run([PYTHON, "-S", "-c", LAUNCHER, *argv], capture_output=True, text=True,
                                     check=True).stdout.split()
    return float(wall), int(kib) / 1024, int(code)


def measure(name: str, argv: list[str], repeats: int) -> dict:
    timed(argv)  # warm-up: file caches
    runs = [timed(argv) for _ in range(repeats)]
    walls = [wall for wall, _, _ in runs]
    entry = {"command": name, "exit_codes": sorted({code for _, _, code in runs}), "median_s": statistics.median(walls),
             "min_s": min(walls), "max_s": max(walls), "peak_mib": max(mib for _, mib, _ in runs)}
    print(f"| `{name}` | {entry['median_s']:.3f} | {entry['min_s']:.3f} | {entry['peak_mib']:.0f} "
          f"| {', '.join(map(str, entry['exit_codes']))} |", flush=True)
    return entry


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each command after one warm-up")
    parser.add_argument("--commands", nargs="+", help="the commands whose --help is timed (default: all)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_cli_startup.json"))
    args = parser.parse_args(argv)
    timer = Timer()
    commands = args.commands or cli.list_commands(None)

    print(f"wall seconds of a fresh process, median and minimum of {args.repeats} runs after a warm-up\n")
    print("| command | median s | min s | peak MiB | exit |")
    print("|---|---:|---:|---:|---:|")
    baselines = [measure("python -c pass", [PYTHON, "-c", "pass"], args.repeats),
                 measure("python -c 'import torch'", [PYTHON, "-c", "import torch"], args.repeats)]
    answers = [measure("sgtheory --help", [SCRIPT, "--help"], args.repeats)]
    answers += [measure(f"sgtheory {name} --help", [SCRIPT, name, "--help"], args.repeats) for name in commands]
    answers += [measure("sgtheory " + " ".join(error), [SCRIPT, *error], args.repeats) for error in ERRORS]
    slowest = max(answers, key=lambda entry: entry["median_s"])
    goal = {"goal_s": GOAL_S, "slowest": slowest["command"], "slowest_median_s": slowest["median_s"],
            "met": slowest["median_s"] < GOAL_S}
    print(f"\nslowest answer: `{slowest['command']}` {slowest['median_s']:.3f} s (goal < {GOAL_S} s: "
          f"{'met' if goal['met'] else 'NOT met'})")
    report = {"machine": machine_info(), "config": {"repeats": args.repeats, "commands": commands},
              "baselines": baselines, "answers": answers, "goal": goal}
    return finish_report(report, timer, args.out)


if __name__ == "__main__":
    main()
