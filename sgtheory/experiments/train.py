"""Task training of tanh, binary and LIF RNNs on the delayed XOR / copy tasks (flossing spec §6.2).

Per epoch: a fresh batch of B sequences, logit binary cross-entropy of the readout on the scored
steps (averaged over scored steps and batch), accuracy [r_t ≥ 0] = y_t on the same batch *before*
the update, |dL/dh0| = Frobenius norm of ∂L/∂x0 (D5), then per-array gradient-norm clipping
(threshold ``clip``) and an Adam step (lr, β = (0.9, 0.999), ε = 1e-8).

Runs that differ only in their seed train together: every parameter has a leading realization
dimension, the loss is the sum of the per-realization losses (so gradients do not mix), clipping is
per realization and per array, Adam is elementwise, and every product and reduction is computed
realization by realization (:mod:`sgtheory.functional.realizations`), so each realization follows bit for
bit the trajectory it would follow alone or in any other batch (float32 and float64).
A realization whose loss or gradient turns non-finite stops recording; since nothing mixes
realizations, its NaNs cannot reach the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import torch

from sgtheory.experiments.base import (
    DTYPES,
    Checkpoint,
    Progress,
    RunResult,
    restore_results,
    results_state,
    stop_failed,
)
from sgtheory.experiments.configs.train import TrainConfig
from sgtheory.experiments.damage import TRAIN_STEP, damage_curve
from sgtheory.experiments.flossing import Flosser
from sgtheory.experiments.network import build_model
from sgtheory.functional.losses import task_bce
from sgtheory.functional.realizations import realization_mean
from sgtheory.models.rnn import RNN
from sgtheory.optim import Adam, clip_per_realization, finite_per_realization
from sgtheory.seeding import stream
from sgtheory.tasks.delayed import delayed_task

BeforeEpoch = Callable[[RNN, int], "torch.Tensor | None"]  # returns the (R,) mask of healthy realizations

def draw_batch(configs: Sequence[TrainConfig], epoch: int):
    """Inputs (T, R, B, 1), targets (T, R, B) and scored mask (T,): each realization its own stream."""
    cfg = configs[0]
    dtype = DTYPES[cfg.dtype]
    draws = [
        delayed_task(c.task, c.delay, c.T, c.batch, stream(c.seed, "input", epoch), c.input_amplitude, dtype)
        for c in configs
    ]
    inputs = torch.stack([d[0] for d in draws], dim=1)
    targets = torch.stack([d[1] for d in draws], dim=1).squeeze(-1)
    return inputs, targets, draws[0][2]


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

    def state_dict(self) -> dict:
        """Steps and phases taken, the latest λ_1 and the flosser's state, for a checkpoint."""
        return {"steps_taken": self.steps_taken.clone(), "phases": self.phases.clone(), "lambda1": self.lambda1.clone(),
                "flosser": self.flosser.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.steps_taken, self.phases, self.lambda1 = state["steps_taken"], state["phases"], state["lambda1"]
        self.flosser.load_state_dict(state["flosser"])

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


def train(
    configs: Sequence[TrainConfig], progress: Progress | None = None, before_epoch: BeforeEpoch | None = None,
    checkpoint: Checkpoint | None = None,
) -> list[RunResult]:
    """Train the runs ``configs`` (identical but for the seed) as one batched computation.

    ``before_epoch(model, epoch)`` runs before each training epoch, after the flossing schedule of
    ``cfg.floss`` (its own optimizer, its own objective, spec §6.3); it may return an (R,) mask of
    realizations that are still healthy. With flossing, each row also records ``floss_steps_taken`` (flossing
    steps taken so far) and ``floss_lambda1`` (the latest flossing estimate of λ_1). Binary and LIF rows record
    ``damage``: the mean Hamming distance of the forward network's outputs 20 steps after one flipped unit
    (:func:`sgtheory.experiments.damage.damage_curve`; ordered dynamics ≈ 0, chaotic ≈ a fraction of N).

    With a ``checkpoint``, training resumes from its saved state (parameters, both Adams, the flossing schedule,
    the rows so far, the epoch) and saves one after an epoch whenever it is due; every random draw comes from a
    stream of (seed, purpose, epoch or step), so no generator state needs keeping.
    """
    cfg = configs[0]
    if any(dataclasses.replace(c, seed=cfg.seed) != cfg for c in configs):
        raise ValueError("configs trained together must differ only in their seed")
    model = build_model(configs, cfg.batch)
    params = list(model.parameters())
    optimizer = Adam(params, cfg.lr)
    results = [RunResult(c, []) for c in configs]
    alive = torch.ones(len(configs), dtype=torch.bool)
    schedule = None
    if cfg.floss != "none":
        schedule = FlossingSchedule(model, configs)

    def state(epoch: int) -> dict:
        return {"epoch": epoch, "model": model.state_dict(), "adam": optimizer.state_dict(), "alive": alive.clone(),
                "results": results_state(results), "schedule": None if schedule is None else schedule.state_dict()}

    first = 1
    saved = None if checkpoint is None else checkpoint.restore()
    if saved is not None:
        first, alive = saved["epoch"] + 1, saved["alive"]
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["adam"])
        restore_results(results, saved["results"])
        if schedule is not None:
            schedule.load_state_dict(saved["schedule"])

    for epoch in range(first, cfg.epochs + 1):
        for hook in (schedule, before_epoch):
            healthy = None if hook is None else hook(model, epoch)
            if healthy is not None:
                alive = stop_failed(results, alive, healthy, f"non-finite flossing loss or gradient before epoch "
                                    f"{epoch}; the run stopped")
        inputs, targets, scored = draw_batch(configs, epoch)
        logits = model(inputs)[scored]
        target = targets[scored]
        loss = task_bce(logits, target)
        accuracy = realization_mean(((logits >= 0) == (target > 0.5)).to(loss.dtype), dim=1)
        optimizer.zero_grad()
        loss.sum().backward()
        grad_h0 = model.x0.grad.flatten(1).norm(dim=1)

        finite = finite_per_realization(loss.detach(), params) & torch.isfinite(grad_h0)  # the norm can overflow
        alive = stop_failed(results, alive, finite, f"non-finite loss, gradient or gradient norm at epoch {epoch}; the "
                            "run stopped there")
        if (epoch - 1) % cfg.record_every == 0 or epoch == cfg.epochs:
            damage = None if cfg.model == "tanh" else damage_curve(model, configs, epoch, horizon=TRAIN_STEP)[-1]
            for r in torch.nonzero(alive).flatten().tolist():
                row = {"epoch": epoch, "loss": loss[r].item(), "accuracy": accuracy[r].item(),
                       "grad_h0_norm": grad_h0[r].item()}
                if damage is not None:
                    row["damage"] = damage[r].item()
                if schedule is not None:
                    row |= {"floss_steps_taken": schedule.steps_taken[r].item(),
                            "floss_lambda1": schedule.lambda1[r].item()}
                results[r].rows.append(row)
        if not alive.any():
            break
        clip_per_realization(params, cfg.clip)
        optimizer.step(alive)
        if checkpoint is not None and checkpoint.due():
            checkpoint.save(state(epoch))
        if progress is not None:
            progress(epoch, {"acc": accuracy[alive].mean().item(), "loss": loss[alive].mean().item()})
    return results
