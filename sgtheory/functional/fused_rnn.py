"""The recurrent models of :mod:`sgtheory.models.rnn` over a whole sequence as one autograd node (flossing spec §2).

The forward pass is the step functions of :mod:`sgtheory.functional.neurons` and :mod:`sgtheory.functional.lif`
iterated over time, with the same elementwise operations in the same order, written into preallocated
realization-major buffers (R, T + 1, B, N) instead of one autograd graph per step::

    tanh, binary:  x_{t+1} = J φ(x_t) + d_t                                          out_t = x_{t+1}
    LIF:           s_t = H(v_t − θ),  I_{t+1} = α I_t + V s_t + d_t,
                   v_{t+1} = (β v_t + (1 − β) I_{t+1}) k_t,   k_t = 1 − s_t           out_t = v_{t+1}

The tanh network runs as a python loop of numpy calls on the buffers' memory, the recurrent product as φ(x_t)ᵀ Jᵀ
(rows times a transposed copy of J made once; its GEMM may add in another order than the step's J φ(x_t):
round-off). The binary and LIF networks run as one compiled loop (numba) in which a row's recurrent input is the sum
of the columns of J (V) at the units that spike, added in the order of the units (every product exact; the sum
rounds in another order than a GEMM): for the LIF's rates (about 5 % of the units per step) a few per cent of a
GEMM's work, for the binary network's (about half) somewhat less than a GEMM's time, without a call per step.

The backward pass is an explicit loop of numpy calls over the adjoints, with the surrogate derivative h computed by
torch over blocks of steps and the weight gradient formed after the loop (one GEMM over all (t, b) rows for the rate
networks; for the LIF, event by event: the rows of μ at the spikes). With g_t = dL/dout_{t−1} (plus the final
state's gradient at t = T) and a_t = dL/dx_t, λ_t = dL/dv_t, μ_{t+1} = dL/dd_t::

    tanh, binary:  a_t = g_t + φ'(x_t) ⊙ Jᵀ a_{t+1},     dL/dd_t = a_{t+1},   dL/dJ = Σ_t a_{t+1} φ(x_t)ᵀ
    LIF:           μ_{t+1} = α μ_{t+2} + (1 − β) k_t λ_{t+1}           (α μ_{T+1} := dL/dI_T)
                   λ_t = g_t + β k_t λ_{t+1} + h(v_t − θ) ⊙ (Vᵀ μ_{t+1} − [u_{t+1} λ_{t+1}]_diff_reset),
                   u_{t+1} = β v_t + (1 − β) I_{t+1},   dL/dV = Σ_t μ_{t+1} s_tᵀ,   dL/dI_0 = α μ_1

(φ' is the surrogate derivative for the binary H; k_t is detached unless ``diff_reset``). Every GEMM is one per
realization on operands laid out as by :func:`sgtheory.functional.realizations.products`, every event sum runs over
one realization's spikes in a fixed order, and numpy's elementwise loops treat each realization's block alike, so
each realization's numbers do not depend on the others.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache
from typing import NamedTuple

import numba
import numpy as np
import torch
from threadpoolctl import ThreadpoolController
from torch import Tensor

from sgtheory.functional.event_sums import columns_at_spikes, spiking
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


def _blocks(T: int, step_elements: int) -> list[tuple[int, int]]:
    """The steps 0..T−1 as blocks (start, stop), last block first, of about BLOCK_ELEMENTS elements of
    ``step_elements`` each: the backward pass evaluates the surrogate derivative block by block, on tensors that stay
    in cache (one vectorised pass over the whole sequence runs at the speed of memory)."""
    size = max(1, BLOCK_ELEMENTS // step_elements)
    return [(max(0, stop - size), stop) for stop in range(T, 0, -size)]


@cache
def _numpy_blas() -> ThreadpoolController:
    """threadpoolctl's controller of the BLAS libraries loaded when first asked, numpy's among them (OpenBLAS in numpy's
    wheels; torch's MKL is linked into torch and not among them)."""
    return ThreadpoolController().select(user_api="blas")


def _loop_context() -> AbstractContextManager:
    """numpy's BLAS limited to torch's number of threads while a loop runs: the loops call numpy's ufuncs and GEMMs
    on the buffers' memory (about a microsecond per call where a torch operation costs two to four; OpenBLAS's GEMM
    is also faster than MKL's for these thin products in float64), and would otherwise run on every core."""
    return _numpy_blas().limit(limits=torch.get_num_threads())


def _row_products(a: Tensor, b: Tensor) -> Tensor:
    """Σ over the rows (t, b) of a[r]ᵀ b[r] for a, b (R, T, B, N): (R, N, N), one GEMM per realization (numpy's, as
    in the loops) on its rows laid out as by :func:`products`; a[r]ᵀ enters as the transpose of that block (no copy),
    the same layout for every R."""
    R, T, B, N = a.shape
    a_rows, b_rows = (_aligned_batch(x.reshape(R, T * B, N)).numpy() for x in (a, b))
    out = _result(R, N, N, a)
    with _loop_context():
        np.matmul(a_rows.swapaxes(1, 2), b_rows, out=out.numpy())
    return out


def _spike_row_products(a: Tensor, spikes: Tensor) -> Tensor:
    """:func:`_row_products` of a and spikes s of zeros and ones, Σ over the rows (t, b) of a[r]ᵀ s[r], event by event
    (:func:`_spike_products`)."""
    R, T, B, N = spikes.shape
    out = a.new_empty(R, N, N)  # sᵀ a
    _spike_products(a.numpy(), spikes.numpy(), out.numpy())
    return out.mT.contiguous()


def _by_step(x: Tensor) -> list[np.ndarray]:
    """The steps x[:, t] (R, B, N) of a series (R, T, B, N) as numpy views of its memory, for the loops."""
    return list(x.numpy().swapaxes(0, 1))


class RateCell(NamedTuple):
    surrogate: Surrogate | None  # the binary H's surrogate; None: tanh


class _RateSequence(torch.autograd.Function):
    """(outputs (T, R, B, N), final state (R, B, N)) of x_{t+1} = J φ(x_t) + d_t from drive d (T, R, B, N)."""

    @staticmethod
    def forward(ctx, drive: Tensor, x0: Tensor, J: Tensor, cell: RateCell):
        T, (R, B, N) = drive.shape[0], x0.shape
        X = _steps(R, T + 1, B, N, drive)  # x_t; (tanh) every step a GEMM output laid out as by products
        X[:, 0] = x0
        rates = _steps(R, T, B, N, X)  # φ(x_t)
        J_T, ds = _aligned_batch(J.detach().mT).numpy(), drive.detach().numpy()
        if cell.surrogate is not None:
            _binary_loop(X.numpy(), rates.numpy(), ds, J_T)
        else:
            xs, rs = _by_step(X), _by_step(rates)
            with _loop_context():
                for t in range(T):
                    np.tanh(xs[t], out=rs[t])
                    np.add(np.matmul(rs[t], J_T, out=xs[t + 1]), ds[t], out=xs[t + 1])
        ctx.cell = cell
        ctx.save_for_backward(X, J, rates)
        return X[:, 1:].permute(1, 0, 2, 3), X[:, T].clone()

    @staticmethod
    def backward(ctx, grad_outs: Tensor | None, grad_final: Tensor | None):
        X, J, rates = ctx.saved_tensors
        surrogate = ctx.cell.surrogate
        R, T, B, N = rates.shape
        A = _steps(R, T, B, N, rates)  # A[:, t] = a_{t+1}
        if grad_outs is None:
            A[:, T - 1] = 0.0
        else:
            A[:, T - 1] = grad_outs[T - 1]
        if grad_final is not None:
            A[:, T - 1] += grad_final
        J_al, back = _aligned_batch(J.detach()).numpy(), _result(R, B, N, X)
        adjoints, rows = _by_step(A), back.numpy()
        G = None if grad_outs is None else list(grad_outs.detach().numpy())  # G[t] = dL/dx_{t+1} from the outputs
        with _loop_context():
            for start, stop in _blocks(T, R * B * N):
                block = (1.0 - rates[:, start:stop].square() if surrogate is None
                         else surrogate.derivative(X[:, start:stop]))
                dphi = _by_step(block)  # dphi[t − start] = φ'(x_t)
                for t in range(stop - 1, max(start, 1) - 1, -1):
                    np.matmul(adjoints[t], J_al, out=rows)  # rows of Jᵀ a_{t+1}
                    if G is None:
                        np.multiply(rows, dphi[t - start], out=adjoints[t - 1])
                    else:
                        np.add(G[t - 1], np.multiply(rows, dphi[t - start], out=rows), out=adjoints[t - 1])
            np.matmul(adjoints[0], J_al, out=rows)
        grad_x0 = back * block[:, 0]
        grad_J = _row_products(A, rates) if ctx.needs_input_grad[2] else None
        return A.permute(1, 0, 2, 3), grad_x0, grad_J, None


@numba.njit(cache=True)
def _binary_loop(x, s, d, J_T):  # pragma: no cover (compiled)
    """The binary forward in place: from x[:, 0] (R, T + 1, B, N) and drive d (T, R, B, N), s_t = H(x_t) into s (R, T,
    B, N) and x_{t+1} = J s_t + d_t into x[:, 1:]."""
    R, T, B, N = s.shape
    fired = np.empty(N, np.int64)
    for t in range(T):
        for r in range(R):
            for row in range(B):
                x_now, s_now, x_next, d_now = x[r, t, row], s[r, t, row], x[r, t + 1, row], d[t, r, row]
                for n in range(N):
                    s_now[n] = 1.0 if x_now[n] > 0.0 else 0.0  # H(x) (NaN: 0)
                columns_at_spikes(J_T[r], s_now, fired, x_next)
                for n in range(N):
                    x_next[n] += d_now[n]


@numba.njit(cache=True)
def _lif_loop(v, i, s, d, V_T, a, b, b_rest, theta):  # pragma: no cover (compiled)
    """The LIF forward in place: from v[:, 0], i[:, 0] (R, T + 1, B, N) and drive d (T, R, B, N), the spikes s (R, T,
    B, N), v[:, 1:] and i[:, 1:]; a, b, b_rest, theta are of the arrays' dtype."""
    R, T, B, N = s.shape
    synaptic, fired = np.empty(N, v.dtype), np.empty(N, np.int64)
    for t in range(T):
        for r in range(R):
            for row in range(B):
                v_now, s_now, i_now, i_next, v_next, d_now = (v[r, t, row], s[r, t, row], i[r, t, row],
                                                              i[r, t + 1, row], v[r, t + 1, row], d[t, r, row])
                for n in range(N):
                    s_now[n] = 1.0 if v_now[n] > theta else 0.0  # H(v − θ) (NaN: 0)
                columns_at_spikes(V_T[r], s_now, fired, synaptic)
                for n in range(N):
                    current = a * i_now[n] + synaptic[n] + d_now[n]
                    i_next[n] = current
                    u = b * v_now[n] + b_rest * current
                    v_next[n] = u - u * s_now[n]  # u (1 − s), exactly


@numba.njit(cache=True)
def _spike_products(M, s, out):  # pragma: no cover (compiled)
    """out[r] = Σ over the rows (t, b) of s[r, t, b]ᵀ M[r, t, b] (R, N, N) for M, s (R, T, B, N), s of zeros and
    ones: row j of out[r] is the sum of the rows of M at the spikes of unit j, added in the order (t, b) (event by
    event, as :func:`_lif_loop`)."""
    R, T, B, N = s.shape
    fired = np.empty(N, np.int64)
    out[:] = 0.0
    for r in range(R):
        for t in range(T):
            for row in range(B):
                m_now = M[r, t, row]
                for k in range(spiking(s[r, t, row], fired)):
                    target = out[r, fired[k]]
                    for n in range(N):
                        target[n] += m_now[n]


class _LIFSequence(torch.autograd.Function):
    """(membrane outputs v_{t+1} (T, R, B, N), final state [v_T, I_T] (R, B, 2N)) of the Engelken-Abbott LIF."""

    @staticmethod
    def forward(ctx, drive: Tensor, x0: Tensor, V: Tensor, p: LIFEngelkenAbbottParams):
        T, (R, B, D) = drive.shape[0], x0.shape
        N = D // 2
        vs, currents = drive.new_empty(R, T + 1, B, N), drive.new_empty(R, T + 1, B, N)
        spikes = drive.new_empty(R, T, B, N)  # s_t
        vs[:, 0], currents[:, 0] = x0[..., :N], x0[..., N:]
        constants = (vs.numpy().dtype.type(value) for value in (p.alpha, p.beta, 1.0 - p.beta, p.threshold))
        V_T = V.detach().mT.contiguous().numpy()
        _lif_loop(vs.numpy(), currents.numpy(), spikes.numpy(), drive.detach().numpy(), V_T, *constants)
        ctx.p = p
        ctx.save_for_backward(vs, currents, spikes, V)
        return vs[:, 1:].permute(1, 0, 2, 3), torch.cat([vs[:, T], currents[:, T]], dim=-1)

    @staticmethod
    def backward(ctx, grad_outs: Tensor | None, grad_final: Tensor | None):
        vs, currents, spikes, V = ctx.saved_tensors
        p = ctx.p
        R, T, B, N = spikes.shape
        lam = vs.new_zeros(R, B, N) if grad_outs is None else grad_outs[T - 1].clone()  # λ_T
        lam_I = vs.new_zeros(R, B, N)  # dL/dI_T
        if grad_final is not None:
            lam += grad_final[..., :N]
            lam_I += grad_final[..., N:]
        M = _steps(R, T, B, N, vs)  # M[:, t] = μ_{t+1} = dL/dd_t
        V_al, back = _aligned_batch(V.detach()).numpy(), _result(R, B, N, vs).numpy()
        G = None if grad_outs is None else list(grad_outs.detach().numpy())  # G[t] = dL/dv_{t+1} from the outputs
        mus, lam, lam_I, spare = _by_step(M), lam.numpy(), lam_I.numpy(), np.empty_like(back)
        a, b, b_rest = (lam.dtype.type(value) for value in (p.alpha, p.beta, 1.0 - p.beta))
        with _loop_context():
            for start, stop in _blocks(T, R * B * N):
                h = _by_step(p.surrogate.derivative(vs[:, start:stop] - p.threshold))
                keep = _by_step(1.0 - spikes[:, start:stop])  # k_t
                if p.diff_reset:  # u_{t+1} = β v_t + (1 − β) I_{t+1}
                    u = _by_step(torch.mul(vs[:, start:stop], p.beta).add_(
                        torch.mul(currents[:, start + 1 : stop + 1], 1.0 - p.beta)))
                for t in range(stop - 1, start - 1, -1):
                    j = t - start
                    reset = np.multiply(u[j], lam) if p.diff_reset else None
                    kept = np.multiply(lam, keep[j], out=lam)  # k_t λ_{t+1}
                    mu = mus[t]
                    if t < T - 1:
                        np.multiply(mus[t + 1], a, out=mu)
                    else:
                        np.copyto(mu, lam_I)
                    np.add(mu, np.multiply(kept, b_rest, out=spare), out=mu)
                    np.matmul(mu, V_al, out=back)  # rows of Vᵀ μ_{t+1}
                    if reset is not None:
                        np.subtract(back, reset, out=back)
                    np.multiply(h[j], back, out=back)
                    if t > 0 and G is not None:  # λ_t = g_t + h ⊙ back + β k_t λ_{t+1}
                        np.add(np.add(G[t - 1], back, out=spare), np.multiply(kept, b, out=kept), out=lam)
                    else:
                        np.add(np.multiply(kept, b, out=kept), back, out=lam)
        grad_x0 = torch.cat([torch.from_numpy(lam), M[:, 0] * p.alpha], dim=-1)
        grad_V = _spike_row_products(M, spikes) if ctx.needs_input_grad[2] else None
        return M.permute(1, 0, 2, 3), grad_x0, grad_V, None


def rate_sequence(drive: Tensor, x0: Tensor, J: Tensor, surrogate: Surrogate | None) -> tuple[Tensor, Tensor]:
    """Outputs x_1..x_T (T, R, B, N) and final state x_T (R, B, N) of the binary (``surrogate`` given: φ = H, its
    backward the surrogate derivative) or tanh (None) network, from drive (T, R, B, N), x0 (R, B, N), J (R, N, N)."""
    return _RateSequence.apply(drive, x0, J, RateCell(surrogate))


def lif_sequence(drive: Tensor, x0: Tensor, p: LIFEngelkenAbbottParams) -> tuple[Tensor, Tensor]:
    """Membrane outputs v_1..v_T (T, R, B, N) and final state [v_T, I_T] (R, B, 2N) of the Engelken-Abbott LIF
    (:func:`sgtheory.functional.lif.lif_engelken_abbott_step`) from drive (T, R, B, N) and x0 = [v_0, I_0]."""
    return _LIFSequence.apply(drive, x0, p.V, p)
