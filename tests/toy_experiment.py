"""A toy experiment and figure for the registry test (importable by worker processes: pytest puts tests/ on
sys.path and spawned workers inherit it)."""

import dataclasses

import matplotlib.pyplot as plt

from sgtheory.config import RunConfig
from sgtheory.errors import ConfigError
from sgtheory.experiments.base import RunResult


@dataclasses.dataclass(frozen=True)
class ToyConfig(RunConfig):
    slope: float = 1.0  # slope of the toy line
    steps: int = 3  # points per run

    def __post_init__(self):
        super().__post_init__()
        if self.steps < 1:
            raise ConfigError(f"steps={self.steps} must be >= 1")

    @classmethod
    def task_bytes(cls, configs):
        return 0.0  # a few Python floats


def toy_run(configs, progress=None):
    """value = slope · step + seed at steps 0..steps-1."""
    return [RunResult(c, [{"step": i, "value": c.slope * i + c.seed} for i in range(c.steps)]) for c in configs]


def toy_draw(table):
    fig, ax = plt.subplots(figsize=(2.5, 2), layout="constrained")
    for seed, rows in table.groupby("seed"):
        ax.plot(rows["step"], rows["value"], label=f"seed {seed}")
    ax.set_xlabel("step")
    ax.set_ylabel("value (a.u.)")
    return fig


def toy_report(table):
    return f"- the toy line rises: **{'holds' if table['value'].diff().dropna().gt(-10).all() else 'fails'}**"
