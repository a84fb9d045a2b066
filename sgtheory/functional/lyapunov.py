"""Lyapunov spectra by tangent propagation and repeated QR, differentiable end to end (flossing spec §4).

k orthonormal tangent vectors, the rows of Q (..., k, D), are pushed through the Jacobian of each step
(as a product ``tangent(state, new_state, Q)``, so the D×D Jacobian is never formed) and
re-orthonormalised by a thin QR every ``ons_interval`` steps. After a transient, log|diag R| is
accumulated; the exponents are

    λ_i = (1/t) Σ log|R_ii|     in units of 1/step

(Engelken's GF convention: the transient is discarded, exponents are per step). The thin QR's backward
(:func:`qr`) makes the exponents differentiable with respect to every parameter that the steps and tangent
products use, so a loss on the exponents (flossing) trains the network. Leading dimensions of the
state and of Q are batch dimensions (e.g. realizations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import torch

from sgtheory.functional.realizations import alone, per_realization, products

Step = Callable[[torch.Tensor, Any], Any]  # (drive_t, state) -> new state
Tangent = Callable[[Any, Any, torch.Tensor], torch.Tensor]  # (state, new_state, Q) -> rows D q
StepAndTangent = Callable[[torch.Tensor, Any, torch.Tensor], tuple[Any, torch.Tensor]]  # (drive_t, state, Q) -> both


class Spectrum(NamedTuple):
    exponents: torch.Tensor  # (..., k) in 1/step, ordered as the QR columns (descending once converged)
    trace: torch.Tensor  # (n_records, ..., k) running estimates λ_i(t) after each accumulated QR
    steps: int  # number of steps accumulated after the transient


def _factors(A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.linalg.qr`` of every matrix of A (R, D, k) on its own (LAPACK factors a fresh copy of each)."""
    factors = [torch.linalg.qr(a) for a in A.unbind(0)]
    if len(factors) == 1:  # the same layout as below, without the copy
        return factors[0].Q.unsqueeze(0), factors[0].R.unsqueeze(0)
    return torch.stack([f.Q.mT for f in factors]).mT, torch.stack([f.R for f in factors])  # Q column-major as LAPACK's


class _ThinQR(torch.autograd.Function):
    """Thin QR A = Q R of every matrix of A (R, D, k), D ≥ k, realization by realization. Forward: :func:`_factors`.
    Backward: the thin-QR formula for the whole batch, every product one GEMM per realization (:func:`products`),
    every triangular solve on :func:`alone` operands (torch's batched solve rounds a matrix differently with R):

        M = gR Rᵀ − Qᵀ gQ,   S = triu(M) + triu(M, 1)ᵀ,   gA = (gQ + Q S) R⁻ᵀ

    (torch's QR backward, in its order of operations). Each realization's factors and gradient are those it gets
    alone; the gradient is torch's to round-off (the products round differently from ``torch.matmul``)."""

    @staticmethod
    def forward(ctx, A: torch.Tensor):
        ctx.set_materialize_grads(False)
        q, r = _factors(A)
        ctx.save_for_backward(q, r)
        return q, r

    @staticmethod
    def backward(ctx, grad_q: torch.Tensor | None, grad_r: torch.Tensor | None):
        q, r = ctx.saved_tensors
        if grad_q is None and grad_r is None:
            return None
        M = products(grad_r, r.mT) if grad_r is not None else None
        if grad_q is not None:
            M = -products(q.mT, grad_q) if M is None else M - products(q.mT, grad_q)
        M = M.triu()
        B = products(q, M + M.triu(1).mT)
        B = B if grad_q is None else B + grad_q
        return torch.stack([torch.linalg.solve_triangular(alone(r_i.mT), alone(b_i), upper=False, left=False)
                            for r_i, b_i in zip(r.unbind(0), B.unbind(0), strict=True)])


def qr(A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Thin QR of A (..., D, k), D ≥ k, differentiable; each matrix's factors and gradient are those it gets alone
    (:class:`_ThinQR`): Q and R equal ``torch.linalg.qr``'s of the matrix, the gradient its autograd's to round-off."""
    D, k = A.shape[-2:]
    if D < k:
        raise ValueError(f"thin QR needs at least as many rows as columns, got a {D}x{k} matrix")
    differentiable = torch.is_grad_enabled() and A.requires_grad
    if A.dim() == 2 and not differentiable:
        return torch.linalg.qr(A)  # the factors of _factors without its batch bookkeeping (tens of µs per step)
    flat = A.reshape(-1, D, k)
    q, r = _ThinQR.apply(flat) if differentiable else _factors(flat)
    return q.reshape(A.shape), r.reshape(*A.shape[:-2], k, k)


def orthonormal_system(shape: tuple[int, ...], generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """k random orthonormal rows (``shape`` = (..., k, D)): the thin-QR factor of a Gaussian matrix."""
    gaussian = torch.randn(shape, generator=generator, dtype=dtype)
    return torch.linalg.qr(gaussian.mT).Q.mT


def lyapunov_spectrum(
    step: Step,
    tangent: Tangent,
    state0: Any,
    drive: Iterable[torch.Tensor],
    Q0: torch.Tensor,
    transient: int,
    ons_interval: int = 1,
) -> Spectrum:
    """The first k = Q0.shape[-2] Lyapunov exponents along the trajectory driven by ``drive``.

    Steps ``t = 1..T``; log|R_ii| of a QR after step t is accumulated when t > ``transient``.
    """

    def step_and_tangent(drive_t, state, Q):
        new_state = step(drive_t, state)
        return new_state, tangent(state, new_state, Q)

    return fused_lyapunov_spectrum(step_and_tangent, state0, drive, Q0, transient, ons_interval)


def fused_lyapunov_spectrum(
    step_and_tangent: StepAndTangent,
    state0: Any,
    drive: Iterable[torch.Tensor],
    Q0: torch.Tensor,
    transient: int,
    ons_interval: int = 1,
) -> Spectrum:
    """:func:`lyapunov_spectrum` with the step and the tangent product in one call ``step_and_tangent(drive_t,
    state, Q) -> (new_state, rows D q)``, for models that compute both from one pass over their weights."""
    if ons_interval < 1:
        raise ValueError(f"ons_interval={ons_interval} must be >= 1")
    state, Q = state0, Q0
    log_sum = torch.zeros(Q0.shape[:-1], dtype=Q0.dtype)
    trace, steps, t = [], 0, 0
    for t, drive_t in enumerate(drive, start=1):
        state, Q = step_and_tangent(drive_t, state, Q)
        if t % ons_interval == 0:
            q, R = qr(Q.mT)
            Q = q.mT
            if t - ons_interval >= transient:
                log_sum = log_sum + torch.log(torch.diagonal(R, dim1=-2, dim2=-1).abs())
                steps += ons_interval
                trace.append(log_sum.detach() / steps)
    if steps == 0:
        raise ValueError(f"no step after the transient ({transient}) was accumulated in {t} steps")
    return Spectrum(log_sum / steps, torch.stack(trace), steps)


def long_term_singular_values(step: Step, tangent: Tangent, state0: Any, drive: Iterable[torch.Tensor],
                              dim: int) -> torch.Tensor:
    """log σ_i(t) of the measured long-term Jacobian 𝒯_t = D_t ⋯ D_1 along the trajectory driven by ``drive``.

    The full basis (``dim`` unit vectors as rows) is pushed through the step's Jacobian without
    re-orthonormalisation, so the rows at step t are 𝒯_t's columns and their singular values are σ_i(𝒯_t).
    After each step the basis is divided by its largest singular value and the factor's log is carried, so
    nothing over- or underflows; singular values below σ_1 times the dtype's resolution (float64: ≈ 1e-16)
    are rounding noise. Returns (T + 1, ..., dim), natural logs, descending; row 0 is 𝒯_0 = 1 (all zeros). The
    singular values are computed matrix by matrix, so a realization's do not depend on the batch.
    """
    state = state0
    batch = state0[0].shape[:-2] if isinstance(state0, tuple) else state0.shape[:-2]
    dtype = state0[0].dtype if isinstance(state0, tuple) else state0.dtype
    basis = torch.eye(dim, dtype=dtype).expand(*batch, dim, dim)
    log_scale = torch.zeros(batch, dtype=dtype)
    history = [torch.zeros(*batch, dim, dtype=dtype)]
    for drive_t in drive:
        new_state = step(drive_t, state)
        basis = tangent(state, new_state, basis)
        state = new_state
        sigma = per_realization(lambda m: (torch.linalg.svdvals(m),), basis.reshape(-1, dim, dim))[0].view(*batch, dim)
        history.append(log_scale[..., None] + torch.log(sigma))
        log_scale = log_scale + torch.log(sigma[..., 0])
        basis = basis / sigma[..., :1, None]
    return torch.stack(history)


def flossing_loss(exponents: torch.Tensor, k: int, target: float = 0.0) -> torch.Tensor:
    """L = (1/k) Σ_{i≤k} (λ_i - λ*)², summed over leading (realization) dimensions so that each realization gets
    exactly its own gradient (spec §5)."""
    return ((exponents[..., :k] - target) ** 2).mean(dim=-1).sum()


def kaplan_yorke_dimension(exponents: torch.Tensor) -> torch.Tensor:
    """D_KY = j + Σ_{i≤j} λ_i / |λ_{j+1}| with j the largest index whose partial sum is ≥ 0 (sorted spectrum)."""
    lam = torch.sort(exponents, dim=-1, descending=True).values
    partial = torch.cumsum(lam, dim=-1)
    j = (partial >= 0).sum(dim=-1)  # partial sums decrease once negative exponents dominate
    k = lam.shape[-1]
    safe_j = j.clamp(max=k - 1)
    next_lam = torch.gather(lam, -1, safe_j[..., None]).squeeze(-1)
    sum_j = torch.where(j > 0, torch.gather(partial, -1, (j - 1).clamp(min=0)[..., None]).squeeze(-1), 0.0)
    dim = j + sum_j / next_lam.abs()
    return torch.where(j >= k, torch.full_like(dim, float(k)), dim)


def entropy_rate(exponents: torch.Tensor) -> torch.Tensor:
    """Kolmogorov-Sinai entropy rate bound: Σ of the positive exponents (nats per step)."""
    return exponents.clamp(min=0).sum(dim=-1)
