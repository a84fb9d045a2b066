"""Deep convolutional LIF classifier of Gygax & Zenke 2025 (sgtheory spec §5.2–§5.5), deterministic or stochastic.

Layer l holds C_l channels at P_l positions (H_l = C_l·P_l neurons, flattened channel-major). Its feed-forward drive is
a 1-D convolution of the previous layer's spikes over the position axis (no bias, no padding, stride s_l); the input
layer is one channel of ``units`` positions. An optional recurrent convolution from the layer onto itself (C_l → C_l,
kernel k_r, stride 1, padding k_r // 2, no bias) acts on the layer's own spikes, so the hidden neurons are exactly
the LIF of :func:`sgtheory.functional.lif.lif_zenke_vogels_forward` (the stork ``LIFGroup`` has the same update and
order)::

    S[n]   = spike(U[n] − θ)
    U[n+1] = (β_mem U[n] + (1 − β_mem) I[n]) (1 − S[n])        reset detached
    I[n+1] = β_syn I[n] + conv_l(S_{l−1}[n]) + rec_l(S[n])

``spike`` is a per-layer :class:`SpikeFunction`: the step (deterministic SuperSpike) or an escape-noise Bernoulli
draw with probability σ(β(U − θ)) (stochastic), both with the same surrogate derivative in the backward pass;
:meth:`ConvClassifier.swapped` evaluates a trained network with the other one (spec §5.6). The readout is the
toolkit's non-spiking leaky integrator (:func:`sgtheory.models.classifier.readout_kernel`), reduced over time.

On CPU the convolutions of spikes are event-driven (:func:`event_conv`: compiled loops over the nonzero spikes only;
SHD inputs and hidden layers are 2–7 % nonzero), for the forward pass and for the weight gradients; the input
gradients, whose λ is dense, stay the library's (transposed) convolutions. Feed-forward convolutions run once over
all time steps (rows in time-major order, channel-major), and each hidden layer over the whole sequence is one
autograd node of compiled loops (:func:`sgtheory.functional.conv_lif.conv_lif`, recurrent convolution included)
whose time-major buffers are these tensors' storage. Other devices use the library's convolutions and
:class:`sgtheory.functional.lif.LIFZenkeVogelsLayer` with a :class:`ConvRecurrence`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from sgtheory.functional.conv_lif import conv_lif, event_conv, event_conv_weight_grad
from sgtheory.functional.lif import LIFZenkeVogelsLayer
from sgtheory.functional.surrogate import escape_probability
from sgtheory.models.classifier import Classifier

ALPHA_FEEDFORWARD, ALPHA_RECURRENT = 0.9, 0.1  # shares of the target membrane variance (spec §5.4)


@dataclass(frozen=True)
class SpikeFunction:
    """One hidden layer's spike nonlinearity: forward step (``stochastic=False``) or Bernoulli(σ(slope·x))
    (``stochastic=True``), backward ``derivative(x)`` (the surrogate) in both cases. x = U − θ."""

    derivative: Callable[[Tensor], Tensor]
    stochastic: bool = False
    slope: float = 10.0

    def other(self) -> SpikeFunction:
        """The partner used for cross-evaluation: deterministic ↔ stochastic, same surrogate and slope."""
        return replace(self, stochastic=not self.stochastic)

    def forward(self, generator: torch.Generator | None) -> Callable[[Tensor], Tensor] | None:
        """The 0/1 spikes (in the dtype of x) of a step: None for the step (the LIF layer's own H(x), x > 0), or
        escape noise drawn from ``generator``."""
        if not self.stochastic:
            return None
        if generator is None:
            raise ValueError("a stochastic spike function needs a generator")

        def draw(x: Tensor) -> Tensor:
            uniform = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            return (escape_probability(x, "sigmoid", self.slope) > uniform).to(x.dtype)

        return draw


def conv_positions(units: int, kernels: Sequence[int], strides: Sequence[int]) -> list[int]:
    """Positions P_l of every layer (no padding): P_l = ⌊(P_{l−1} − k_l) / s_l⌋ + 1; ValueError if one is < 1."""
    positions, P = [], units
    for index, (k, s) in enumerate(zip(kernels, strides, strict=True)):
        P = (P - k) // s + 1
        if P < 1:
            raise ValueError(f"conv layer {index}: kernel {k} does not fit {positions[-1] if positions else units} "
                             "positions")
        positions.append(P)
    return positions


def lif_kernel_energy(tau_mem: float, tau_syn: float, dt: float, steps: int = 100) -> float:
    """ε̂ = Σ_k K_k² Δt (in the unit of Δt) of the numerical LIF kernel: K_0 = 0, I_0 = 1,
    K_{k+1} = β_mem K_k + (1 − β_mem) I_k, I_{k+1} = β_syn I_k (spec §5.4)."""
    b_mem, b_syn = math.exp(-dt / tau_mem), math.exp(-dt / tau_syn)
    K, current, total = 0.0, 1.0, 0.0
    for _ in range(steps):
        total += K * K
        K, current = b_mem * K + (1 - b_mem) * current, b_syn * current
    return total * dt


def fluctuation_sigma(sigma_u: float, fan_in: int, rate: float, epsilon: float, share: float) -> float:
    """σ_w = σ_U √(α_c / (N_c ν ε̂)) of the fluctuation-driven initialisation (Rossbroich et al. 2022; spec §5.4):
    ``fan_in`` N_c = in_channels × kernel, ``rate`` ν (Hz), ``epsilon`` ε̂ (s), ``share`` α_c."""
    return sigma_u * math.sqrt(share / (fan_in * rate * epsilon))


INPUT_GRAD_ELEMENTS = 2**18  # dL/dS by conv1d_input over blocks of rows of about this many λ entries: one call over all
#                             T·B rows (≈ 10⁸ entries at SHD size) ran 1.3–2× slower, the same numbers; 2**16–2**20
#                             within 30 % of each other, 2**14 1.3–1.9× slower (SHD layers 2 and 3, 1 thread)


class _EventConv(torch.autograd.Function):
    """The feed-forward convolution out = conv1d(S, W, stride) on CPU: forward and dL/dW by :func:`event_conv` and
    :func:`event_conv_weight_grad` (spikes are sparse), dL/dS = conv1d_input (dense: the surrogate makes every
    presynaptic neuron's gradient nonzero) over blocks of rows, computed only when S needs it."""

    @staticmethod
    def forward(ctx, S, W, stride):
        ctx.save_for_backward(S, W)
        ctx.stride = stride
        return event_conv(S, W, stride, 0)

    @staticmethod
    def backward(ctx, grad):
        S, W = ctx.saved_tensors
        grad_S = None
        if ctx.needs_input_grad[0]:
            grad_S = S.new_empty(S.shape)
            rows = max(1, INPUT_GRAD_ELEMENTS // grad[0].numel())
            for lo in range(0, S.shape[0], rows):
                block = grad_S[lo:lo + rows]
                block.copy_(torch.nn.grad.conv1d_input(block.shape, W, grad[lo:lo + rows], stride=ctx.stride))
        grad_W = event_conv_weight_grad(S, grad, W.shape, ctx.stride, 0) if ctx.needs_input_grad[1] else None
        return grad_S, grad_W, None


def feedforward_conv(S: Tensor, W: Tensor, stride: int) -> Tensor:
    """conv1d(S, W, stride) (N, C_out, P) of spikes S (N, C_in, L), no padding: the event-driven
    :class:`_EventConv` on CPU, the device's convolution (cuDNN) elsewhere."""
    return _EventConv.apply(S, W, stride) if S.device.type == "cpu" else F.conv1d(S, W, stride=stride)


@dataclass(frozen=True)
class ConvRecurrence:
    """The recurrent convolution of a layer of C channels × P positions (kernel k odd, stride 1, padding k // 2, no
    bias) as the ``recurrence`` of :class:`sgtheory.functional.lif.LIFZenkeVogelsLayer` (devices other than the CPU,
    which runs :func:`sgtheory.functional.conv_lif.conv_lif`); V = kernels (1, C, C, k). One cell (G = 1)."""

    channels: int
    positions: int

    def _view(self, x: Tensor) -> Tensor:
        return x.reshape(-1, self.channels, self.positions)

    def apply(self, spikes: Tensor, V: Tensor) -> Tensor:
        return F.conv1d(self._view(spikes), V[0], padding=V.shape[-1] // 2).view(spikes.shape)

    def adjoint(self, lam: Tensor, V: Tensor) -> Tensor:
        return F.conv_transpose1d(self._view(lam), V[0], padding=V.shape[-1] // 2).view(lam.shape)

    def weight_grad(self, lam: Tensor, spikes: Tensor, V: Tensor) -> Tensor:
        return torch.nn.grad.conv1d_weight(self._view(spikes), V.shape[1:], self._view(lam),
                                           padding=V.shape[-1] // 2)[None]


def library_conv_lif(drive: Tensor, V: Tensor | None, layer: LIFZenkeVogelsLayer) -> Tensor:
    """:func:`sgtheory.functional.conv_lif.conv_lif` (spikes (T, B, C, P) from the drive (T, B, C, P) and V (C, C, k)
    or None) by the LIF layer of :mod:`sgtheory.functional.lif` with a :class:`ConvRecurrence`: the path of devices
    other than the CPU."""
    T, B, C, P = drive.shape
    rows = drive.reshape(T, 1, B, C * P).permute(1, 2, 0, 3)
    recurrence = None if V is None else ConvRecurrence(C, P)
    S = replace(layer, recurrence=recurrence)(rows, None if V is None else V[None])
    return S.permute(2, 0, 1, 3).reshape(T, B, C, P)


@dataclass
class ConvClassifier(Classifier):
    """G = 1 network (the leading cell dimension of :class:`Classifier` is kept): ``conv`` = feed-forward kernels
    (1, C_l, C_{l−1}, k_l); ``recurrent`` = recurrent kernels (1, C_l, C_l, k_r) or empty; ``weights`` = [W_out]
    (1, K, H_L). ``spikes`` holds one :class:`SpikeFunction` per hidden layer; ``generator`` feeds the escape noise
    (set it before a stochastic forward pass)."""

    conv: list[Tensor] = field(default_factory=list)
    strides: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    spikes: list[SpikeFunction] = field(default_factory=list)
    generator: torch.Generator | None = None

    @property
    def parameters(self) -> list[Tensor]:
        return [*self.conv, *self.recurrent, *self.weights]

    def swapped(self) -> ConvClassifier:
        """The same weights with every hidden layer's spike function replaced by its :meth:`SpikeFunction.other`."""
        return replace(self, spikes=[s.other() for s in self.spikes])

    def hidden_spikes(self, x: Tensor) -> list[Tensor]:
        """Spikes of every hidden layer (1, B, T, C_l·P_l) for input spikes ``x`` (1, B, T, units)."""
        out = []
        _, B, T, _ = x.shape
        channels = 1
        for index, (W, stride, P, spike) in enumerate(zip(self.conv, self.strides, self.positions, self.spikes,
                                                            strict=True)):
            channels_in, channels = channels, W.shape[1]
            # rows in time-major order (n, b): the LIF layer's time-major buffers (its input, its spikes, its drive
            # gradient) are then these tensors' storage, not copies
            rows = x.transpose(1, 2).reshape(T * B, channels_in, -1)
            drive = feedforward_conv(rows, W[0], stride)  # (T·B, C, P)
            V = self.recurrent[index][0] if self.recurrent else None
            layer = replace(self.layer, smooth=spike.forward(self.generator), derivative=spike.derivative)
            run = conv_lif if x.device.type == "cpu" else library_conv_lif
            S = run(drive.view(T, B, channels, P), V, layer)  # (T, B, C, P): time-major, channel-major neurons
            x = S.view(T, 1, B, channels * P).permute(1, 2, 0, 3)
            out.append(x)
        return out

    def readout_trace(self, spikes: Tensor) -> Tensor:
        """Readout membranes U_o (1, T, B, K) = M (W_out S) from the last hidden layer's spikes (1, B, T, H)
        (M = the readout kernel; plain torch ops: one cell, any device)."""
        drive = torch.einsum("gbth,gkh->gtbk", spikes, self.weights[-1])
        return torch.einsum("nm,gmbk->gnbk", self.kernel, drive)

    def logits(self, spikes: Tensor) -> Tensor:
        """Readout logits (1, B, K): :meth:`readout_trace` reduced over time."""
        U_out = self.readout_trace(spikes)
        if self.readout == "max":
            return U_out.amax(dim=1)
        return U_out.sum(dim=1) if self.readout == "sum" else U_out.mean(dim=1)


def build_conv_classifier(units: int, classes: int, filters: Sequence[int], kernels: Sequence[int],
                          strides: Sequence[int], recurrent_kernel: int, spikes: Sequence[SpikeFunction],
                          sigma_u: Sequence[float], rate: float, epsilon: float, layer: LIFZenkeVogelsLayer,
                          kernel: Tensor,
                          generator: torch.Generator, readout: str = "max", dtype=torch.float32,
                          device: str | torch.device = "cpu") -> ConvClassifier:
    """A ConvClassifier with the fluctuation-driven initialisation of spec §5.4 (``recurrent_kernel`` 0: no
    recurrence): σ_U per layer, presynaptic ``rate`` ν (Hz), ``epsilon`` ε̂ (s, :func:`lif_kernel_energy`); readout
    N(0, 1/H_L). Weights drawn in float64 from ``generator`` in the order ff_0, rec_0, ff_1, …, out."""
    positions = conv_positions(units, kernels, strides)
    conv, recurrent = [], []
    channels = 1

    def normal(shape, sigma):
        w = torch.randn(shape, generator=generator, dtype=torch.float64) * sigma
        return w.to(dtype=dtype, device=device)[None].requires_grad_()

    for C, k, s_u in zip(filters, kernels, sigma_u, strict=True):
        conv.append(normal((C, channels, k), fluctuation_sigma(s_u, channels * k, rate, epsilon, ALPHA_FEEDFORWARD)))
        if recurrent_kernel:
            recurrent.append(normal((C, C, recurrent_kernel),
                                    fluctuation_sigma(s_u, C * recurrent_kernel, rate, epsilon, ALPHA_RECURRENT)))
        channels = C
    hidden = filters[-1] * positions[-1]
    out = normal((classes, hidden), 1.0 / math.sqrt(hidden))
    return ConvClassifier([out], recurrent, layer, kernel.to(device), readout, conv=conv, strides=list(strides),
                          positions=positions, spikes=list(spikes))


def fano_window(spikes: Tensor, window: int) -> float:
    """``fano_window`` (spec §5.6, DECISIONS): spike counts of every neuron in the sliding windows [j, j + window)
    starting at j = 0 … T − window − 1 of every trial of ``spikes`` (trials, T, H); across trials the mean and the
    unbiased variance per (window, neuron); the Fano factor is the mean of var/mean over the pairs with a nonzero
    mean (NaN if there is none). A deterministic network repeating one input gives exactly 0."""
    counts = torch.cumsum(spikes.double(), dim=1)
    counts = torch.cat([counts.new_zeros(counts.shape[0], 1, counts.shape[2]), counts], dim=1)
    starts = max(spikes.shape[1] - window, 0)
    windows = counts[:, window:window + starts] - counts[:, :starts]  # (trials, starts, H)
    mean = windows.mean(0)
    var = windows.var(0, unbiased=True) if windows.shape[0] > 1 else torch.zeros_like(mean)
    ratio = (var / mean)[mean > 0]
    return float(ratio.mean()) if ratio.numel() else math.nan
