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

from sgtheory.config import TrainConfig
from sgtheory.experiments.base import Progress, RunResult, stop_failed
from sgtheory.experiments.damage import TRAIN_STEP, damage_curve
from sgtheory.experiments.flossing import FlossingSchedule
from sgtheory.experiments.network import build_model, draw_batch
from sgtheory.functional.losses import task_bce
from sgtheory.models.rnn import RNN
from sgtheory.optim import Adam, clip_per_realization, finite_per_realization

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
