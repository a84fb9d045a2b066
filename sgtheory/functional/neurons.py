"""Pure step functions of the recurrent models (flossing spec §2).

Every step has the signature ``step(drive, state, params) -> (out, new_state)``: ``drive`` is the
external input current of this step (input weights times input plus bias), ``out`` the quantity the
linear readout reads. All tensors carry leading batch dimensions; weights may be batched over
independent realizations, shape (R, N, N), with states (R, B, N).

Rate/binary RNN (discrete time, local field x)::

    x_{t+1} = J φ(x_t) + drive_t        out = x_{t+1}

with φ = tanh (rate) or the Heaviside step H with a surrogate derivative (binary).

The LIF neurons are in :mod:`sgtheory.functional.lif`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from sgtheory.functional.realizations import matmul
from sgtheory.functional.surrogate import Surrogate, spike


def recurrent(rates: torch.Tensor, J: torch.Tensor) -> torch.Tensor:
    """J·r for every row of ``rates`` (..., N), with J (N, N) or batched (R, N, N) against rates (..., R, B, N); a
    batched product is one GEMM per realization (:func:`sgtheory.functional.realizations.matmul`), so a realization's
    numbers do not depend on the others. For rates (R, B, N) it is computed as (J rᵀ)ᵀ, which copies the B×N rates
    rather than the N×N weights into the layout of the GEMM."""
    if J.dim() == 2:
        return rates @ J.mT
    if rates.dim() == 3:
        return matmul(J, rates.mT).mT
    return matmul(rates, J.mT)


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
