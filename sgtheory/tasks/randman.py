"""Random-manifold ("Randman") spike-timing classification (Zenke & Vogels 2021; robustness spec §2.1–§2.2).

A manifold is a smooth random map f: [0,1]^D → R^M, f_i(x) = Π_{j=1..D} g_ij(x_j), with 1-D random Fourier series

    g_ij(x) = Σ_k s_k · A_ijk · sin(2π (k · x · B_ijk + C_ijk)),   A, B, C ~ U(0, 1) i.i.d.

Two spectra (decision: ``spectrum = "code" | "paper"``, default ``code``):

- ``code`` (the authors' released default): s_k = 1/((k+1)^α + 1), k = 1..F−1 with F = min(⌈prec^(−1/α)⌉,
  max_f_cutoff); the constant k = 0 term is dropped (their ``use_bias=False``).
- ``paper`` (as printed): s_k = k^(−α), k = 1..n_cutoff with n_cutoff = max_f_cutoff (1000); ``prec`` is unused.

Data set (§2.2): for class c and spike s a fresh manifold f_cs; per class x ~ U([0,1]^D) (n samples), y = f_cs(x)
min–max standardised per unit over the class's samples, y ← (y − min)/(max − min + 1e−7) ∈ [0, 1), and the spike
falls in bin int(T · step_frac · y). Every unit fires exactly ``spikes_per_unit`` times per sample; with Δt = 1 ms,
T = 100 and step_frac = 0.5 all spikes lie in the first 50 ms (bins 0..49).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from sgtheory.seeding import stream_seed

SPECTRA = ("code", "paper")


def spectrum_terms(
    alpha: float, spectrum: str = "code", prec: float = 1e-3, max_f_cutoff: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies k and spectral weights s_k of the 1-D series (float64 arrays of equal length)."""
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha={alpha!r} must be a positive finite number")
    if not 0 < prec < 1:
        raise ValueError(f"prec={prec!r} must lie in (0, 1)")
    if max_f_cutoff < 2:
        raise ValueError(f"max_f_cutoff={max_f_cutoff!r} must be >= 2")
    if spectrum == "code":
        n_terms = min(math.ceil(prec ** (-1.0 / alpha)), max_f_cutoff)
        k = np.arange(1, n_terms, dtype=np.float64)
        return k, 1.0 / ((k + 1.0) ** alpha + 1.0)
    if spectrum == "paper":
        k = np.arange(1, max_f_cutoff + 1, dtype=np.float64)
        return k, k**-alpha
    raise ValueError(f"spectrum={spectrum!r} is not allowed; choose one of: {', '.join(SPECTRA)}")


class Randman:
    """One random manifold f: [0,1]^dim → R^units; coefficients A, B, C of shape (units, dim, terms) from ``rng``."""

    def __init__(
        self,
        units: int,
        dim: int,
        alpha: float,
        rng: np.random.Generator,
        spectrum: str = "code",
        prec: float = 1e-3,
        max_f_cutoff: int = 1000,
    ) -> None:
        if units < 1 or dim < 1:
            raise ValueError(f"units={units!r} and dim={dim!r} must be >= 1")
        self.freq, self.weight = spectrum_terms(alpha, spectrum, prec, max_f_cutoff)
        self.A, self.B, self.C = rng.random((3, units, dim, len(self.freq)))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """f(x) for x of shape (n, dim) in [0, 1]; returns (n, units) float64."""
        x = np.asarray(x, dtype=np.float64)
        units, dim, terms = self.A.shape
        if x.ndim != 2 or x.shape[1] != dim:
            raise ValueError(f"x must have shape (n, {dim}), got {x.shape}")
        out = np.ones((len(x), units))
        chunk = max(1, 2_000_000 // (units * terms))  # bounds the (chunk, units, terms) phase array
        for j in range(dim):
            amp = self.A[:, j] * self.weight  # (units, terms)
            for lo in range(0, len(x), chunk):
                xj = x[lo : lo + chunk, j, None, None]
                phase = 2 * np.pi * (self.freq * xj * self.B[:, j] + self.C[:, j])
                out[lo : lo + chunk] *= (amp * np.sin(phase)).sum(-1)
        return out


def randman_dataset(
    seed: int,
    classes: int = 10,
    units: int = 20,
    dim: int = 1,
    alpha: float = 1.0,
    samples_per_class: int = 1000,
    spikes_per_unit: int = 1,
    steps: int = 100,
    step_frac: float = 0.5,
    split: tuple[float, float, float] = (0.8, 0.1, 0.1),
    spectrum: str = "code",
    prec: float = 1e-3,
    max_f_cutoff: int = 1000,
    dtype: torch.dtype = torch.float32,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The Randman data set, deterministic given ``seed``.

    ``split`` gives the train/valid/test fractions *per class* (800/100/100 of 1000), so every split is balanced;
    each split is shuffled. Returns ``{"train"|"valid"|"test": (spikes, labels)}`` with spikes (samples, steps,
    units) in ``dtype`` (0/1; coinciding spikes of one unit add up when spikes_per_unit > 1) and labels (samples,)
    int64.
    """
    counts = {"classes": classes, "samples_per_class": samples_per_class, "spikes_per_unit": spikes_per_unit}
    for name, value in {**counts, "steps": steps}.items():
        if value < 1:
            raise ValueError(f"{name}={value!r} must be >= 1")
    if not (0 < step_frac <= 1 and steps * step_frac >= 1):
        raise ValueError(f"step_frac={step_frac!r} must lie in (0, 1] with steps*step_frac >= 1")
    if len(split) != 3 or min(split) < 0 or abs(sum(split) - 1) > 1e-9:
        raise ValueError(f"split={split!r} must be three non-negative fractions summing to 1")
    n_train = round(split[0] * samples_per_class)
    n_valid = min(round(split[1] * samples_per_class), samples_per_class - n_train)
    n_used = n_train + n_valid
    bounds = {"train": (0, n_train), "valid": (n_train, n_used), "test": (n_used, samples_per_class)}

    bins = np.empty((classes, samples_per_class, spikes_per_unit, units), dtype=np.int64)
    for c in range(classes):
        x = np.random.default_rng(stream_seed(seed, "randman-x", c)).random((samples_per_class, dim))
        for s in range(spikes_per_unit):
            rng = np.random.default_rng(stream_seed(seed, "randman-manifold", c, s))
            y = Randman(units, dim, alpha, rng, spectrum, prec, max_f_cutoff)(x)
            y = (y - y.min(0)) / (y.max(0) - y.min(0) + 1e-7)
            bins[c, :, s] = (steps * step_frac * y).astype(np.int64)  # floor, y >= 0

    shuffle = np.random.default_rng(stream_seed(seed, "randman-shuffle"))
    out = {}
    for name, (lo, hi) in bounds.items():
        b = bins[:, lo:hi].reshape(-1, spikes_per_unit, units)
        labels = np.repeat(np.arange(classes), hi - lo)
        order = shuffle.permutation(len(labels))
        b, labels = torch.from_numpy(b[order]), torch.from_numpy(labels[order])
        spikes = torch.zeros(len(labels), steps, units, dtype=dtype)
        sample = torch.arange(len(labels))[:, None, None].expand_as(b)
        unit = torch.arange(units).expand_as(b)
        spikes.index_put_((sample, b, unit), torch.ones(b.shape, dtype=dtype), accumulate=True)
        out[name] = (spikes, labels)
    return out
