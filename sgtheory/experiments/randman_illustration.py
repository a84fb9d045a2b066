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

import math

import numpy as np

from sgtheory.experiments.base import RunResult
from sgtheory.experiments.configs.randman import RandmanConfig
from sgtheory.seeding import stream_seed
from sgtheory.tasks.randman import Randman, randman_dataset

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
