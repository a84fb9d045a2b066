"""Recursive least squares and full-FORCE teacher–student training of a rate network (balanced spec §2.7, decision
D7; DePasquale, Cueva, Rajan, Escola & Abbott, PLOS ONE 2018; RLS as in Sussillo & Abbott 2009).

Time is in units of τ (τ = 1), φ = relu, Euler step dt (as :mod:`sgtheory.functional.rate`). The teacher (target
generating network) is driven by the external input; the student has the same architecture but receives only the
constant drive b::

    teacher  h^T_{n+1} = (1 − dt) h^T_n + dt (u_n + b),      u_n = J^T φ(h^T_n) + I_n     (the teacher's input currents)
    student  h^S_{n+1} = (1 − dt) h^S_n + dt (J^S φ(h^S_n) + b),   z_n = w · φ(h^S_n)      (the readout)

Training (every ``every`` steps, r = φ(h^S_n)): RLS moves J^S so that J^S r ≈ u_n and w so that w·r ≈ target_n. All
rows of J^S and w see the same r, so one inverse-correlation matrix P (N × N, P_0 = 1/α) serves them all::

    k = P r,   c = 1 / (1 + r·k),   e = W r − y      (W = [J^S; w], y = [u_n; target_n]: a-priori errors)
    P ← P − c k kᵀ,                 W ← W − c e kᵀ

O(N²) per update. Test: the student runs autonomously (no updates, no input) and the normalised readout error is
mean((z − target)²) / var(target) over the test window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch


class RLS(NamedTuple):
    """Recursive-least-squares state: P (n, n) the running inverse of (α·1 + Σ r rᵀ), W (m, n) the weights, one row per
    output, all rows sharing P (their inputs r are the same)."""

    P: torch.Tensor
    W: torch.Tensor


def rls_init(W0: torch.Tensor, alpha: float) -> RLS:
    """P_0 = 1/α (α: the ridge regulariser, in units of r²), W_0 = ``W0`` (m, n)."""
    n = W0.shape[-1]
    return RLS(torch.eye(n, dtype=W0.dtype) / alpha, W0)


def rls_step(state: RLS, r: torch.Tensor, y: torch.Tensor) -> tuple[RLS, torch.Tensor]:
    """One RLS update towards W r = y for the input r (n,) and targets y (m,); returns the new state and the a-priori
    error e = W r − y (m,) (before the update). After the update W minimises Σ_past |W r − y|² + α |W − W_0|²."""
    P, W = state
    k = P @ r
    c = 1.0 / (1.0 + r @ k)
    e = W @ r - y
    return RLS(torch.addr(P, k, k, alpha=-c), torch.addr(W, e, k, alpha=-c)), e


class FullForce(NamedTuple):
    """The state of a teacher–student pair: teacher h^T (N,), student h^S (N,), the RLS state of W = [J^S; w]
    ((N + 1) × N: the student's couplings and, last row, its readout), and the step count n (time n·dt)."""

    hT: torch.Tensor
    hS: torch.Tensor
    rls: RLS
    n: int


def full_force_train(state: FullForce, JT: torch.Tensor, bias: float, inputs: Callable[[int], torch.Tensor],
                     target: Callable[[int], float], steps: int, dt: float, every: int = 1
                     ) -> tuple[FullForce, float]:
    """``steps`` Euler steps of teacher and student, an RLS update every ``every`` steps (see the module docstring).
    ``inputs(n)`` is the teacher's external input I_n (N,) at step n (the part the student does not get), ``target(n)``
    the readout's target; ``bias`` b the constant drive of both networks. Returns the new state and the training error
    Σ|J^S r − u|² / Σ|u − ⟨u⟩_i|² over the updates (a-priori errors; ⟨u⟩_i the mean over units)."""
    hT, hS, rls, n = state
    N = hT.shape[-1]
    err = ref = 0.0
    for _ in range(steps):
        u = JT @ torch.relu(hT) + inputs(n)
        r = torch.relu(hS)
        if n % every == 0:
            y = torch.cat([u, u.new_tensor([target(n)])])
            rls, e = rls_step(rls, r, y)
            err += float(e[:N].square().sum())
            ref += float((u - u.mean()).square().sum())
        hT = (1.0 - dt) * hT + dt * (u + bias)
        hS = (1.0 - dt) * hS + dt * (rls.W[:N] @ r + bias)
        n += 1
    return FullForce(hT, hS, rls, n), err / ref if ref else float("nan")


class Evaluation(NamedTuple):
    error: float  # mean((z − target)²) / var(target) over the test window
    z: torch.Tensor  # (steps,) the readout
    target: torch.Tensor  # (steps,)
    teacher: torch.Tensor  # (steps, len(units)) teacher rates φ(h^T) of the recorded units (driven, as in training)
    student: torch.Tensor  # (steps, len(units)) student rates φ(h^S) of the same units (autonomous)


def full_force_test(state: FullForce, JT: torch.Tensor, bias: float, inputs: Callable[[int], torch.Tensor],
                    target: Callable[[int], float], steps: int, dt: float,
                    units: torch.Tensor | None = None) -> Evaluation:
    """Run the trained student autonomously (fixed W, no input) for ``steps`` steps from ``state`` (which is not
    changed: the test forks the trajectory), next to the driven teacher for comparison; z_n = w·φ(h^S_n). The rates
    of the units with indices ``units`` are recorded (None: none)."""
    hT, hS, rls, n = state
    N = hT.shape[-1]
    W = rls.W
    units = torch.zeros(0, dtype=torch.long) if units is None else units
    zs, ys, rT, rS = [], [], [], []
    for m in range(n, n + steps):
        r = torch.relu(hS)
        out = W @ r
        rt = torch.relu(hT)
        zs.append(out[N])
        ys.append(target(m))
        rT.append(rt[units])
        rS.append(r[units])
        hS = (1.0 - dt) * hS + dt * (out[:N] + bias)
        hT = (1.0 - dt) * hT + dt * (JT @ rt + inputs(m) + bias)
    z, y = torch.stack(zs), torch.tensor(ys, dtype=hS.dtype)
    error = float((z - y).square().mean() / y.var(correction=0))
    return Evaluation(error, z, y, torch.stack(rT), torch.stack(rS))
