"""Damage spreading of batched binary and LIF RNNs (definitions: :mod:`sgtheory.functional.damage`).

The forward network of a binary or LIF RNN is discrete: its surrogate Lyapunov exponents need not say whether a
changed spike dies out or spreads. These helpers measure it on the networks of ``lyap``, ``floss`` and ``train``:
trials with their own random initial state and input bits, driven for a while, then one unit's output flipped.
Every draw comes from the run's ``damage`` stream, so measuring never changes what a run computes otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sgtheory.experiments.configs.network import NetworkConfig
from sgtheory.functional.damage import damage_spreading
from sgtheory.models.rnn import RNN
from sgtheory.seeding import stream

CURVE_TRIALS = 50  # trials of the damage curves recorded with flossing and training
CURVE_AFTER = 100  # driven steps from each trial's random state to the flip
CURVE_HORIZON = 40  # steps recorded after the flip
TRAIN_STEP = 20  # the training rows record the damage this many steps after the flip


def damage_draws(configs: Sequence[NetworkConfig], trials: int, steps: int, input_rate: float = 0.5,
                 *index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The damage trials of every run from its stream ``("damage", *index)``: initial state vectors (R, B, D) ~
    N(0, 1), input bits (steps, R, B, 1) with P(1) = ``input_rate``, and a random order of the N units per trial as
    ranks (R, B, N): the unit of rank 0 is the single flip, ranks < m the m flips of a Derrida point."""
    dtype = getattr(torch, configs[0].dtype)
    draws = []
    for c in configs:
        gen = stream(c.seed, "damage", *index)
        state0 = torch.randn(trials, c.state_dim, generator=gen, dtype=dtype)
        bits = (torch.rand(steps, trials, 1, generator=gen, dtype=dtype) < input_rate).to(dtype) * c.input_amplitude
        ranks = torch.rand(trials, c.N, generator=gen).argsort(-1).argsort(-1)
        draws.append((state0, bits, ranks))
    state0, bits, ranks = zip(*draws, strict=True)
    return torch.stack(state0), torch.stack(bits, dim=1), torch.stack(ranks)


@torch.no_grad()
def network_damage(model: RNN, inputs: torch.Tensor, state0: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """Damage spreading in a binary or LIF ``model`` (R realizations, B trials): the Hamming distance d_t
    (T + 1, ..., R, B), in units, between the binary outputs of the trajectory from the state vectors ``state0``
    (R, B, D) and of its copy with the units in ``flips`` (bool, (..., R, B, N)) flipped, t = 0..T steps after the
    flip, both driven by ``inputs`` (T, R, B, S). Its mean over the trials is the damage curve of each realization."""
    step, _, unpack = model.dynamics()
    return damage_spreading(step, unpack(state0.detach()), model.drive(inputs), flips, model.threshold)


@torch.no_grad()
def damage_curve(model: RNN, configs: Sequence[NetworkConfig], *index: int, horizon: int = CURVE_HORIZON
                 ) -> torch.Tensor:
    """Mean damage d_t over CURVE_TRIALS trials (horizon + 1, R), t = 0..horizon steps after one flipped unit,
    CURVE_AFTER driven steps (input bits with P(1) = ½) after each trial's random state; the trials of stream
    ``("damage", *index)``."""
    state0, bits, ranks = damage_draws(configs, CURVE_TRIALS, CURVE_AFTER + horizon, 0.5, *index)
    state0 = model.run(model.drive(bits[:CURVE_AFTER]), state0)[1]
    return network_damage(model, bits[CURVE_AFTER:], state0, ranks == 0).double().mean(-1)
