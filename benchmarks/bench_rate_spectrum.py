"""Lyapunov spectra of continuous-time rate networks (sparseprop_balanced spec §4.4): sgtheory vs a plain numpy loop.

One thread everywhere (torch.set_num_threads(1); OpenBLAS/OMP/MKL_NUM_THREADS=1 before numpy is imported). Network:
h ← (1 − dt) h + dt J tanh(h), J_ij ~ N(0, g²/N), J_ii = 0, g = 2, dt = 0.05 τ, float64.

1. Full spectrum (k = N, default N = 1000), t_ONS = 1 τ (n_ONS = 20 steps): ``ours`` is
   :func:`sgtheory.functional.rate.rate_spectrum` (tangent map without forming D, a QR every n_ONS steps);
   ``numpy`` the same algorithm as a plain loop (``Q = (1-dt) Q + dt J @ (φ' Q)``, ``numpy.linalg.qr``). Both run the
   same ``--tau`` τ from the same state and vectors (their exponents must agree). Minimal flops per τ (spec §4.4):
   F = 2N²(k+1)/dt + (4Nk² − (4/3)k³)/(dt·n_ONS); η = F/(time per τ · P_GEMM), P_GEMM the median rate of an
   N×N @ N×k float64 ``torch.mm`` measured in the same run.
2. λ_1 of N = 5000 (k = 1): time per Euler step of ``ours`` (:func:`sgtheory.functional.rate.euler_step_and_tangent`,
   what ``rate_spectrum`` runs: the compiled loop that reads J once), ``separate`` (euler_step + euler_tangent: J read
   twice), ``gemm`` (J·[φ; φ' q] as one BLAS product) and ``numpy`` (two matvecs). Bandwidth fraction
   η = 8N² bytes / (time per step · B), B = 8N²/median time of ``J.sum()`` (a read of the same matrix).

Speed is measured, never asserted in tests (tests/test_bench_rate_spectrum.py checks the JSON on tiny sizes).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy (and its BLAS) is loaded

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import Timer, finish_report, machine_info  # noqa: E402  (benchmarks/ is on sys.path)

from sgtheory.functional import rate  # noqa: E402
from sgtheory.functional.lyapunov import orthonormal_system  # noqa: E402

DT, GAIN, T_ONS = 0.05, 2.0, 1.0


def _median_time(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def gemm_peak(N: int, k: int, reps: int) -> float:
    a = torch.randn(N, N, dtype=torch.float64)
    b = torch.randn(N, k, dtype=torch.float64)
    return 2 * N * N * k / _median_time(lambda: torch.mm(a, b), reps)


def numpy_spectrum(h: np.ndarray, J: np.ndarray, Q: np.ndarray, steps: int, n_ons: int) -> np.ndarray:
    """Plain numpy loop; Q (N, k) as columns; returns λ (1/τ) over all ``steps``."""
    log_sum = np.zeros(Q.shape[1])
    for n in range(1, steps + 1):
        dphi = 1.0 - np.tanh(h) ** 2
        Q = (1 - DT) * Q + DT * (J @ (dphi[:, None] * Q))
        h = (1 - DT) * h + DT * (J @ np.tanh(h))
        if n % n_ons == 0:
            Q, R = np.linalg.qr(Q)
            log_sum += np.log(np.abs(np.diag(R)))
    return np.sort(log_sum / (steps * DT))[::-1]


def full_spectrum(N: int, tau: float, reps: int) -> dict:
    g = torch.Generator().manual_seed(0)
    J = rate.couplings(N, GAIN, g, R=1)
    net = rate.RateNetwork(J, "tanh", DT)
    h0, _ = rate.simulate(torch.randn(1, N, generator=g, dtype=torch.float64), net, 200)
    Q0 = orthonormal_system((1, N, N), g)
    steps, n_ons = rate.steps_of(tau, DT), rate.steps_of(T_ONS, DT)
    peak = gemm_peak(N, N, reps=5)
    ours_t, np_t = [], []
    for _ in range(reps):
        t = time.perf_counter()
        ours = rate.rate_spectrum(h0, net, N, g, tau, T_ONS, t_warm=0.0, ons_transient=0.0, Q0=Q0)
        ours_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        ref = numpy_spectrum(h0[0].numpy(), J[0].numpy(), Q0[0].T.numpy().copy(), steps, n_ons)
        np_t.append(time.perf_counter() - t)
    k = N
    flops_per_tau = 2 * N**2 * (k + 1) / DT + (4 * N * k**2 - 4 / 3 * k**3) / (DT * n_ons)
    per_tau_ours, per_tau_np = statistics.median(ours_t) / tau, statistics.median(np_t) / tau
    return {"N": N, "k": k, "tau": tau, "dt": DT, "n_ons": n_ons, "gemm_peak_gflops": peak / 1e9,
            "flops_per_tau": flops_per_tau, "ours_s_per_tau": per_tau_ours, "numpy_s_per_tau": per_tau_np,
            "ours_frac_gemm_peak": flops_per_tau / (per_tau_ours * peak),
            "numpy_frac_gemm_peak": flops_per_tau / (per_tau_np * peak), "speedup_vs_numpy": per_tau_np / per_tau_ours,
            "max_abs_diff_vs_numpy": float(np.abs(np.sort(ours.exponents[0].numpy())[::-1] - ref).max())}


def lambda_max_step(N: int, steps: int) -> dict:
    g = torch.Generator().manual_seed(1)
    J = rate.couplings(N, GAIN, g, R=1)
    net = rate.RateNetwork(J, "tanh", DT)
    h = torch.randn(1, N, generator=g, dtype=torch.float64)
    Q = torch.randn(1, 1, N, generator=g, dtype=torch.float64)
    Jn, hn, qn = J[0].numpy(), h[0].numpy(), Q[0, 0].numpy()
    B = 8 * N**2 / _median_time(lambda: J.sum(), 7)

    def separate():
        rate.euler_step(h, net)
        rate.euler_tangent(h, Q, net)

    def gemm():
        rows = torch.cat([torch.tanh(h)[:, None], Q * (1 - torch.tanh(h) ** 2)[:, None]], dim=-2)
        return rows @ J.mT

    def numpy_step():
        (1 - DT) * qn + DT * (Jn @ ((1.0 - np.tanh(hn) ** 2) * qn))
        (1 - DT) * hn + DT * (Jn @ np.tanh(hn))

    times = {"ours": _median_time(lambda: rate.euler_step_and_tangent(h, Q, net), steps),
             "separate": _median_time(separate, steps), "gemm": _median_time(gemm, steps),
             "numpy": _median_time(numpy_step, steps)}
    row = {"N": N, "bandwidth_GBps": B / 1e9}
    for name, t in times.items():
        row[f"{name}_ms_per_step"] = 1e3 * t
        row[f"{name}_frac_bandwidth"] = 8 * N**2 / (t * B)
    return row


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--N", type=int, default=1000, help="full spectrum size")
    ap.add_argument("--tau", type=float, default=2.0, help="τ simulated per full-spectrum timing")
    ap.add_argument("--reps", type=int, default=3, help="timings of the full spectrum (median)")
    ap.add_argument("--N-max", type=int, default=5000, help="λ_1 network size")
    ap.add_argument("--steps", type=int, default=50, help="timed Euler steps of the λ_1 network")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_rate_spectrum.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    timer = Timer()
    full = full_spectrum(args.N, args.tau, args.reps)
    lam = lambda_max_step(args.N_max, args.steps)
    print(f"full spectrum N = {full['N']}: ours {full['ours_s_per_tau']:.3f} s/τ "
          f"({100 * full['ours_frac_gemm_peak']:.0f} % of the {full['gemm_peak_gflops']:.1f} GFLOP/s GEMM peak), numpy "
          f"{full['numpy_s_per_tau']:.3f} s/τ ({100 * full['numpy_frac_gemm_peak']:.0f} %), speed-up "
          f"{full['speedup_vs_numpy']:.2f}, max|Δλ| {full['max_abs_diff_vs_numpy']:.1e}")
    print(f"λ_1 N = {lam['N']}: bandwidth {lam['bandwidth_GBps']:.1f} GB/s; " + ", ".join(
        f"{k} {lam[f'{k}_ms_per_step']:.2f} ms/step ({100 * lam[f'{k}_frac_bandwidth']:.0f} %)"
        for k in ("ours", "separate", "gemm", "numpy")))
    report = {"machine": machine_info(), "config": vars(args) | {"out": str(args.out)}, "full_spectrum": full,
              "lambda_max_step": lam,
              "goals": {"full_spectrum_frac_peak_ge_0.5": full["ours_frac_gemm_peak"] >= 0.5,
                        "lambda_max_frac_bandwidth_ge_0.5": lam["ours_frac_bandwidth"] >= 0.5}}
    return finish_report(report, timer, args.out)


if __name__ == "__main__":
    main()
