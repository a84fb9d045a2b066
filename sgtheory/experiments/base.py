"""What every experiment shares: the result of one run, the progress callback and the dtype names."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}
Progress = Callable[[int, dict[str, float]], None]  # progress(step, metrics) after each step of a task


@dataclasses.dataclass
class RunResult:
    """Outcome of one run: its recorded rows (measures only) and an error message if it stopped early."""

    config: object  # the run's config (a RunConfig)
    rows: list[dict]
    error: str | None = None


def stop_failed(results: list[RunResult], alive: torch.Tensor, healthy: torch.Tensor, message: str) -> torch.Tensor:
    """The runs still alive after a step whose (R,) ``healthy`` mask failed some: each newly failed run records
    ``message`` as its error (it keeps its rows so far and records no more)."""
    for r in torch.nonzero(alive & ~healthy).flatten().tolist():
        results[r].error = message
    return alive & healthy
