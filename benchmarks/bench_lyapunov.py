"""Lyapunov-step and flossing-step speed: sgtheory's tangent-propagation engine vs a direct numpy version.

Everything runs on one thread (torch.set_num_threads(1); OpenBLAS/OMP/MKL_NUM_THREADS=1 are set before
numpy is imported). Network: the binary RNN x' = J H(x) + drive (H the Heaviside step, J = N(0, 1/N),
drive ~ N(0, 1) drawn afresh every step) with the fast-sigmoid surrogate derivative h(x) = 1/(1+|x|)^2,
so the tangent map of a step is D = diag(h(x')) J.

1. Lyapunov step = tangent product + re-orthonormalisation, for N in {80, 256, 1024}, k in {1, N/4, N}:

   - ``ours`` (float32 and float64): exactly the per-step work of ``lyapunov_spectrum``:
     ``Q = rate_tangent(x, x', Q, binary_params(J, surrogate))`` with the k tangent vectors as rows of Q
     (k, N), then the engine's thin QR ``q, R = qr(Q.mT); Q = q.mT`` (``torch.linalg.qr``'s Householder
     factors) and ``log_sum += log|diag R|``;
   - ``direct`` (numpy, float64 = the baseline; float32 shown for reference): the Jacobian formed
     explicitly, ``D = h(x')[:, None] * J``, ``Q = D @ Q`` with Q (N, k) as columns,
     ``Q, R = numpy.linalg.qr(Q)`` and ``log_sum += log|diag R|``.

   Both advance a real binary-RNN state every step, from the same J, x0, drive and Q0. Every step is
   timed on its own with ``time.perf_counter``: ``lyap`` = tangent + QR + log|diag R| (the state update
   excluded; its tangent-product part is reported as well, the rest is QR + logs), ``whole`` = state
   update + ``lyap``. The number of steps is chosen per (N, k) from a flop budget (fewer steps for the
   big sizes) and is the same for the four implementations (ours and direct, float32 and float64),
   which run interleaved in ``rounds`` chunks of consecutive steps (ours f32, direct f32, ours f64,
   direct f64, then again) so that all of them see the same load on the machine. The first ``warmup``
   steps of each are discarded and the median of the rest is reported. All four follow the same
   trajectory, so the float64 exponents of ``ours`` and ``direct`` must agree (``max_abs_diff_*`` in the
   JSON, max|Δλ| (same dtype) in the table).

2. Flops of a Lyapunov step, the same count for both implementations:

       flops(N, k) = 2 N^2 k                    (tangent product, N×N times N×k)
                   + 4 N k^2 - (4/3) k^3        (Householder thin QR of N×k: geqrf 2Nk^2 - (2/3)k^3,
                                                 explicit Q by orgqr another 2Nk^2 - (2/3)k^3)

   (the O(Nk) scaling by h and the O(k) logs are not counted). ``frac_peak`` = flops / median time
   divided by the matmul peak of the same dtype, measured in the same run as 2·1024^3 / median time of a
   1024×1024 @ 1024×1024 ``torch.mm`` on one thread.

3. ``speedup`` = time(direct float64) / time(ours) for every (N, k, dtype); ``speedup_same_dtype`` divides
   by the direct version in the dtype of ours instead. Goals of the issue (verdicts in the JSON):
   ours >= 2x faster than direct at N=256, k=64 in float64 and more than that in float32; the Lyapunov
   step at >= 40 % of the matmul peak for N=1024 (judged for each k and dtype; at k=1 the step is a
   matrix-vector product, bound by memory bandwidth, not by the flop peak).

4. Flossing step (float32): binary RNN N=80, k=75, Tp=55 steps with a transient of 16, surrogate
   fast_sigmoid slope 1: ``lyapunov_spectrum`` + ``flossing_loss`` + ``backward`` with respect to J,
   for R=1 realization and for R=9 realizations batched (J (R, N, N), state (R, 1, N), Q (R, k, N),
   drive (Tp, R, 1, N)), the two alternating call by call. Reported: median times, time(R=9)/time(R=1)
   (goal <= 3) and 9·time(R=1), the cost of nine sequential single-realization steps.

Speed is measured here, never asserted in tests (tests/test_bench_lyapunov.py checks the JSON and the
agreement of the exponents on tiny sizes).

Usage: .venv/bin/python benchmarks/bench_lyapunov.py [--quick] [--sizes 80 256 1024] [--floss-reps K]
                                                     [--out benchmarks/out/bench_lyapunov.json]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy (and its BLAS) is loaded

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import Timer, finish_report, machine_info  # noqa: E402  (benchmarks/ is on sys.path)

from sgtheory.functional.lyapunov import flossing_loss, lyapunov_spectrum, orthonormal_system, qr  # noqa: E402
from sgtheory.functional.neurons import binary_params, rate_step, rate_tangent  # noqa: E402
from sgtheory.functional.surrogate import make_surrogate  # noqa: E402

SURROGATE = make_surrogate("fast_sigmoid", 1.0)
DTYPES = {"float32": torch.float32, "float64": torch.float64}
NP_DTYPES = {"float32": np.float32, "float64": np.float64}

# Per-mode settings: flop budget per (N, k) run, bounds on the steps, discarded warm-up steps, peak reps.
MODES = {
    "full": {"flop_budget": 2e10, "min_steps": 40, "max_steps": 1500, "warmup": 5, "rounds": 5, "peak_reps": 20,
             "floss_reps": 40},
    "quick": {"flop_budget": 3e8, "min_steps": 5, "max_steps": 120, "warmup": 1, "rounds": 2, "peak_reps": 4,
              "floss_reps": 3},
}


# ---------------------------------------------------------------- flop counts and timing helpers


def tangent_flops(N: int, k: int) -> float:
    return 2.0 * N * N * k


def qr_flops(N: int, k: int) -> float:
    """Householder thin QR of an N×k matrix with the explicit Q factor (geqrf + orgqr)."""
    return 4.0 * N * k * k - 4.0 / 3.0 * k**3


def step_flops(N: int, k: int) -> float:
    return tangent_flops(N, k) + qr_flops(N, k)


def summary_ms(times: list[float], warmup: int) -> dict[str, float]:
    kept = times[warmup:] if len(times) > warmup else times
    return {"median_ms": 1e3 * statistics.median(kept), "min_ms": 1e3 * min(kept), "n": len(kept)}


def matmul_peak(dtype: torch.dtype, reps: int) -> dict[str, float]:
    """2·1024^3 / median time of a 1024×1024 @ 1024×1024 torch.mm (one warm-up call)."""
    n = 1024
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen, dtype=dtype)
    b = torch.randn(n, n, generator=gen, dtype=dtype)
    times = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    s = summary_ms(times, 1)
    return {**s, "gflops": 2.0 * n**3 / (s["median_ms"] * 1e-3) / 1e9}


# ---------------------------------------------------------------- one Lyapunov step, two implementations


def make_problem(N: int, k: int, steps: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """float64 J (N, N), x0 (1, N), drive (steps, 1, N) and orthonormal Q0 rows (k, N)."""
    gen = torch.Generator().manual_seed(seed)
    J = torch.randn(N, N, generator=gen, dtype=torch.float64) / math.sqrt(N)
    x0 = torch.randn(1, N, generator=gen, dtype=torch.float64)
    drive = torch.randn(steps, 1, N, generator=gen, dtype=torch.float64)
    Q0 = orthonormal_system((k, N), gen)
    return {"J": J, "x0": x0, "drive": drive, "Q0": Q0}


def ours_steps(prob: dict[str, torch.Tensor], dtype: str):
    """sgtheory's step as a generator: yields (lyap, whole, tangent part of lyap) in s after every step and
    returns the exponents (float64 numpy) after the last one."""
    J, x, drive, Q = (prob[n].to(DTYPES[dtype]) for n in ("J", "x0", "drive", "Q0"))
    params = binary_params(J, SURROGATE)
    log_sum = torch.zeros(Q.shape[0], dtype=Q.dtype)
    for drive_t in drive:
        t0 = time.perf_counter()
        x_new = rate_step(drive_t, x, params)[1]
        t1 = time.perf_counter()
        Q = rate_tangent(x, x_new, Q, params)
        tm = time.perf_counter()
        q, R = qr(Q.mT)
        Q = q.mT
        log_sum = log_sum + torch.log(torch.diagonal(R, dim1=-2, dim2=-1).abs())
        t2 = time.perf_counter()
        x = x_new
        yield t2 - t1, t2 - t0, tm - t1
    return (log_sum / len(drive)).double().numpy()


def direct_steps(prob: dict[str, torch.Tensor], dtype: str):
    """The same as ``ours_steps`` written directly in numpy with the Jacobian formed explicitly."""
    J, x, drive, Q0 = (prob[n].numpy().astype(NP_DTYPES[dtype]) for n in ("J", "x0", "drive", "Q0"))
    x, drive, Q = x[0], drive[:, 0], np.ascontiguousarray(Q0.T)
    log_sum = np.zeros(Q.shape[1], dtype=Q.dtype)
    for drive_t in drive:
        t0 = time.perf_counter()
        x_new = J @ (x > 0).astype(J.dtype) + drive_t
        t1 = time.perf_counter()
        D = (1.0 / (1.0 + np.abs(x_new)) ** 2)[:, None] * J
        Q = D @ Q
        tm = time.perf_counter()
        Q, R = np.linalg.qr(Q)
        log_sum += np.log(np.abs(np.diag(R)))
        t2 = time.perf_counter()
        x = x_new
        yield t2 - t1, t2 - t0, tm - t1
    return (log_sum / len(drive)).astype(np.float64)


def interleaved(runs: dict, steps: int, rounds: int) -> tuple[dict, dict]:
    """Advance the step generators ``runs`` round-robin, ``steps / rounds`` steps at a time (so that all
    of them see the same machine conditions); per-step times {name: [(lyap, whole, tangent), ...]} and
    exponents {name: array}."""
    times = {name: [] for name in runs}
    bounds = [round(i * steps / rounds) for i in range(rounds + 1)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        for name, gen in runs.items():
            times[name].extend(next(gen) for _ in range(hi - lo))
    exps = {}
    for name, gen in runs.items():
        try:
            next(gen)
        except StopIteration as stop:
            exps[name] = stop.value
    return times, exps


def run_ours(prob: dict[str, torch.Tensor], dtype: str) -> np.ndarray:
    """Exponents of sgtheory's steps over the whole drive of ``prob``."""
    return interleaved({"ours": ours_steps(prob, dtype)}, len(prob["drive"]), 1)[1]["ours"]


def run_direct(prob: dict[str, torch.Tensor], dtype: str) -> np.ndarray:
    """Exponents of the direct numpy steps over the whole drive of ``prob``."""
    return interleaved({"direct": direct_steps(prob, dtype)}, len(prob["drive"]), 1)[1]["direct"]


def n_steps(N: int, k: int, mode: dict) -> int:
    return int(min(mode["max_steps"], max(mode["min_steps"], math.ceil(mode["flop_budget"] / step_flops(N, k)))))


def bench_shape(N: int, k: int, mode: dict, peaks: dict[str, float]) -> list[dict]:
    """Rows (one per dtype of ours) for one (N, k)."""
    steps, warmup = n_steps(N, k, mode), mode["warmup"]
    prob = make_problem(N, k, steps, seed=N + k)
    flops = step_flops(N, k)
    runs = {(name, dtype): fn(prob, dtype) for dtype in DTYPES
            for name, fn in (("ours", ours_steps), ("direct", direct_steps))}
    times, exps = interleaved(runs, steps, min(mode["rounds"], steps))
    stats = {key: {part: summary_ms([t[i] for t in ts], warmup) for i, part in enumerate(("lyap", "whole", "tangent"))}
             for key, ts in times.items()}
    ours = {dtype: stats[("ours", dtype)] for dtype in DTYPES}
    direct = {dtype: stats[("direct", dtype)] for dtype in DTYPES}
    ref = exps[("direct", "float64")]
    rows = []
    for dtype in DTYPES:
        o, d, d64 = ours[dtype], direct[dtype], direct["float64"]
        o_ms, d_ms, d64_ms = o["lyap"]["median_ms"], d["lyap"]["median_ms"], d64["lyap"]["median_ms"]
        rows.append({
            "N": N, "k": k, "dtype": dtype, "steps": steps, "warmup": warmup, "flops_per_step": flops,
            "ours_lyap_ms": o_ms, "ours_whole_ms": o["whole"]["median_ms"], "ours_lyap_min_ms": o["lyap"]["min_ms"],
            "ours_tangent_ms": o["tangent"]["median_ms"], "direct_tangent_ms": d["tangent"]["median_ms"],
            "direct_lyap_ms": d_ms, "direct_whole_ms": d["whole"]["median_ms"],
            "direct_f64_lyap_ms": d64_ms, "direct_f64_whole_ms": d64["whole"]["median_ms"],
            "speedup": d64_ms / o_ms,
            "speedup_whole": d64["whole"]["median_ms"] / o["whole"]["median_ms"],
            "speedup_same_dtype": d_ms / o_ms,
            "ours_gflops": flops / (o_ms * 1e-3) / 1e9,
            "ours_frac_peak": flops / (o_ms * 1e-3) / 1e9 / peaks[dtype],
            "ours_whole_frac_peak": flops / (o["whole"]["median_ms"] * 1e-3) / 1e9 / peaks[dtype],
            "direct_frac_peak": flops / (d_ms * 1e-3) / 1e9 / peaks[dtype],
            # exponents after `steps` steps: ours vs direct float64, and vs the direct version of this dtype
            "max_abs_diff_vs_direct_f64": float(np.max(np.abs(exps[("ours", dtype)] - ref))),
            "max_abs_diff_vs_direct_same_dtype": float(np.max(np.abs(exps[("ours", dtype)] - exps[("direct", dtype)]))),
            "lambda1_ours": float(exps[("ours", dtype)][0]),
        })
    return rows


# ---------------------------------------------------------------- flossing step


def floss_step(R: int, N: int = 80, k: int = 75, Tp: int = 55, transient: int = 16):
    """A function running lyapunov_spectrum + flossing_loss + backward w.r.t. J for R realizations
    (float32) and returning its wall time in s."""
    gen = torch.Generator().manual_seed(R)
    dtype = torch.float32
    J = (torch.randn(R, N, N, generator=gen, dtype=dtype) / math.sqrt(N)).requires_grad_()
    x0 = torch.randn(R, 1, N, generator=gen, dtype=dtype)
    drive = torch.randn(Tp, R, 1, N, generator=gen, dtype=dtype)
    Q0 = orthonormal_system((R, k, N), gen, dtype=dtype)
    params = binary_params(J, SURROGATE)  # a named tuple around J: no computation

    def step(d, x):
        return rate_step(d, x, params)[1]

    def tangent(x, x_new, Q):
        return rate_tangent(x, x_new, Q, params)

    def timed() -> float:
        J.grad = None
        t0 = time.perf_counter()
        spec = lyapunov_spectrum(step, tangent, x0, drive, Q0, transient)
        flossing_loss(spec.exponents, k).backward()
        return time.perf_counter() - t0

    return timed


def bench_floss(reps: int) -> dict[str, float]:
    """R=1 and R=9 alternately, one warm-up call each, then ``reps`` timed calls each."""
    one, nine = floss_step(1), floss_step(9)
    t1, t9 = [], []
    for _ in range(reps + 1):
        t1.append(one())
        t9.append(nine())
    r1, r9 = summary_ms(t1, 1)["median_ms"], summary_ms(t9, 1)["median_ms"]
    return {"N": 80, "k": 75, "Tp": 55, "transient": 16, "dtype": "float32", "reps": reps,
            "R1_ms": r1, "R9_ms": r9, "ratio_R9_over_R1": r9 / r1, "sequential9_ms": 9 * r1,
            "sequential9_over_R9": 9 * r1 / r9,
            "R1_min_ms": summary_ms(t1, 1)["min_ms"], "R9_min_ms": summary_ms(t9, 1)["min_ms"]}


# ---------------------------------------------------------------- goals, table, main


def verdicts(rows: list[dict], floss: dict[str, float]) -> dict[str, dict]:
    by = {(r["N"], r["k"], r["dtype"]): r for r in rows}
    goals: dict[str, dict] = {}
    f64, f32 = by.get((256, 64, "float64")), by.get((256, 64, "float32"))
    goals["speedup_N256_k64_float64"] = {
        "goal": "ours >= 2x faster than direct (numpy float64), N=256 k=64 float64",
        "value": f64["speedup"] if f64 else None, "met": (f64["speedup"] >= 2.0) if f64 else None}
    goals["speedup_N256_k64_float32"] = {
        "goal": "float32 ours faster than direct float64 by more than float64 ours is, N=256 k=64",
        "value": f32["speedup"] if f32 else None,
        "met": (f32["speedup"] >= 2.0 and f32["speedup"] > f64["speedup"]) if (f32 and f64) else None}
    for (N, k, dtype), r in sorted(by.items()):
        if N == 1024:
            goals[f"peak_N1024_k{k}_{dtype}"] = {
                "goal": "Lyapunov step (tangent + QR) at >= 40 % of the matmul peak, N=1024",
                "value": r["ours_frac_peak"], "whole_step_value": r["ours_whole_frac_peak"],
                "met": r["ours_frac_peak"] >= 0.4}
    goals["floss_R9_over_R1"] = {"goal": "flossing step time(R=9) / time(R=1) <= 3",
                                 "value": floss["ratio_R9_over_R1"], "met": floss["ratio_R9_over_R1"] <= 3.0}
    return goals


def print_report(rows, peaks, floss, goals, steps_note) -> None:
    print(f"Lyapunov step (tangent + QR + log|diag R|), 1 thread, median per-step ms ({steps_note})")
    print(f"matmul peak (1024^3 torch.mm): float32 {peaks['float32']:.1f} GFLOP/s, "
          f"float64 {peaks['float64']:.1f} GFLOP/s\n")
    print("| N | k | dtype | steps | ours lyap | (tangent) | ours whole | direct f64 | direct same dtype | (tangent) "
          "| speedup vs f64 | speedup same dtype | ours % peak | ours whole % peak | direct % peak | max|Δλ| |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['N']} | {r['k']} | {r['dtype']} | {r['steps']} | {r['ours_lyap_ms']:.4f} "
              f"| {r['ours_tangent_ms']:.4f} | {r['ours_whole_ms']:.4f} | {r['direct_f64_lyap_ms']:.4f} "
              f"| {r['direct_lyap_ms']:.4f} | {r['direct_tangent_ms']:.4f} "
              f"| {r['speedup']:.2f} | {r['speedup_same_dtype']:.2f} | {100 * r['ours_frac_peak']:.1f} "
              f"| {100 * r['ours_whole_frac_peak']:.1f} | {100 * r['direct_frac_peak']:.1f} "
              f"| {r['max_abs_diff_vs_direct_same_dtype']:.1e} |")
    print(f"\nflossing step (N={floss['N']}, k={floss['k']}, Tp={floss['Tp']}, transient {floss['transient']}, "
          f"float32, forward + loss + backward, median of {floss['reps']})")
    print("| R=1 ms | R=9 batched ms | R=9 / R=1 (goal ≤ 3) | 9 × R=1 (sequential) ms | sequential / batched |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {floss['R1_ms']:.1f} | {floss['R9_ms']:.1f} | {floss['ratio_R9_over_R1']:.2f} "
          f"| {floss['sequential9_ms']:.1f} | {floss['sequential9_over_R9']:.2f} |")
    print("\ngoals")
    for name, g in goals.items():
        met = {True: "MET", False: "NOT MET", None: "not measured"}[g["met"]]
        value = "-" if g["value"] is None else f"{g['value']:.3g}"
        print(f"  {met:12s} {name}: {value}   ({g['goal']})")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="far fewer steps and repetitions (~20 s)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[80, 256, 1024], help="N values; k in {1, N/4, N}")
    ap.add_argument("--floss-reps", type=int, default=None, help="timed flossing steps per R (after 1 warm-up)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_lyapunov.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    mode = dict(MODES["quick" if args.quick else "full"])
    if args.floss_reps is not None:
        mode["floss_reps"] = max(1, args.floss_reps)

    timer = Timer()
    peak_stats = {name: matmul_peak(dt, mode["peak_reps"]) for name, dt in DTYPES.items()}
    peaks = {name: s["gflops"] for name, s in peak_stats.items()}
    rows = []
    for N in args.sizes:
        for k in sorted({1, max(1, N // 4), N}):
            rows.extend(bench_shape(N, k, mode, peaks))
    floss = bench_floss(mode["floss_reps"])
    goals = verdicts(rows, floss)

    note = f"{'quick' if args.quick else 'full'} mode, first {mode['warmup']} steps discarded"
    print_report(rows, peaks, floss, goals, note)
    report = {
        "machine": machine_info(),
        "config": {"quick": args.quick, "sizes": args.sizes, **mode, "surrogate": "fast_sigmoid slope 1.0",
                   "flops_formula": "2 N^2 k + 4 N k^2 - (4/3) k^3",
                   "timing": "per-step perf_counter; lyap = tangent + QR + log|diag R|; whole = state update + lyap"},
        "matmul_peak": peak_stats,
        "lyapunov_step": rows,
        "flossing_step": floss,
        "goals": goals,
    }
    return finish_report(report, timer, args.out)


if __name__ == "__main__":
    main()
