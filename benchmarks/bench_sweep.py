"""Sweep throughput with 1 and 2 workers, and the per-task overhead of the Dask path vs the process pool.

Every task sets one torch thread; the client is this process. Each measurement is a fresh sweep into an empty
folder (nothing resumed) through ``sgtheory.sweep.run_sweep``, timed from the call to the collected table, so
it includes starting the executor (spawning the pool or the local Dask cluster on 127.0.0.1, and the workers'
first import of torch).

1. Throughput: ``--runs`` training runs (binary RNN, N 32, T 60, delay 8, batch 16, ``--epochs`` epochs), each
   its own condition (the learning rates differ), so every run is one task. Runs per minute on: inline (one
   worker, the baseline), processes with 2 workers, Dask with 1 and 2 workers.
2. Per-task overhead: sweeps of tiny tasks (sigmoid-bias scans of 101 points, ~1 ms of work, one condition per
   task) with ``--small`` and ``--small + --extra`` tasks. The marginal wall time per task is (wall(large) −
   wall(small)) / extra; the per-task overhead is that marginal time × workers − the inline marginal time
   (what a task costs a worker beyond its own work: pickling, scheduling, the round trip to the client), and the
   start-up is wall(small) − small × the marginal time (spawning the workers, their imports, connecting).

Speed is measured here, never asserted in tests (tests/test_bench_sweep.py runs a tiny configuration).

Usage: .venv/bin/python benchmarks/bench_sweep.py [--runs 8] [--epochs 400] [--small 10] [--extra 100]
                                                  [--executors inline processes dask]
                                                  [--out benchmarks/out/bench_sweep.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from sgtheory.executors import Executor
from sgtheory.experiments.configs.sigmoid_bias import SigmoidBiasConfig
from sgtheory.experiments.configs.train import TrainConfig
from sgtheory.sweep import run_sweep


def training_runs(runs: int, epochs: int) -> list[TrainConfig]:
    return [TrainConfig(model="binary", N=32, T=60, delay=8, batch=16, epochs=epochs, record_every=epochs,
                        lr=1e-3 * (1 + i / runs)) for i in range(runs)]


def tiny_tasks(n: int) -> list[SigmoidBiasConfig]:
    return [SigmoidBiasConfig(scan_points=101, slope=10.0 + i) for i in range(n)]


def timed_sweep(experiment: str, configs: list, executor: Executor) -> float:
    """Wall seconds of a fresh sweep of ``configs`` on ``executor``."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        outcome = run_sweep(experiment, configs, Path(folder) / "t.parquet", executor=executor)
        wall = time.perf_counter() - start
    if not outcome.failures.empty:
        raise RuntimeError(f"benchmark sweep failed: {outcome.failures['message'].iloc[0]}")
    return wall


def executors(kinds: list[str]) -> dict[str, Executor]:
    every = {"inline": Executor("inline", workers=1), "processes, 2 workers": Executor("processes", workers=2),
             "dask, 1 worker": Executor("dask", workers=1), "dask, 2 workers": Executor("dask", workers=2)}
    return {name: executor for name, executor in every.items() if executor.kind in kinds}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--extra", type=int, default=100)
    parser.add_argument("--executors", nargs="+", default=["inline", "processes", "dask"])
    parser.add_argument("--out", default="benchmarks/out/bench_sweep.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    throughput, overhead = {}, {}
    for name, executor in executors(args.executors).items():
        wall = timed_sweep("train", training_runs(args.runs, args.epochs), executor)
        throughput[name] = {"workers": executor.workers, "wall_s": wall, "runs_per_min": 60 * args.runs / wall}
        print(f"throughput  {name:22s} {args.runs} runs in {wall:6.1f} s = {60 * args.runs / wall:6.1f} runs/min",
              flush=True)
    for name, executor in executors(args.executors).items():
        if name == "dask, 1 worker":
            continue
        small = timed_sweep("sigmoid-bias", tiny_tasks(args.small), executor)
        large = timed_sweep("sigmoid-bias", tiny_tasks(args.small + args.extra), executor)
        marginal = (large - small) / args.extra
        overhead[name] = {"workers": executor.workers, "wall_small_s": small, "wall_large_s": large,
                          "marginal_ms": 1e3 * marginal, "startup_s": small - args.small * marginal}
        print(f"tiny tasks  {name:22s} {args.small} tasks {small:6.2f} s, {args.small + args.extra} tasks "
              f"{large:6.2f} s: {1e3 * marginal:6.1f} ms wall per extra task, start-up "
              f"{small - args.small * marginal:5.2f} s", flush=True)
    if "inline" in overhead:
        for entry in overhead.values():
            entry["overhead_ms"] = entry["marginal_ms"] * entry["workers"] - overhead["inline"]["marginal_ms"]
    for name, entry in overhead.items():
        if "overhead_ms" in entry and name != "inline":
            print(f"per-task overhead  {name:22s} {entry['overhead_ms']:6.1f} ms")

    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                          "load_average": os.getloadavg()},
              "settings": vars(args), "throughput": throughput, "tiny_tasks": overhead}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
