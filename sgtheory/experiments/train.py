"""Task training of tanh, binary and LIF RNNs on the delayed XOR / copy tasks (flossing spec §6.2).

Per epoch: a fresh batch of B sequences, logit binary cross-entropy of the readout on the scored
steps (averaged over scored steps and batch), accuracy [r_t ≥ 0] = y_t on the same batch *before*
the update, |dL/dh0| = Frobenius norm of ∂L/∂x0 (D5), then per-array gradient-norm clipping
(threshold ``clip``) and an Adam step (lr, β = (0.9, 0.999), ε = 1e-8).

Runs that differ only in their seed train together: every parameter has a leading realization
dimension, the loss is the sum of the per-realization losses (so gradients do not mix), clipping is
per realization and per array, and Adam is elementwise, so each realization follows the trajectory it
would follow alone (to the rounding of the batched matrix products: ~1e-7 relative in float32).
A realization whose loss or gradient turns non-finite stops recording; since nothing mixes
realizations, its NaNs cannot reach the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import torch

from sgtheory.config import check_choice, check_counts, check_positive
from sgtheory.errors import ConfigError
from sgtheory.experiments.base import DTYPES, Progress, RunResult, stop_failed
from sgtheory.experiments.damage import TRAIN_STEP, damage_curve
from sgtheory.experiments.flossing import Flosser
from sgtheory.experiments.network import FLOSS_SCHEDULES, TASKS, FlossingConfig, build_model
from sgtheory.functional.losses import task_bce
from sgtheory.models.rnn import RNN
from sgtheory.optim import Adam, clip_per_realization, finite_per_realization
from sgtheory.seeding import stream
from sgtheory.tasks.delayed import delayed_task


@dataclasses.dataclass(frozen=True)
class TrainConfig(FlossingConfig):
    """One training run of an RNN on a delayed task (Engelken & Abbott; flossing spec §2, §6, §7)."""

    task: str = "xor"  # xor: y_t = s_{t-d/2} XOR s_{t-d}; copy: y_t = s_{t-d}
    delay: int = 10  # the paper's d (steps)
    batch: int = 16  # sequences per training epoch
    T: int = 300  # sequence length (steps)
    epochs: int = 3001  # training epochs (one fresh batch and one Adam step each)
    lr: float = 1e-3  # Adam learning rate
    clip: float = 0.03  # per-array gradient-norm clipping threshold
    record_every: int = 10  # record a row every this many epochs (plus the last epoch)
    floss: str = "none"  # flossing schedule: none | pre | pre+inter | adaptive (decision D6)
    floss_pre: int = 500  # Ep: flossing steps before training (pre, pre+inter, adaptive)
    floss_every: int = 100  # Ef: an inter-flossing phase may start when epoch % floss_every == 0
    floss_steps: int = 500  # Ei: flossing steps per inter-flossing phase
    floss_phases: int = 2  # Ni: most inter-flossing phases
    floss_tol: float = 0.05  # adaptive: floss only while max_i |λ_i - λ*| exceeds this (1/step)

    @property
    def flosses(self) -> bool:
        return self.floss != "none"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("task", self.task, TASKS)
        check_choice("floss", self.floss, FLOSS_SCHEDULES)
        check_counts(self, positive=("batch", "T", "epochs", "record_every", "floss_every"))
        check_counts(self, non_negative=("floss_pre", "floss_steps", "floss_phases"))
        for name in ("lr", "clip"):
            check_positive(name, getattr(self, name))
        check_positive("floss_tol", self.floss_tol, strict=False)
        if self.delay < 1:
            raise ConfigError(f"delay={self.delay} must be >= 1")
        if self.task == "xor" and self.delay % 2:
            raise ConfigError(f"delay={self.delay} is odd; the XOR task needs an even d (operands at t-d/2 and t-d)")
        if self.delay >= self.T:
            raise ConfigError(f"delay={self.delay} must be smaller than the sequence length T={self.T}")


TRAIN_HELP = """Train tanh, binary or LIF RNNs on the delayed XOR/copy task, optionally with flossing.

    Seeds of one condition train together as one batched computation. Writes one row per
    (run, recorded epoch) with every condition and the measures epoch, loss, accuracy and
    grad_h0_norm (|dL/dh0|); with --floss also floss_steps_taken and floss_lambda1. Finished runs are kept
    as shards beside the output, so rerunning an interrupted sweep only trains the missing runs.

    \b
    Flossing schedules (--floss, decision D6): pre = --floss-pre steps before training;
    pre+inter = plus --floss-steps steps every --floss-every epochs, at most --floss-phases times;
    adaptive = as pre+inter, but a realization flosses only while some flossed exponent is more
    than --floss-tol from --floss-target.

    Example: sgtheory train --task xor --delay 18 --seeds 0-8 --floss adaptive
"""  # the CLI help of `sgtheory train`

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
    configs: Sequence[TrainConfig], progress: Progress | None = None, before_epoch: BeforeEpoch | None = None
) -> list[RunResult]:
    """Train the runs ``configs`` (identical but for the seed) as one batched computation.

    ``before_epoch(model, epoch)`` runs before each training epoch, after the flossing schedule of
    ``cfg.floss`` (its own optimizer, its own objective, spec §6.3); it may return an (R,) mask of
    realizations that are still healthy. With flossing, each row also records ``floss_steps_taken`` (flossing
    steps taken so far) and ``floss_lambda1`` (the latest flossing estimate of λ_1). Binary and LIF rows record
    ``damage``: the mean Hamming distance of the forward network's outputs 20 steps after one flipped unit
    (:func:`sgtheory.experiments.damage.damage_curve`; ordered dynamics ≈ 0, chaotic ≈ a fraction of N).
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

    for epoch in range(1, cfg.epochs + 1):
        for hook in (schedule, before_epoch):
            healthy = None if hook is None else hook(model, epoch)
            if healthy is not None:
                alive = stop_failed(results, alive, healthy, f"non-finite flossing loss or gradient before epoch "
                                    f"{epoch}; the run stopped")
        inputs, targets, scored = draw_batch(configs, epoch)
        logits = model(inputs)[scored]
        target = targets[scored]
        loss = task_bce(logits, target)
        accuracy = ((logits >= 0) == (target > 0.5)).to(loss.dtype).mean(dim=(0, 2))
        optimizer.zero_grad()
        loss.sum().backward()
        grad_h0 = model.x0.grad.flatten(1).norm(dim=1)

        finite = finite_per_realization(loss.detach(), params)
        alive = stop_failed(results, alive, finite, f"non-finite loss or gradient at epoch {epoch}; the run stopped "
                            "there")
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
        if progress is not None:
            progress(epoch, {"acc": accuracy[alive].mean().item(), "loss": loss[alive].mean().item()})
    return results
