"""Illustration data of the random-manifold (Randman) task (Zenke & Vogels 2021; robustness spec §2.3).

Nothing is trained; the rows are what the ``randman`` figure draws:

- ``kind = manifold``: points y = f(x) of random manifolds f: [0,1]^D → R^M (``embed`` = M coordinates
  y0, y1, …), x ~ U([0,1]^D), ``samples`` points each.
  ``panel = smoothness``: one D = 1 manifold per α of ``alphas`` (manifold 0, seeded by ``manifold_seed``, the same
  x for every α), showing that a smaller α gives a rougher curve.
  ``panel = dimension``: for every D of ``dims``, manifolds i = 0..``manifolds``−1 of smoothness ``overlay_alpha``
  (manifold i seeded by manifold_seed + i); the figure's column n overlays manifolds 0..n−1.
- ``kind = spike``: ``raster_examples`` examples per class of a small spike-latency data set (``raster_classes``
  classes, ``raster_units`` units, seeded by the run seed): one row per spike with the example, its label, the
  time in ms (= step, Δt = 1 ms) and the input unit. Every unit fires once per example, within the first
  step_frac·steps ms.

The manifolds are raw series values (not standardised); the spike times are the data set's own, standardised per
class and unit over ``raster_samples`` samples (spec §2.2), so they span the whole window.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sgtheory.config import RunConfig, check_choice, check_counts, check_positive
from sgtheory.errors import ConfigError
from sgtheory.experiments.base import RunResult
from sgtheory.seeding import stream_seed
from sgtheory.tasks.randman import Randman, randman_dataset


def _number_list(name: str, value: str, kind: type) -> tuple:
    """``"3,2,1,0.5"`` -> (3.0, 2.0, 1.0, 0.5): a non-empty list of positive finite numbers of type ``kind``."""
    try:
        numbers = tuple(kind(part) for part in value.split(","))
    except (TypeError, ValueError):
        numbers = ()
    if not numbers or not all(math.isfinite(n) and n > 0 for n in numbers):
        raise ConfigError(f"{name}={value!r} must be a comma-separated list of positive "
                          f"{'integers' if kind is int else 'numbers'}, e.g. {'1,2' if kind is int else '3,2,1,0.5'}")
    return numbers


@dataclasses.dataclass(frozen=True)
class RandmanConfig(RunConfig):
    """Illustrations of the random-manifold (Randman) data (Zenke & Vogels 2021; robustness spec §2.3): manifolds
    of several smoothness values, overlaid manifolds of dimension D, and spike rasters of a small data set. The
    manifolds are seeded by ``manifold_seed`` (manifold i by manifold_seed + i); the raster data set by ``seed``."""

    spectrum: str = "code"  # code (the authors' released generator) | paper (k^-α as printed)
    embed: int = 3  # embedding dimension M of the illustrated manifolds (the figure draws the first three)
    samples: int = 1000  # points x ~ U([0,1]^D) per illustrated manifold
    alphas: str = "3,2,1,0.5"  # smoothness panel: one D = 1 manifold per α (comma-separated)
    manifold_seed: int = 13  # seed of the first manifold; overlaid manifold i uses manifold_seed + i
    overlay_alpha: float = 3.0  # dimension panel: smoothness α of the overlaid manifolds
    dims: str = "1,2"  # dimension panel: intrinsic dimensions D (one row each, comma-separated)
    manifolds: int = 4  # dimension panel: n = 1..manifolds overlaid manifolds
    raster_classes: int = 2  # rasters: classes of the example data set
    raster_units: int = 30  # rasters: input units
    raster_dim: int = 1  # rasters: manifold dimension D
    raster_alpha: float = 1.0  # rasters: smoothness α (the paper's task value)
    raster_samples: int = 1000  # rasters: samples per class (the per-class min-max standardisation runs over them)
    raster_examples: int = 5  # rasters: examples stored per class
    steps: int = 100  # time steps T of an input (Δt = 1 ms)
    step_frac: float = 0.5  # spikes fall in the first step_frac·T ms

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("spectrum", self.spectrum, ("code", "paper"))
        object.__setattr__(self, "alphas", ",".join(f"{a:g}" for a in _number_list("alphas", self.alphas, float)))
        object.__setattr__(self, "dims", ",".join(str(d) for d in _number_list("dims", self.dims, int)))
        if self.embed < 3:
            raise ConfigError(f"embed={self.embed} must be >= 3 (the figure draws three embedding coordinates)")
        for name in ("samples", "manifolds", "raster_classes", "raster_units", "raster_dim", "raster_samples",
                     "raster_examples", "steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        check_counts(self, non_negative=("manifold_seed",))
        for name in ("overlay_alpha", "raster_alpha"):
            check_positive(name, getattr(self, name))
        if self.raster_examples > self.raster_samples:
            raise ConfigError(f"raster_examples={self.raster_examples} exceeds raster_samples={self.raster_samples}")
        if not (0 < self.step_frac <= 1 and self.steps * self.step_frac >= 1):
            raise ConfigError(f"step_frac={self.step_frac} must lie in (0, 1] with steps·step_frac >= 1")

    @property
    def alpha_values(self) -> tuple[float, ...]:
        return _number_list("alphas", self.alphas, float)

    @property
    def dim_values(self) -> tuple[int, ...]:
        return _number_list("dims", self.dims, int)


RANDMAN_HELP = """Illustrations of the random-manifold (Randman) data of Zenke & Vogels 2021 (nothing is trained).

    Rows kind=manifold (panel, alpha, dim, manifold, sample, y0, y1, y2, ...: points of random manifolds in an
    --embed-dimensional space): panel=smoothness has one D = 1 manifold per α of --alphas; panel=dimension has
    --manifolds manifolds of smoothness --overlay-alpha for each D of --dims (manifold i seeded by
    --manifold-seed + i). Rows kind=spike (example, label, time in ms, unit): --raster-examples examples per
    class of a --raster-classes-class, --raster-units-unit spike-latency data set drawn with the run seed; every
    unit fires once per example, within the first step_frac·steps ms.

    Example: sgtheory randman --seeds 42 --out results/randman.parquet
"""  # the CLI help of `sgtheory randman`

DT_MS = 1.0  # time step of the spike rasters (decision: Δt = 1 ms)


def _manifold(cfg: RandmanConfig, index: int, dim: int, alpha: float) -> np.ndarray:
    """Points (samples, embed) of manifold ``index``: coefficients and x from streams of manifold_seed + index."""
    seed = cfg.manifold_seed + index
    f = Randman(cfg.embed, dim, alpha, np.random.default_rng(stream_seed(seed, "randman-illustration")), cfg.spectrum)
    x = np.random.default_rng(stream_seed(seed, "randman-illustration-x")).random((cfg.samples, dim))
    return f(x)


def _points(y: np.ndarray, **conditions) -> list[dict]:
    names = [f"y{i}" for i in range(y.shape[1])]
    return [{"kind": "manifold", **conditions, "sample": s, **dict(zip(names, row, strict=True))}
            for s, row in enumerate(y.tolist())]


def manifold_rows(cfg: RandmanConfig) -> list[dict]:
    """The smoothness panel (one D = 1 manifold per α) and the dimension panel (manifolds 0..n−1 per D)."""
    rows = []
    for alpha in cfg.alpha_values:
        rows += _points(_manifold(cfg, 0, 1, alpha), panel="smoothness", alpha=alpha, dim=1, manifold=0)
    for dim in cfg.dim_values:
        for index in range(cfg.manifolds):
            rows += _points(_manifold(cfg, index, dim, cfg.overlay_alpha), panel="dimension",
                            alpha=cfg.overlay_alpha, dim=dim, manifold=index)
    return rows


def raster_rows(cfg: RandmanConfig) -> list[dict]:
    """Spikes of the first ``raster_examples`` examples of each class in the data set's shuffled order."""
    spikes, labels = randman_dataset(cfg.seed, classes=cfg.raster_classes, units=cfg.raster_units, dim=cfg.raster_dim,
                                     alpha=cfg.raster_alpha, samples_per_class=cfg.raster_samples, steps=cfg.steps,
                                     step_frac=cfg.step_frac, split=(1.0, 0.0, 0.0), spectrum=cfg.spectrum)["train"]
    taken = dict.fromkeys(range(cfg.raster_classes), 0)
    rows, example = [], 0
    for sample, label in enumerate(labels.tolist()):
        if taken[label] == cfg.raster_examples:
            continue
        taken[label] += 1
        steps, units = spikes[sample].nonzero(as_tuple=True)
        rows += [{"kind": "spike", "example": example, "label": label, "time": step * DT_MS, "unit": unit}
                 for step, unit in zip(steps.tolist(), units.tolist(), strict=True)]
        example += 1
        if example == cfg.raster_examples * cfg.raster_classes:
            break
    return rows


def _complete(rows: list[dict], embed: int) -> list[dict]:
    """Every row with every column (NaN / None where a column does not apply to its kind)."""
    blank = {"kind": None, "panel": None, "alpha": math.nan, "dim": math.nan, "manifold": math.nan,
             "sample": math.nan, **{f"y{i}": math.nan for i in range(embed)}, "example": math.nan,
             "label": math.nan, "time": math.nan, "unit": math.nan}
    return [blank | row for row in rows]


def randman_illustration(configs, progress=None) -> list[RunResult]:
    """Runner of ``sgtheory randman``: one RunResult per config (the configs of a group differ only in seed)."""
    results = []
    for cfg in configs:
        rows = manifold_rows(cfg) + raster_rows(cfg)
        results.append(RunResult(cfg, _complete(rows, cfg.embed)))
    if progress is not None and results:  # progress unit "task": one tick when the task is done
        progress(1, {})
    return results
