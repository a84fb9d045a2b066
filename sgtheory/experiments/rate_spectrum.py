"""``sgtheory rate-spectrum``: Lyapunov spectra of chaotic continuous-time rate networks (Engelken, Wolf & Abbott
2023; sparseprop_balanced spec §3), by :func:`sgtheory.functional.rate.rate_spectrum`, with the Kaplan–Yorke
dimension, the entropy rate, bootstrap CIs, running estimates (convergence) and the brute-force λ_max control.

The runs of one task differ by seed only and run as a batch of realizations; each realization draws its couplings,
initial state, tangent vectors and noise from its own streams, so its numbers do not depend on the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sgtheory.experiments.base import RunResult
from sgtheory.experiments.configs.rate_spectrum import RateSpectrumConfig
from sgtheory.functional import rate
from sgtheory.functional.lyapunov import entropy_rate, kaplan_yorke_dimension, orthonormal_system
from sgtheory.seeding import stream

DTYPE = {"float32": torch.float32, "float64": torch.float64}


def _noise(configs: Sequence[RateSpectrumConfig], dtype: torch.dtype):
    """drive(steps): σ ξ_n/√dt of every realization from its own stream (None without noise)."""
    cfg = configs[0]
    if cfg.noise == 0:
        return None
    generators = [stream(c.seed, "input") for c in configs]

    def drive(steps: int):
        for _ in range(steps):
            yield torch.stack([torch.randn(cfg.N, generator=g, dtype=dtype) for g in generators]) * (
                cfg.noise / cfg.dt**0.5)

    return drive


def rate_spectrum(configs: Sequence[RateSpectrumConfig], progress=None) -> list[RunResult]:
    """Rows ``quantity = exponent`` (``index`` i, ``i_over_N``, ``value`` λ_i in 1/τ, ``ci_low``/``ci_high``),
    ``quantity = running`` (``index`` i ∈ {1, k/2, k}, ``time`` τ accumulated, ``value`` running λ_i) and
    ``quantity = brute_force`` (``value`` λ_max of the perturbed copy, ``jacobian`` λ_1 of the same stretch);
    every row carries ky_dimension, entropy_rate, lambda_sum and their /N values."""
    cfg = configs[0]
    dtype = DTYPE[cfg.dtype]
    J = torch.stack([rate.couplings(cfg.N, cfg.gain, stream(c.seed, "net"), dtype=dtype) for c in configs])
    net = rate.RateNetwork(J, cfg.phi, cfg.dt)
    h0 = torch.stack([torch.randn(cfg.N, generator=stream(c.seed, "ic"), dtype=dtype) for c in configs])
    h0 = h0 * max(cfg.gain - 1.0, 0.5)
    Q0 = torch.stack([orthonormal_system((cfg.k, cfg.N), stream(c.seed, "ons"), dtype=dtype) for c in configs])
    drive = _noise(configs, dtype)
    with torch.no_grad():
        spec = rate.rate_spectrum(h0, net, cfg.k, stream(cfg.seed, "unused"), cfg.t_sim, cfg.t_ons, cfg.t_warm,
                                  cfg.effective_ons_transient, drive=drive, Q0=Q0)
        brute = jac = None
        if cfg.brute_force:
            steps = rate.steps_of(cfg.brute_force, cfg.dt)
            direction = spec.vectors[:, 0]
            brute = rate.brute_force_lambda_max(spec.state, net, cfg.brute_force, cfg.t_ons, direction=direction,
                                                ons_transient=0, drive=drive(steps) if drive else None)
            again = _noise(configs, dtype)  # the same noise for the Jacobian estimate of the same stretch
            if again is not None:
                list(again(rate.steps_of(cfg.t_warm, cfg.dt) + rate.steps_of(cfg.t_sim, cfg.dt)))
            jac = rate.rate_spectrum(spec.state, net, 1, stream(cfg.seed, "unused"), cfg.brute_force, cfg.t_ons,
                                     0.0, 0.0, drive=(lambda n: again(n)) if again else None,
                                     Q0=spec.vectors[:, :1]).exponents[:, 0]
    exponents = spec.exponents
    order = torch.sort(exponents, dim=-1, descending=True).values
    ky, entropy = kaplan_yorke_dimension(order), entropy_rate(order)
    if len(spec.local) and cfg.bootstrap:
        lo, hi = zip(*[rate.bootstrap_ci(spec.local[:, r], stream(c.seed, "bootstrap"), cfg.bootstrap)
                       for r, c in enumerate(configs)], strict=True)
    else:
        lo = hi = [torch.full((cfg.k,), float("nan"), dtype=dtype)] * len(configs)
    running = spec.local.cumsum(0) / torch.arange(1, len(spec.local) + 1, dtype=dtype)[:, None, None]
    every = max(1, round(cfg.trace_every / cfg.t_ons))
    traced = sorted({0, cfg.k // 2 - 1 if cfg.k > 1 else 0, cfg.k - 1})
    results = []
    for r, c in enumerate(configs):
        result = RunResult(c, [])
        if not torch.isfinite(exponents[r]).all():
            result.error = "non-finite Lyapunov exponents"
            results.append(result)
            continue
        total = exponents[r].sum().item()
        summary = {"ky_dimension": ky[r].item(), "entropy_rate": entropy[r].item(), "lambda_sum": total,
                   "ky_per_N": ky[r].item() / cfg.N, "entropy_per_N": entropy[r].item() / cfg.N,
                   "lambda_sum_per_N": total / cfg.N, "time_accumulated": spec.duration}
        result.rows += [{"quantity": "exponent", "index": i + 1, "i_over_N": (i + 1) / cfg.N, "value": lam,
                         "ci_low": lo[r][i].item(), "ci_high": hi[r][i].item(), **summary}
                        for i, lam in enumerate(exponents[r].tolist())]
        for j in range(every - 1, len(running), every):
            result.rows += [{"quantity": "running", "index": i + 1, "time": (j + 1) * cfg.t_ons,
                             "value": running[j, r, i].item(), **summary} for i in traced]
        if brute is not None:
            result.rows.append({"quantity": "brute_force", "index": 1, "value": brute[r].item(),
                                "jacobian": jac[r].item(), "time": cfg.brute_force, **summary})
        results.append(result)
    if progress is not None:
        progress(1, {})
    return results
