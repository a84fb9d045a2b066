"""THE registry of experiments: name -> :class:`Experiment` (config class, run function, progress unit).

The CLI (each command, its options and its help), the sweep (the run function and each task's progress length) and
the config files (which keys are allowed) all read it. Adding an experiment: its module (a Config class and
``run(configs, progress) -> list[RunResult]``), one line here and a Makefile target.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgtheory.config import check_keys, expand_grid, read_config_file
from sgtheory.experiments import (
    classify,
    conservative,
    lyapunov,
    randman_illustration,
    sigmoid,
    spike_match,
    stochastic,
    train,
)
from sgtheory.experiments.classify import ClassifyConfig
from sgtheory.experiments.conservative import ConservativeConfig
from sgtheory.experiments.lyapunov import FlossConfig, LyapConfig
from sgtheory.experiments.randman_illustration import RandmanConfig
from sgtheory.experiments.sigmoid import SigmoidBiasConfig
from sgtheory.experiments.spike_match import SpikeMatchConfig
from sgtheory.experiments.stochastic import StochasticNeuronConfig
from sgtheory.experiments.train import TrainConfig

PROGRESS_UNITS = ("epoch", "run epoch", "task")


@dataclass(frozen=True)
class Experiment:
    """One experiment. ``run(configs, progress)`` executes a batch of runs that differ only where the config's
    ``batch_key`` allows and returns one RunResult per config. ``progress_unit`` says what ``progress(step, metrics)``
    counts: ``epoch`` (the batch's epochs), ``run epoch`` (the epochs of each run, run after run) or ``task`` (the
    run reports nothing until it returns)."""

    config: type
    run: Callable[..., list]
    help: str  # the CLI help; its first line is the command's one-line purpose in `sgtheory --help`
    progress_unit: str = "task"

    def __post_init__(self) -> None:
        if self.progress_unit not in PROGRESS_UNITS:
            raise ValueError(f"progress_unit={self.progress_unit!r}; allowed: {', '.join(PROGRESS_UNITS)}")

    def task_length(self, configs: Sequence) -> int:
        """Progress steps of a task of ``configs``."""
        if self.progress_unit == "epoch":
            return configs[0].epochs
        if self.progress_unit == "run epoch":
            return configs[0].epochs * len(configs)
        return 1


EXPERIMENTS: dict[str, Experiment] = {
    "train": Experiment(TrainConfig, train.train, train.TRAIN_HELP, "epoch"),
    "classify": Experiment(ClassifyConfig, classify.classify, classify.CLASSIFY_HELP, "epoch"),
    "lyap": Experiment(LyapConfig, lyapunov.lyap, lyapunov.LYAP_HELP),
    "floss": Experiment(FlossConfig, lyapunov.floss, lyapunov.FLOSS_HELP, "epoch"),
    "sigmoid-bias": Experiment(SigmoidBiasConfig, sigmoid.sigmoid_bias, sigmoid.SIGMOID_BIAS_HELP),
    "conservative-check": Experiment(ConservativeConfig, conservative.conservative_check,
                                     conservative.CONSERVATIVE_CHECK_HELP),
    "stochastic-neuron": Experiment(StochasticNeuronConfig, stochastic.stochastic_neuron,
                                    stochastic.STOCHASTIC_NEURON_HELP),
    "spike-match": Experiment(SpikeMatchConfig, spike_match.spike_match, spike_match.SPIKE_MATCH_HELP, "run epoch"),
    "randman": Experiment(RandmanConfig, randman_illustration.randman_illustration,
                          randman_illustration.RANDMAN_HELP),
}


def expand(experiment: str, overrides: Mapping[str, Any]) -> list:
    """The validated run configs of ``experiment`` for ``overrides`` (list values are grid axes, ``seeds`` a seed
    list), condition by condition with the seeds innermost."""
    return expand_grid(EXPERIMENTS[experiment].config, overrides)


def load_config_file(path: str | Path, profile: str | None, experiment: str) -> dict[str, Any]:
    """The overrides of a YAML config file with ``profile`` applied, every key checked against the experiment's
    config class."""
    data, profile_data = read_config_file(path, profile, experiment)
    cls = EXPERIMENTS[experiment].config
    check_keys(cls, data, str(path))
    check_keys(cls, profile_data, f"{path} profile '{profile}'")
    return {**data, **profile_data}
