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

Each report states its claims with the threshold that decides them (constants below) and "not run" where the
table lacks the conditions.

Conventions of a ``classify`` table (kind = epoch rows): the reported accuracy of a run is ``best_test_accuracy``
(test accuracy at the epoch of best validation accuracy, decision of spec §10.10); a grid *cell* is one condition
(``config_hash``), its value the mean over seeds; "the best N cells" are ranked by that value (spec §7: Fig. 5c
uses the best 10 cells, mean ± s.d.; we use the same convention for Fig. 3c).
"""

from __future__ import annotations

import math

import pandas as pd

from sgtheory.figures.style import DARK2, REFERENCE_GREY, TAB10_ORANGE

TRUE_GRADIENT = "zero"  # surrogate name of the true derivative of the step (h ≡ 0, the paper's "True")
SHAPES = ("fast_sigmoid", "sigmoid_unscaled", "esser")  # Fig. 3's normalized shapes
SHAPE_LABELS = {"fast_sigmoid": "SuperSpike", "sigmoid_unscaled": "Sigmoid′", "esser": "Esser", "constant": "constant",
                TRUE_GRADIENT: "true gradient (h ≡ 0)"}
SHAPE_COLOURS = dict(zip(SHAPES, DARK2, strict=False))
CONSTANT_GREY = "#9e9e9e"
TASK_CLASSES = {"randman": 10, "digits": 10, "mnist": 10, "shd": 20}  # when the table has no `classes` column
BEST_CELLS = 10  # Fig. 5c: mean ± s.d. of the 10 best grid cells (of the paper's 12 × 6 = 72-cell grid)
BEST_FRACTION = BEST_CELLS / 72  # smaller grids (quick profile): the same top fraction, at least one cell
BEST_CURVES = 5  # Fig. 5b: the 5 best learning curves per condition
SG_LEARNS = 0.8  # sg-vs-true: SG best test accuracy at least this (randman)
NEAR_CHANCE = 0.05  # sg-vs-true: true gradient within this of chance
SHAPE_SPREAD = 0.05  # shape-robustness: max - min of the per-shape best accuracies below this
CONSTANT_GAP = 0.05  # shape-robustness: constant below the worst shape by more than this
SCALE_GAP = 0.05  # scale: aDR / aProp below their controls by more than this
PLATEAU = 0.05  # activity: points within this of the best accuracy form the plateau
DROP = 0.1  # activity: a point this far below the best accuracy has dropped

# Fig. 5 colours: controls in grey shades, the harmful conditions orange.
ORANGE = TAB10_ORANGE
CONDITION_COLOURS = {"sCtl": "#c7c7c7", "aCtl": "#8c8c8c", "sDR": "#525252", "aDR": ORANGE,
                     "sProp": "#525252", "aProp": ORANGE}
CELLS_LABEL = f"test acc., best cells ({BEST_CELLS} of 72)"
PAPER_ADR = 0.78  # mean of the ten best aDR cells (2nd-hand, spec §7 Figure 5)


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
            ax.bar(x, mean, width=width, yerr=sd, color=colours.get(name, REFERENCE_GREY), capsize=2,
                   error_kw={"lw": 0.8}, edgecolor="none")
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
