"""Run a sweep: expanded run configs -> tasks (batched groups) on an executor -> one shard per run -> table.

Runs with equal ``batch_key`` (by default: those that differ only in their seed) form a group and execute as
one batched computation, one task on the executor (``sgtheory.executors``). The client writes each run's shard
as soon as its task returns; runs whose shard is already complete are skipped, so an interrupted sweep resumes
where it stopped, and a run whose complete shard another table in the same folder holds is copied from there
instead of computed again (same seed, same numbers). A task whose run function can resume also keeps a checkpoint
``<out stem>.shards/<group>.ckpt`` (every ``Executor.checkpoint_every`` seconds, :mod:`sgtheory.checkpoint`), so an
interrupted task resumes from its last checkpointed epoch; the checkpoint is deleted once the group's shards are
written. Runs that fail are listed in the failures table ``<out stem>.failures.<suffix>``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sgtheory.executors import Executor, Lost, Runner, Task, TaskOutcome, run_tasks
from sgtheory.experiments import EXPERIMENTS
from sgtheory.results import ShardStore, output_format, write_table

MAX_GROUP = 16  # most runs batched into one computation (bounds memory and the work lost to an interrupt)
FAILURE_COLUMNS = ["experiment", "run_id", "config_hash", "seed", "kind", "attempts", "message", "traceback"]


@dataclass
class SweepOutcome:
    table: pd.DataFrame
    runs: int  # runs in the table (complete, or stopped early with their rows so far)
    skipped: int  # runs found complete from an earlier invocation or in another table's shards
    failures: pd.DataFrame  # one row per run that failed or stopped early (FAILURE_COLUMNS, then the config)
    failures_path: Path


def groups_by_condition(configs: Sequence) -> list[list]:
    """Runs grouped by ``batch_key`` (groups in order of first appearance), at most ``MAX_GROUP`` per group."""
    groups: dict[str, list] = {}
    for config in configs:
        groups.setdefault(config.batch_key(), []).append(config)
    return [group[i:i + MAX_GROUP] for group in groups.values() for i in range(0, len(group), MAX_GROUP)]


def failures_path(out: str | Path, fmt: str | None = None) -> Path:
    out = Path(out)
    return out.with_name(f"{out.stem}.failures.{output_format(out, fmt)}")


class SweepDisplay:
    """Receives the events of a sweep; this one ignores them (see ``cli.SweepProgress`` for the progress bar)."""

    def start(self, experiment: str, runs: int, tasks: int, where: str) -> None: ...

    def task_started(self, index: int, size: int, where: str) -> None: ...

    def task_progress(self, index: int, fraction: float, metrics: dict) -> None: ...

    def task_finished(self, index: int, ok: int, failed: int) -> None: ...

    def note(self, text: str) -> None: ...

    def close(self) -> None: ...


def run_sweep(experiment: str, configs: Sequence, out, fmt: str | None = None, executor: Executor | None = None,
              display: SweepDisplay | None = None, runner: Runner | None = None,
              profile: str | None = None) -> SweepOutcome:
    """Execute the missing runs of ``configs`` on ``executor`` (default: inline) and collect every complete run
    into ``out``; failed runs go to the failures table. A second sweep into the same ``out`` while this one runs
    gets a ResultsError. ``runner`` replaces the experiment's runner (it must
    be importable by the workers); ``profile`` is recorded in the table's metadata."""
    executor = executor or Executor("inline")
    runner = runner or EXPERIMENTS[experiment].run
    display = display or SweepDisplay()
    store = ShardStore(out)
    with store.lock(out):
        return _run_locked(experiment, configs, out, fmt, executor, display, runner, profile, store)


def _run_locked(experiment: str, configs: Sequence, out, fmt: str | None, executor: Executor,
                display: SweepDisplay, runner: Runner, profile: str | None, store: ShardStore) -> SweepOutcome:
    """The body of :func:`run_sweep`, run while this process holds the lock of ``store``."""
    started = time.perf_counter()
    todo = [c for c in configs if not (store.is_complete(c) or store.adopt(c, experiment))]
    length = EXPERIMENTS[experiment].task_length
    every = executor.checkpoint_every
    checkpoints = str(store.folder.absolute()) if every > 0 else None
    tasks = [Task(i, experiment, group, length(group), checkpoints, every)
             for i, group in enumerate(groups_by_condition(todo))]
    failed: dict[str, dict] = {}

    def fail(config, kind: str, message: str, attempts: int = 1, trace: str | None = None):
        failed[config.run_id()] = {"experiment": experiment, "run_id": config.run_id(),
                                   "config_hash": config.condition_hash(), "seed": config.seed, "kind": kind,
                                   "attempts": attempts, "message": message, "traceback": trace,
                                   **config.to_dict()}

    def events(event):
        if isinstance(event, TaskOutcome):
            size = len(tasks[event.index].configs)
            if event.runs is None:
                for config in tasks[event.index].configs:
                    fail(config, "exception", event.error, trace=event.traceback)
                display.task_finished(event.index, 0, size)
            else:
                for config, frame, error in event.runs:
                    store.write(config, experiment, frame, error, event.wall_s / size)
                if event.checkpoint is not None:
                    Path(event.checkpoint).unlink(missing_ok=True)
                display.task_finished(event.index, size, 0)
        elif isinstance(event, Lost):
            for config in tasks[event.index].configs:
                fail(config, "worker lost", event.message, event.attempts)
            display.task_finished(event.index, 0, len(tasks[event.index].configs))
        elif event[0] == "ready":
            display.start(experiment, len(todo), len(tasks), event[1])
        elif event[0] == "start":
            display.task_started(event[1], len(tasks[event[1]].configs), event[2])
        elif event[0] == "progress":
            display.task_progress(event[1], event[2], event[3])
        elif event[0] == "note":
            display.note(event[2])

    try:
        run_tasks(executor, tasks, events, runner)
    finally:
        display.close()
    complete = [c for c in configs if c.run_id() not in failed]
    table, stopped = store.collect(complete, experiment, out, fmt, profile=profile,
                                   elapsed_s=time.perf_counter() - started)
    for config in complete:
        if config.run_id() in stopped:
            fail(config, "stopped early", stopped[config.run_id()])
    failures = pd.DataFrame([failed[c.run_id()] for c in configs if c.run_id() in failed],
                            columns=None if failed else FAILURE_COLUMNS)
    path = failures_path(out, fmt)
    write_table(failures, path, {"experiment": experiment, "failures": len(failures)}, fmt)
    return SweepOutcome(table, len(complete), len(configs) - len(todo), failures, path)
