"""Recurrent networks on delayed tasks, batched over independent realizations (flossing spec §2).

Parameters carry a leading realization dimension R, so R networks with different seeds train as one
batched computation; nothing couples the realizations, and every product is one GEMM per realization
(:mod:`sgtheory.functional.realizations`), so each one evolves bit for bit as it would alone.

Initialisation (spec §2.4), per realization:

- J = gain·z/√N + gbar/N with z ~ N(0, 1) ("gaussian"; for the LIF model the rows of z are centred,
  spec §2.3), or J = gain·Q with Q Haar-orthogonal ("orthogonal", spec §2.4: no gbar, no centring);
- w_in = input_scale·N(0, 1) + input_mean; w_out = readout_scale·N(0, 1) + readout_mean;
- b = bias_mean + bias_scale·U[0, 1); readout offset c = readout_offset;
- the initial state x0 (N×B; 2N×B for LIF, v then I) is drawn from N(0, 1) and relaxed for
  ``relax_steps`` input-free steps; it is then a trainable parameter.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from sgtheory.functional.fused_rnn import lif_sequence, rate_sequence
from sgtheory.functional.lif import lif_engelken_abbott_params, lif_engelken_abbott_step, lif_engelken_abbott_tangent
from sgtheory.functional.neurons import binary_params, rate_step, rate_tangent, tanh_params
from sgtheory.functional.realizations import matmul
from sgtheory.functional.surrogate import Surrogate


def init_recurrent(N, gain, gbar, init, center_rows, generator, dtype) -> torch.Tensor:
    """Random recurrent matrix (N, N) of one realization."""
    z = torch.randn(N, N, generator=generator, dtype=dtype)
    if init == "orthogonal":
        q, r = torch.linalg.qr(z)
        return gain * q * torch.sign(torch.diagonal(r))
    if center_rows:
        z = z - z.mean(dim=1, keepdim=True)
    return gain * z / N**0.5 + gbar / N


class RNNInit(NamedTuple):
    """The distributions of one realization's initial parameters (see the module docstring)."""

    N: int
    gain: float
    gbar: float
    init: str  # gaussian | orthogonal
    center_rows: bool  # centre the rows of z (the LIF model)
    input_scale: float
    input_mean: float
    readout_scale: float
    readout_mean: float
    bias_mean: float
    bias_scale: float
    readout_offset: float


def init_weights(p: RNNInit, net_gen: torch.Generator, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Initial parameters of one realization from its network generator."""
    N, S = p.N, 1
    J = init_recurrent(N, p.gain, p.gbar, p.init, p.center_rows, net_gen, dtype)
    w_in = p.input_scale * torch.randn(N, S, generator=net_gen, dtype=dtype) + p.input_mean
    w_out = p.readout_scale * torch.randn(N, 1, generator=net_gen, dtype=dtype) + p.readout_mean
    b = p.bias_mean + p.bias_scale * torch.rand(N, generator=net_gen, dtype=dtype)
    c = torch.full((1,), p.readout_offset, dtype=dtype)
    return {"J": J, "w_in": w_in, "w_out": w_out, "b": b, "c": c}


class RNN(nn.Module):
    """Tanh, binary or LIF recurrent network with a linear readout of the local field (or membrane v).

    ``weights`` maps J (R,N,N), w_in (R,N,S), w_out (R,N,1), b (R,N), c (R,1) to stacked tensors;
    ``x0`` is the initial state (R, B, D) with D = N (tanh, binary) or 2N (LIF: v then I);
    ``lif_options`` are passed to :func:`lif_engelken_abbott_params` for the LIF model.
    """

    def __init__(self, model: str, weights: dict[str, torch.Tensor], x0: torch.Tensor, surrogate: Surrogate,
                 **lif_options):
        super().__init__()
        self.model = model
        self.surrogate = surrogate
        self.lif_options = lif_options  # tau_mem, tau_syn, dt, threshold, diff_reset
        for name, tensor in weights.items():
            setattr(self, name, nn.Parameter(tensor.clone()))
        self.x0 = nn.Parameter(x0.clone())

    @property
    def N(self) -> int:
        return self.J.shape[-1]

    @property
    def threshold(self) -> float:
        """θ of the binary outputs H(u - θ) (u = x for the binary RNN, v for LIF): 0, or the LIF firing threshold."""
        if self.model == "tanh":
            raise ValueError("a tanh network has no binary outputs")
        return self._step_fn()[1].threshold if self.model == "lif" else 0.0

    def _step_fn(self, surrogate: Surrogate | None = None):
        """(step, params, state-from-vector) for this model, with ``surrogate`` (default: the model's own)."""
        surrogate = surrogate or self.surrogate
        if self.model == "lif":
            params = lif_engelken_abbott_params(self.J, surrogate, **self.lif_options)
            return lif_engelken_abbott_step, params, lambda x: (x[..., : self.N], x[..., self.N :])
        params = tanh_params(self.J) if self.model == "tanh" else binary_params(self.J, surrogate)
        return rate_step, params, lambda x: x

    def dynamics(self, jacobian_surrogate: Surrogate | None = None):
        """(step, tangent, unpack) for the Lyapunov engine: ``step(drive, state) -> state``,
        ``tangent(state, new_state, Q) -> Q'`` (rows pushed through the step's Jacobian; the surrogate
        Jacobian for binary and LIF units, spec §2.2-2.3) and ``unpack(vector) -> state``. The Jacobian uses
        ``jacobian_surrogate`` where given (the step's own backward keeps the model's surrogate, as in the public
        LIF example: sharpness 5 in the Jacobian, 10 in autograd)."""
        step, params, unpack = self._step_fn()
        tangent_params = self._step_fn(jacobian_surrogate)[1]
        tangent = lif_engelken_abbott_tangent if self.model == "lif" else rate_tangent
        return (lambda drive, state: step(drive, state, params)[1],
                lambda state, new_state, Q: tangent(state, new_state, Q, tangent_params), unpack)

    def drive(self, inputs: torch.Tensor) -> torch.Tensor:
        """External drive w_in·s_t + b (T, R, B, N) of inputs (T, R, B, S), as [s_t, 1]·[w_in, b]ᵀ: one product per
        realization, so that the gradients of w_in and b are per-realization sums too."""
        ones = torch.ones(*inputs.shape[:-1], 1, dtype=inputs.dtype)
        return matmul(torch.cat([inputs, ones], -1), torch.cat([self.w_in, self.b[..., None]], -1).mT)

    def run(self, drive: torch.Tensor, state0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Iterate the step over drive (T, R, B, N) from a state vector (R, B, D).

        Returns the readout variable at every step (T, R, B, N) and the final state vector (R, B, D), from one
        autograd node for the whole sequence (:mod:`sgtheory.functional.fused_rnn`: the step's arithmetic, an explicit
        backward loop).
        """
        if self.model == "lif":
            return lif_sequence(drive, state0, self._step_fn()[1])
        return rate_sequence(drive, state0, self.J, self.surrogate if self.model == "binary" else None)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Readout logits (T, R, B) for inputs (T, R, B, S), starting from the trainable x0."""
        outs, _ = self.run(self.drive(inputs), self.x0)
        rows = outs.permute(1, 0, 2, 3)  # (R, T, B, N): a realization's rows (t, b) together, as run stores them
        R, T, B, N = rows.shape
        rows = torch.cat([rows, torch.ones(R, T, B, 1, dtype=rows.dtype)], -1).view(R, T * B, N + 1)
        return matmul(rows, torch.cat([self.w_out, self.c[..., None]], -2)).view(R, T, B).permute(1, 0, 2)

    @torch.no_grad()
    def relax(self, state0: torch.Tensor, steps: int) -> torch.Tensor:
        """State after ``steps`` input-free steps (drive = bias only) from state0 (R, B, D)."""
        if steps == 0:
            return state0
        drive = self.b[:, None, :].expand(steps, -1, state0.shape[1], -1)
        return self.run(drive, state0)[1]
