"""Pure step functions of the recurrent models (flossing spec §2).

Every step has the signature ``step(drive, state, params) -> (out, new_state)``: ``drive`` is the
external input current of this step (input weights times input plus bias), ``out`` the quantity the
linear readout reads. All tensors carry leading batch dimensions; weights may be batched over
independent realizations, shape (R, N, N), with states (R, B, N).

Rate/binary RNN (discrete time, local field x)::

    x_{t+1} = J φ(x_t) + drive_t        out = x_{t+1}

with φ = tanh (rate) or the Heaviside step H with a surrogate derivative (binary).

Current-based LIF (Δt = 1 ms, α = exp(-Δt/τ_syn), β = exp(-Δt/τ_mem), threshold θ)::

    s_t     = H(v_t - θ)
    I_{t+1} = α I_t + V s_t + drive_t
    v_{t+1} = (β v_t + (1 - β) I_{t+1}) (1 - s_t)      reset detached from autograd by default
    out     = v_{t+1}
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from sgtheory.functional.surrogate import Surrogate, spike


def recurrent(rates: torch.Tensor, J: torch.Tensor) -> torch.Tensor:
    """J·r for every row of ``rates`` (..., N), with J (N, N) or batched (R, N, N)."""
    return rates @ J.transpose(-1, -2)


class RateParams(NamedTuple):
    J: torch.Tensor  # recurrent weights (R, N, N)
    phi: Callable[[torch.Tensor], torch.Tensor]  # nonlinearity: tanh or the Heaviside step
    dphi: Callable[[torch.Tensor], torch.Tensor]  # its derivative (the surrogate derivative for H)


def tanh_params(J: torch.Tensor) -> RateParams:
    return RateParams(J, torch.tanh, lambda x: 1.0 - torch.tanh(x) ** 2)


def binary_params(J: torch.Tensor, surrogate: Surrogate) -> RateParams:
    """Heaviside step H(x) (threshold 0) whose backward pass and Jacobian use ``surrogate``."""
    return RateParams(J, lambda x: spike(x, surrogate), surrogate.derivative)


def rate_step(drive: torch.Tensor, x: torch.Tensor, p: RateParams) -> tuple[torch.Tensor, torch.Tensor]:
    """x' = J φ(x) + drive; the readout reads the local field x'."""
    x_new = recurrent(p.phi(x), p.J) + drive
    return x_new, x_new


def rate_tangent(x: torch.Tensor, x_new: torch.Tensor, Q: torch.Tensor, p: RateParams) -> torch.Tensor:
    """Tangent vectors pushed through D = diag(φ'(x')) J, the Jacobian of the rates r' = φ(x') w.r.t.
    r = φ(x) (spec §2.1); for the binary network φ' is the surrogate derivative (spec §2.2).

    ``Q`` (..., k, N) holds k tangent vectors as rows (q' = D q for each row); D is never formed.
    """
    return recurrent(Q, p.J) * p.dphi(x_new)


class LIFParams(NamedTuple):
    V: torch.Tensor  # recurrent weights (R, N, N)
    surrogate: Surrogate
    alpha: float  # synaptic decay per step, exp(-dt/tau_syn)
    beta: float  # membrane decay per step, exp(-dt/tau_mem)
    threshold: float
    diff_reset: bool = False  # let the gradient flow through the reset factor (1 - s_t)


def lif_params(V, surrogate, tau_mem=10.0, tau_syn=5.0, dt=1.0, threshold=1.0, diff_reset=False) -> LIFParams:
    """Parameters of the current-based LIF from time constants in ms."""
    return LIFParams(V, surrogate, math.exp(-dt / tau_syn), math.exp(-dt / tau_mem), threshold, diff_reset)


def lif_step(
    drive: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], p: LIFParams
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One LIF step; ``state`` is (v, I). The multiplicative reset is detached (SpyTorch convention)
    unless ``p.diff_reset``."""
    v, current = state
    s = spike(v - p.threshold, p.surrogate)
    current = p.alpha * current + recurrent(s, p.V) + drive
    v = (p.beta * v + (1.0 - p.beta) * current) * (1.0 - (s if p.diff_reset else s.detach()))
    return v, (v, current)


def lif_tangent(state, new_state, Q: torch.Tensor, p: LIFParams) -> torch.Tensor:
    """Tangent vectors of the 2N-dimensional LIF state (v, I), reset ignored (spec §2.3); P = diag(h(v - θ)):

        dI' = V P dv + α dI,        dv' = β dv + (1 - β) dI'

    i.e. ∂v'/∂v = β + (1-β) V P, ∂v'/∂I = (1-β) α, ∂I'/∂v = V P, ∂I'/∂I = α at the state before the step.
    ``Q`` (..., k, 2N): k tangent vectors as rows, v components then I components.
    """
    v = state[0]
    N = v.shape[-1]
    q_v, q_i = Q[..., :N], Q[..., N:]
    d_i = recurrent(q_v * p.surrogate.derivative(v - p.threshold), p.V) + p.alpha * q_i
    d_v = p.beta * q_v + (1.0 - p.beta) * d_i
    return torch.cat([d_v, d_i], dim=-1)
