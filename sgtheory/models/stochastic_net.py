"""The five-parameter network with Bernoulli (escape-noise) units of Gygax & Zenke 2025 (sgtheory spec §1.4)::

    g ~ B(f(w x)),  h1 ~ B(f(v1 g)),  h2 ~ B(f(v2 g)),  y = E[y | h] = f(u1 h1 + u2 h2)
    E[y] = Σ_{g,h1,h2 ∈ {0,1}} P(g) P(h1|g) P(h2|g) f(u1 h1 + u2 h2)

θ = (w, v1, v2, u1, u2) on the last axis; f is the escape function ``escape`` of steepness ``slope``. The exact
gradient of E[y] and the exact moments of the SG come from enumerating the 2³ hidden states; sampled SGs from the
sampled forward pass with ψ = f′ in the backward. Everything is float64.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

from sgtheory.functional.surrogate import escape_probability, escape_spike

DTYPE = torch.float64
STATES = torch.tensor(list(itertools.product((0.0, 1.0), repeat=3)), dtype=DTYPE)  # (8, 3): g, h1, h2


def _unit_inputs(theta: Tensor, x: float, g: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    w, v1, v2, _, _ = theta.unbind(-1)
    return w * x, v1 * g, v2 * g


def expected_output(theta: Tensor, x: float, escape: str, slope: float) -> Tensor:
    """E[y] (...,) = Σ over the 8 states of P(g) P(h1|g) P(h2|g) f(u1 h1 + u2 h2); differentiable in θ."""
    f = lambda z: escape_probability(z, escape, slope)  # noqa: E731
    theta = theta.unsqueeze(0)  # (1, ..., 5) against the states (8, 1, ...)
    g, h1, h2 = (s.view(-1, *([1] * (theta.dim() - 2))) for s in STATES.unbind(-1))
    zg, z1, z2 = _unit_inputs(theta, x, g)
    bern = lambda p, s: s * p + (1.0 - s) * (1.0 - p)  # noqa: E731
    prob = bern(f(zg), g) * bern(f(z1), h1) * bern(f(z2), h2)
    _, _, _, u1, u2 = theta.unbind(-1)
    return (prob * f(u1 * h1 + u2 * h2)).sum(0)


def exact_gradient(theta: Tensor, x: float, escape: str, slope: float) -> tuple[Tensor, Tensor]:
    """E[y] (...,) and ∂E[y]/∂θ (..., 5) by autograd through the enumeration."""
    theta = theta.detach().clone().requires_grad_(True)
    ey = expected_output(theta, x, escape, slope)
    (grad,) = torch.autograd.grad(ey.sum(), theta)
    return ey.detach(), grad


def _network_sg(theta: Tensor, x: float, escape: str, slope: float, units) -> tuple[Tensor, Tensor]:
    """y and its SG (per point of ``theta``, a leaf): ``units(z, which)`` gives each unit's 0/1 value with
    backward ψ = f′."""
    w, v1, v2, u1, u2 = theta.unbind(-1)
    g = units(w * x, 0)
    h1 = units(v1 * g, 1)
    h2 = units(v2 * g, 2)
    y = escape_probability(u1 * h1 + u2 * h2, escape, slope)  # E[y | h]: exact derivative f′
    (sg,) = torch.autograd.grad(y.sum(), theta)
    return y.detach(), sg


def sg_moments(theta: Tensor, x: float, escape: str, slope: float) -> tuple[Tensor, Tensor, Tensor]:
    """Exact moments by enumeration (no sampling): E[SG] and E[SG²] (..., 5) and E[y²] (...,), with
    E[q] = Σ_states P(state)·q(state). SG(state) fixes the spikes and gives each unit the derivative f′ of its
    input (autograd of s + f(z) - f(z).detach())."""
    f = lambda z: escape_probability(z, escape, slope)  # noqa: E731
    states = STATES.view(8, *([1] * (theta.dim() - 1)), 3)
    leaf = theta.detach().unsqueeze(0).expand(8, *theta.shape).clone().requires_grad_(True)
    fixed = lambda z, i: states[..., i] + f(z) - f(z).detach()  # noqa: E731
    y, sg = _network_sg(leaf, x, escape, slope, fixed)
    with torch.no_grad():
        g, h1, h2 = states.unbind(-1)
        zg, z1, z2 = _unit_inputs(leaf, x, g)
        bern = lambda p, s: s * p + (1.0 - s) * (1.0 - p)  # noqa: E731
        prob = bern(f(zg), g) * bern(f(z1), h1) * bern(f(z2), h2)
    weight = prob.unsqueeze(-1)
    return (weight * sg).sum(0), (weight * sg**2).sum(0), (prob * y**2).sum(0)


def expected_sg(theta: Tensor, x: float, escape: str, slope: float) -> Tensor:
    """E[SG] (..., 5) by enumeration (see ``sg_moments``)."""
    return sg_moments(theta, x, escape, slope)[0]


def sampled_sg(theta: Tensor, x: float, escape: str, slope: float, samples: int,
               generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Per-sample outputs y (samples, ...) and SGs (samples, ..., 5) of the sampled network (escape_spike)."""
    leaf = theta.detach().unsqueeze(0).expand(samples, *theta.shape).clone().requires_grad_(True)
    return _network_sg(leaf, x, escape, slope, lambda z, i: escape_spike(z, escape, slope, generator))
