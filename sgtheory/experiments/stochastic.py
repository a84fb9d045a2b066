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

from sgtheory.config import RunConfig, check_choice, check_positive
from sgtheory.errors import ConfigError
from sgtheory.experiments.base import RunResult
from sgtheory.experiments.sigmoid import parameter_names
from sgtheory.functional.surrogate import (
    ESCAPES,
    escape_derivative,
    escape_probability,
    escape_spike,
    spike,
)
from sgtheory.models.sigmoid_net import PARAMETERS
from sgtheory.models.stochastic_net import DTYPE, exact_gradient, expected_sg, sampled_sg, sg_moments
from sgtheory.seeding import stream


@dataclasses.dataclass(frozen=True)
class StochasticNeuronConfig(RunConfig):
    """Escape-noise neurons (sgtheory spec §1.2-1.4): one neuron S ~ Bernoulli(f(u - θ)) and the five-parameter
    network x → g → (h1, h2) → y with Bernoulli units, exact ∇E[y] by enumeration vs the SG with ψ = f′.

    Default network point: v1 = 1, v2 = -1 send g's spike to h1 and h2 with opposite signs and u1 = 0.5,
    u2 = 1.5 weigh them unequally, so the linearised SG (dominated by u2·v2 < 0 at g = 0) and the finite
    jump of E[y] when g flips (> 0) disagree in sign around w = 0: the gap is as large as the gradient.
    """

    escape: str = "sigmoid"  # escape-noise function f: sigmoid σ(βx) | exponential min(1, p0·exp(βx)), p0 = 2/3
    slope: float = 5.0  # escape steepness β (1/unit of u); every SG here uses ψ = f′ of the same β
    threshold: float = 1.0  # single neuron: firing threshold θ (unit of u)
    neuron_input: float = 2.0  # single neuron: its input x, so u = w·x and dE[S]/dw = f′(u - θ)·x
    u_min: float = -1.0  # single neuron: lowest membrane potential u - θ of the axis (unit of u)
    u_max: float = 1.0  # single neuron: highest membrane potential u - θ of the axis (unit of u)
    u_points: int = 201  # single neuron: points of the E[S] and SG curves
    raster_points: int = 41  # single neuron: raster columns (membrane potentials) over [u_min, u_max]
    trials: int = 50  # single neuron: trials (raster rows, and SG samples per curve point)
    x: float = 1.0  # network: input x
    w: float = 0.0  # network: weight x → g; base point θ = (w, v1, v2, u1, u2), see the class docstring
    v1: float = 1.0  # network: weight g → h1
    v2: float = -1.0  # network: weight g → h2
    u1: float = 0.5  # network: weight h1 → y
    u2: float = 1.5  # network: weight h2 → y
    scan: str = "w"  # network: the scanned parameter (w | v1 | v2 | u1 | u2)
    scan_min: float = -2.0  # network: first value of the scanned parameter
    scan_max: float = 2.0  # network: last value of the scanned parameter
    scan_points: int = 81  # network: points of the scan
    samples: int = 2000  # network: Monte-Carlo samples per scan point for the averaged SG (and its SEM)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("escape", self.escape, tuple(ESCAPES))
        check_positive("slope", self.slope)
        parameter_names("scan", self.scan, 1)
        for name in ("threshold", "x", "w", "v1", "v2", "u1", "u2"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a finite number")
        if not (math.isfinite(self.neuron_input) and self.neuron_input != 0):
            raise ConfigError(f"neuron_input={self.neuron_input!r} must be a finite non-zero number (u = w·x)")
        for lo, hi, n, least in (("u_min", "u_max", "u_points", 3), ("u_min", "u_max", "raster_points", 2),
                                 ("scan_min", "scan_max", "scan_points", 3)):
            if not (math.isfinite(getattr(self, lo)) and math.isfinite(getattr(self, hi))
                    and getattr(self, lo) < getattr(self, hi)):
                raise ConfigError(f"{lo}={getattr(self, lo)} must be smaller than {hi}={getattr(self, hi)} "
                                  "(both finite)")
            if getattr(self, n) < least:
                raise ConfigError(f"{n}={getattr(self, n)} must be >= {least}")
        if self.trials < 1:
            raise ConfigError(f"trials={self.trials} must be >= 1")
        if self.samples < 2:
            raise ConfigError(f"samples={self.samples} must be >= 2 (the SEM needs two samples)")


STOCHASTIC_NEURON_HELP = """Escape-noise neurons: SGs as derivatives of expected outputs, and where that fails.

    Single neuron (panel=neuron, position = u - θ): a raster of --trials Bernoulli(f(u - θ)) spikes, E[S],
    its derivatives and the SG of the deterministic neuron; with ψ = f' the SG equals d/dw E[S] exactly
    (single_neuron_max_error). Five-parameter network with Bernoulli hidden units (panel=network,
    position = the --scan parameter): the exact ∇E[y] by enumerating the 2³ hidden states, the exact
    expectation of the SG (expected_sg) and its mean over --samples samples (mean_sg, mean_sg_sem);
    network_max_gap, network_relative_gap and network_sign_disagreement measure where they differ.

    Example: sgtheory stochastic-neuron --escape sigmoid --slope 5 --samples 2000
"""  # the CLI help of `sgtheory stochastic-neuron`



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
