"""Flossing (flossing spec §5): the flossing step, shared by ``floss`` and the ``train --floss`` schedules.

- :class:`Flosser`: one flossing step = a fresh input sequence (B = 1, ``floss_T`` steps, starting from the first
  column of the relaxed initial state), λ_1..λ_k over it (transient 10 + ⌈Tp/10⌉), L = (1/k) Σ (λ_i - λ*)², and one
  Adam step on J, the input weights and the bias only (spec §5).

Realizations (seeds) run batched; the flossing Adam keeps a step count per realization, so a realization that skips a
step (adaptive schedule, or a non-finite loss) is left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sgtheory.experiments.configs.network import FlossingConfig, gf_transient
from sgtheory.experiments.network import initial_tangents, input_bits, network_spectrum
from sgtheory.functional.lyapunov import Spectrum, flossing_loss
from sgtheory.models.rnn import RNN
from sgtheory.optim import Adam, finite_per_realization


class Flosser:
    """Flossing steps of a batched RNN: its own Adam over (J, w_in, b), persistent across phases (spec §5)."""

    def __init__(self, model: RNN, configs: Sequence[FlossingConfig]):
        cfg = configs[0]
        self.model, self.configs, self.cfg = model, list(configs), cfg
        self.adam = Adam([model.J, model.w_in, model.b], cfg.floss_lr)
        self.Q0 = initial_tangents(configs, cfg.nle)
        self.index = 0  # flossing steps taken so far: each draws its own input sequence

    def state_dict(self) -> dict:
        """The flossing Adam and the number of estimates drawn so far, for a checkpoint (the model is saved apart)."""
        return {"adam": self.adam.state_dict(), "index": self.index}

    def load_state_dict(self, state: dict) -> None:
        self.adam.load_state_dict(state["adam"])
        self.index = state["index"]

    def estimate(self) -> Spectrum:
        """λ_1..λ_k on a fresh input sequence of ``floss_T`` steps (differentiable)."""
        self.index += 1
        inputs = input_bits(self.configs, "floss", self.index, self.cfg.floss_T)
        return network_spectrum(self.model, inputs, self.Q0, gf_transient(self.cfg.floss_T),
                                jacobian_surrogate=self.cfg.floss_surrogate())

    def step(self, active: torch.Tensor | None = None, update: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Estimate the exponents and (if ``update``) take one Adam step on the flossing loss for the
        realizations in ``active`` (default: all). Returns the exponents (R, k) and the (R,) mask of
        realizations whose loss and gradients were finite."""
        R = len(self.configs)
        active = torch.ones(R, dtype=torch.bool) if active is None else active
        if not update:
            with torch.no_grad():
                exponents = self.estimate().exponents
            return exponents, torch.isfinite(exponents).all(dim=-1)
        self.adam.zero_grad()
        exponents = self.estimate().exponents
        flossing_loss(exponents, self.cfg.nle, self.cfg.floss_target).backward()
        finite = finite_per_realization(torch.isfinite(exponents.detach()).all(dim=-1), self.adam.params)
        self.adam.step(active & finite)
        return exponents.detach(), finite
