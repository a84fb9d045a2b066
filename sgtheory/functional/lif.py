"""Every LIF neuron the reproduced papers use, each named after the paper it reproduces (pure functions, no state).

The three discretisations differ in which current the membrane integrates and where the reset acts; each one is the
reading of its paper's code or text (spec section in brackets), so they are kept apart rather than unified.
β = exp(−Δt/τ_mem), α = exp(−Δt/τ_syn), threshold θ, Heaviside H with a surrogate derivative h in the backward pass.

``lif_engelken_abbott_*`` (Engelken & Abbott, surrogate gradient flossing; the public LIF example, flossing spec §2.3):
the membrane integrates the *new* current; an input at step t moves v at t + 1::

    s_t     = H(v_t − θ)
    I_{t+1} = α I_t + V s_t + drive_t
    v_{t+1} = (β v_t + (1 − β) I_{t+1}) (1 − s_t)      reset detached from autograd by default
    out     = v_{t+1}

``lif_zenke_vogels_*`` (Zenke & Vogels 2021, robustness spec §3; the SpyTorch convention): the membrane integrates the
*old* current, so an input spike at step n first moves U at n + 2; explicit forward/backward loops::

    S[n]   = H(U[n] − θ)                                    H(0) = 0
    U[n+1] = (β U[n] + (1 − β) I[n]) (1 − S[n])
    I[n+1] = α I[n] + W S_prev[n] + V S[n]                  V only in recurrent layers

``lif_gygax_zenke_layer`` (Gygax & Zenke 2025, spike-train matching, sgtheory spec §4.2): the reset acts on the leak
term only and the current is given (precomputed by a filter matrix)::

    S[t]   = spike(U[t] − θ)
    U[t+1] = β U[t] (1 − S[t]) + (1 − β) I[t]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numba
import numpy as np
import torch
from numba.extending import intrinsic
from torch import Tensor

from sgtheory.functional.event_sums import columns_at_spikes
from sgtheory.functional.neurons import recurrent
from sgtheory.functional.realizations import _aligned_batch, products
from sgtheory.functional.surrogate import Surrogate, spike

Derivative = Callable[[Tensor], Tensor]


class Recurrence(Protocol):
    """A structured recurrent map of :class:`LIFZenkeVogelsLayer` (see its ``recurrence``)."""

    def apply(self, spikes: Tensor, V: Tensor) -> Tensor: ...

    def adjoint(self, lam: Tensor, V: Tensor) -> Tensor: ...

    def weight_grad(self, lam: Tensor, spikes: Tensor, V: Tensor) -> Tensor: ...


# --- Engelken & Abbott (flossing spec §2.3) ---------------------------------------------------------------------

class LIFEngelkenAbbottParams(NamedTuple):
    V: torch.Tensor  # recurrent weights (R, N, N)
    surrogate: Surrogate
    alpha: float  # synaptic decay per step, exp(-dt/tau_syn)
    beta: float  # membrane decay per step, exp(-dt/tau_mem)
    threshold: float
    diff_reset: bool = False  # let the gradient flow through the reset factor (1 - s_t)


def lif_engelken_abbott_params(V, surrogate, tau_mem=10.0, tau_syn=5.0, dt=1.0, threshold=1.0,
                               diff_reset=False) -> LIFEngelkenAbbottParams:
    """Parameters of the current-based LIF from time constants in ms."""
    alpha, beta = math.exp(-dt / tau_syn), math.exp(-dt / tau_mem)
    return LIFEngelkenAbbottParams(V, surrogate, alpha, beta, threshold, diff_reset)


def lif_engelken_abbott_step(
    drive: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], p: LIFEngelkenAbbottParams
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One LIF step; ``state`` is (v, I). The multiplicative reset is detached (SpyTorch convention)
    unless ``p.diff_reset``."""
    v, current = state
    s = spike(v - p.threshold, p.surrogate)
    current = p.alpha * current + recurrent(s, p.V) + drive
    v = (p.beta * v + (1.0 - p.beta) * current) * (1.0 - (s if p.diff_reset else s.detach()))
    return v, (v, current)


def lif_engelken_abbott_tangent(state, new_state, Q: torch.Tensor, p: LIFEngelkenAbbottParams) -> torch.Tensor:
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


# --- Zenke & Vogels 2021 (robustness spec §3) ---------------------------------------------------------------

CHUNK_ELEMENTS = 2**18  # the backward pass evaluates h, β_mem(1 − S), (1 − β_mem)(1 − S) for this many (n, g, b, i)
#                         at a time: enough steps to amortise the per-operation cost, a bounded extra memory (five
#                         such buffers, 1 MiB each in float32; 2**16 and 2**13 measured 10–40 % slower)


def _product_into(out: Tensor | None, a: Tensor, b: Tensor) -> Tensor:
    """:func:`~sgtheory.functional.realizations.products` (a[g] @ b[g], one GEMM per cell) of a (G, m, k) and an
    already laid-out b (G, k, n), written into ``out``, a previous result of the same shapes (None: a fresh one):
    the same ``bmm`` call without a new output and its layout checks every step (≈ 20 µs per step at B 16, H 256)."""
    return products(a, b) if out is None else torch.bmm(_aligned_batch(a), b, out=out)


def lif_zenke_vogels_forward(drive: Tensor, V: Tensor | None,
                             layer: LIFZenkeVogelsLayer) -> tuple[Tensor, Tensor, Tensor | None]:
    """Time-major traces of one LIF layer: U[0..T] (T+1, G, B, H), spikes S[0..T−1] (T, G, B, H) and, with a
    differentiable reset, I[0..T]. ``drive`` (G, B, T, H) is W·S_prev; no autograd graph is built.

    Every step writes into per-step views (``unbind``, made once) of buffers allocated once. The step's spikes are
    written as floats and the reset is U − U·S (exact for S ∈ {0, 1}): comparisons into bool masks and masked fills
    cost 3–7× more per element."""
    drive = drive.detach().permute(2, 0, 1, 3)
    T, G, B, H = drive.shape
    a, b = layer.decay_syn, layer.decay_mem
    Us = drive.new_empty(T + 1, G, B, H)
    Us[0] = 0.0
    spikes = drive.new_empty(T, G, B, H)
    Is = drive.new_zeros(T + 1, G, B, H) if layer.diff_reset else None
    if layer.smooth is None and layer.recurrence is None and drive.device.type == "cpu":
        V_T = drive.new_zeros(G, 0, H) if V is None else V.detach().mT.contiguous()  # row j: V's column j
        currents = Is if Is is not None else drive.new_empty(0, G, B, H)
        one = np.ones((), dtype=Us.numpy().dtype)  # constants in the arrays' dtype
        _zenke_vogels_loop(drive.numpy(), V_T.numpy(), Us.numpy(), spikes.numpy(), currents.numpy(), one * a, one * b,
                           one * (1 - b), one * layer.threshold)
        return Us, spikes, Is
    current = drive.new_zeros(G, B, H)
    recurrence = layer.recurrence
    V = None if V is None else V.detach()
    V_T = None if V is None or recurrence is not None else _aligned_batch(V.mT)  # laid out once
    U_n, S_n, drive_n = Us.unbind(0), spikes.unbind(0), drive.unbind(0)  # per-step views, made once
    product = None
    for n in range(T):
        U = torch.mul(U_n[n], b, out=U_n[n + 1]).add_(current, alpha=1 - b)
        if layer.smooth is None:
            U.addcmul_(U, torch.gt(U_n[n], layer.threshold, out=S_n[n]), value=-1)
        else:
            S_n[n].copy_(layer.smooth(U_n[n] - layer.threshold))
            U.mul_(1 - S_n[n])
        current.mul_(a).add_(drive_n[n])
        if recurrence is not None:
            current.add_(recurrence.apply(S_n[n], V))
        elif V is not None:
            product = _product_into(product, S_n[n], V_T)
            current.add_(product)
        if Is is not None:
            Is[n + 1] = current
    return Us, spikes, Is


@intrinsic
def fma(typingctx, x, y, z):
    """x·y + z rounded once, as torch's vectorised ``add_(other, alpha)`` computes self + alpha·other."""

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return x(x, y, z), codegen


@numba.njit(cache=True)
def _zenke_vogels_loop(drive, V_T, U, S, currents, a, b, b_rest, theta):  # pragma: no cover (compiled)
    """The step-threshold forward of :func:`lif_zenke_vogels_forward` as one compiled loop, in place: from U[0] and
    drive (T, G, B, H), the spikes S (T, G, B, H), U[1:] and (if ``currents`` has T + 1 steps) I[1:] into currents;
    V S[n] as the sum of V's columns at the spikes (V_T (G, H, H) holds them as rows; (G, 0, H): no recurrence)."""
    T, G, B, H = drive.shape
    current, synaptic, fired = np.zeros((G, B, H), U.dtype), np.zeros(H, U.dtype), np.empty(H, np.int64)
    for n in range(T):
        for g in range(G):
            for row in range(B):
                u_now, s_now, u_next, i_now, d_now = U[n, g, row], S[n, g, row], U[n + 1, g, row], current[g, row], \
                    drive[n, g, row]
                for k in range(H):
                    s_now[k] = 1.0 if u_now[k] > theta else 0.0  # H(U − ϑ) (NaN: 0)
                    u = fma(i_now[k], b_rest, u_now[k] * b)  # as torch's mul(U, β).add_(I, alpha=1 − β)
                    u_next[k] = u - u * s_now[k]  # u (1 − S), exactly
                if V_T.shape[1] > 0:
                    columns_at_spikes(V_T[g], s_now, fired, synaptic)
                for k in range(H):
                    i_now[k] = a * i_now[k] + d_now[k] + synaptic[k]
                if currents.shape[0] > 0:
                    currents[n + 1, g, row] = i_now


class _LIFZenkeVogels(torch.autograd.Function):
    """Spikes S (G, B, T, H) of one LIF layer from its feed-forward drive W·S_prev (G, B, T, H).

    Forward and backward are explicit loops over time (no autograd graph per step). With the adjoints
    λ_U[n] = dL/dU[n] and λ_I[n] = dL/dI[n] (both 0 at n = T), going back from n = T − 1::

        dL/ddrive[n] = λ_I[n+1]
        g[n]   = dL/dS[n] + [V^T λ_I[n+1]]_{recurrent_grad} − [(β_mem U[n] + (1 − β_mem) I[n]) λ_U[n+1]]_{diff_reset}
        λ_U[n] = β_mem (1 − S[n]) λ_U[n+1] + h(U[n] − ϑ) g[n]
        λ_I[n] = (1 − β_mem)(1 − S[n]) λ_U[n+1] + β_syn λ_I[n+1]

    and dL/dV = Σ_n λ_I[n+1] S[n]^T, one matrix product over all (n, b) rows of a cell after the loop. The
    factors h, β_mem(1 − S) and (1 − β_mem)(1 − S), which do not depend on the adjoints, are evaluated for several
    steps at a time (CHUNK_ELEMENTS), so that a step of the loop is four in-place operations (plus the recurrent
    product and the reset term).
    """

    @staticmethod
    def forward(ctx, drive, V, layer):
        Us, spikes, Is = lif_zenke_vogels_forward(drive, V, layer)
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
        chunk = max(1, CHUNK_ELEMENTS // (G * B * H))
        lam_I_n, grad_S_n = grad_drive.unbind(0), grad_S.unbind(0)  # per-step views, made once
        V_rows = _aligned_batch(V) if propagate and layer.recurrence is None else None
        back = None
        for lo in range((T - 1) // chunk * chunk, -1, -chunk):
            hi = min(lo + chunk, T)
            h = layer.derivative(Us[lo:hi] - layer.threshold).unbind(0)
            keep = 1 - spikes[lo:hi]
            decay_U, into_I = (keep * b).unbind(0), (keep * (1 - b)).unbind(0)
            before_reset = (b * Us[lo:hi] + (1 - b) * Is[lo:hi]).unbind(0) if layer.diff_reset else None
            for n in range(hi - 1, lo - 1, -1):
                k = n - lo
                lam_I = lam_I_n[n]
                g = grad_S_n[n]
                if propagate and V_rows is not None:
                    back = _product_into(back, lam_I, V_rows)
                    g = back.add_(g)
                elif propagate:
                    g = layer.recurrence.adjoint(lam_I, V).add_(g)
                if layer.diff_reset:
                    g = torch.addcmul(g, before_reset[k], lam_U, value=-1)
                if n > 0:
                    torch.mul(lam_U, into_I[k], out=lam_I_n[n - 1]).add_(lam_I, alpha=a)
                lam_U.mul_(decay_U[k]).addcmul_(h[k], g)
        grad_V = None
        if ctx.has_V and layer.recurrence is not None:
            grad_V = layer.recurrence.weight_grad(grad_drive, spikes, V)
        elif ctx.has_V:  # Σ_n λ_I[n+1] S[n]^T per cell, over the rows (n, b) of the cell
            rows = grad_drive.transpose(0, 1).reshape(G, T * B, H)
            grad_V = products(rows.mT, spikes.transpose(0, 1).reshape(G, T * B, H))
        return grad_drive.permute(1, 2, 0, 3), grad_V, None


@dataclass(frozen=True)
class LIFZenkeVogelsLayer:
    """Constants of one hidden layer; ``derivative`` maps U − ϑ (G, B, H) to h (per-cell slopes as (G, 1, 1)).

    ``smooth`` replaces the step Θ in the forward pass by a smooth function (tests: with ``derivative`` its exact
    derivative, the backward pass is the exact gradient of that smooth network); None: the step.

    ``recurrence`` replaces the dense recurrent product V S by a structured linear map with parameters V (e.g. the
    recurrent convolution of :mod:`sgtheory.models.conv_snn`): ``apply(S, V)`` = the recurrent input (G, B, H),
    ``adjoint(λ, V)`` = its transpose applied to λ, ``weight_grad(λ_I, S, V)`` = Σ_n of the gradient with respect
    to V of ⟨λ_I[n+1], apply(S[n], V)⟩ over time-major λ_I[n+1] and S[n] (T, G, B, H). None: V is dense (G, H, H)."""

    derivative: Derivative
    decay_mem: float
    decay_syn: float
    threshold: float = 1.0
    diff_reset: bool = False
    recurrent_grad: bool = True
    smooth: Derivative | None = None
    recurrence: Recurrence | None = None

    def __call__(self, drive: Tensor, V: Tensor | None = None) -> Tensor:
        """Spikes (G, B, T, H) of the layer driven by ``drive`` (G, B, T, H); ``V`` (G, H, H) or None."""
        return _LIFZenkeVogels.apply(drive, V, self)


# --- Gygax & Zenke 2025 (sgtheory spec §4.2) -----------------------------------------------------------------

Fire = Callable[[Tensor, int], tuple[Tensor, Tensor]]


def lif_gygax_zenke_layer(current: Tensor, lam_m: float, fire: Fire) -> tuple[Tensor, Tensor]:
    """Membrane U and spikes S (T, B, N) of one layer driven by ``current`` (T, B, N); reset detached.

    ``fire(U, t)`` returns the boolean spike mask of step t and the spikes to record (a float tensor that
    carries surrogate gradients, or the mask itself when no gradient is needed)."""
    drive = (1 - lam_m) * current
    U = torch.zeros_like(current[0])
    Us, Ss = [], []
    for t in range(current.shape[0]):
        fired, S = fire(U, t)
        Us.append(U)
        Ss.append(S)
        U = (lam_m * U).masked_fill(fired, 0.0) + drive[t]
    return torch.stack(Us), torch.stack(Ss).to(current.dtype)
