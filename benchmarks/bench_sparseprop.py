"""SparseProp (sparseprop_balanced spec §1.7, §1.10, §4.1–4.2): CPU time per network spike vs N for the phase-heap
algorithms and the conventional O(N) event-based baselines, in one run on one thread, plus numba's cold-compile time.

Network (decision D9: the reference scripts' example values): inhibitory balanced LIF network, K = 100, J0 = 1,
ν̄ = 1 Hz, τ = 10 ms, fixed out-degree without replacement (D4). For every N the network and initial phases are drawn
once, ``--warm`` spikes of SparseProp move the state off the uniform initial condition, and every algorithm then runs
from that same state: ``sparseprop`` (indexed d-ary heap of (key, id) records), ``sparseprop_lazy`` (kicks rewrite
the key only; stale roots fixed on top), ``conventional_numba`` (scalar compiled O(N) loop, the paper's kind of
baseline; D2) and ``conventional_numpy`` (vectorised O(N) loop). Each time is the minimum over ``--reps``
repetitions of the process CPU time of the loop divided by its number of spikes (SparseProp: ``--spikes``; the O(N)
loops: as many as fit in about ``--conv-budget`` seconds). The spike-index sequences of all algorithms must agree
(checked on the shortest run).

Training (decision D5): per N also the recording forward pass (``sparseprop_record``: the spikes plus every target's
phase before its kick, 8 bytes per synaptic event) and the adjoint's reverse sweep (``adjoint``, a loss with
∂L/∂t_s = 1), per spike, and their ratios to the plain forward pass (the issue's goal: backward ≤ 3× forward).

The Ω(K) floor of spec §4.1 (``floor_s``): SparseProp's own spike sequence replayed with no heap, each spike applying
the PTC to its K targets' phases in an N-array (a read, a PTC and a write per synaptic event; the K reads are issued
together before any PTC, so that they overlap in the memory system): the least an exact pulse-coupled method does per
spike, K·(t_ptc + t_mem), so η_SP = floor_s / sparseprop_s.

Reported next to the paper's digitized Julia timings (spec §1.10): ns per synaptic event (t/K), ns per event per heap
level (t/(K·log2 N), the spec's metric; our heap has ⌈log_d N⌉ levels, ``heap_levels``), speed-ups, and the fit
t = a + b·ln N of SparseProp (R²) over all sizes and within the sizes below and from ``--cache-N`` on (in and out of
the caches). Speed is measured, never asserted in tests (tests/test_bench_sparseprop.py checks the JSON on tiny sizes).
The CSR targets take 4·N·K bytes (4 GB at N = 10⁷): a size that would not fit in 80 % of the available memory stops
the run with a message before anything is drawn.

Cold compile: a fresh interpreter with an empty NUMBA_CACHE_DIR imports the module and compiles every loop
(:func:`sgtheory.functional.sparseprop.warm_up`); a second one loads them from that cache.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy (and its BLAS) is loaded

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
from common import Timer, finish_report, machine_info  # noqa: E402  (benchmarks/ is on sys.path)

from sgtheory.functional import sparseprop as sp  # noqa: E402

K, J0, RATE, TAU = 100, 1.0, 1.0, 0.01
HEAP = ("sparseprop", "sparseprop_lazy")
CONVENTIONAL = ("conventional_numba", "conventional_numpy")
# the paper's Julia timings (s per network spike; digitized, spec §1.10); conventional: ≈ 1.39 µs per neuron
PAPER_SPARSEPROP = {400: 6.24e-5, 1000: 6.27e-5, 10_000: 7.89e-5, 100_000: 8.97e-5, 1_000_000: 1.26e-4,
                    10_000_000: 1.46e-4}
PAPER_CONVENTIONAL_PER_NEURON = 1.39e-6

COMPILE_PROBE = """
import time
start = time.perf_counter()
from sgtheory.functional import sparseprop
imported = time.perf_counter()
sparseprop.warm_up()
print(imported - start, time.perf_counter() - imported)
"""


def compile_times() -> dict:
    """Seconds to import the module and to compile every loop with an empty numba cache (cold), then with it (warm)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = {}
        for name in ("cold", "cached"):
            done = subprocess.run([sys.executable, "-c", COMPILE_PROBE], env=env, capture_output=True, text=True,
                                  check=True)
            imported, compiled = map(float, done.stdout.split()[-2:])
            out[f"{name}_import_s"], out[f"{name}_compile_s"] = imported, compiled
    return out


def available_bytes() -> float:
    """MemAvailable of /proc/meminfo (bytes); infinity where there is no such file."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        return math.inf


@numba.njit(cache=True)
def _floor_loop(index, phi, indptr, indices, code, omega, c):
    new = np.empty(int(np.max(indptr[1:] - indptr[:-1])))
    for s in range(index.shape[0]):
        j = index[s]
        lo, hi = indptr[j], indptr[j + 1]
        for q in range(lo, hi):  # loads only: all K in flight at once
            new[q - lo] = phi[indices[q]]
        for q in range(hi - lo):
            new[q] = sp.ptc(code, new[q], omega, c)
        for q in range(lo, hi):
            phi[indices[q]] = new[q - lo]


def floor_per_spike(m: sp.PhaseModel, index: np.ndarray, phases: np.ndarray, indptr: np.ndarray,
                    indices: np.ndarray, reps: int) -> float:
    """CPU seconds per spike of the Ω(K) floor (module docstring), the minimum over ``reps``."""
    best = math.inf
    for _ in range(reps):
        phi = phases.copy()
        start = time.process_time()
        _floor_loop(index, phi, indptr, indices, m.code, m.omega, m.c)
        best = min(best, time.process_time() - start)
    return best / len(index)


def cpu_per_spike(algorithm: str, args: tuple, spikes: int, reps: int) -> tuple[float, np.ndarray]:
    best, index = math.inf, None
    for _ in range(reps):
        start = time.process_time()
        _, index, _ = sp.ALGORITHMS[algorithm](*args, spikes)
        best = min(best, time.process_time() - start)
    return best / spikes, index


def one_size(N: int, spikes: int, warm: int, conv_budget: float, reps: int, conventional: bool) -> dict:
    m = sp.phase_model("lif", K, J0, RATE, TAU)
    start = time.perf_counter()
    indptr, indices = sp.connectivity(N, K, np.random.default_rng(1))
    setup = time.perf_counter() - start
    offset, _, phases = sp.sparseprop(m, sp.initial_phases(m, N, np.random.default_rng(2)), indptr, indices, warm)
    t_warm = float(offset[-1]) * TAU / m.omega if warm else 0.0
    args = (m, phases, indptr, indices)
    row = {"N": N, "K": K, "spikes_heap": spikes, "connectivity_s": setup, "log2_N": math.log2(N)}
    sequences = {}
    for algorithm in HEAP:
        t, sequences[algorithm] = cpu_per_spike(algorithm, args, spikes, reps)
        row[f"{algorithm}_s"] = t
    best_record, best_backward = math.inf, math.inf
    for _ in range(reps):  # training (decision D5): the recording forward pass and the adjoint's reverse sweep
        start = time.process_time()
        offset, index, pre = sp.sparseprop_record(*args, spikes)
        best_record = min(best_record, time.process_time() - start)
        start = time.process_time()
        sp.adjoint(m, offset, index, pre, indptr, indices, np.ones(spikes), TAU)
        best_backward = min(best_backward, time.process_time() - start)
    row["record_s"], row["backward_s"] = best_record / spikes, best_backward / spikes
    row["backward_over_forward"] = row["backward_s"] / row["sparseprop_s"]
    row["training_over_forward"] = (row["record_s"] + row["backward_s"]) / row["sparseprop_s"]
    del pre
    offset, _, _ = sp.sparseprop(*args, spikes)
    row["mean_rate_hz"] = spikes / (N * (float(offset[-1]) * TAU / m.omega - t_warm)) if warm else float("nan")
    row["floor_s"] = floor_per_spike(m, sequences["sparseprop"], phases, indptr, indices, reps)
    row["floor_ns_per_event"] = 1e9 * row["floor_s"] / K
    row["eta_sparseprop"] = row["floor_s"] / row["sparseprop_s"]
    row["heap_levels"] = math.ceil(math.log(N * (sp.ARITY - 1) + 1, sp.ARITY))
    if conventional:
        probe, _ = cpu_per_spike("conventional_numba", args, 5, 1)
        n_conv = int(min(spikes, max(20, conv_budget / max(probe, 1e-9))))
        row["spikes_conventional"] = n_conv
        for algorithm in CONVENTIONAL:
            t, sequences[algorithm] = cpu_per_spike(algorithm, args, n_conv, reps)
            row[f"{algorithm}_s"] = t
    shortest = min(len(s) for s in sequences.values())
    row["same_spike_sequence"] = all(np.array_equal(s[:shortest], sequences["sparseprop"][:shortest])
                                     for s in sequences.values())
    for algorithm in HEAP:
        t = row[f"{algorithm}_s"]
        row[f"{algorithm}_ns_per_event"] = 1e9 * t / K
        row[f"{algorithm}_ns_per_event_level"] = 1e9 * t / (K * math.log2(N))
        if conventional:
            for base in CONVENTIONAL:
                row[f"{algorithm}_speedup_vs_{base}"] = row[f"{base}_s"] / t
    if conventional:
        row["conventional_numba_ns_per_neuron"] = 1e9 * row["conventional_numba_s"] / N
        row["conventional_numpy_ns_per_neuron"] = 1e9 * row["conventional_numpy_s"] / N
    row["paper_sparseprop_s"] = PAPER_SPARSEPROP.get(N)
    row["paper_conventional_s"] = PAPER_CONVENTIONAL_PER_NEURON * N
    return row


def log_fit(rows: list[dict], key: str) -> dict:
    """t = a + b·ln N by least squares, with R²."""
    x = np.log([r["N"] for r in rows])
    y = np.array([r[key] for r in rows])
    if len(rows) < 3:
        return {"a_s": None, "b_s": None, "r2": None}
    b, a = np.polyfit(x, y, 1)
    residual = y - (a + b * x)
    return {"a_s": float(a), "b_s": float(b), "r2": float(1 - residual.var() / y.var()) if y.var() > 0 else 1.0}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--spikes", type=int, default=100_000, help="network spikes per SparseProp timing")
    parser.add_argument("--warm", type=int, default=20_000, help="SparseProp spikes before the timings")
    parser.add_argument("--conv-budget", type=float, default=2.0, help="≈ seconds per conventional timing")
    parser.add_argument("--conv-max-N", type=int, default=1_000_000, help="no conventional runs above this N")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--cache-N", type=int, default=1_000_000, help="N from which the heap is out of the caches")
    parser.add_argument("--skip-compile", action="store_true", help="do not measure the cold-compile time")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_sparseprop.json"))
    args = parser.parse_args(argv)
    need = 4 * max(args.N) * K
    if need > 0.8 * available_bytes():
        sys.exit(f"error: N={max(args.N)} needs {need / 2**30:.1f} GiB of CSR targets; "
                 f"{available_bytes() / 2**30:.1f} GiB are available")
    timer = Timer()
    report = {"machine": machine_info(numba=numba.__version__), "network": {"model": "lif", "K": K, "J0": J0,
                                                                         "rate_hz": RATE, "tau_s": TAU}}
    report["compile"] = None if args.skip_compile else compile_times()
    sp.warm_up()
    rows = []
    for N in args.N:
        row = one_size(N, args.spikes, args.warm, args.conv_budget, args.reps, N <= args.conv_max_N)
        rows.append(row)
        shown = ("N", "same_spike_sequence", "mean_rate_hz", "backward_over_forward")
        print(json.dumps({k: (round(v, 9) if isinstance(v, float) else v) for k, v in row.items()
                          if k.endswith("_s") or k in shown}), flush=True)
    report["sizes"] = rows
    report["fit_log_N"] = {a: log_fit(rows, f"{a}_s") for a in HEAP}
    report["fit_log_N_in_cache"] = {a: log_fit([r for r in rows if r["N"] < args.cache_N], f"{a}_s") for a in HEAP}
    report["fit_log_N_out_of_cache"] = {a: log_fit([r for r in rows if r["N"] >= args.cache_N], f"{a}_s")
                                        for a in HEAP}
    at = {r["N"]: r for r in rows}
    report["goals"] = {
        "sparseprop_le_10us_at_1e6": at[1_000_000]["sparseprop_s"] <= 1e-5 if 1_000_000 in at else None,
        "sparseprop_lazy_le_10us_at_1e6": at[1_000_000]["sparseprop_lazy_s"] <= 1e-5 if 1_000_000 in at else None,
        "log_fit_r2_gt_0.95": {a: (f["r2"] > 0.95 if f["r2"] is not None else None)
                               for a, f in report["fit_log_N"].items()},
        "same_spike_sequences": all(r["same_spike_sequence"] for r in rows),
        "backward_le_3x_forward": all(r["backward_over_forward"] <= 3.0 for r in rows),
    }
    return finish_report(report, timer, args.out)


if __name__ == "__main__":
    main()
