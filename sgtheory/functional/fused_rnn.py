"""The recurrent models of :mod:`sgtheory.models.rnn` over a whole sequence as one autograd node (flossing spec §2).

The forward pass is the step functions of :mod:`sgtheory.functional.neurons` and :mod:`sgtheory.functional.lif`
iterated over time, with the same elementwise operations in the same order, written into preallocated
realization-major buffers (R, T + 1, B, N) instead of one autograd graph per step; the recurrent product is formed as
φ(x_t)ᵀ Jᵀ (rows times a transposed copy of J made once), whose GEMM may add in another order than the step's J φ(x_t)
(round-off; with spikes every product is exact)::

    tanh, binary:  x_{t+1} = J φ(x_t) + d_t                                          out_t = x_{t+1}
    LIF:           s_t = H(v_t − θ),  I_{t+1} = α I_t + V s_t + d_t,
                   v_{t+1} = (β v_t + (1 − β) I_{t+1}) k_t,   k_t = 1 − s_t           out_t = v_{t+1}

The backward pass is an explicit loop over the adjoints, with the surrogate derivative h computed by vectorised
operations over blocks of steps and the weight gradient as one GEMM over all (t, b) rows after the loop. With g_t =
dL/dout_{t−1} (plus the final state's gradient at t = T) and a_t = dL/dx_t, λ_t = dL/dv_t, μ_{t+1} = dL/dd_t::

    tanh, binary:  a_t = g_t + φ'(x_t) ⊙ Jᵀ a_{t+1},     dL/dd_t = a_{t+1},   dL/dJ = Σ_t a_{t+1} φ(x_t)ᵀ
    LIF:           μ_{t+1} = α μ_{t+2} + (1 − β) k_t λ_{t+1}           (α μ_{T+1} := dL/dI_T)
                   λ_t = g_t + β k_t λ_{t+1} + h(v_t − θ) ⊙ (Vᵀ μ_{t+1} − [u_{t+1} λ_{t+1}]_diff_reset),
                   u_{t+1} = β v_t + (1 − β) I_{t+1},   dL/dV = Σ_t μ_{t+1} s_tᵀ,   dL/dI_0 = α μ_1

(φ' is the surrogate derivative for the binary H; k_t is detached unless ``diff_reset``). Every product is one GEMM
per realization on operands laid out as by :func:`sgtheory.functional.realizations.products`, so each realization's
numbers do not depend on the others.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from sgtheory.functional.lif import LIFEngelkenAbbottParams
from sgtheory.functional.realizations import ALIGNMENT, _aligned_batch
from sgtheory.functional.surrogate import Surrogate

BLOCK_ELEMENTS = 65536


def _result(R: int, m: int, n: int, like: Tensor) -> Tensor:
    """An empty (R, m, n) GEMM output laid out as :func:`products` lays out its own (padded apart)."""
    unit = ALIGNMENT // like.element_size()
    padded = -(-(m * n + 1) // unit) * unit
    return like.new_empty(R, padded).as_strided((R, m, n), (padded, n, 1))


def _steps(R: int, T: int, B: int, N: int, like: Tensor) -> Tensor:
    """An empty realization-major time series (R, T, B, N) whose every step [:, t] is a GEMM operand laid out as by
    :func:`products` (each (B, N) matrix row-major and aligned; padded apart where B·N is no multiple of the
    alignment)."""
    unit = ALIGNMENT // like.element_size()
    padded = -(-B * N // unit) * unit
    return like.new_empty(R, T, padded).as_strided((R, T, B, N), (T * padded, padded, N, 1))


def _from_outputs(grad: Tensor | None, like: Tensor) -> Tensor:
    """The gradient of the outputs (T, R, B, N) copied into a :func:`_steps` series (R, T, B, N) (zeros if None)."""
    out = _steps(*like.shape, like)
    return out.zero_() if grad is None else out.copy_(grad.permute(1, 0, 2, 3))


def _blocks(T: int, step_elements: int) -> list[tuple[int, int]]:
    """The steps 0..T−1 as blocks (start, stop), last block first, of about BLOCK_ELEMENTS elements of
    ``step_elements`` each: the backward pass evaluates the surrogate derivative block by block, on tensors that stay
    in cache (one vectorised pass over the whole sequence runs at the speed of memory)."""
    size = max(1, BLOCK_ELEMENTS // step_elements)
    return [(max(0, stop - size), stop) for stop in range(T, 0, -size)]


def _constants(like: Tensor, *values: float) -> tuple[Tensor, ...]:
    """``values`` as 0-dim tensors of the dtype of ``like``: the same arithmetic as the Python floats in an
    elementwise operation, at about half the cost per call (no scalar to wrap)."""
    return tuple(torch.tensor(value, dtype=like.dtype) for value in values)


def _row_products(a: Tensor, b: Tensor) -> Tensor:
    """Σ over the rows (t, b) of a[r]ᵀ b[r] for a, b (R, T, B, N): (R, N, N), one GEMM per realization on its rows
    laid out as by :func:`products`; a[r]ᵀ enters as the transpose of that block (no copy), the same layout for every
    R."""
    R, T, B, N = a.shape
    a_rows, b_rows = (_aligned_batch(x.reshape(R, T * B, N)) for x in (a, b))
    return torch.bmm(a_rows.mT, b_rows, out=_result(R, N, N, a))


class RateCell(NamedTuple):
    surrogate: Surrogate | None  # the binary H's surrogate; None: tanh


class _RateSequence(torch.autograd.Function):
    """(outputs (T, R, B, N), final state (R, B, N)) of x_{t+1} = J φ(x_t) + d_t from drive d (T, R, B, N)."""

    @staticmethod
    def forward(ctx, drive: Tensor, x0: Tensor, J: Tensor, cell: RateCell):
        T, (R, B, N) = drive.shape[0], x0.shape
        X = _steps(R, T + 1, B, N, drive)  # x_t; every step a GEMM output laid out as by products
        X[:, 0] = x0
        rates = _steps(R, T, B, N, X)  # φ(x_t)
        xs, rs, ds = X.unbind(1), rates.unbind(1), drive.unbind(0)
        J_T, zero = _aligned_batch(J.detach().mT), X.new_zeros(())
        for t in range(T):
            if cell.surrogate is None:
                torch.tanh(xs[t], out=rs[t])
            else:
                torch.gt(xs[t], zero, out=rs[t])  # H(x): 1 where x > 0, else 0
            torch.bmm(rs[t], J_T, out=xs[t + 1]).add_(ds[t])
        ctx.cell = cell
        ctx.save_for_backward(X, J, rates)
        return X[:, 1:].permute(1, 0, 2, 3), X[:, T].clone()

    @staticmethod
    def backward(ctx, grad_outs: Tensor | None, grad_final: Tensor | None):
        X, J, rates = ctx.saved_tensors
        surrogate = ctx.cell.surrogate
        R, T, B, N = rates.shape
        A = _from_outputs(grad_outs, rates)  # A[:, t] = a_{t+1}
        if grad_final is not None:
            A[:, T - 1] += grad_final
        J_al, back, adjoints = _aligned_batch(J.detach()), _result(R, B, N, X), A.unbind(1)
        for start, stop in _blocks(T, R * B * N):
            block = 1.0 - rates[:, start:stop].square() if surrogate is None else surrogate.derivative(X[:, start:stop])
            dphi = block.unbind(1)  # φ'(x_t)
            for t in range(stop - 1, start - 1, -1):
                torch.bmm(adjoints[t], J_al, out=back)  # rows of Jᵀ a_{t+1}
                if t > 0:
                    adjoints[t - 1].addcmul_(back, dphi[t - start])
        grad_x0 = back * dphi[0]
        grad_J = _row_products(A, rates) if ctx.needs_input_grad[2] else None
        return A.permute(1, 0, 2, 3), grad_x0, grad_J, None


class _LIFSequence(torch.autograd.Function):
    """(membrane outputs v_{t+1} (T, R, B, N), final state [v_T, I_T] (R, B, 2N)) of the Engelken-Abbott LIF."""

    @staticmethod
    def forward(ctx, drive: Tensor, x0: Tensor, V: Tensor, p: LIFEngelkenAbbottParams):
        T, (R, B, D) = drive.shape[0], x0.shape
        N = D // 2
        vs, currents = drive.new_empty(R, T + 1, B, N), drive.new_empty(R, T + 1, B, N)
        vs[:, 0], currents[:, 0] = x0[..., :N], x0[..., N:]
        spikes = _steps(R, T, B, N, vs)  # s_t
        V_T, synaptic, leak = _aligned_batch(V.detach().mT), _result(R, B, N, vs), drive.new_empty(R, B, N)
        v_s, i_s, s_s, d_s = vs.unbind(1), currents.unbind(1), spikes.unbind(1), drive.unbind(0)
        a, b, b_rest, theta = _constants(vs, p.alpha, p.beta, 1.0 - p.beta, p.threshold)
        for t in range(T):
            torch.gt(v_s[t], theta, out=s_s[t])  # H(v − θ): v − θ > 0 exactly when v > θ
            torch.bmm(s_s[t], V_T, out=synaptic)
            torch.mul(i_s[t], a, out=i_s[t + 1]).add_(synaptic).add_(d_s[t])
            v = torch.mul(v_s[t], b, out=v_s[t + 1]).add_(torch.mul(i_s[t + 1], b_rest, out=leak))
            v.addcmul_(v, s_s[t], value=-1.0)  # v (1 − s), exactly: v − v = 0 where s = 1
        ctx.p = p
        ctx.save_for_backward(vs, currents, spikes, V)
        return vs[:, 1:].permute(1, 0, 2, 3), torch.cat([vs[:, T], currents[:, T]], dim=-1)

    @staticmethod
    def backward(ctx, grad_outs: Tensor | None, grad_final: Tensor | None):
        vs, currents, spikes, V = ctx.saved_tensors
        p = ctx.p
        R, T, B, N = spikes.shape
        a, b = _constants(vs, p.alpha, p.beta)
        G = None if grad_outs is None else grad_outs.unbind(0)  # G[t] = dL/dv_{t+1} from the outputs
        lam = vs.new_zeros(R, B, N) if G is None else G[T - 1].clone()  # λ_T
        lam_I = vs.new_zeros(R, B, N)  # dL/dI_T
        if grad_final is not None:
            lam += grad_final[..., :N]
            lam_I += grad_final[..., N:]
        spare = torch.empty_like(lam)
        M = _steps(R, T, B, N, vs)  # M[:, t] = μ_{t+1} = dL/dd_t
        mus = M.unbind(1)
        V_al, back = _aligned_batch(V.detach()), _result(R, B, N, vs)
        for start, stop in _blocks(T, R * B * N):
            h = p.surrogate.derivative(vs[:, start:stop] - p.threshold).unbind(1)
            keep = (1.0 - spikes[:, start:stop]).unbind(1)  # k_t
            if p.diff_reset:  # u_{t+1} = β v_t + (1 − β) I_{t+1}
                u = torch.mul(vs[:, start:stop], b).add_(torch.mul(currents[:, start + 1 : stop + 1], 1.0 - p.beta))
                u = u.unbind(1)
            for t in range(stop - 1, start - 1, -1):
                reset = u[t - start] * lam if p.diff_reset else None
                kept = lam.mul_(keep[t - start])
                mu = torch.mul(mus[t + 1], a, out=mus[t]) if t < T - 1 else mus[t].copy_(lam_I)
                torch.bmm(mu.add_(kept, alpha=1.0 - p.beta), V_al, out=back)  # rows of Vᵀ μ_{t+1}
                if reset is not None:
                    back.sub_(reset)
                if t > 0 and G is not None:  # λ_t = g_t + h ⊙ back + β k_t λ_{t+1}, into the spare buffer
                    lam, spare = torch.addcmul(G[t - 1], h[t - start], back, out=spare).add_(kept, alpha=p.beta), kept
                else:
                    lam = kept.mul_(b).addcmul_(h[t - start], back)
        grad_x0 = torch.cat([lam, mus[0] * a], dim=-1)
        grad_V = _row_products(M, spikes) if ctx.needs_input_grad[2] else None
        return M.permute(1, 0, 2, 3), grad_x0, grad_V, None


def rate_sequence(drive: Tensor, x0: Tensor, J: Tensor, surrogate: Surrogate | None) -> tuple[Tensor, Tensor]:
    """Outputs x_1..x_T (T, R, B, N) and final state x_T (R, B, N) of the binary (``surrogate`` given: φ = H, its
    backward the surrogate derivative) or tanh (None) network, from drive (T, R, B, N), x0 (R, B, N), J (R, N, N)."""
    return _RateSequence.apply(drive, x0, J, RateCell(surrogate))


def lif_sequence(drive: Tensor, x0: Tensor, p: LIFEngelkenAbbottParams) -> tuple[Tensor, Tensor]:
    """Membrane outputs v_1..v_T (T, R, B, N) and final state [v_T, I_T] (R, B, 2N) of the Engelken-Abbott LIF
    (:func:`sgtheory.functional.lif.lif_engelken_abbott_step`) from drive (T, R, B, N) and x0 = [v_0, I_0]."""
    return _LIFSequence.apply(drive, x0, p.V, p)
