"""Continuous-time firing-rate networks, Euler-discretised, with their tangent maps (rate spec §3.2, §2.2).

Time is in units of the membrane time constant τ (τ = 1); exponents computed from these maps are in 1/τ::

    τ dh/dt = −h + J φ(h) + I(t)
    h_{n+1} = (1 − dt) h_n + dt (J φ(h_n) + I_n)                        (one Euler step of dt τ)
    D_n     = (1 − dt) 1 + dt J diag(φ'(h_n))                           (its Jacobian ∂h_{n+1}/∂h_n)

φ ∈ {tanh, relu, linear}. dt = 1 gives the discrete-time network h_{n+1} = J φ(h_n) + I_n. States carry a leading
realization axis: h (R, N), couplings J (R, N, N) (or one shared (N, N)), tangent vectors as rows Q (R, k, N), as
:func:`sgtheory.functional.lyapunov.lyapunov_spectrum` expects; every product is one GEMM per realization
(:func:`sgtheory.functional.neurons.recurrent`), so a realization's numbers do not depend on the batch. The drive
I_n (R, N) is the caller's (constant, sinusoidal, noise): white noise of intensity σ (⟨ξ(t)ξ(t')⟩ = σ² δ(t − t'))
is I_n = σ ξ_n / √dt with ξ_n ~ N(0, 1), so that the step adds σ √dt ξ_n (:func:`white_noise`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import numba
import torch

from sgtheory.functional.lyapunov import Spectrum, fused_lyapunov_spectrum, orthonormal_system, qr
from sgtheory.functional.neurons import recurrent


class Nonlinearity(NamedTuple):
    phi: Callable[[torch.Tensor], torch.Tensor]
    dphi: Callable[[torch.Tensor], torch.Tensor]


def _dtanh(x: torch.Tensor) -> torch.Tensor:
    return 1.0 - torch.tanh(x) ** 2


NONLINEARITIES: dict[str, Nonlinearity] = {
    "tanh": Nonlinearity(torch.tanh, _dtanh),
    "relu": Nonlinearity(torch.relu, lambda x: (x > 0).to(x.dtype)),
    "linear": Nonlinearity(lambda x: x, torch.ones_like),
}


def nonlinearity(name: str) -> Nonlinearity:
    try:
        return NONLINEARITIES[name]
    except KeyError:
        raise ValueError(f"phi={name!r} must be one of: {', '.join(NONLINEARITIES)}") from None


class RateNetwork(NamedTuple):
    """A continuous-time rate network: couplings J (R, N, N) or (N, N), φ by name, Euler step dt (in τ)."""

    J: torch.Tensor
    phi: str = "tanh"
    dt: float = 0.05


def couplings(N: int, g: float, generator: torch.Generator, R: int | None = None, mean: float = 0.0,
              zero_diagonal: bool = True, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """J_ij ~ N(mean, g²/N) i.i.d., (R, N, N) (or (N, N) when R is None); J_ii = 0 when ``zero_diagonal``.

    The chaotic tanh networks of Engelken, Wolf & Abbott use mean 0 and a zero diagonal; the balanced ReLU network
    uses mean −√K·J0/N (spec §2.2)."""
    shape = (N, N) if R is None else (R, N, N)
    J = torch.randn(shape, generator=generator, dtype=dtype) * (g / math.sqrt(N)) + mean
    if zero_diagonal:
        J.diagonal(dim1=-2, dim2=-1).zero_()
    return J


def _field(x: torch.Tensor, J: torch.Tensor) -> torch.Tensor:
    """J x for x (R, N) (or (N,) with a shared J)."""
    if x.dim() == 1:
        return J @ x
    return recurrent(x[..., None, :], J)[..., 0, :]


def euler_step(h: torch.Tensor, net: RateNetwork, drive: torch.Tensor | float | None = None) -> torch.Tensor:
    """h_{n+1} = (1 − dt) h_n + dt (J φ(h_n) + I_n) for h (R, N); ``drive`` I_n broadcasts against h (None: 0)."""
    phi = nonlinearity(net.phi).phi
    field = _field(phi(h), net.J)
    if drive is not None:
        field = field + drive
    return (1.0 - net.dt) * h + net.dt * field


def euler_tangent(h: torch.Tensor, Q: torch.Tensor, net: RateNetwork) -> torch.Tensor:
    """Rows q of Q (R, k, N) pushed through D_n = (1 − dt) 1 + dt J diag(φ'(h_n)) at the state h_n (R, N) before the
    step: q ← (1 − dt) q + dt J (φ'(h_n) ⊙ q). D is never formed."""
    dphi = nonlinearity(net.phi).dphi(h)[..., None, :]
    if Q.dim() == 2:
        return (1.0 - net.dt) * Q + net.dt * (Q * dphi) @ net.J.mT
    return (1.0 - net.dt) * Q + net.dt * recurrent(Q * dphi, net.J)


FEW_ROWS = 8  # up to this many rows per realization, J·rows is the compiled loop that reads J once; above, a GEMM


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _few_rows_product(J, rows, out):  # pragma: no cover - compiled
    R, N, m = rows.shape[0], J.shape[1], rows.shape[1]
    for r in range(R):
        Jr = J[r]
        for i in range(N):
            for c in range(m):
                acc = 0.0
                for j in range(J.shape[2]):
                    acc += Jr[i, j] * rows[r, c, j]
                out[r, c, i] = acc


def few_rows_product(rows: torch.Tensor, J: torch.Tensor) -> torch.Tensor:
    """out[..., c, :] = J · rows[..., c, :] for rows (R, m, N) with J (R, N, N), or rows of any shape with one J (N, N):
    each row of J is read from memory once for all the rows that use it (it stays in cache), so a step of λ_1 moves
    the N² matrix once — the memory-traffic bound of spec §4.4 — where BLAS's m-column GEMM and m matrix-vector
    products stream it slower or m times (benchmarks/bench_rate_spectrum.py). Every row is summed in a fixed order,
    so the numbers do not depend on the batch."""
    if J.dim() == 2:  # one J for every row: each of its rows is read once for all of them
        flat = rows.reshape(1, -1, rows.shape[-1])
        return few_rows_product(flat, J[None]).reshape(rows.shape)
    if J.shape[0] != rows.shape[0]:
        raise ValueError(f"{J.shape[0]} coupling matrices for {rows.shape[0]} realizations")
    rows, J = rows.contiguous(), J.contiguous()
    out = torch.empty_like(rows)
    _few_rows_product(J.numpy(), rows.numpy(), out.numpy())
    return out


def euler_step_and_tangent(h: torch.Tensor, Q: torch.Tensor, net: RateNetwork,
                           drive: torch.Tensor | float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`euler_step` and :func:`euler_tangent` in one product J·[φ(h_n); φ'(h_n) ⊙ q_1; …] (R, 1 + k, N), so J is
    read once per step instead of twice (memory traffic bounds λ_1 of a large network, spec §4.4): for 1 + k ≤
    FEW_ROWS by :func:`few_rows_product`, else one GEMM per realization."""
    nl = nonlinearity(net.phi)
    rows = torch.cat([nl.phi(h)[..., None, :], Q * nl.dphi(h)[..., None, :]], dim=-2)
    sharing = rows.shape[-2] if net.J.dim() == 3 else rows.numel() // rows.shape[-1]  # rows that read one J
    if sharing <= FEW_ROWS and not rows.requires_grad:
        product = few_rows_product(rows, net.J)
    else:
        product = rows @ net.J.mT if rows.dim() == 2 else recurrent(rows, net.J)
    field = product[..., 0, :] if drive is None else product[..., 0, :] + drive
    return (1.0 - net.dt) * h + net.dt * field, (1.0 - net.dt) * Q + net.dt * product[..., 1:, :]


def jacobian(h: torch.Tensor, net: RateNetwork) -> torch.Tensor:
    """The Jacobian D_n (R, N, N) formed explicitly (tests and small N only)."""
    N = h.shape[-1]
    dphi = nonlinearity(net.phi).dphi(h)
    return (1.0 - net.dt) * torch.eye(N, dtype=h.dtype) + net.dt * net.J * dphi[..., None, :]


def simulate(h0: torch.Tensor, net: RateNetwork, steps: int, drive: Iterable | None = None,
             record_every: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``steps`` Euler steps from h0; returns the final state and, when ``record_every`` > 0, the states after every
    ``record_every``-th step (n_records, R, N). ``drive`` yields one I_n per step (None: autonomous)."""
    drives: Iterator = iter(drive) if drive is not None else iter(())
    h, records = h0, []
    for n in range(1, steps + 1):
        h = euler_step(h, net, next(drives, None))
        if record_every and n % record_every == 0:
            records.append(h)
    return h, (torch.stack(records) if records else None)


def white_noise(shape: tuple[int, ...], sigma: float, dt: float, steps: int, generator: torch.Generator,
                dtype: torch.dtype = torch.float64) -> Iterator[torch.Tensor]:
    """I_n = σ ξ_n / √dt, ξ_n ~ N(0, 1) of ``shape``, for ``steps`` steps (drawn lazily from ``generator``)."""
    for _ in range(steps):
        yield torch.randn(shape, generator=generator, dtype=dtype) * (sigma / math.sqrt(dt))


def steps_of(duration: float, dt: float) -> int:
    """Euler steps covering ``duration`` τ (rounded to the nearest step, at least 1 when duration > 0)."""
    n = round(duration / dt)
    return max(n, 1) if duration > 0 else 0


class RateSpectrum(NamedTuple):
    exponents: torch.Tensor  # (R, k) in 1/τ, descending once converged
    local: torch.Tensor  # (n_intervals, R, k) local exponents ln|R_ii| / t_ONS of each accumulated ONS interval, 1/τ
    state: torch.Tensor  # (R, N) the state at the end
    vectors: torch.Tensor  # (R, k, N) the orthonormalised tangent vectors at the end (≈ backward Lyapunov vectors)
    duration: float  # τ accumulated after the transients


def rate_spectrum(h0: torch.Tensor, net: RateNetwork, k: int, generator: torch.Generator, duration: float,
                  t_ons: float = 1.0, t_warm: float = 100.0, ons_transient: float | None = None,
                  drive: Callable[[int], Iterable] | None = None, Q0: torch.Tensor | None = None) -> RateSpectrum:
    """The first k Lyapunov exponents (1/τ) by the QR method (spec §3.2) with
    :func:`sgtheory.functional.lyapunov.lyapunov_spectrum`: the network relaxes ``t_warm`` τ from h0 (network
    transient), then k random orthonormal vectors (drawn from ``generator``) are propagated for ``duration`` τ with a
    QR every ``t_ons`` τ; the first ``ons_transient`` τ (default duration/10) are discarded so that Q aligns with the
    backward Lyapunov vectors. ``drive(steps)`` yields the I_n of the next ``steps`` steps (called once for the warm-up
    and once for the spectrum; the same I_n act on trajectory and tangents). ``Q0`` (R, k, N) replaces the random
    initial vectors (e.g. the ``vectors`` of a previous call, to continue it)."""
    dt = net.dt
    n_ons = steps_of(t_ons, dt)
    if n_ons < 1:
        raise ValueError(f"t_ons={t_ons} must be >= dt={dt}")
    if ons_transient is None:
        ons_transient = duration / 10
    warm = steps_of(t_warm, dt)
    h, _ = simulate(h0, net, warm, drive(warm) if drive else None)
    total = steps_of(duration, dt)
    transient = (steps_of(ons_transient, dt) // n_ons) * n_ons
    N = h.shape[-1]
    if Q0 is None:
        Q0 = orthonormal_system((*h.shape[:-1], k, N), generator, dtype=h.dtype)
    drives: Iterable = drive(total) if drive else (None for _ in range(total))
    final: list[torch.Tensor] = [h, Q0]

    def step_and_tangent(drive_n, state, Q):
        final[:] = euler_step_and_tangent(state, Q, net, drive_n)
        return final[0], final[1]

    spec: Spectrum = fused_lyapunov_spectrum(step_and_tangent, h, drives, Q0, transient, n_ons)
    intervals = torch.arange(1, len(spec.trace) + 1, dtype=h.dtype).reshape(-1, *[1] * (spec.trace.dim() - 1))
    running = spec.trace * intervals  # Σ ln|R_ii| / n_ons over the accumulated intervals
    local = torch.diff(running, dim=0, prepend=torch.zeros_like(running[:1])) / dt  # ln|R_ii| / t_ONS
    vectors = qr(final[1].mT)[0].mT
    return RateSpectrum(spec.exponents / dt, local, final[0], vectors, spec.steps * dt)


def brute_force_lambda_max(h0: torch.Tensor, net: RateNetwork, duration: float, t_ons: float = 1.0,
                           eps: float = 1e-8, direction: torch.Tensor | None = None,
                           generator: torch.Generator | None = None, ons_transient: float | None = None,
                           drive: Iterable | None = None) -> torch.Tensor:
    """λ_max (R,) in 1/τ from a perturbed copy at distance ``eps`` (along ``direction``, e.g. the first Lyapunov
    vector, else random), renormalised every ``t_ons`` τ; the same drive acts on both copies. The first
    ``ons_transient`` τ (default duration/10) are not accumulated. No tangent map: the control of spec §3.2 item 3."""
    dt = net.dt
    n_ons = steps_of(t_ons, dt)
    if direction is None:
        direction = torch.randn(h0.shape, generator=generator, dtype=h0.dtype)
    delta = direction / direction.norm(dim=-1, keepdim=True) * eps
    a, b = h0, h0 + delta
    total = steps_of(duration, dt)
    skip = steps_of(duration / 10 if ons_transient is None else ons_transient, dt)
    drives: Iterator = iter(drive) if drive is not None else iter(())
    log_sum = torch.zeros(h0.shape[:-1], dtype=h0.dtype)
    accumulated = 0
    for n in range(1, total + 1):
        I_n = next(drives, None)
        a, b = euler_step(a, net, I_n), euler_step(b, net, I_n)
        if n % n_ons == 0:
            d = (b - a).norm(dim=-1, keepdim=True)
            if n > skip:
                log_sum = log_sum + torch.log(d[..., 0] / eps)
                accumulated += n_ons
            b = a + (b - a) * (eps / d)
    return log_sum / (accumulated * dt)


def bootstrap_ci(local: torch.Tensor, generator: torch.Generator, resamples: int = 1000,
                 level: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """Percentile bootstrap CI of the mean of the local exponents (n_intervals, ...) over the intervals (spec §3.2
    item 4); like the reference, it ignores their correlation in time and every systematic error."""
    n = local.shape[0]
    idx = torch.randint(n, (resamples, n), generator=generator)
    means = local[idx].mean(dim=1)
    alpha = (1 - level) / 2
    q = torch.tensor([alpha, 1 - alpha], dtype=local.dtype)
    lo, hi = torch.quantile(means, q, dim=0)
    return lo, hi
