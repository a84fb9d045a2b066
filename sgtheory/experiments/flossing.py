"""Flossing (flossing spec §5-§6): the flossing step and the ``train --floss`` schedules.

- :class:`Flosser`: one flossing step = a fresh input sequence (B = 1, ``floss_T`` steps, starting from the first
  column of the relaxed initial state), λ_1..λ_k over it (transient 10 + ⌈Tp/10⌉), L = (1/k) Σ (λ_i - λ*)², and one
  Adam step on J, the input weights and the bias only (spec §5).
- :class:`FlossingSchedule`: the ``train --floss`` schedules, called before each training epoch.

Realizations (seeds) run batched; the flossing Adam keeps a step count per realization, so a realization that skips a
step (adaptive schedule, or a non-finite loss) is left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sgtheory.config import FlossingConfig, TrainConfig, gf_transient
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


class FlossingSchedule:
    """The ``train --floss`` schedules (decision D6), as a ``before_epoch(model, epoch)`` hook:

    - ``pre``: ``floss_pre`` flossing steps before epoch 1;
    - ``pre+inter``: plus ``floss_steps`` steps at every epoch that is a multiple of ``floss_every``,
      for at most ``floss_phases`` phases;
    - ``adaptive``: as ``pre+inter``, but in an inter-flossing phase a realization takes a step only while
      max_i |λ_i - λ*| over its flossed exponents exceeds ``floss_tol``; a phase counts for a realization
      only if it took a step.

    Returns the (R,) mask of realizations whose flossing stayed finite; ``steps_taken`` and ``lambda1``
    (the latest estimate of λ_1, NaN before any) are recorded with the training rows as
    ``floss_steps_taken`` and ``floss_lambda1``.
    """

    def __init__(self, model: RNN, configs: Sequence[TrainConfig]):
        self.cfg = configs[0]
        self.flosser = Flosser(model, configs)
        R = len(configs)
        self.steps_taken = torch.zeros(R, dtype=torch.long)
        self.phases = torch.zeros(R, dtype=torch.long)
        self.lambda1 = torch.full((R,), float("nan"))

    def _phase(self, steps: int, eligible: torch.Tensor, tolerance: float | None = None) -> tuple[torch.Tensor,
                                                                                                    torch.Tensor]:
        """Up to ``steps`` flossing steps for the ``eligible`` realizations; with a ``tolerance``, a realization
        stops once its latest estimate has every flossed exponent within it. Returns (finite, took a step)."""
        finite = torch.ones_like(eligible)
        took = torch.zeros_like(eligible)
        deviation = None
        if tolerance is not None:
            with torch.no_grad():
                deviation = (self.flosser.estimate().exponents - self.cfg.floss_target).abs().amax(dim=-1)
        for _ in range(steps):
            active = eligible & finite
            if deviation is not None:
                active &= deviation > tolerance
            if not active.any():
                break
            exponents, ok = self.flosser.step(active)
            finite &= ok
            took |= active & ok
            self.steps_taken += (active & ok).long()
            self.lambda1 = torch.where(active & ok, exponents[:, 0].to(self.lambda1.dtype), self.lambda1)
            if deviation is not None:
                new = (exponents - self.cfg.floss_target).abs().amax(dim=-1).to(deviation.dtype)
                deviation = torch.where(active, new, deviation)
        return finite, took

    def __call__(self, model: RNN, epoch: int) -> torch.Tensor:
        cfg = self.cfg
        everyone = torch.ones_like(self.steps_taken, dtype=torch.bool)
        if epoch == 1 and cfg.floss_pre > 0:
            return self._phase(cfg.floss_pre, everyone)[0]
        if cfg.floss in ("pre+inter", "adaptive") and epoch % cfg.floss_every == 0:
            eligible = self.phases < cfg.floss_phases
            if eligible.any():
                tolerance = cfg.floss_tol if cfg.floss == "adaptive" else None
                finite, took = self._phase(cfg.floss_steps, eligible, tolerance)
                self.phases += took.long()
                return finite
        return everyone
