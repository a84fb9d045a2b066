"""Surrogate gradients of stochastic (escape-noise) neurons (Gygax & Zenke 2025; sgtheory spec §1.2-1.4).

Single neuron (panel ``neuron``): u = w·x, S ~ Bernoulli(f(u - θ)) with escape function f of steepness β::

    E[S] = f(u - θ),    dE[S]/dw = f′(u - θ)·x.

The SG of one sample (``escape_spike``: forward the Bernoulli draw, backward ψ = f′) is f′(u - θ)·x whatever
the draw, so it *equals* dE[S]/dw sample by sample. Here dE[S]/dw is autograd through f itself (not through
the library's f′), and ``single_neuron_max_error`` = max |SG - dE[S]/dw| over every sample drawn. Beside it:
a raster (trials × membrane potentials), the deterministic neuron S = H(u - θ) and its SG ψ(u - θ) = f′.

Network (panel ``network``): the Bernoulli network of :mod:`sgtheory.models.stochastic_net`; ``exact_gradient`` =
∂E[y]/∂θ by enumerating its states, ``mean_sg`` the mean SG over ``samples`` draws (± ``mean_sg_sem``),
``expected_sg`` its exact expectation. For the output weights u1, u2 the two agree exactly (one stochastic layer:
the single-neuron case); through the hidden units they do not: E[y] sees the finite jump of f(u1 h1 + u2 h2) when a
unit flips, the SG only its local slope. Panel ``base`` lists both at the base point for all five parameters.
Everything is float64; only the raster and the Monte-Carlo samples depend on the seed.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import Tensor

from sgtheory.experiments.base import RunResult
from sgtheory.experiments.configs.stochastic_neuron import StochasticNeuronConfig
from sgtheory.functional.surrogate import (
    escape_derivative,
    escape_probability,
    escape_spike,
    spike,
)
from sgtheory.models.sigmoid_net import PARAMETERS
from sgtheory.models.stochastic_net import DTYPE, exact_gradient, expected_sg, sampled_sg, sg_moments
from sgtheory.seeding import stream


@dataclasses.dataclass(frozen=True)
class EscapeSurrogate:
    """The surrogate ψ = f′ of escape function ``escape`` at steepness ``slope`` (for ``spike``)."""

    escape: str
    slope: float

    def derivative(self, x: Tensor) -> Tensor:
        return escape_derivative(x, self.escape, self.slope)


# ------------------------------------------------------------------------------------------ single neuron
def neuron_curves(cfg: StochasticNeuronConfig) -> dict[str, Tensor]:
    """Deterministic curves on the u - θ axis: E[S] = f, dE[S]/du, dE[S]/dw (autograd through f), S = H and
    the deterministic neuron's SG dS/du = ψ = f′."""
    z = torch.linspace(cfg.u_min, cfg.u_max, cfg.u_points, dtype=DTYPE)
    w = ((z + cfg.threshold) / cfg.neuron_input).requires_grad_(True)
    expected = escape_probability(w * cfg.neuron_input - cfg.threshold, cfg.escape, cfg.slope)
    (d_dw,) = torch.autograd.grad(expected.sum(), w)
    u = (z + cfg.threshold).requires_grad_(True)
    det = spike(u - cfg.threshold, EscapeSurrogate(cfg.escape, cfg.slope))
    (det_sg,) = torch.autograd.grad(det.sum(), u)
    return {"position": z, "expected_spike": expected.detach(), "expected_spike_derivative": d_dw / cfg.neuron_input,
            "expected_spike_gradient": d_dw, "deterministic_output": det.detach(), "deterministic_sg": det_sg}


def neuron_sg_samples(cfg: StochasticNeuronConfig, generator: torch.Generator) -> Tensor:
    """SG dS/dw of ``trials`` independent samples at every curve point (trials, u_points), via escape_spike."""
    z = torch.linspace(cfg.u_min, cfg.u_max, cfg.u_points, dtype=DTYPE)
    w = ((z + cfg.threshold) / cfg.neuron_input).expand(cfg.trials, -1).clone().requires_grad_(True)
    s = escape_spike(w * cfg.neuron_input - cfg.threshold, cfg.escape, cfg.slope, generator)
    (sg,) = torch.autograd.grad(s.sum(), w)
    return sg


def raster(cfg: StochasticNeuronConfig, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Raster positions u - θ (raster_points,) and spikes (trials, raster_points) of the stochastic neuron."""
    z = torch.linspace(cfg.u_min, cfg.u_max, cfg.raster_points, dtype=DTYPE)
    spikes = escape_spike(z.expand(cfg.trials, -1), cfg.escape, cfg.slope, generator)
    return z, spikes


def neuron_rows(cfg: StochasticNeuronConfig) -> tuple[list[dict], float]:
    """Rows of the single-neuron panel and the largest |SG - dE[S]/dw| over all samples."""
    curves = neuron_curves(cfg)
    sg = neuron_sg_samples(cfg, stream(cfg.seed, "neuron-sg"))
    max_error = float((sg - curves["expected_spike_gradient"]).abs().max())
    curves["stochastic_sg"] = sg[0]  # one sample's SG (every sample has the same)
    position = curves.pop("position").tolist()
    rows = []
    for name, curve in curves.items():
        rows += [{"panel": "neuron", "quantity": name, "position": p, "value": v}
                 for p, v in zip(position, curve.tolist(), strict=True)]
    z, spikes = raster(cfg, stream(cfg.seed, "raster"))
    z = z.tolist()
    for trial, row in enumerate(spikes.tolist()):
        rows += [{"panel": "neuron", "quantity": "spike", "trial": trial, "position": p, "value": v}
                 for p, v in zip(z, row, strict=True)]
    std = spikes.std(dim=0) if cfg.trials > 1 else torch.full_like(spikes[0], math.nan)
    for name, curve in (("empirical_mean", spikes.mean(dim=0)), ("empirical_std", std),
                        ("deterministic_spike", (torch.tensor(z, dtype=DTYPE) > 0).to(DTYPE))):
        rows += [{"panel": "neuron", "quantity": name, "position": p, "value": v}
                 for p, v in zip(z, curve.tolist(), strict=True)]
    return rows, max_error


def scan_points(cfg: StochasticNeuronConfig) -> tuple[Tensor, Tensor]:
    """The scanned values (scan_points,) and the parameter points (scan_points, 5)."""
    axis = torch.linspace(cfg.scan_min, cfg.scan_max, cfg.scan_points, dtype=DTYPE)
    theta = torch.tensor([getattr(cfg, p) for p in PARAMETERS], dtype=DTYPE).repeat(cfg.scan_points, 1)
    theta[:, PARAMETERS.index(cfg.scan)] = axis
    return axis, theta


def _max_z(mean: Tensor, first: Tensor, second: Tensor, samples: int) -> float:
    """max |sample mean - E[q]| / (exact std of q / √samples) over the scan (points where q varies).

    The exact std (from E[q²] - E[q]²) keeps the test honest where rare states never occur in the samples."""
    sem = (second - first**2).clamp(min=0.0).sqrt() / math.sqrt(samples)
    varies = sem > 1e-12 * first.abs().max().clamp(min=1e-300)
    return float(((mean - first).abs()[varies] / sem[varies]).max()) if bool(varies.any()) else 0.0


def _sign_disagreement(sg: Tensor, grad: Tensor) -> float:
    """Fraction of the scan points with |∇E[y]| ≥ 1 % of its maximum where E[SG] has the opposite sign."""
    large = grad.abs() >= 0.01 * grad.abs().max()
    if not bool(large.any()) or float(grad.abs().max()) == 0.0:
        return 0.0
    return float((sg[large] * grad[large] < 0).to(DTYPE).mean())


def network_rows(cfg: StochasticNeuronConfig) -> tuple[list[dict], dict[str, float]]:
    """Rows of the network scan and of the base point, and the summary measures of the network."""
    args = (cfg.x, cfg.escape, cfg.slope)
    axis, theta = scan_points(cfg)
    i = PARAMETERS.index(cfg.scan)
    ey, grad = exact_gradient(theta, *args)
    esg, esg2, ey2 = sg_moments(theta, *args)
    y, sg = sampled_sg(theta, *args, cfg.samples, stream(cfg.seed, "network"))
    root = math.sqrt(cfg.samples)
    mean_sg, sem_sg = sg[..., i].mean(0), sg[..., i].std(0) / root
    mean_y, sem_y = y.mean(0), y.std(0) / root
    gap = (esg[:, i] - grad[:, i]).abs()
    scale = float(grad[:, i].abs().max())
    last = [PARAMETERS.index("u1"), PARAMETERS.index("u2")]
    summary = {
        "network_max_gap": float(gap.max()),
        "network_relative_gap": float(gap.max()) / scale if scale > 0 else math.nan,
        "network_sign_disagreement": _sign_disagreement(esg[:, i], grad[:, i]),
        "output_layer_max_gap": float((esg[:, last] - grad[:, last]).abs().max()),
        "mc_sg_max_z": _max_z(mean_sg, esg[:, i], esg2[:, i], cfg.samples),
        "mc_output_max_z": _max_z(mean_y, ey, ey2, cfg.samples),
    }
    curves = {"expected_output": ey, "mean_output": mean_y, "mean_output_sem": sem_y,
              "exact_gradient": grad[:, i], "expected_sg": esg[:, i], "mean_sg": mean_sg, "mean_sg_sem": sem_sg}
    position = axis.tolist()
    rows = []
    for name, curve in curves.items():
        rows += [{"panel": "network", "quantity": name, "position": p, "value": v}
                 for p, v in zip(position, curve.tolist(), strict=True)]
    base = torch.tensor([[getattr(cfg, p) for p in PARAMETERS]], dtype=DTYPE)
    _, base_grad = exact_gradient(base, *args)
    base_esg = expected_sg(base, *args)
    for name, values in (("exact_gradient", base_grad[0]), ("expected_sg", base_esg[0])):
        rows += [{"panel": "base", "quantity": name, "parameter": p, "value": v}
                 for p, v in zip(PARAMETERS, values.tolist(), strict=True)]
    return rows, summary


def _complete(rows: list[dict], summary: dict[str, float]) -> list[dict]:
    """Every row with all columns: position/trial NaN and parameter None where they do not apply."""
    blank = {"panel": None, "quantity": None, "parameter": None, "trial": math.nan, "position": math.nan,
             "value": math.nan}
    return [blank | row | summary for row in rows]


def stochastic_neuron(configs, progress=None) -> list[RunResult]:
    """Runner of ``sgtheory stochastic-neuron``: one RunResult per config (configs differ only in seed)."""
    results = []
    for cfg in configs:
        rows, max_error = neuron_rows(cfg)
        more, summary = network_rows(cfg)
        summary = {"single_neuron_max_error": max_error, **summary}
        results.append(RunResult(cfg, _complete(rows + more, summary)))
    if progress is not None and results:  # progress unit "task": one tick when the task is done
        progress(1, {k: results[-1].rows[0][k] for k in ("single_neuron_max_error", "network_relative_gap")})
    return results
