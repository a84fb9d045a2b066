"""Speed of the balanced-network DMFT (balanced spec §2.5; issue 18): the reference example on one core.

1. ``reference``: :func:`sgtheory.functional.dmft.balanced_dmft` on the example of the reference README (g = 1.6,
   f = 1.0/τ, I1 = 0.8·√5000, I0 = J0 = 1, N = 5000, 2^13 Euler steps of dt = 2^−4, band 2^9, λ1 included), timed
   once on one thread. Goal (issue 18): under 10 minutes.
2. ``quadrature``: the cost of one pair of Gaussian integrals (Q and Q') in our vectorised form (all lags of a band at
   once) against the baseline of the same quadrature called lag by lag (a Python loop, one integral pair per call,
   as a scalar adaptive-quadrature loop would), over the same 256 random (a1, a2, ρ), measured in the same run.

Usage: .venv/bin/python benchmarks/bench_dmft.py [--quick] [--out benchmarks/out/bench_dmft.json]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy (and its BLAS) is loaded

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import Timer, finish_report, machine_info  # noqa: E402

from sgtheory.functional.dmft import _pair_moments, balanced_dmft  # noqa: E402

REFERENCE = {"g": 1.6, "f": 1.0, "I1": 0.8 * math.sqrt(5000), "I0": 1.0, "N": 5000, "J0": 1.0, "dt": 2**-4,
             "steps": 2**13, "band": 2**9}
QUICK = {**REFERENCE, "steps": 2**9, "band": 2**5}
GOAL_S = 600.0


def quadrature(order: int = 40, lags: int = 256, reps: int = 5) -> dict:
    rng = np.random.default_rng(0)
    a1, a2 = rng.normal(size=lags), rng.normal(size=lags)
    rho = rng.uniform(-0.5, 0.99, size=lags)
    nodes, weights = np.polynomial.legendre.leggauss(order)
    times_vec, times_loop = [], []
    for _ in range(reps):
        t = time.perf_counter()
        Q, Qp = _pair_moments(a1, a2, rho, nodes, weights)
        times_vec.append(time.perf_counter() - t)
        t = time.perf_counter()
        loop = [_pair_moments(a1[i:i + 1], a2[i:i + 1], rho[i:i + 1], nodes, weights) for i in range(lags)]
        times_loop.append(time.perf_counter() - t)
    diff = max(abs(Q - np.array([q[0][0] for q in loop])).max(), abs(Qp - np.array([q[1][0] for q in loop])).max())
    vec, base = float(np.median(times_vec)) / lags, float(np.median(times_loop)) / lags
    return {"order": order, "lags": lags, "ours_us_per_pair": vec * 1e6, "loop_us_per_pair": base * 1e6,
            "speedup": base / vec, "max_abs_diff": float(diff)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2^9 steps, band 2^5 instead of the reference example")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_dmft.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    timer = Timer()
    params = QUICK if args.quick else REFERENCE
    t = time.perf_counter()
    res = balanced_dmft(**params)
    elapsed = time.perf_counter() - t
    pairs = params["steps"] * (params["band"] + 1) * 1.5  # Q on every step, Q' on the second half
    quad = quadrature(reps=2 if args.quick else 5)
    reference = {"params": params, "seconds": elapsed, "lambda1": res.lambda1, "final_rate": float(res.rate[-1]),
                 "integral_pairs": pairs, "us_per_pair": elapsed / pairs * 1e6}
    goal = {"reference_under_s": GOAL_S, "met": None if args.quick else elapsed < GOAL_S}
    print(f"DMFT {'quick' if args.quick else 'reference'} example: {elapsed:.1f} s (goal < {GOAL_S:.0f} s for the "
          f"reference), λ1 = {res.lambda1:+.4f}/τ; quadrature {quad['ours_us_per_pair']:.2f} µs per pair vectorised "
          f"vs {quad['loop_us_per_pair']:.1f} µs lag by lag ({quad['speedup']:.0f}x)")
    report = {"machine": machine_info(), "config": {"quick": args.quick}, "reference": reference,
              "quadrature": quad, "goals": {"reference_under_10_min": goal}}
    return finish_report(report, timer, args.out)


if __name__ == "__main__":
    main()
