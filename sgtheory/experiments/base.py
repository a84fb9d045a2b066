"""What every experiment shares: the result of one run, the progress callback, the checkpoint interface and the dtype
names."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}
Progress = Callable[[int, dict[str, float]], None]  # progress(step, metrics) after each step of a task


@dataclasses.dataclass
class RunResult:
    """Outcome of one run: its recorded rows (measures only) and an error message if it stopped early."""

    config: object  # the run's config (a RunConfig)
    rows: list[dict]
    error: str | None = None


class Checkpoint(Protocol):
    """Where a run function keeps the state of its batch of runs between epochs, so that an interrupted task resumes
    and ends with exactly the rows of an uninterrupted one (:class:`sgtheory.checkpoint.Checkpointer` writes it
    beside the shards). The run function decides what the state holds; it does no I/O itself."""

    def restore(self) -> dict[str, Any] | None:
        """The state last saved for exactly these runs, or None (none, unreadable or stale: start afresh)."""

    def due(self) -> bool:
        """Whether a state should be saved now (the checkpoint interval has passed)."""

    def save(self, state: dict[str, Any]) -> None:
        """Keep ``state`` (tensors, numbers, strings, lists and dicts of them) in place of the previous one."""


def results_state(results: list[RunResult]) -> list[dict[str, Any]]:
    """The rows recorded so far and the early-stop message of every run, for a checkpoint."""
    return [{"rows": r.rows, "error": r.error} for r in results]


def restore_results(results: list[RunResult], saved: list[dict[str, Any]]) -> None:
    """Put the rows and messages of :func:`results_state` back into ``results`` (in the same order)."""
    for result, state in zip(results, saved, strict=True):
        result.rows, result.error = list(state["rows"]), state["error"]


def stop_failed(results: list[RunResult], alive: torch.Tensor, healthy: torch.Tensor, message: str) -> torch.Tensor:
    """The runs still alive after a step whose (R,) ``healthy`` mask failed some: each newly failed run records
    ``message`` as its error (it keeps its rows so far and records no more)."""
    for r in torch.nonzero(alive & ~healthy).flatten().tolist():
        results[r].error = message
    return alive & healthy
