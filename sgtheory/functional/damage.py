"""Damage spreading and the Derrida map of networks with binary outputs (binary RNN, LIF).

The binary output of a unit is s = H(u - θ) (H(0) = 0) of its threshold variable u: the local field x
of the binary RNN (θ = 0; state x) or the membrane potential v of the LIF (θ the firing threshold;
state (v, I)). Flipping unit j toggles s_j by moving u_j across θ:

    silent -> active:  u_j ← θ + 1           active -> silent:  u_j ← min(0, θ)

Every value above θ gives the same future (the binary step sees only H(x); the LIF resets v to 0 after
a spike), and a silenced LIF unit sits at its reset potential 0 (at θ if θ ≤ 0).

Damage spreading: a reference trajectory and a copy whose outputs at t = 0 differ in the flipped
units run through the same drive; the damage d_t = Σ_i |s_i(t) - s̃_i(t)| is the Hamming distance
(in units) of their outputs t steps after the flip (d_0 = number of flipped units). In ordered
dynamics d_t dies out or stays bounded; in chaotic dynamics it grows to a finite fraction of N.

Derrida map: flipping a fraction h0 of the units, h1 = d_1/N is the normalised distance one step
later; a slope dh1/dh0 > 1 at h0 → 0 signals chaos of the discrete forward dynamics. With one flipped
unit, h0 = 1/N and the slope is d_1.

All tensors carry leading batch dimensions (realizations, trials); a flip mask may carry extra
leading dimensions (several flip patterns of the same state), which broadcast against the state.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

State = torch.Tensor | tuple[torch.Tensor, ...]


def _potential(state: State) -> torch.Tensor:
    """The threshold variable u: the state itself (binary RNN) or its first element (LIF: v of (v, I))."""
    return state[0] if isinstance(state, tuple) else state


def outputs(state: State, threshold: float = 0.0) -> torch.Tensor:
    """Binary outputs H(u - θ) (..., N) as booleans."""
    return _potential(state) > threshold


def flip(state: State, mask: torch.Tensor, threshold: float = 0.0) -> State:
    """Copy of ``state`` whose units in ``mask`` (bool, (..., N)) have their outputs toggled (rule above)."""
    u = _potential(state)
    toggled = torch.where(u > threshold, min(0.0, threshold), threshold + 1.0).to(u.dtype)
    u = torch.where(mask, toggled, u)
    return (u, *state[1:]) if isinstance(state, tuple) else u


@torch.no_grad()
def damage_spreading(step: Callable[[torch.Tensor, State], State], state0: State, drive: torch.Tensor,
                     mask: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """Hamming distance d_t (T + 1, ...) in units, t = 0..T steps after flipping the units in ``mask`` of
    ``state0``; the reference and the flipped copy both run ``step(drive_t, state) -> state`` over ``drive``
    (T, ..., N). The result has the batch shape of the mask broadcast against the state."""
    reference, perturbed = state0, flip(state0, mask, threshold)
    distances = [(outputs(reference, threshold) != outputs(perturbed, threshold)).sum(-1)]
    for drive_t in drive:
        reference, perturbed = step(drive_t, reference), step(drive_t, perturbed)
        distances.append((outputs(reference, threshold) != outputs(perturbed, threshold)).sum(-1))
    return torch.stack(distances)


def derrida_map(step: Callable[[torch.Tensor, State], State], state0: State, drive: torch.Tensor,
                masks: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """Normalised distance h1 = d_1/N one step after flipping the units in ``masks`` (bool, (..., N); h0 is
    their fraction ``masks.mean(-1)``), with the one-step drive ``drive`` (..., N); float64."""
    return damage_spreading(step, state0, drive[None], masks, threshold)[1].double() / masks.shape[-1]
