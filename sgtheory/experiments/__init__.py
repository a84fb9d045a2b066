"""THE registry of experiments: name -> :class:`Experiment` (config class, run function, help, progress unit).

The CLI (each command, its options and its help), the sweep (the run function and each task's progress length) and
the config files (which keys are allowed) all read it. It imports no torch: the config classes and help texts live in
the torch-free modules :mod:`sgtheory.experiments.configs`, and each run function is named by its import path
(:class:`RunFunction`) and imported when a sweep runs. Adding an experiment: its config module (a Config class and
its help), its run module (``run(configs, progress) -> list[RunResult]``), one line here and a Makefile target.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgtheory.config import check_keys, expand_grid, read_config_file
from sgtheory.experiments.configs.balanced import BALANCED_HELP, BalancedConfig
from sgtheory.experiments.configs.balanced_learning import BALANCED_LEARNING_HELP, BalancedLearningConfig
from sgtheory.experiments.configs.classify import CLASSIFY_HELP, ClassifyConfig, check_data
from sgtheory.experiments.configs.conservative_check import CONSERVATIVE_CHECK_HELP, ConservativeConfig
from sgtheory.experiments.configs.floss import FLOSS_HELP, FlossConfig
from sgtheory.experiments.configs.lyap import LYAP_HELP, LyapConfig
from sgtheory.experiments.configs.randman import RANDMAN_HELP, RandmanConfig
from sgtheory.experiments.configs.rate_spectrum import RATE_SPECTRUM_HELP, RateSpectrumConfig
from sgtheory.experiments.configs.sigmoid_bias import SIGMOID_BIAS_HELP, SigmoidBiasConfig
from sgtheory.experiments.configs.sparseprop import SPARSEPROP_HELP, SparsePropConfig
from sgtheory.experiments.configs.spike_match import SPIKE_MATCH_HELP, SpikeMatchConfig
from sgtheory.experiments.configs.stochastic_neuron import STOCHASTIC_NEURON_HELP, StochasticNeuronConfig
from sgtheory.experiments.configs.train import TRAIN_HELP, TrainConfig

PROGRESS_UNITS = ("epoch", "run epoch", "task")


@dataclass(frozen=True)
class RunFunction:
    """A run function named by its import path ``"module:function"`` and imported when called, so that the registry
    needs no torch. Pickled (to worker processes), it is that path."""

    path: str

    def load(self) -> Callable[..., list]:
        module, _, name = self.path.partition(":")
        return getattr(importlib.import_module(module), name)

    def __call__(self, configs: Sequence, progress=None, **options) -> list:
        return self.load()(configs, progress, **options)


@dataclass(frozen=True)
class Experiment:
    """One experiment. ``run(configs, progress)`` executes a batch of runs that differ only where the config's
    ``batch_key`` allows and returns one RunResult per config. ``progress_unit`` says what ``progress(step, metrics)``
    counts: ``epoch`` (the batch's epochs), ``run epoch`` (the epochs of each run, run after run) or ``task`` (the
    run reports nothing until it returns)."""

    config: type
    run: Callable[..., list]  # the run function, or a RunFunction that imports it when called
    help: str  # the CLI help; its first line is the command's one-line purpose in `sgtheory --help`
    progress_unit: str = "task"
    check_inputs: Callable[[Sequence], None] | None = None  # raises DataError if the runs' input files are unusable

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
    "train": Experiment(TrainConfig, RunFunction("sgtheory.experiments.train:train"), TRAIN_HELP, "epoch"),
    "classify": Experiment(ClassifyConfig, RunFunction("sgtheory.experiments.classify:classify"), CLASSIFY_HELP,
                           "epoch", check_data),
    "lyap": Experiment(LyapConfig, RunFunction("sgtheory.experiments.lyapunov:lyap"), LYAP_HELP),
    "floss": Experiment(FlossConfig, RunFunction("sgtheory.experiments.lyapunov:floss"), FLOSS_HELP, "epoch"),
    "sigmoid-bias": Experiment(SigmoidBiasConfig, RunFunction("sgtheory.experiments.sigmoid:sigmoid_bias"),
                               SIGMOID_BIAS_HELP),
    "conservative-check": Experiment(ConservativeConfig,
                                     RunFunction("sgtheory.experiments.conservative:conservative_check"),
                                     CONSERVATIVE_CHECK_HELP),
    "stochastic-neuron": Experiment(StochasticNeuronConfig,
                                    RunFunction("sgtheory.experiments.stochastic:stochastic_neuron"),
                                    STOCHASTIC_NEURON_HELP),
    "spike-match": Experiment(SpikeMatchConfig, RunFunction("sgtheory.experiments.spike_match:spike_match"),
                              SPIKE_MATCH_HELP, "run epoch"),
    "randman": Experiment(RandmanConfig, RunFunction("sgtheory.experiments.randman_illustration:randman_illustration"),
                          RANDMAN_HELP),
    "balanced": Experiment(BalancedConfig, RunFunction("sgtheory.experiments.balanced:balanced"), BALANCED_HELP),
    "balanced-learning": Experiment(BalancedLearningConfig,
                                    RunFunction("sgtheory.experiments.balanced_learning:balanced_learning"),
                                    BALANCED_LEARNING_HELP),
    "rate-spectrum": Experiment(RateSpectrumConfig, RunFunction("sgtheory.experiments.rate_spectrum:rate_spectrum"),
                                RATE_SPECTRUM_HELP),
    "sparseprop": Experiment(SparsePropConfig, RunFunction("sgtheory.experiments.sparseprop:sparseprop"),
                             SPARSEPROP_HELP),
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
