"""Lyapunov spectra by tangent propagation and repeated QR, differentiable end to end (flossing spec §4).

k orthonormal tangent vectors, the rows of Q (..., k, D), are pushed through the Jacobian of each step
(as a product ``tangent(state, new_state, Q)``, so the D×D Jacobian is never formed) and
re-orthonormalised by a thin QR every ``ons_interval`` steps. After a transient, log|diag R| is
accumulated; the exponents are

    λ_i = (1/t) Σ log|R_ii|     in units of 1/step

(Engelken's GF convention: the transient is discarded, exponents are per step). The QR backward of
torch makes the exponents differentiable with respect to every parameter that the steps and tangent
products use, so a loss on the exponents (flossing) trains the network. Leading dimensions of the
state and of Q are batch dimensions (e.g. realizations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import torch

from sgtheory.functional.realizations import per_realization

Step = Callable[[torch.Tensor, Any], Any]  # (drive_t, state) -> new state
Tangent = Callable[[Any, Any, torch.Tensor], torch.Tensor]  # (state, new_state, Q) -> rows D q
StepAndTangent = Callable[[torch.Tensor, Any, torch.Tensor], tuple[Any, torch.Tensor]]  # (drive_t, state, Q) -> both


class Spectrum(NamedTuple):
    exponents: torch.Tensor  # (..., k) in 1/step, ordered as the QR columns (descending once converged)
    trace: torch.Tensor  # (n_records, ..., k) running estimates λ_i(t) after each accumulated QR
    steps: int  # number of steps accumulated after the transient


def qr(A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Thin QR of A (..., D, k), one matrix at a time (:func:`sgtheory.functional.realizations.per_realization`), so
    each realization's factors and their gradients are those it gets alone."""
    if A.dim() == 2:
        return torch.linalg.qr(A)
    q, r = per_realization(torch.linalg.qr, A.reshape(-1, *A.shape[-2:]))
    return q.reshape(*A.shape[:-2], *q.shape[-2:]), r.reshape(*A.shape[:-2], *r.shape[-2:])


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
