"""``sgtheory train``: its config and help; the run is :func:`sgtheory.experiments.train.train`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sgtheory.config import check_choice, check_counts, check_positive
from sgtheory.errors import ConfigError
from sgtheory.experiments.configs.classify import CLASSIFY_TASKS
from sgtheory.experiments.configs.network import (
    FLOSS_SCHEDULES,
    TASKS,
    TRAINING_STATES,
    WEIGHT_COPIES,
    FlossingConfig,
)


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
        check_choice("task", self.task, TASKS, f"the classification tasks {', '.join(CLASSIFY_TASKS)} train with "
                     "`sgtheory classify`")
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

    @classmethod
    def task_bytes(cls, configs: Sequence[TrainConfig]) -> float:
        """R realizations: WEIGHT_COPIES of J (R·N²; the flossing Adam's moments add two), plus the larger of the
        tensors kept for backprop through a training epoch (TRAINING_STATES of R·batch·D per step, T steps) and through
        a flossing step."""
        c, R = configs[0], len(configs)
        weights = R * c.N**2 * (WEIGHT_COPIES + 2 * c.flosses)
        training = R * c.T * c.batch * c.state_dim * TRAINING_STATES
        flossing = c.flossing_elements(R) if c.flosses else 0
        return c.itemsize * (weights + max(training, flossing))


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
