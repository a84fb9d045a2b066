"""The convolutional LIF layer of Gygax & Zenke 2025 (sgtheory spec §5.2) on CPU: event-driven convolutions of spikes
and the whole layer over a sequence as one autograd node, in compiled loops (numba).

Layer of C channels × P positions, channel-major; drive D[n] = conv(S_prev[n]) given, optional recurrent convolution
rec(S) with kernels V (C, C, k), k odd, stride 1, padding k // 2. The neuron is exactly
:func:`sgtheory.functional.lif.lif_zenke_vogels_forward`, with the same operations in the same order (where torch's
vectorised kernels fuse a·b + c into one FMA, so does this code: on the machine of issue 20 the spikes, losses and
gradients were bit for bit those of the LIF layer of lif.py with the same event-driven recurrence)::

    S[n]   = H(U[n] − θ)   or a given spike function of U[n] − θ (escape noise)
    U[n+1] = (β_mem U[n] + (1 − β_mem) I[n]) (1 − S[n])
    I[n+1] = β_syn I[n] + D[n] + rec(S[n])

and its backward pass is the adjoint recursion of :class:`sgtheory.functional.lif._LIFZenkeVogels` (λ_U, λ_I; the
surrogate derivative h evaluated by torch in blocks of steps), fused into one compiled loop over a block of steps;
only the transposed recurrent convolution of the dense λ_I, once per step, stays the library's (a dense convolution).
Buffers are time-major (T, B, C, P), channel-major within a step, so the feed-forward convolutions over all (n, b)
rows read and write them without copies.
"""

from __future__ import annotations

import numba
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from sgtheory.functional.lif import CHUNK_ELEMENTS, LIFZenkeVogelsLayer, fma


@numba.njit(cache=True, inline="always")
def _event_row(S, W_t, stride, pad, out_t):  # pragma: no cover (compiled)
    """out_t (P, C_out) += the contributions of the nonzero S (C_in, L); W_t (C_in, k, C_out)."""
    C_in, L = S.shape
    k = W_t.shape[1]
    P, C_out = out_t.shape
    for ci in range(C_in):
        for q in range(L):
            v = S[ci, q]
            if v == 0:
                continue
            r = q + pad  # = s·p + j
            for p in range(max(0, (r - k + stride) // stride), min(P - 1, r // stride) + 1):
                for c in range(C_out):
                    out_t[p, c] += v * W_t[ci, r - stride * p, c]


@numba.njit(cache=True)
def _event_conv(S, W_t, stride, pad, out):  # pragma: no cover (compiled)
    """out (N, C_out, P) = the contributions of the nonzero S (N, C_in, L); W_t (C_in, k, C_out). Each row is
    accumulated position-major in a small buffer (contiguous over C_out) and written out transposed."""
    N, C_out, P = out.shape
    acc = np.empty((P, C_out), dtype=out.dtype)
    for n in range(N):
        acc[:] = 0
        _event_row(S[n], W_t, stride, pad, acc)
        for c in range(C_out):
            for p in range(P):
                out[n, c, p] = acc[p, c]


@numba.njit(cache=True)
def _event_conv_weight_grad(S, lam, stride, pad, grad_t):  # pragma: no cover (compiled)
    """grad_t (C_in, k, C_out) += Σ over the nonzero S (N, C_in, L) of S λ; λ (N, C_out, P), each row with a spike
    copied position-major into a small buffer first (contiguous over C_out)."""
    N, C_in, L = S.shape
    C_out, P = lam.shape[1], lam.shape[2]
    k = grad_t.shape[1]
    lam_t = np.empty((P, C_out), dtype=lam.dtype)
    for n in range(N):
        copied = False
        for ci in range(C_in):
            for q in range(L):
                v = S[n, ci, q]
                if v == 0:
                    continue
                if not copied:
                    for c in range(C_out):
                        for p in range(P):
                            lam_t[p, c] = lam[n, c, p]
                    copied = True
                r = q + pad
                for p in range(max(0, (r - k + stride) // stride), min(P - 1, r // stride) + 1):
                    for c in range(C_out):
                        grad_t[ci, r - stride * p, c] += v * lam_t[p, c]


def event_conv(S: Tensor, W: Tensor, stride: int, pad: int) -> Tensor:
    """F.conv1d(S, W, stride, padding) (N, C_out, P) computed on CPU by visiting only the nonzero entries of the
    spikes S (N, C_in, L): out[n, c, p] = Σ_{c', j} W[c, c', j] S[n, c', s p + j − pad]. Work ∝ nonzeros × C_out × k/s
    (SHD spikes: 2–7 % nonzero); any S values are allowed. Not differentiable (see the callers)."""
    P = (S.shape[2] + 2 * pad - W.shape[2]) // stride + 1
    out = S.new_empty(S.shape[0], W.shape[0], P)
    _event_conv(S.detach().contiguous().numpy(), W.detach().permute(1, 2, 0).contiguous().numpy(), stride, pad,
                out.numpy())
    return out


def event_conv_weight_grad(S: Tensor, lam: Tensor, shape: torch.Size, stride: int, pad: int) -> Tensor:
    """dL/dW (C_out, C_in, k) = Σ_{n,p} λ[n, c, p] S[n, c', s p + j − pad] of :func:`event_conv` for dL/dout = λ
    (N, C_out, P), over the nonzero S only; accumulated in float64, returned in the dtype of λ."""
    grad_t = torch.zeros(shape[1], shape[2], shape[0], dtype=torch.float64)
    _event_conv_weight_grad(S.detach().contiguous().numpy(), lam.detach().contiguous().numpy(), stride, pad,
                            grad_t.numpy())
    return grad_t.permute(2, 0, 1).to(lam.dtype).contiguous()


@numba.njit(cache=True)
def _forward_steps(lo, hi, drive, V_t, consts, U, S, current, I, spikes_given):  # pragma: no cover (compiled)
    """Steps lo … hi − 1 of the layer on time-major (T, B, C, P) buffers: reads U[lo] and I[lo] (``current``, (B, C,
    P), updated in place), writes U[lo+1 … hi], S[lo … hi−1] (read instead if ``spikes_given``) and, if I has
    steps, I[lo+1 … hi]. V_t (C, k, C) = recurrent kernels (in, tap, out), no recurrence if k = 0. consts = (β_mem,
    1 − β_mem, β_syn, θ, 1) in the dtype of U (float arithmetic of torch's float scalars)."""
    B, C, P = current.shape
    b, b_rest, a, theta, one = consts[0], consts[1], consts[2], consts[3], consts[4]
    k = V_t.shape[1]
    rec = np.zeros((P, C), dtype=U.dtype)  # one row's recurrent input, position-major
    for n in range(lo, hi):
        for row in range(B):
            for c in range(C):
                for p in range(P):
                    u_old = U[n, row, c, p]
                    u = fma(current[row, c, p], b_rest, u_old * b)
                    if spikes_given:
                        U[n + 1, row, c, p] = u * (one - S[n, row, c, p])
                    else:
                        s = one if u_old > theta else one - one
                        S[n, row, c, p] = s
                        U[n + 1, row, c, p] = u - u * s  # u (1 − s), exactly, as torch's addcmul_(u, s, value=−1)
            if k:
                rec[:] = 0
                _event_row(S[n, row], V_t, 1, k // 2, rec)
            for c in range(C):
                for p in range(P):
                    i = current[row, c, p] * a + drive[n, row, c, p]
                    if k:
                        i = i + rec[p, c]
                    current[row, c, p] = i
                    if I.shape[0]:
                        I[n + 1, row, c, p] = i


@numba.njit(cache=True)
def _backward_steps(lo, hi, grad_S, back, h, U, S, I, consts, lam_U, grad_drive):  # pragma: no cover (compiled)
    """Adjoint steps hi − 1 … lo (see :class:`_ConvLIF`): g = dL/dS[n] (+ ``back`` = the recurrent adjoint of
    λ_I[n+1] if it has rows; then hi − lo = 1) (− (β_mem U[n] + (1 − β_mem) I[n]) λ_U[n+1] if I has steps: the
    differentiable reset); writes grad_drive[n − 1] = λ_I[n] for n > 0 and λ_U[n] into ``lam_U``. h (hi − lo, B, C,
    P) = h(U[lo … hi−1] − θ); grad_drive[n] = λ_I[n+1] is read."""
    B, C, P = lam_U.shape
    b, b_rest, a, one = consts[0], consts[1], consts[2], consts[4]
    for n in range(hi - 1, lo - 1, -1):
        for row in range(B):
            for c in range(C):
                for p in range(P):
                    g = grad_S[n, row, c, p]
                    if back.shape[0]:
                        g = back[row, c, p] + g
                    lam = lam_U[row, c, p]
                    if I.shape[0]:
                        g = fma(-(b * U[n, row, c, p] + b_rest * I[n, row, c, p]), lam, g)
                    keep = one - S[n, row, c, p]
                    if n > 0:
                        grad_drive[n - 1, row, c, p] = fma(grad_drive[n, row, c, p], a, lam * (keep * b_rest))
                    lam_U[row, c, p] = fma(h[n - lo, row, c, p], g, lam * (keep * b))


class _ConvLIF(torch.autograd.Function):
    """Spikes S (T, B, C, P) of one conv-LIF layer from its drive D (T, B, C, P); V (C, C, k) or None.

    Backward, with λ_U[n] = dL/dU[n], λ_I[n] = dL/dI[n] (0 at n = T), from n = T − 1 down::

        dL/dD[n] = λ_I[n+1]
        g[n]   = dL/dS[n] + [recᵀ λ_I[n+1]]_{recurrent_grad} − [(β_mem U[n] + (1 − β_mem) I[n]) λ_U[n+1]]_{diff_reset}
        λ_U[n] = β_mem (1 − S[n]) λ_U[n+1] + h(U[n] − θ) g[n]
        λ_I[n] = (1 − β_mem)(1 − S[n]) λ_U[n+1] + β_syn λ_I[n+1]

    and dL/dV = Σ_n of the recurrent convolution's weight gradient for λ_I[n+1] and S[n] (event-driven, after the
    loop). Without a recurrent adjoint, a block of steps is one compiled call."""

    @staticmethod
    def forward(ctx, drive, V, layer):
        drive = drive.detach().contiguous()
        T, B, C, P = drive.shape
        consts = torch.tensor([layer.decay_mem, 1 - layer.decay_mem, layer.decay_syn, layer.threshold, 1.0],
                              dtype=drive.dtype).numpy()
        U = drive.new_empty(T + 1, B, C, P)
        U[0] = 0.0
        spikes = drive.new_empty(T, B, C, P)
        I = drive.new_zeros(T + 1 if layer.diff_reset else 0, B, C, P)
        current = drive.new_zeros(B, C, P)
        V_t = drive.new_zeros(C, 0, C) if V is None else V.detach().permute(1, 2, 0).contiguous()
        args = [drive.numpy(), V_t.numpy(), consts, U.numpy(), spikes.numpy(), current.numpy(), I.numpy()]
        if layer.smooth is None:
            _forward_steps(0, T, *args, False)
        else:
            for n in range(T):
                spikes[n] = layer.smooth(U[n] - layer.threshold)
                _forward_steps(n, n + 1, *args, True)
        ctx.layer, ctx.consts, ctx.has_V = layer, consts, V is not None
        ctx.save_for_backward(U, spikes, I, V if V is not None else U)
        return spikes

    @staticmethod
    def backward(ctx, grad_S):
        U, spikes, I, V = ctx.saved_tensors
        layer = ctx.layer
        T, B, C, P = spikes.shape
        grad_S = grad_S.numpy()  # any strides (it often arrives batch-major): read in place
        lam_U = U.new_zeros(B, C, P)
        grad_drive = U.new_empty(T, B, C, P)
        grad_drive[T - 1] = 0.0
        propagate = ctx.has_V and layer.recurrent_grad
        none = U.new_empty(0, 0, 0).numpy()
        arrays = [U.numpy(), spikes.numpy(), I.numpy(), ctx.consts, lam_U.numpy(), grad_drive.numpy()]
        chunk = max(1, CHUNK_ELEMENTS // (B * C * P))
        for lo in range((T - 1) // chunk * chunk, -1, -chunk):
            hi = min(lo + chunk, T)
            h = layer.derivative(U[lo:hi] - layer.threshold).contiguous()
            if not propagate:
                _backward_steps(lo, hi, grad_S, none, h.numpy(), *arrays)
                continue
            for n in range(hi - 1, lo - 1, -1):
                back = F.conv_transpose1d(grad_drive[n], V, padding=V.shape[-1] // 2)
                _backward_steps(n, n + 1, grad_S, back.numpy(), h[n - lo:].numpy(), *arrays)
        grad_V = None
        if ctx.has_V and ctx.needs_input_grad[1]:
            grad_V = event_conv_weight_grad(spikes.view(T * B, C, P), grad_drive.view(T * B, C, P), V.shape, 1,
                                            V.shape[-1] // 2)
        return grad_drive, grad_V, None


def conv_lif(drive: Tensor, V: Tensor | None, layer: LIFZenkeVogelsLayer) -> Tensor:
    """Spikes (T, B, C, P) of a conv-LIF layer on CPU from its feed-forward drive (T, B, C, P) and recurrent kernels V
    (C, C, k) (k odd) or None; ``layer`` gives the constants, the surrogate derivative, the spike function
    (``smooth``; None: the step) and the reset/recurrent-gradient options (its ``recurrence`` is not used)."""
    return _ConvLIF.apply(drive, V, layer)
