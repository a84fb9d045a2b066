"""Checkpoints of running tasks: the state of one batched group of runs, kept beside the shards while it trains.

A run function that can resume (``train``, ``classify``, ``floss``, ``spike_match``) takes a ``checkpoint``
(:class:`sgtheory.experiments.base.Checkpoint`); the executor gives it a :class:`Checkpointer` on the file
``<out stem>.shards/<group>.ckpt``, where ``group`` is a hash of the group's run ids in order. The file holds the
package version, the run ids and the run function's state (model, optimisers, rows so far, epoch), written
atomically by ``torch.save`` at most once per ``every_s`` seconds, after an epoch. It is used only by exactly the
same runs under the same package version; an unreadable or stale file is ignored with a note and overwritten by the
next checkpoint. The sweep deletes it once the group's shards are written.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from sgtheory import __version__
from sgtheory.config import stable_hash
from sgtheory.results import _atomic

FORMAT = 1  # layout of the file's header; a file of another format is stale


def group_key(configs: Sequence) -> str:
    """The name of a group's checkpoint: a hash of its run ids in order (the realization order of its state)."""
    return stable_hash({"runs": [c.run_id() for c in configs]})


def resumable(runner: Callable) -> bool:
    """Whether ``runner`` (a run function, or a :class:`sgtheory.experiments.RunFunction` naming one) takes a
    ``checkpoint``."""
    function = runner.load() if hasattr(runner, "load") else runner
    return "checkpoint" in inspect.signature(function).parameters


class Checkpointer:
    """The checkpoint file ``path`` of the runs ``configs``, saved when ``every_s`` seconds have passed since the task
    started or last saved; ``note(text)`` tells the user about a file it ignores or cannot write."""

    def __init__(self, path: str | Path, configs: Sequence, every_s: float, note: Callable[[str], None]):
        self.path, self.every_s, self.note = Path(path), every_s, note
        self.header = {"format": FORMAT, "version": __version__, "runs": [c.run_id() for c in configs]}
        self.last = time.monotonic()

    def restore(self) -> dict[str, Any] | None:
        """The saved state if the file belongs to exactly these runs and this version, else None (with a note)."""
        if not self.path.exists():
            return None
        try:
            saved = torch.load(self.path, weights_only=True)
            header = {key: saved[key] for key in self.header}
            state = saved["state"]
        except Exception as err:  # noqa: BLE001 - a truncated or foreign file can fail in many ways; it is never trusted
            self.note(f"ignoring the unreadable checkpoint {self.path} ({type(err).__name__}); the task starts afresh")
            return None
        if header != self.header:
            self.note(f"ignoring the checkpoint {self.path}: it was written for other runs or by sgtheory "
                      f"{header['version']} (this is {__version__}); the task starts afresh")
            return None
        self.note(f"resuming {len(self.header['runs'])} runs from their checkpoint after epoch {state['epoch']}")
        return state

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every_s

    def save(self, state: dict[str, Any]) -> None:
        """Replace the file by ``state`` (atomically); a file that cannot be written stops further checkpoints."""
        try:
            _atomic(self.path, lambda tmp: torch.save({**self.header, "state": state}, tmp))
        except OSError as err:
            self.note(f"cannot write the checkpoint {self.path} ({err.strerror}); this task goes on without one")
            self.every_s = float("inf")
        self.last = time.monotonic()
