"""The ``balanced`` experiment (balanced spec §2; Engelken et al., PLOS CB 2022): λ1, local exponents, population
rate and autocorrelations of the balanced ReLU rate network with common or independent sinusoidal input, simulated
with the Euler step and tangent map of :mod:`sgtheory.functional.rate` or computed by the DMFT of
:mod:`sgtheory.functional.dmft`.

Simulation: the realizations of a task (one seed: its I1 values × input types) run as one batch along a leading axis
R, stepped by one GEMM with the seed's couplings. A seed draws one coupling matrix (``stream(seed, "net")``), one
initial state (``"ic"``) and one set of phases (``"phase"``), shared by its I1 values and input types, so a λ1(I1)
curve is measured on one network; the tangent vectors come from ``stream(seed, "ons")``. The network relaxes
``transient`` τ; then k orthonormal tangent vectors run for ``duration`` τ with a QR every ``t_ons`` τ, the first tenth
discarded (the vectors align), while the rates, the inputs and the autocovariance of h − ⟨h⟩ are recorded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from sgtheory.experiments.base import DTYPES, RunResult
from sgtheory.experiments.configs.balanced import LAG_STEP, BalancedConfig
from sgtheory.functional.dmft import balanced_dmft
from sgtheory.functional.lyapunov import lyapunov_spectrum, orthonormal_system
from sgtheory.functional.rate import RateNetwork, couplings, euler_step, euler_tangent, steps_of
from sgtheory.seeding import stream


def balanced_couplings(cfg: BalancedConfig, dtype: torch.dtype) -> torch.Tensor:
    """J (N, N) of a seed: i.i.d. Gaussian, mean −√K·J0/N, variance gain²/N (spec §2.2), diagonal included."""
    return couplings(cfg.N, cfg.gain, stream(cfg.seed, "net"), mean=-cfg.sqrt_K * cfg.J0 / cfg.N,
                     zero_diagonal=False, dtype=dtype)


def input_phases(cfg: BalancedConfig, dtype: torch.dtype) -> torch.Tensor:
    """θ_i (N,): zeros for common input; i.i.d. uniform on [0, 2π) for independent input (decision D6: random phases,
    one sinusoid per unit with the common input's amplitude and frequency)."""
    if cfg.input_type == "common":
        return torch.zeros(cfg.N, dtype=dtype)
    return 2 * math.pi * torch.rand(cfg.N, generator=stream(cfg.seed, "phase"), dtype=dtype)


def _simulate(configs: Sequence[BalancedConfig]) -> list[RunResult]:
    cfg = configs[0]
    dtype = DTYPES[cfg.dtype]
    seeds = list(dict.fromkeys(c.seed for c in configs))
    groups = [torch.tensor([r for r, c in enumerate(configs) if c.seed == seed]) for seed in seeds]
    nets = [RateNetwork(balanced_couplings(configs[int(idx[0])], dtype), "relu", cfg.dt) for idx in groups]
    theta = torch.stack([input_phases(c, dtype) for c in configs])  # (R, N)
    amplitude = torch.tensor([c.I1 for c in configs], dtype=dtype)[:, None]
    h = torch.stack([torch.randn(cfg.N, generator=stream(c.seed, "ic"), dtype=dtype) for c in configs])

    def euler(h_n: torch.Tensor, drive_n: torch.Tensor) -> torch.Tensor:
        """One Euler step of every realization: a seed's network steps its realizations together (one GEMM)."""
        out = torch.empty_like(h_n)
        for idx, net in zip(groups, nets, strict=True):
            out[idx] = euler_step(h_n[idx], net, drive_n[idx])
        return out

    def tangent(h_n: torch.Tensor, _new, Q: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(Q)
        for idx, net in zip(groups, nets, strict=True):
            out[idx] = euler_tangent(h_n[idx], Q[idx], net)
        return out

    omega, base = 2 * math.pi * cfg.f, cfg.sqrt_K * cfg.I0

    def drive(n: int) -> torch.Tensor:
        return base + amplitude * torch.sin(omega * n * cfg.dt + theta)

    warm = steps_of(cfg.transient, cfg.dt)
    for n in range(warm):
        h = euler(h, drive(n))

    total = steps_of(cfg.duration, cfg.dt)
    n_ons = max(1, steps_of(cfg.t_ons, cfg.dt))
    ons_transient = (steps_of(cfg.duration / 10, cfg.dt) // n_ons) * n_ons
    record = steps_of(cfg.record_every, cfg.dt) if cfg.record_every else 0
    lag_every = max(1, steps_of(LAG_STEP, cfg.dt))
    n_lags = int(round(cfg.max_lag / (lag_every * cfg.dt))) + 1 if cfg.max_lag else 0
    ring = torch.zeros(n_lags, len(configs), cfg.N, dtype=dtype)
    acf = torch.zeros(n_lags, len(configs), dtype=dtype)
    acf_count = torch.zeros(n_lags, dtype=dtype)
    series: list[tuple[float, torch.Tensor, torch.Tensor]] = []  # (time, ν (R,), unit rates (R, units))
    moments = torch.zeros(3, len(configs), dtype=dtype)  # Σ ν, Σ mean h, Σ var h over the steps
    state = {"n": warm}

    def step(drive_n, h_n):
        h_new = euler(h_n, drive_n)
        state["n"] += 1
        k = state["n"] - warm
        r = torch.relu(h_new)
        mean = h_new.mean(-1)
        fluct = h_new - mean[:, None]
        moments[0] += r.mean(-1)
        moments[1] += mean
        moments[2] += fluct.square().mean(-1)
        if record and k % record == 0:
            series.append((state["n"] * cfg.dt, r.mean(-1), r[:, : cfg.units]))
        if n_lags and k % lag_every == 0:
            j = k // lag_every
            ring[j % n_lags] = fluct
            filled = min(j + 1, n_lags)
            products = (ring[:filled] * fluct).mean(-1)  # (filled, R): slot s holds sample j − ((j − s) mod L)
            lags = (j - torch.arange(filled)) % n_lags
            acf[lags] += products
            acf_count[lags] += 1
        return h_new

    drives = (drive(n) for n in range(warm, warm + total))
    Q0 = torch.stack([orthonormal_system((cfg.nle, cfg.N), stream(c.seed, "ons"), dtype=dtype) for c in configs])
    spec = lyapunov_spectrum(step, tangent, h, drives, Q0, ons_transient, n_ons)
    exponents = spec.exponents / cfg.dt
    intervals = torch.arange(1, len(spec.trace) + 1, dtype=dtype)[:, None]
    running = spec.trace[:, :, 0] * intervals  # Σ ln|R_11| / n_ons over the accumulated intervals
    local = torch.diff(running, dim=0, prepend=torch.zeros_like(running[:1])) / cfg.dt  # ln|R_11| / t_ONS, (n, R)
    moments /= total
    acf = acf / acf_count.clamp(min=1)[:, None]

    results = []
    local_every = max(1, round(record / n_ons)) if record else 0
    t_local0 = (warm + ons_transient) * cfg.dt
    for r, c in enumerate(configs):
        summary = {"rate_mean": moments[0, r].item(), "h_mean": moments[1, r].item(), "h_var": moments[2, r].item()}
        rows = [{"quantity": "lambda1" if i == 0 else "exponent", "index": i + 1, "value": lam, **summary}
                for i, lam in enumerate(exponents[r].tolist())]
        if local_every:
            rows += [{"quantity": "local_lambda", "index": 1, "time": t_local0 + (j + 1) * n_ons * cfg.dt,
                      "value": v, **summary} for j, v in enumerate(local[:, r].tolist()) if (j + 1) % local_every == 0]
        for t, nu, units in series:
            common = c.I1 * math.sin(omega * t) if c.input_type == "common" else 0.0
            rows.append({"quantity": "rate", "index": 0, "time": t, "value": nu[r].item(),
                         "drive": base + common, **summary})
            rows += [{"quantity": "unit_rate", "index": i + 1, "time": t, "value": v, **summary}
                     for i, v in enumerate(units[r].tolist())]
        rows += [{"quantity": "autocorr", "index": 0, "lag": lag * lag_every * cfg.dt, "value": v, **summary}
                 for lag, v in enumerate(acf[:, r].tolist())]
        results.append(RunResult(c, rows))
    return results


def _dmft(cfg: BalancedConfig) -> RunResult:
    res = balanced_dmft(g=cfg.gain, N=cfg.N, K=cfg.K or None, J0=cfg.J0, I0=cfg.I0, I1=cfg.I1, f=cfg.f,
                        input=cfg.input_type, dt=cfg.dt, steps=cfg.dmft_steps, band=cfg.dmft_band)
    half = len(res.t) // 2
    summary = {"rate_mean": float(res.rate[half:].mean()), "h_mean": float(res.m[half:].mean()),
               "h_var": float(res.C0[half:].mean())}
    rows = [{"quantity": "lambda1", "index": 1, "value": res.lambda1, **summary}]
    if cfg.record_every:
        every = max(1, steps_of(cfg.record_every, cfg.dt))
        omega, base = 2 * math.pi * cfg.f, cfg.sqrt_K * cfg.I0
        for n in range(0, len(res.t), every):
            common = cfg.I1 * math.sin(omega * res.t[n]) if cfg.input_type == "common" else 0.0
            rows.append({"quantity": "rate", "index": 0, "time": float(res.t[n]), "value": float(res.rate[n]),
                         "drive": base + common, **summary})
    if cfg.max_lag:
        keep = res.lags <= cfg.max_lag + 1e-9
        rows += [{"quantity": "autocorr", "index": 0, "lag": float(lag), "value": float(v), **summary}
                 for lag, v in zip(res.lags[keep], res.C_lag[keep], strict=True)]
    ok = np.isfinite(res.u)
    stride = max(1, steps_of(cfg.record_every or 1.0, cfg.dt))  # ½·ln K(t, t), every record_every τ (default 1 τ)
    rows += [{"quantity": "dmft_u", "index": 1, "time": float(t), "value": float(v), **summary}
             for t, v in zip(res.t[ok][::stride], res.u[ok][::stride], strict=True)]
    return RunResult(cfg, rows)


def balanced(configs: Sequence[BalancedConfig], progress=None) -> list[RunResult]:
    """``sgtheory balanced`` (rows: see the command's help)."""
    if configs[0].method == "dmft":
        results = [_dmft(c) for c in configs]
    else:
        with torch.no_grad():
            results = _simulate(configs)
    for result in results:
        if any(row["quantity"] == "lambda1" and not math.isfinite(row["value"]) for row in result.rows):
            result.error = "non-finite λ1 (the Euler step is unstable at this dt?)"
            result.rows = []
    if progress is not None:
        progress(1, {})
    return results
