"""Losses of the experiments (pure functions): the delayed-task BCE, the van Rossum distance and the activity
regularisers of Zenke & Vogels 2021. Every loss of a batch of realizations/cells is returned per realization, so
summing them before ``backward`` keeps the realizations' gradients apart."""

from __future__ import annotations

import torch
from torch import Tensor

from sgtheory.functional.realizations import realization_mean


def task_bce(logits: Tensor, targets: Tensor) -> Tensor:
    """Logit binary cross-entropy of the delayed tasks per realization (R,): the mean over the scored steps and the
    batch of −y log σ(r) − (1 − y) log(1 − σ(r)) = max(r, 0) − y r + log(1 + e^−|r|); ``logits`` and ``targets``
    (scored steps, R, B). Written out rather than ``binary_cross_entropy_with_logits``, whose backward (σ) rounds an
    element differently in the vectorised body and the scalar tail of its loop, i.e. depending on the batch."""
    bce = torch.relu(logits) - logits * targets + torch.log1p(torch.exp(-logits.abs()))
    return realization_mean(bce, dim=1)


def filter_in_time(matrix: Tensor, series: Tensor) -> Tensor:
    """Filter a time series (T, ...) with a (T, T) filter matrix along time."""
    return (matrix @ series.reshape(series.shape[0], -1)).reshape(series.shape)


def van_rossum_distance(a: Tensor, b: Tensor, eps: Tensor) -> Tensor:
    """½ Σ_t ((ε∗a)[t] − (ε∗b)[t])², averaged over the last (neuron) axis, for spike trains (T, ..., N) and the
    kernel as a (T, T) filter matrix ``eps``."""
    return 0.5 * (filter_in_time(eps, a - b) ** 2).sum(dim=0).mean(dim=-1)


def lower_bound_loss(counts: Tensor, strength: Tensor, threshold: Tensor) -> Tensor:
    """Per-neuron lower bound (G,): λ/(B·N) Σ_μ Σ_i [ν − ζ_i^μ]_+², ``counts`` ζ (G, B, N) spikes per input."""
    B, N = counts.shape[1:]
    return strength * torch.relu(threshold[:, None, None] - counts).pow(2).sum(dim=(1, 2)) / (B * N)


def upper_bound_loss(counts: Tensor, strength: Tensor, threshold: Tensor, power: Tensor) -> Tensor:
    """Per-layer upper bound (G,): λ/B Σ_μ [(1/N) Σ_i ζ_i^μ − ν]_+^L on the population-mean count per input
    (``strength``, ``threshold`` and the exponent ``power`` ∈ {1, 2} per cell, shape (G,)). The power is a product,
    not ``pow``, whose vectorised and scalar kernels round differently (a cell's result would depend on the batch)."""
    excess = torch.relu(counts.mean(dim=2) - threshold[:, None])
    powered = torch.where(power[:, None] == 1, excess, excess.square())
    return strength * powered.mean(dim=1)
