"""Feed-forward and recurrent LIF classifiers of Zenke & Vogels 2021 (robustness spec §3), batched over grid cells.

Every tensor has a leading *cell* dimension G: independent networks (grid cells: seeds, slopes, learning rates,
regulariser settings) that train together as one computation. Hidden layer l, neuron i, step n (Δt = 1 ms,
threshold ϑ, natural units): the hidden layers are the Zenke & Vogels LIF of
:func:`sgtheory.functional.lif.lif_zenke_vogels_forward` (U[0] = I[0] = 0; an input spike at step n first moves U at
n + 2; the reset factor is detached unless ``diff_reset``, the recurrent spikes V S[n] unless ``recurrent_grad``).

The readout has K leaky integrators fed by the last hidden layer,
``I_o[n+1] = β_syn I_o[n] + W_o S[n]``, ``U_o[n+1] = β_out U_o[n] + (1 − β_out) I_o[n]``, reduced over time
(max, sum or mean) to the logits.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from sgtheory.functional.lif import LIFZenkeVogelsLayer
from sgtheory.functional.realizations import matmul


def reuse_large_allocations() -> None:
    """Keep freed large blocks in the heap (glibc): the time loops fill fresh (T, G, B, H) buffers every minibatch,
    and returning them to the OS made each step pay page faults (up to 3× slower at G = 8). No-op elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 2**30)
    libc.mallopt(m_trim_threshold, 2**31 - 1)


def readout_kernel(steps: int, decay_syn: float, decay_out: float, dtype=torch.float32) -> Tensor:
    """(T, T) matrix M with U_o[n] = Σ_m M[n, m] d[m] for the readout driven by d[m] = W_o S[m] (U_o[0] = 0).

    M[n, m] = (1 − β_out) Σ_{j=0}^{n−m−2} β_out^{n−m−2−j} β_syn^j for n ≥ m + 2, else 0 (computed in float64).
    """
    lag = torch.zeros(steps, dtype=torch.float64)
    current = u = 0.0
    for n in range(steps):  # impulse response of the readout to d[0] = 1
        lag[n] = u
        u = decay_out * u + (1 - decay_out) * current
        current = decay_syn * current + (1.0 if n == 0 else 0.0)
    index = torch.arange(steps)
    diff = index[:, None] - index[None, :]
    return torch.where(diff >= 0, lag[diff.clamp(min=0)], 0.0).to(dtype)


def linear(x: Tensor, W: Tensor) -> Tensor:
    """x W^T for inputs x (G or 1, B, T, I) and per-cell weights W (G, O, I) → (G, B, T, O), one matrix product per
    cell (:func:`sgtheory.functional.realizations.matmul`: a cell's numbers do not depend on the others).

    The rows are taken time-major, (t, b), and the result is a view of a (G, T, B, O) tensor: the LIF layers and
    the readout kernel work on time-major steps, so for G = 1 neither the drive nor the spikes are copied between
    them (a time-major (T, 1, B, H) buffer is already one (T·B, H) matrix)."""
    Gx, B, T, I = x.shape
    G, O, _ = W.shape
    return matmul(x.transpose(1, 2).reshape(Gx, T * B, I), W.mT).view(G, T, B, O).transpose(1, 2)


@dataclass
class Classifier:
    """A batch of G LIF classifiers: ``weights`` = [W_1, …, W_L, W_out] with W (G, out, in), ``recurrent`` = [V_l]
    (G, H, H) or empty. Parameters are leaf tensors with ``requires_grad``."""

    weights: list[Tensor]
    recurrent: list[Tensor]
    layer: LIFZenkeVogelsLayer
    kernel: Tensor  # readout_kernel (T, T)
    readout: str = "max"

    @property
    def parameters(self) -> list[Tensor]:
        return [*self.weights, *self.recurrent]

    def hidden_spikes(self, x: Tensor) -> list[Tensor]:
        """Spikes of every hidden layer (G, B, T, H) for input spikes ``x`` (G or 1, B, T, U)."""
        out = []
        for index, W in enumerate(self.weights[:-1]):
            drive = linear(x, W)
            x = self.layer(drive, self.recurrent[index] if self.recurrent else None)
            out.append(x)
        return out

    def logits(self, spikes: Tensor) -> Tensor:
        """Readout logits (G, B, K) from the last hidden layer's spikes: U_o reduced over time."""
        drive = linear(spikes, self.weights[-1]).transpose(1, 2)  # (G, T, B, K), contiguous
        G, T, B, K = drive.shape
        U_out = matmul(self.kernel[None], drive.reshape(G, T, B * K)).view(G, T, B, K)
        if self.readout == "max":
            return U_out.amax(dim=1)
        return U_out.sum(dim=1) if self.readout == "sum" else U_out.mean(dim=1)

    def __call__(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        hidden = self.hidden_spikes(x)
        return self.logits(hidden[-1]), hidden


def init_weight(fan_out: int, fan_in: int, generator: torch.Generator, scale: float = 1.0,
                dtype=torch.float32) -> Tensor:
    """W ~ U(−√k, √k)·scale with k = 1/fan_in (PyTorch's bias-free Linear default; spec §3.6)."""
    bound = scale / math.sqrt(fan_in)
    return (torch.rand(fan_out, fan_in, generator=generator, dtype=torch.float64) * 2 - 1).mul(bound).to(dtype)
