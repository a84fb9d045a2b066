"""Run a sweep: expanded run configs -> batched groups -> one shard per run -> collected table.

Runs with equal ``batch_key`` (by default: those that differ only in their seed) form a group and execute as one
batched computation. Runs whose
shard is already complete are skipped, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

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
from sgtheory.results import ShardStore, tidy

# experiment name -> function(configs, progress) -> RunResults
RUNNERS = {"train": train.train, "lyap": lyapunov.lyap, "floss": lyapunov.floss,
           "sigmoid-bias": sigmoid.sigmoid_bias, "conservative-check": conservative.conservative_check,
           "stochastic-neuron": stochastic.stochastic_neuron, "spike-match": spike_match.spike_match,
           "classify": classify.classify,
           "randman": randman_illustration.randman_illustration}


@dataclass
class SweepOutcome:
    table: pd.DataFrame
    skipped: int  # runs found complete from an earlier invocation
    failures: dict[str, str]  # run_id -> message, for runs that stopped early (now or before)


MAX_GROUP = 16  # most runs batched into one computation (bounds memory and the work lost to an interrupt)


def groups_by_condition(configs: Sequence) -> list[list]:
    """Runs grouped by ``batch_key`` (groups in order of first appearance), at most ``MAX_GROUP`` per group."""
    groups: dict[str, list] = {}
    for config in configs:
        groups.setdefault(config.batch_key(), []).append(config)
    return [group[i:i + MAX_GROUP] for group in groups.values() for i in range(0, len(group), MAX_GROUP)]


def run_sweep(
    experiment: str,
    configs: Sequence,
    out,
    fmt: str | None = None,
    progress_for: Callable[[list, int, int], object] | None = None,
) -> SweepOutcome:
    """Execute the missing runs of ``configs`` in-process and collect every run into ``out``.

    ``progress_for(group, index, n_groups)`` returns the progress callback of one group (or None).
    """
    store = ShardStore(out)
    todo = [c for c in configs if not store.is_complete(c)]
    groups = groups_by_condition(todo)
    for index, group in enumerate(groups):
        progress = progress_for(group, index, len(groups)) if progress_for else None
        for result in RUNNERS[experiment](group, progress):
            store.write(result.config, experiment, tidy(result.config, experiment, result.rows), result.error)
    table, failures = store.collect(configs, experiment, out, fmt)
    return SweepOutcome(table, len(configs) - len(todo), failures)
