"""Feed-forward and recurrent LIF classifiers of Zenke & Vogels 2021 (robustness spec §3), batched over grid cells.

Every tensor has a leading *cell* dimension G: independent networks (grid cells: seeds, slopes, learning rates,
regulariser settings) that train together as one computation. Hidden layer l, neuron i, step n (Δt = 1 ms,
threshold ϑ, natural units)::

    S[n]   = Θ(U[n] − ϑ)                                    Θ(0) = 0
    U[n+1] = (β_mem U[n] + (1 − β_mem) I[n]) (1 − S[n])     multiplicative reset to 0
    I[n+1] = β_syn I[n] + W S_prev[n] + V S[n]              V only in recurrent layers

with β = exp(−Δt/τ) and U[0] = I[0] = 0, so an input spike at step n first moves U at n + 2. The backward pass
replaces dS/dU by the surrogate h(U − ϑ). The reset factor (1 − S[n]) is detached unless ``diff_reset``; the
recurrent spikes V S[n] are detached unless ``recurrent_grad`` (V still learns from its local term).

The readout has K leaky integrators fed by the last hidden layer,
``I_o[n+1] = β_syn I_o[n] + W_o S[n]``, ``U_o[n+1] = β_out U_o[n] + (1 − β_out) I_o[n]``, reduced over time
(max, sum or mean) to the logits.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

Derivative = Callable[[Tensor], Tensor]


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


def lif_forward(drive: Tensor, V: Tensor | None, layer: LIFLayer) -> tuple[Tensor, Tensor, Tensor | None]:
    """Time-major traces of one LIF layer: U[0..T] (T+1, G, B, H), spikes S[0..T−1] (T, G, B, H) and, with a
    differentiable reset, I[0..T]. ``drive`` (G, B, T, H) is W·S_prev; no autograd graph is built."""
    drive = drive.detach().permute(2, 0, 1, 3)
    T, G, B, H = drive.shape
    a, b = layer.decay_syn, layer.decay_mem
    Us = drive.new_empty(T + 1, G, B, H)  # every step writes into its slice (no allocation)
    Us[0] = 0.0
    spikes = drive.new_empty(T, G, B, H)
    Is = drive.new_zeros(T + 1, G, B, H) if layer.diff_reset else None
    current = drive.new_zeros(G, B, H)
    fired = torch.empty(G, B, H, dtype=torch.bool)
    for n in range(T):
        U = torch.mul(Us[n], b, out=Us[n + 1]).add_(current, alpha=1 - b)
        if layer.smooth is None:
            torch.gt(Us[n], layer.threshold, out=fired)
            U.masked_fill_(fired, 0.0)
            spikes[n].copy_(fired)
        else:
            spikes[n] = layer.smooth(Us[n] - layer.threshold)
            U.mul_(1 - spikes[n])
        current.mul_(a).add_(drive[n])
        if V is not None:
            current.add_(spikes[n] @ V.detach().transpose(-1, -2))
        if Is is not None:
            Is[n + 1] = current
    return Us, spikes, Is


class _LIFLayer(torch.autograd.Function):
    """Spikes S (G, B, T, H) of one LIF layer from its feed-forward drive W·S_prev (G, B, T, H).

    Forward and backward are explicit loops over time (no autograd graph per step). With the adjoints
    λ_U[n] = dL/dU[n] and λ_I[n] = dL/dI[n] (both 0 at n = T), going back from n = T − 1::

        dL/ddrive[n] = λ_I[n+1]
        g[n]   = dL/dS[n] + [V^T λ_I[n+1]]_{recurrent_grad} − [(β_mem U[n] + (1 − β_mem) I[n]) λ_U[n+1]]_{diff_reset}
        λ_U[n] = β_mem (1 − S[n]) λ_U[n+1] + h(U[n] − ϑ) g[n]
        λ_I[n] = (1 − β_mem)(1 − S[n]) λ_U[n+1] + β_syn λ_I[n+1]

    and dL/dV = Σ_n λ_I[n+1] S[n]^T.
    """

    @staticmethod
    def forward(ctx, drive, V, layer):
        Us, spikes, Is = lif_forward(drive, V, layer)
        ctx.layer = layer
        ctx.has_V = V is not None
        ctx.save_for_backward(Us, spikes, Is if Is is not None else Us, V if V is not None else Us)
        return spikes.permute(1, 2, 0, 3)

    @staticmethod
    def backward(ctx, grad_S):
        Us, spikes, Is, V = ctx.saved_tensors
        layer = ctx.layer
        a, b = layer.decay_syn, layer.decay_mem
        grad_S = grad_S.permute(2, 0, 1, 3)
        T, G, B, H = spikes.shape
        lam_U = Us.new_zeros(G, B, H)
        grad_drive = Us.new_empty(T, G, B, H)  # grad_drive[n] = λ_I[n+1]; λ_I[T] = 0
        grad_drive[T - 1] = 0.0
        propagate = ctx.has_V and layer.recurrent_grad
        for n in range(T - 1, -1, -1):
            lam_I = grad_drive[n]
            g = grad_S[n]
            if propagate:
                g = g + lam_I @ V
            if layer.diff_reset:
                g = g - (b * Us[n] + (1 - b) * Is[n]) * lam_U
            keep_U = lam_U.mul_(1 - spikes[n])
            if n > 0:
                torch.mul(lam_I, a, out=grad_drive[n - 1]).add_(keep_U, alpha=1 - b)
            lam_U = keep_U.mul_(b).addcmul_(layer.derivative(Us[n] - layer.threshold), g)
        grad_V = torch.einsum("tgbi,tgbj->gij", grad_drive, spikes) if ctx.has_V else None
        return grad_drive.permute(1, 2, 0, 3), grad_V, None


@dataclass(frozen=True)
class LIFLayer:
    """Constants of one hidden layer; ``derivative`` maps U − ϑ (G, B, H) to h (per-cell slopes as (G, 1, 1)).

    ``smooth`` replaces the step Θ in the forward pass by a smooth function (tests: with ``derivative`` its exact
    derivative, the backward pass is the exact gradient of that smooth network); None: the step."""

    derivative: Derivative
    decay_mem: float
    decay_syn: float
    threshold: float = 1.0
    diff_reset: bool = False
    recurrent_grad: bool = True
    smooth: Derivative | None = None

    def __call__(self, drive: Tensor, V: Tensor | None = None) -> Tensor:
        """Spikes (G, B, T, H) of the layer driven by ``drive`` (G, B, T, H); ``V`` (G, H, H) or None."""
        return _LIFLayer.apply(drive, V, self)


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
    """x W^T for inputs x (G or 1, B, T, I) and per-cell weights W (G, O, I) → (G, B, T, O), as one matrix product."""
    Gx, B, T, I = x.shape
    G, O, _ = W.shape
    if Gx == 1:
        out = x.reshape(B * T, I) @ W.permute(2, 0, 1).reshape(I, G * O)
        return out.view(B, T, G, O).permute(2, 0, 1, 3)
    return torch.bmm(x.reshape(G, B * T, I), W.transpose(1, 2)).view(G, B, T, O)


@dataclass
class Classifier:
    """A batch of G LIF classifiers: ``weights`` = [W_1, …, W_L, W_out] with W (G, out, in), ``recurrent`` = [V_l]
    (G, H, H) or empty. Parameters are leaf tensors with ``requires_grad``."""

    weights: list[Tensor]
    recurrent: list[Tensor]
    layer: LIFLayer
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
        drive = linear(spikes, self.weights[-1]).permute(2, 0, 1, 3)  # (T, G, B, K)
        U_out = (self.kernel @ drive.reshape(drive.shape[0], -1)).view(drive.shape)
        if self.readout == "max":
            return U_out.amax(dim=0)
        return U_out.sum(dim=0) if self.readout == "sum" else U_out.mean(dim=0)

    def __call__(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        hidden = self.hidden_spikes(x)
        return self.logits(hidden[-1]), hidden


def init_weight(fan_out: int, fan_in: int, generator: torch.Generator, scale: float = 1.0,
                dtype=torch.float32) -> Tensor:
    """W ~ U(−√k, √k)·scale with k = 1/fan_in (PyTorch's bias-free Linear default; spec §3.6)."""
    bound = scale / math.sqrt(fan_in)
    return (torch.rand(fan_out, fan_in, generator=generator, dtype=torch.float64) * 2 - 1).mul(bound).to(dtype)


def lower_bound_loss(counts: Tensor, strength: Tensor, threshold: Tensor) -> Tensor:
    """Per-neuron lower bound (G,): λ/(B·N) Σ_μ Σ_i [ν − ζ_i^μ]_+², ``counts`` ζ (G, B, N) spikes per input."""
    B, N = counts.shape[1:]
    return strength * torch.relu(threshold[:, None, None] - counts).pow(2).sum(dim=(1, 2)) / (B * N)


def upper_bound_loss(counts: Tensor, strength: Tensor, threshold: Tensor, power: Tensor) -> Tensor:
    """Per-layer upper bound (G,): λ/B Σ_μ [(1/N) Σ_i ζ_i^μ − ν]_+^L on the population-mean count per input
    (``strength``, ``threshold`` and the exponent ``power`` per cell, shape (G,))."""
    excess = torch.relu(counts.mean(dim=2) - threshold[:, None])
    return strength * excess.pow(power[:, None]).mean(dim=1)


class Adam:
    """Adam over batched parameters with a per-cell learning rate ``lr`` (G,) (PyTorch's update rule):

        m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²,
        p ← p − lr/(1 − β1^t) · m / (√v/√(1 − β2^t) + ε)

    Cells with ``active`` False (non-finite runs) are not updated.
    """

    def __init__(self, params: list[Tensor], lr: Tensor, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    @torch.no_grad()
    def step(self, active: Tensor) -> None:
        self.t += 1
        b1, b2 = self.betas
        bias1, bias2 = 1 - b1**self.t, 1 - b2**self.t
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            g = torch.where(active.view(-1, *[1] * (p.dim() - 1)), p.grad, 0.0)
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            step = (self.lr * active).view(-1, *[1] * (p.dim() - 1)) / bias1
            p.sub_(step * m / (v.sqrt() / math.sqrt(bias2) + self.eps))
