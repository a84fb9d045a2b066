"""What the robustness figures share (Zenke & Vogels 2021; robustness spec §1, §7): thresholds and helpers. One
module per figure: ``robustness_randman``, ``robustness_sg_vs_true``, ``robustness_shapes``, ``robustness_scale``,
``robustness_activity``.

Figures are named by content; the paper's numbering is noted but unverified except Fig. 5, whose caption was read
(spec §0, §7):

- ``randman`` (paper Fig. 1, inferred; from a ``randman`` table): random manifolds of several smoothness values α
  (3-D scatter), n = 1..4 overlaid manifolds of dimension D = 1, 2, and class-coloured example input rasters.
- ``sg-vs-true`` (paper Fig. 2b, 2nd-hand; from a ``classify`` table): training and validation accuracy vs epoch
  of surrogate-gradient learning vs the true gradient h ≡ 0 (``surrogate = zero``), mean ± s.d. over seeds.
- ``shape-robustness`` (paper Fig. 3, 2nd-hand): A the normalized surrogate shapes at β = 1, 10, 100; B test
  accuracy over the slope × learning-rate grid, one heat map per shape; C best accuracy per shape (mean ± s.d. of
  the best 10 grid cells) next to the constant surrogate (grey).
- ``scale`` (paper Fig. 5, caption read): A the asymptotic SuperSpike β/(β|x|+1)²; B training accuracy of the 5
  best grid cells per condition; C test accuracy of the 10 best cells for sCtl, sDR, aCtl, aDR; D the same vs
  depth (asymptotic, reset detached vs differentiable); E recurrent nets sCtl, sProp, aCtl, aProp; F recurrent
  asymptotic nets vs depth, Prop vs Ctl. Controls grey, aDR / aProp orange (the paper's colours).
- ``activity`` (paper Figs. 6–7 or similar, inferred): test accuracy vs mean hidden spikes per neuron per input
  under the upper-bound activity regulariser (L = 1, 2), and hidden rasters of a dense, a middle and a sparse run.
  Cells with no hidden spike at all are left off the log axis (the report keeps them).

Each report states its claims with the threshold that decides them and where it comes from (constants below), "not
run" where the table lacks the conditions and "needs the paper profile" where the run is too small to judge them.

Conventions of a ``classify`` table (kind = epoch rows): the reported accuracy of a run is ``best_test_accuracy``
(test accuracy at the epoch of best validation accuracy, decision of spec §10.10); a grid *cell* is one condition
(``config_hash``), its value the mean over seeds; "the best N cells" are ranked by that value (spec §7: Fig. 5c
uses the best 10 cells, mean ± s.d.; we use the same convention for Fig. 3c).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sgtheory.figures.style import PALETTE, REFERENCE_GREY

TRUE_GRADIENT = "zero"  # surrogate name of the true derivative of the step (h ≡ 0, the paper's "True")
SHAPES = ("fast_sigmoid", "sigmoid_unscaled", "esser")  # Fig. 3's normalized shapes
SHAPE_LABELS = {"fast_sigmoid": "SuperSpike", "sigmoid_unscaled": "Sigmoid′", "esser": "Esser", "constant": "constant",
                TRUE_GRADIENT: "true gradient (h ≡ 0)"}
SHAPE_COLOURS = {name: PALETTE[SHAPE_LABELS[name]] for name in (*SHAPES, "constant")} | {
    TRUE_GRADIENT: PALETTE["true gradient"]}
TASK_CLASSES = {"randman": 10, "digits": 10, "mnist": 10, "shd": 20}  # when the table has no `classes` column
TEST_FRACTION = 0.1  # randman: the test set is 10 % of the samples (80/10/10 split)
BEST_CELLS = 10  # Fig. 5c: mean ± s.d. of the 10 best grid cells (of the paper's 12 × 6 = 72-cell grid)
BEST_FRACTION = BEST_CELLS / 72  # smaller grids: the same top fraction, at least one cell
BEST_CURVES = 5  # Fig. 5b: the 5 best learning curves per condition

# Claim thresholds. None is tuned to our results: "significant" differences are Z_SIGNIFICANT noise units apart, the
# noise of an accuracy being the s.e. of a cell's mean over seeds, or with one seed the binomial s.e. of the test
# set (noise estimates, see accuracy_noise); the sizes a claim needs to be judged at all follow the paper's
# protocol (spec §7) scaled to the minimum of issue 16's medium profile.
Z_SIGNIFICANT = 3.0  # differences beyond 3 noise units count as real (≈ 99.7 % two-sided for Gaussian noise)
Z_EQUAL = 2.0  # values within 2 noise units of each other count as equal (95 %)
GRID_SLOPES, GRID_LRS, GRID_SEEDS = 5, 4, 3  # shape robustness: a β × η grid of at least this size (issue 16)
SCALE_SLOPES = 3  # scale: best cells of at least 3 slopes spanning the small and large β of Fig. 5 (spec §7)
ACTIVITY_LEVELS, ACTIVITY_SEEDS = 8, 3  # activity: at least 8 regulariser levels and 3 seeds (issue 16)
PAPER_ADR = 0.78  # Fig. 5c: mean of the ten best aDR cells (2nd-hand, spec §7 Figure 5)
CELLS_LABEL = "test acc., best cells"


# ------------------------------------------------------------------------------------------------ helpers
def _runs(table: pd.DataFrame) -> pd.DataFrame:
    """One row per run of a ``classify`` table (its last epoch row; the summary columns are per run)."""
    epochs = table[table["kind"] == "epoch"]
    return epochs.sort_values("epoch").drop_duplicates("run_id", keep="last").reset_index(drop=True)


def _cells(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per grid cell (``config_hash``): config columns and the seed means of the run summaries."""
    if runs.empty:
        return runs.assign(accuracy=[], valid=[], activity=[], seeds=[])
    grouped = runs.groupby("config_hash", sort=False)
    cells = grouped.first()
    cells["accuracy"] = grouped["best_test_accuracy"].mean()
    cells["valid"] = grouped["best_valid_accuracy"].mean()
    if "best_hidden_spikes" in runs:
        cells["activity"] = grouped["best_hidden_spikes"].mean()
    cells["seeds"] = grouped.size()
    return cells.reset_index()


def accuracy_noise(runs: pd.DataFrame, accuracy: float) -> float:
    """The noise of a cell's accuracy (a noise estimate for the claims): the s.e. of the mean over seeds (pooled over
    the cells of ``runs``), at least the binomial s.e. √(p(1 − p)/n) of the test sets of the seeds (n = 10 % of
    samples_per_class × classes per seed, randman) — the sampling noise that seeds agreeing by chance cannot hide."""
    seeds = runs.groupby("config_hash")["best_test_accuracy"]
    count = int(seeds.size().min())
    spread = float(np.sqrt((seeds.var() / seeds.size()).mean())) if count >= 2 else 0.0
    if "samples_per_class" not in runs or runs["samples_per_class"].isna().all():
        return spread
    n_test = TEST_FRACTION * float(runs["samples_per_class"].iloc[0]) * float(runs["classes"].iloc[0]) * count
    p = min(max(accuracy, 1.0 / n_test), 1 - 1.0 / n_test)
    return max(spread, math.sqrt(p * (1 - p) / n_test))


def grid_size(runs: pd.DataFrame) -> tuple[int, int, int]:
    """(slopes, learning rates, seeds per cell) of the grid of ``runs``."""
    if runs.empty:
        return 0, 0, 0
    return (runs["slope"].nunique(), runs["lr"].nunique(), int(runs.groupby("config_hash").size().min()))


def best_of(cells: pd.DataFrame) -> tuple[float, float, int]:
    """Mean, s.d. (0 for one cell) and count of the best cell accuracies: the best 10 of 72 (Fig. 5c), i.e. the top
    ``BEST_FRACTION`` of a grid, at least one and at most ``BEST_CELLS`` cells; NaNs when there are none."""
    accuracy = cells["accuracy"].dropna()
    n = min(BEST_CELLS, max(1, round(BEST_FRACTION * len(accuracy))))
    top = accuracy.sort_values(ascending=False).head(n)
    if top.empty:
        return math.nan, math.nan, 0
    return float(top.mean()), float(top.std()) if len(top) > 1 else 0.0, len(top)


def _chance(table: pd.DataFrame, task: str) -> float:
    if "classes" in table and "task" in table:
        classes = table.loc[table["task"] == task, "classes"].dropna()
        if len(classes):
            return 1.0 / float(classes.iloc[0])
    return 1.0 / TASK_CLASSES.get(task, 10)


def _tasks(table: pd.DataFrame) -> list[str]:
    order = list(TASK_CLASSES)
    return sorted(table["task"].dropna().unique(), key=lambda t: (order.index(t) if t in order else len(order), t))


def _fmt(mean: float, sd: float | None = None) -> str:
    if mean != mean:  # NaN
        return "not run"
    return f"{mean:.3f}" if sd is None else f"{mean:.3f} ± {sd:.3f}"


def _not_run(ax, what: str = "") -> None:
    ax.text(0.5, 0.5, f"not run{': ' + what if what else ''}", transform=ax.transAxes, ha="center", va="center",
            fontsize=7, color=REFERENCE_GREY, style="italic")


def _bars(ax, names: list[str], stats: dict[str, tuple[float, float, int]], colours: dict[str, str],
          chance: float | None = None, x0: float = 0.0, width: float = 0.8) -> list[float]:
    """Bars mean ± s.d. at x0, x0+1, ...; an absent condition gets a 'not run' note at its place."""
    xs = [x0 + i for i in range(len(names))]
    counts = [stats.get(name, (math.nan, math.nan, 0))[2] for name in names]
    if not any(counts):
        return xs  # nothing run: the caller says so once
    for x, name in zip(xs, names, strict=True):
        mean, sd, n = stats.get(name, (math.nan, math.nan, 0))
        if n:
            ax.bar(x, mean, width=width, yerr=sd if n > 1 else None, color=colours.get(name, REFERENCE_GREY),
                   capsize=2, error_kw={"lw": 0.8}, edgecolor="none")
            if n == 1:
                ax.text(x, mean + 0.01, "1 cell", ha="center", va="bottom", fontsize=5, color=REFERENCE_GREY)
        else:
            ax.text(x, 0.05, "not run", rotation=90, ha="center", va="bottom", fontsize=6, color=REFERENCE_GREY,
                    style="italic")
    if chance is not None:
        ax.axhline(chance, ls=":", color="black", lw=0.8)
    return xs


def _mean_sd_curve(ax, runs: pd.DataFrame, table: pd.DataFrame, measure: str, colour, label, ls="-") -> None:
    """Mean ± s.d. over the runs of ``runs`` of ``measure`` vs epoch (rows of ``table``)."""
    rows = table[(table["kind"] == "epoch") & table["run_id"].isin(runs["run_id"])]
    wide = rows.pivot_table(index="epoch", columns="run_id", values=measure)
    mean, sd = wide.mean(axis=1), wide.std(axis=1).fillna(0.0)
    ax.plot(mean.index, mean.to_numpy(), ls, color=colour, lw=1.5, label=label)
    ax.fill_between(mean.index, (mean - sd).to_numpy(), (mean + sd).to_numpy(), color=colour, alpha=0.2, lw=0)
