"""The five-parameter sigmoid network of Gygax & Zenke (2025), x → g → (h1, h2) → y (sgtheory spec §3.1).

With parameters θ = (w, v1, v2, u1, u2), no biases and threshold 0::

    g = σ_β(w x),   h1 = σ_β(v1 g),   h2 = σ_β(v2 g),   y = σ_β(u1 h1 + u2 h2)

where σ_β(z) = 1 / (1 + e^{-βz}) is a sigmoid of forward steepness β (β → ∞ is a step: a binary
network). The *surrogate gradient* keeps this forward pass but replaces every unit's local derivative
σ'_β(z) by a surrogate derivative ψ(z) from the surrogate library; with the ``sigmoid`` shape at slope
β_SG and the default (asymptotic) scale, ψ = σ'_{β_SG}. The exact gradient is autograd through σ_β.
``theta`` has shape (..., 5), so any grid of parameter points is one vectorised call. The quantity
differentiated is the output y itself (it plays the role of the loss).
"""

from __future__ import annotations

import torch
from torch import Tensor

from sgtheory.functional.surrogate import Surrogate, surrogate_gradient

PARAMETERS = ("w", "v1", "v2", "u1", "u2")


def steep_sigmoid(z: Tensor, beta: float) -> Tensor:
    """σ_β(z) = ½(1 + tanh(βz/2)): finite for every β (no exp overflow at β = 10⁴, float32 or float64)."""
    return 0.5 * (1.0 + torch.tanh(0.5 * beta * z))


def unit(z: Tensor, beta: float, surrogate: Surrogate | None) -> Tensor:
    """One unit σ_β(z); its backward derivative is ψ = ``surrogate.derivative`` (exact σ'_β if None)."""
    if surrogate is None:
        return steep_sigmoid(z, beta)
    return surrogate_gradient(z, steep_sigmoid(z.detach(), beta), surrogate.derivative)


def output(theta: Tensor, x: float, beta: float, surrogate: Surrogate | None = None) -> Tensor:
    """Network output y(θ) of shape ``theta.shape[:-1]``."""
    w, v1, v2, u1, u2 = theta.unbind(-1)
    g = unit(w * x, beta, surrogate)
    h1 = unit(v1 * g, beta, surrogate)
    h2 = unit(v2 * g, beta, surrogate)
    return unit(u1 * h1 + u2 * h2, beta, surrogate)


def output_and_gradient(theta: Tensor, x: float, beta: float,
                        surrogate: Surrogate | None = None) -> tuple[Tensor, Tensor]:
    """y(θ) and ∂y/∂θ (..., 5): the surrogate gradient, or the exact one when ``surrogate`` is None.

    Points of the grid do not interact, so the gradient of Σ y is every point's own gradient.
    """
    theta = theta.detach().clone().requires_grad_(True)
    y = output(theta, x, beta, surrogate)
    (grad,) = torch.autograd.grad(y.sum(), theta)
    return y.detach(), grad
