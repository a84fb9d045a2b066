"""The two-layer LIF network of Gygax & Zenke's spike-train matching (sgtheory spec §4.2), from plain values.

Per layer, from zero state, the Gygax & Zenke LIF (:func:`sgtheory.functional.lif.lif_gygax_zenke_layer`) driven
by a current that is linear in the presynaptic spikes, so each layer's current is one matrix product with a (T, T)
filter matrix::

    I[t+1] = λ_s I[t] + Σ_j W[j, i] S_pre[t, j]        λ_m = e^{−dt/τ_mem}, λ_s = e^{−dt/τ_syn}

Spikes are the step 1[U > θ] or a Bernoulli draw with probability σ(β(U − θ)) (escape noise).
"""

from __future__ import annotations

import dataclasses
import math

import torch

from sgtheory.functional.lif import Fire, lif_gygax_zenke_layer
from sgtheory.functional.losses import filter_in_time, van_rossum_distance
from sgtheory.functional.surrogate import Surrogate, escape_spike_given, spike


def toeplitz(kernel: torch.Tensor) -> torch.Tensor:
    """Lower-triangular (T, T) matrix M[t, s] = kernel[t − s] (t ≥ s), so (M @ q)[t] = Σ_{s≤t} kernel[t−s] q[s]."""
    T = kernel.shape[0]
    index = torch.arange(T)
    lag = index[:, None] - index[None, :]
    return torch.where(lag >= 0, kernel[lag.clamp(min=0)], torch.zeros((), dtype=kernel.dtype))


@dataclasses.dataclass(frozen=True)
class Filters:
    """Filter matrices (T, T): LIF trace x̂, synaptic current I and the ε kernel; λ_m the membrane decay per step."""

    trace: torch.Tensor
    current: torch.Tensor
    eps: torch.Tensor
    lam_m: float

    @classmethod
    def build(cls, T: int, dt: float, tau_mem: float, tau_syn: float, eps0: float, dtype: torch.dtype) -> Filters:
        """T steps of dt (ms), time constants tau_mem and tau_syn (ms), ε(t_k) = eps0 (e^{−t_k/τ_mem} − e^{−t_k/τ_syn})
        on t_k = linspace(0, T·dt, T) (the spec's grid, in s)."""
        lam_m, lam_s = math.exp(-dt / tau_mem), math.exp(-dt / tau_syn)
        steps = torch.arange(T, dtype=dtype)
        current = torch.where(steps >= 1, lam_s ** (steps - 1), torch.zeros((), dtype=dtype))  # I after a spike
        trace = torch.zeros(T, dtype=dtype)  # x̂[k+1] = λ_m x̂[k] + (1 − λ_m) I[k]
        for k in range(T - 1):
            trace[k + 1] = lam_m * trace[k] + (1 - lam_m) * current[k]
        t_k = torch.linspace(0.0, T * dt / 1000, T, dtype=dtype)  # seconds, spacing T·dt/(T−1) (spec §4.4)
        eps = eps0 * (torch.exp(-t_k / (tau_mem / 1000)) - torch.exp(-t_k / (tau_syn / 1000)))
        return cls(toeplitz(trace), toeplitz(current), toeplitz(eps), lam_m)


def firing(threshold: float, surrogate: Surrogate, stochastic: bool, beta: float, shape, generator: torch.Generator,
           grad: bool, dtype: torch.dtype) -> Fire:
    """The spike function of a layer with ``shape`` = (T, B, N): deterministic step or escape noise σ(β x).

    Escape noise draws all uniforms r of the layer at once; σ(β(U − θ)) > r is U > θ + logit(r)/β, one
    comparison per step. With ``grad`` the surrogate carries gradients (stochastic: ψ = f′; deterministic:
    ``surrogate``).
    """
    uniform = torch.rand(shape, generator=generator, dtype=dtype) if stochastic else None
    if grad:

        def fire_grad(U, t):
            x = U - threshold
            S = escape_spike_given(x, uniform[t], "sigmoid", beta) if stochastic else spike(x, surrogate)
            return S.detach() > 0, S

        return fire_grad
    cut = threshold + torch.logit(uniform) / beta if stochastic else torch.full(shape[1:], threshold, dtype=dtype)

    def fire(U, t):
        fired = U > (cut[t] if stochastic else cut)
        return fired, fired

    return fire


@dataclasses.dataclass
class Pass:
    """One forward pass over a batch of trials: hidden/output membranes and spikes (T, B, N)."""

    U_h: torch.Tensor
    S_h: torch.Tensor
    U_o: torch.Tensor
    S_o: torch.Tensor


class SpikeMatchNet:
    """The network, its frozen input and its target: ``target`` (T, N_out) and ``inputs`` (T, N_in) spike trains,
    weights ``W0`` (N_in, N_h) and ``W1`` (N_h, N_out), the layer filters, threshold θ, the escape steepness of each
    layer and the surrogate of deterministic spikes."""

    def __init__(self, target: torch.Tensor, inputs: torch.Tensor, filters: Filters, W0: torch.Tensor,
                 W1: torch.Tensor, threshold: float, beta_hidden: float, beta_output: float, surrogate: Surrogate):
        self.target, self.inputs, self.filters, self.W0, self.W1 = target, inputs, filters, W0, W1
        self.T, self.n_output = target.shape
        self.threshold, self.surrogate = threshold, surrogate
        self.beta_hidden, self.beta_output = beta_hidden, beta_output
        self.input_trace = filter_in_time(filters.trace, inputs)  # x̂_in (T, n_input)
        self.input_drive = filter_in_time(filters.current, inputs)  # filtered input spikes (T, n_input)

    def _fire(self, stochastic, beta, shape, generator, grad) -> Fire:
        return firing(self.threshold, self.surrogate, stochastic, beta, shape, generator, grad, self.target.dtype)

    def forward(self, trials: int, stochastic: bool, generator: torch.Generator, grad: bool = False) -> Pass:
        f = self.filters
        current_h = (self.input_drive @ self.W0)[:, None, :].expand(-1, trials, -1)  # (T, B, N_h)
        U_h, S_h = lif_gygax_zenke_layer(current_h, f.lam_m,
                                         self._fire(stochastic, self.beta_hidden, current_h.shape, generator, grad))
        current_o = filter_in_time(f.current, S_h @ self.W1)
        U_o, S_o = lif_gygax_zenke_layer(current_o, f.lam_m,
                                         self._fire(stochastic, self.beta_output, current_o.shape, generator, grad))
        return Pass(U_h, S_h, U_o, S_o)

    def van_rossum(self, S_o: torch.Tensor) -> torch.Tensor:
        """Van Rossum distance to the target per trial (B,)."""
        return van_rossum_distance(self.target[:, None, :].expand_as(S_o), S_o, self.filters.eps)

    def l2(self, S_o: torch.Tensor) -> torch.Tensor:
        """L2 distance per trial (B,): ½ Σ_t (z − S_o)², mean over output neurons."""
        return 0.5 * ((self.target[:, None, :] - S_o) ** 2).sum(dim=0).mean(dim=-1)
