"""Figures of the robustness of surrogate-gradient learning (Zenke & Vogels 2021; robustness spec §1, §7).

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

import numpy as np
import pandas as pd
import torch
from matplotlib.patches import Patch

from sgtheory.figures.style import DARK2, REFERENCE_GREY, TAB10_BLUE, TAB10_ORANGE, new_figure, panel_letter, verdict
from sgtheory.functional.surrogate import make_surrogate

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


# ------------------------------------------------------------------------------------------ randman figure
def _scatter3d(ax, rows: pd.DataFrame, colour, alpha: float, size: float = 0.8) -> None:
    ax.scatter(rows["y0"], rows["y1"], rows["y2"], s=size, color=colour, alpha=alpha, lw=0, depthshade=False,
               rasterized=True)


def _clean3d(ax, title: str) -> None:
    ax.set_title(title, fontsize=7, pad=0)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.set_zticklabels([])
    for axis, name in ((ax.xaxis, "$y_0$"), (ax.yaxis, "$y_1$"), (ax.zaxis, "$y_2$")):
        axis.set_label_text(name, fontsize=6)
        axis.labelpad = -14
    ax.tick_params(length=0)


def _row_title(subfig, letter: str, text: str) -> None:
    subfig.suptitle(text, fontsize=7, x=0.04, ha="left")
    subfig.text(0.0, 1.0, letter, fontsize=10, fontweight="bold", va="top", ha="left")


def randman_figure(table: pd.DataFrame):
    """Randman illustrations from a ``randman`` table (kind = manifold and kind = spike rows)."""
    manifolds = table[table["kind"] == "manifold"]
    smooth = manifolds[manifolds["panel"] == "smoothness"]
    overlay = manifolds[manifolds["panel"] == "dimension"]
    spikes = table[table["kind"] == "spike"]
    if "run_id" in spikes and len(spikes):  # several seeds: the rasters of the first
        spikes = spikes[spikes["run_id"] == spikes.sort_values("seed")["run_id"].iloc[0]]
    if manifolds.empty and spikes.empty:
        raise ValueError("no kind=manifold or kind=spike rows (a `sgtheory randman` table is needed)")
    alphas = sorted(smooth["alpha"].unique(), reverse=True)
    dims = sorted(overlay["dim"].unique())
    n_max = int(overlay["manifold"].max()) + 1 if len(overlay) else 0
    examples = sorted(spikes["example"].unique())
    raster_cols = min(len(examples), 10)
    raster_rows = math.ceil(len(examples) / raster_cols) if raster_cols else 1
    cols = max(len(alphas), n_max, 1)
    heights = [1.0, 1.0 * max(len(dims), 1), 0.85 * raster_rows]
    fig = new_figure(7.2, 1.75 * sum(heights))[0]
    fig.clear()
    top, middle, bottom = fig.subfigures(3, 1, height_ratios=heights)

    _row_title(top, "A", "Smoothness: one D = 1 manifold per α (smaller α: rougher)")
    axes = top.subplots(1, cols, subplot_kw={"projection": "3d"}, squeeze=False)[0]
    for ax, alpha in zip(axes, alphas, strict=False):
        _scatter3d(ax, smooth[smooth["alpha"] == alpha], DARK2[0], 0.6)
        _clean3d(ax, f"α = {alpha:g}")
    for ax in axes[len(alphas):]:
        ax.axis("off")
    if smooth.empty:
        _not_run(axes[0], "smoothness panel")

    overlay_alpha = overlay["alpha"].iloc[0] if len(overlay) else math.nan
    _row_title(middle, "B", f"n overlaid manifolds (one per class) of dimension D, α = {overlay_alpha:g}")
    grid = middle.subplots(max(len(dims), 1), cols, subplot_kw={"projection": "3d"}, squeeze=False)
    for r, dim in enumerate(dims):
        rows = overlay[overlay["dim"] == dim]
        alpha = 0.25 if dim > 1 else 0.5
        for n in range(1, cols + 1):
            ax = grid[r, n - 1]
            if n > n_max:
                ax.axis("off")
                continue
            for i in range(n):
                _scatter3d(ax, rows[rows["manifold"] == i], DARK2[i % len(DARK2)], alpha)
            _clean3d(ax, f"D = {dim:g}, n = {n}")
    if not dims:
        for ax in grid[0]:
            ax.axis("off")
        _not_run(grid[0, 0], "dimension panel")

    _row_title(bottom, "C", "Example inputs: one spike per input unit, colour = class")
    steps = float(table["steps"].dropna().iloc[0]) if "steps" in table and table["steps"].notna().any() else None
    labels = sorted(spikes["label"].unique())
    colours = (TAB10_BLUE, TAB10_ORANGE) if len(labels) <= 2 else DARK2
    units = int(spikes["unit"].max()) + 1 if len(spikes) else 0
    raster_axes = bottom.subplots(raster_rows, max(raster_cols, 1), squeeze=False, sharey=True).ravel()
    for k, ax in enumerate(raster_axes):
        if k >= len(examples):
            ax.axis("off")
            continue
        rows = spikes[spikes["example"] == examples[k]]
        label = rows["label"].iloc[0]
        colour = colours[labels.index(label) % len(colours)]
        ax.scatter(rows["time"], rows["unit"], s=3, color=colour, lw=0)
        ax.set_xlim(0, steps if steps else rows["time"].max() + 1)
        ax.set_ylim(-0.5, units - 0.5)
        ax.set_title(f"class {int(label)}", fontsize=6, color=colour, pad=2)
        ax.tick_params(labelsize=5)
        if k % raster_cols == 0:
            ax.set_ylabel("input unit", fontsize=6)
        if k // raster_cols == raster_rows - 1:
            ax.set_xlabel("time (ms)", fontsize=6)
    if not examples:
        _not_run(raster_axes[0], "example rasters")
    spectrum = table["spectrum"].iloc[0] if "spectrum" in table else "?"
    fig.suptitle(f"Random manifolds (Randman; Zenke & Vogels Fig. 1 — numbering inferred), {spectrum} spectrum\n"
                 "A, B: axes = the first three embedding coordinates (a.u.)", fontsize=8)
    return fig


def randman_report(table: pd.DataFrame) -> str:
    """What the randman table holds, and the data set's defining property (spec §2.2): every input unit fires
    exactly once per example, within the first step_frac·steps ms."""
    manifolds = table[table["kind"] == "manifold"]
    smooth = manifolds[manifolds["panel"] == "smoothness"]
    overlay = manifolds[manifolds["panel"] == "dimension"]
    spikes = table[table["kind"] == "spike"]
    sizes = manifolds.groupby(["panel", "alpha", "dim", "manifold"]).size()
    alphas = ", ".join(f"{a:g}" for a in sorted(smooth["alpha"].unique(), reverse=True)) or "none"
    dims = ", ".join(f"{d:g}" for d in sorted(overlay["dim"].unique())) or "none"
    n = int(overlay["manifold"].max()) + 1 if len(overlay) else 0
    points = "0" if sizes.empty else f"{sizes.min()}" + (f"–{sizes.max()}" if sizes.max() > sizes.min() else "")
    lines = [f"Illustrations only (the paper's Fig. 1 is inferred to be this; spec §2.3). Smoothness panel: "
             f"α = {alphas}; dimension panel: D = {dims}, n = 1..{n} overlaid manifolds; {points} points per manifold.",
             ""]
    if spikes.empty:
        return "\n".join(lines + ["- Every input unit fires once per example: not run (no rasters)."])
    units = int(table["raster_units"].iloc[0]) if "raster_units" in table else int(spikes["unit"].max()) + 1
    keys = ["run_id", "example"] if "run_id" in spikes else ["example"]
    once = spikes.groupby(keys)["unit"].apply(lambda u: sorted(u) == list(range(units))).all()
    window = float(table["step_frac"].iloc[0] * table["steps"].iloc[0]) if "steps" in table else math.inf
    inside = bool(spikes["time"].min() >= 0 and spikes["time"].max() < window)
    examples = len(spikes.drop_duplicates(keys))
    lines.append(f"- Every one of the {units} input units fires exactly once in each of the {examples} examples "
                 f"(spike counts carry no class information): {verdict(bool(once))}.")
    lines.append(f"- All spikes fall in [0, {window:g}) ms (ours: {spikes['time'].min():g}–"
                 f"{spikes['time'].max():g} ms): {verdict(inside)}.")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- sg-vs-true figure
def _sg_label(row) -> str:
    if row["surrogate"] == TRUE_GRADIENT:
        return SHAPE_LABELS[TRUE_GRADIENT]
    scale = "" if str(row.get("scale", "normalized")) in ("normalized", "0.25") else f", {row['scale']} scale"
    return f"SG: {SHAPE_LABELS.get(row['surrogate'], row['surrogate'])} β = {row['slope']:g}{scale}, η = {row['lr']:g}"


def _sg_conditions(runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, runs) per condition of one task: SG conditions first, then the true gradient."""
    out = []
    for _, group in runs.groupby("config_hash", sort=False):
        out.append((_sg_label(group.iloc[0]), group))
    return sorted(out, key=lambda item: (item[1]["surrogate"].iloc[0] == TRUE_GRADIENT, item[0]))


def sg_vs_true_figure(table: pd.DataFrame):
    runs = _runs(table)
    if runs.empty:
        raise ValueError("no kind=epoch rows (a `classify` table is needed)")
    tasks = _tasks(runs)
    fig, axes = new_figure(6.4, 2.3 * len(tasks), ncols=2, nrows=len(tasks))
    for t, task in enumerate(tasks):
        conds = _sg_conditions(runs[runs["task"] == task])
        sg_colours = iter([DARK2[1], DARK2[0], DARK2[2], DARK2[3], DARK2[4], DARK2[5]] * 10)
        for label, group in conds:
            colour = "black" if group["surrogate"].iloc[0] == TRUE_GRADIENT else next(sg_colours)
            for ax, measure in zip(axes[2 * t: 2 * t + 2], ("train_accuracy", "valid_accuracy"), strict=True):
                seeds = f"{len(group)} seed{'s' if len(group) > 1 else ''}"
                _mean_sd_curve(ax, group, table, measure, colour, f"{label} ({seeds})")
        chance = _chance(table, task)
        for ax, what in zip(axes[2 * t: 2 * t + 2], ("training", "validation"), strict=True):
            ax.axhline(chance, ls=":", color=REFERENCE_GREY, lw=1)
            ax.text(ax.get_xlim()[1], chance, " chance", fontsize=6, va="bottom", ha="right", color=REFERENCE_GREY)
            ax.set(xlabel="epoch", ylabel=f"{what} accuracy", ylim=(0, 1.02), title=f"{task}: {what} set")
        axes[2 * t].legend(frameon=False, fontsize=6, loc="best")
        for ax in axes[2 * t: 2 * t + 2]:
            ax.xaxis.get_major_locator().set_params(integer=True)
        if not any(g["surrogate"].iloc[0] == TRUE_GRADIENT for _, g in conds):
            _not_run(axes[2 * t + 1], "true gradient")
    for ax, letter in zip(axes, "ABCDEFGH", strict=False):
        panel_letter(ax, letter)
    fig.suptitle("Surrogate gradient vs true gradient (Zenke & Vogels Fig. 2b — numbering 2nd-hand); "
                 "mean ± s.d. over seeds", fontsize=8)
    return fig


def sg_vs_true_report(table: pd.DataFrame) -> str:
    runs = _runs(table)
    lines = ["Reported accuracy: test accuracy at the epoch of best validation accuracy (mean ± s.d. over seeds). "
             "Paper (spec §1.5, 2nd-hand): SG learning trains the network, the true gradient of the step (h ≡ 0, "
             "\"True\" in Fig. 2b) stays at chance.", "",
             "| task | condition | seeds | best test accuracy | final test accuracy | chance |",
             "|---|---|---|---|---|---|"]
    claims = []
    for task in _tasks(runs):
        chance = _chance(table, task)
        sg, true = [], []
        for label, group in _sg_conditions(runs[runs["task"] == task]):
            acc = group["best_test_accuracy"]
            sd = float(acc.std()) if len(acc) > 1 else 0.0
            lines.append(f"| {task} | {label} | {len(group)} | {_fmt(float(acc.mean()), sd)} | "
                         f"{float(group['final_test_accuracy'].mean()):.3f} | {chance:.3f} |")
            (true if group["surrogate"].iloc[0] == TRUE_GRADIENT else sg).append(float(acc.mean()))
        if sg:
            claims.append(f"- {task}: SG learning trains the network (needs a best test accuracy ≥ {SG_LEARNS:g} in "
                          f"every SG condition; ours, lowest: {min(sg):.3f}): {verdict(min(sg) >= SG_LEARNS)}.")
        else:
            claims.append(f"- {task}: SG learning trains the network: not run.")
        if true:
            claims.append(f"- {task}: the true gradient stays at chance (needs ≤ chance {chance:.3f} + "
                          f"{NEAR_CHANCE:g}; ours: {max(true):.3f}): {verdict(max(true) <= chance + NEAR_CHANCE)}.")
        else:
            claims.append(f"- {task}: the true gradient stays at chance: not run.")
    return "\n".join(lines + [""] + claims)


# ------------------------------------------------------------------------------------ shape-robustness figure
def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges on a log axis: geometric midpoints, the outer edges mirrored (×/÷ √10 for a single value)."""
    v = np.log10(np.sort(values))
    if len(v) == 1:
        return 10 ** np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return 10 ** np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def _shape_runs(table: pd.DataFrame) -> pd.DataFrame:
    runs = _runs(table)
    return runs[runs["surrogate"].isin((*SHAPES, "constant")) & (runs["scale"].astype(str) != "asymptotic")]


def shape_stats(table: pd.DataFrame) -> dict[str, dict[str, tuple[float, float, int]]]:
    """task -> surrogate -> (mean, s.d., cells) of the best ``BEST_CELLS`` cells."""
    runs = _shape_runs(table)
    return {task: {shape: best_of(_cells(runs[(runs["task"] == task) & (runs["surrogate"] == shape)]))
                   for shape in (*SHAPES, "constant")} for task in _tasks(runs)}


def shape_robustness_figure(table: pd.DataFrame):
    runs = _shape_runs(table)
    if runs.empty:
        raise ValueError("no runs with a surrogate of " + ", ".join((*SHAPES, "constant")) + " (a classify table)")
    tasks = _tasks(runs)
    heat_rows = len(tasks)
    fig = new_figure(7.6, 2.0 + 1.9 * heat_rows)[0]
    fig.clear()
    grid = fig.add_gridspec(1 + heat_rows, 5, width_ratios=[1, 1, 1, 0.07, 1.25], height_ratios=[0.9] + [1] * heat_rows)
    x = torch.linspace(-1.0, 1.0, 401)
    betas = (1.0, 10.0, 100.0)
    shades = (0.35, 0.65, 1.0)
    for j, shape in enumerate(SHAPES):
        ax = fig.add_subplot(grid[0, j])
        for beta, shade in zip(betas, shades, strict=True):
            h = make_surrogate(shape, beta).derivative(x)
            ax.plot(x.numpy(), h.numpy(), color=SHAPE_COLOURS[shape], alpha=shade, lw=1.2, label=f"β = {beta:g}")
        ax.set(xlabel="x = U − ϑ", ylabel="h(x)" if j == 0 else None, title=SHAPE_LABELS[shape], ylim=(0, 1.05))
        if j == 0:
            panel_letter(ax, "A")
            ax.legend(frameon=False, fontsize=5, loc="upper right")
    vmin = min(_chance(table, t) for t in tasks)
    mesh = None
    for r, task in enumerate(tasks):
        at = runs[runs["task"] == task]
        for j, shape in enumerate(SHAPES):
            ax = fig.add_subplot(grid[1 + r, j])
            cells = at[at["surrogate"] == shape].groupby(["slope", "lr"])["best_test_accuracy"].mean().unstack("slope")
            if cells.empty:
                _not_run(ax, SHAPE_LABELS[shape])
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                mesh = ax.pcolormesh(_edges(cells.columns.to_numpy(float)), _edges(cells.index.to_numpy(float)),
                                     cells.to_numpy(float), cmap="viridis", vmin=vmin, vmax=1.0)
                ax.set(xscale="log", yscale="log")
            ax.set(xlabel="slope β (1/unit of U)", ylabel=f"{task}: learning rate η" if j == 0 else None,
                   title=f"{SHAPE_LABELS[shape]}" if r == 0 else None)
            if r == 0 and j == 0:
                panel_letter(ax, "B")
    if mesh is not None:
        bar = fig.colorbar(mesh, cax=fig.add_subplot(grid[1:, 3]))
        bar.set_label("test accuracy (mean over seeds)", fontsize=7)
    ax = fig.add_subplot(grid[:, 4])
    stats = shape_stats(table)
    names = [*SHAPES, "constant"]
    colours = {**SHAPE_COLOURS, "constant": CONSTANT_GREY}
    centres = []
    for t, task in enumerate(tasks):
        x0 = t * (len(names) + 1)
        _bars(ax, names, stats[task], colours, chance=None, x0=x0)
        centres.append(x0 + (len(names) - 1) / 2)
    for t, task in enumerate(tasks):
        ax.hlines(_chance(table, task), t * (len(names) + 1) - 0.5, t * (len(names) + 1) + len(names) - 0.5,
                  ls=":", color="black", lw=0.8)
    ax.set_xticks(centres, tasks)
    handles = [Patch(color=colours[name], label=SHAPE_LABELS[name]) for name in names]
    ax.legend(handles=handles, frameon=False, fontsize=6, loc="upper center", ncols=2)
    ax.set(ylabel="test accuracy (best cells, mean ± s.d.)", ylim=(0, 1.22),
           yticks=np.linspace(0, 1, 6), title="best accuracy per shape")
    panel_letter(ax, "C")
    fig.suptitle("Robustness to the surrogate shape (Zenke & Vogels Fig. 3 — numbering 2nd-hand); dotted: chance",
                 fontsize=8)
    return fig


def shape_robustness_report(table: pd.DataFrame) -> str:
    stats = shape_stats(table)
    lines = ["Paper (spec §1.1–1.2; abstract read, the rest 2nd-hand): SG learning is robust to the shape of the "
             "surrogate derivative — SuperSpike, Sigmoid′ and Esser reach similar best accuracies — \"as long as it is "
             "not a constant\", which performs badly. Per shape: mean ± s.d. of the best grid cells (10 of 72, the "
             "same fraction of a smaller grid) of the slope × learning-rate grid (cell = mean best test accuracy over "
             "seeds; the constant surrogate's cells are its learning rates).", "",
             "| task | " + " | ".join(SHAPE_LABELS[s] for s in (*SHAPES, "constant")) + " |",
             "|---|" + "---|" * (len(SHAPES) + 1)]
    claims = []
    for task, per in stats.items():
        cells = [f"{_fmt(m, s)} ({n} cell{'s' if n > 1 else ''})" if n else "not run" for m, s, n in per.values()]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
        means = {s: per[s][0] for s in SHAPES if per[s][2]}
        if len(means) >= 2:
            spread = max(means.values()) - min(means.values())
            claims.append(f"- {task}: the shapes reach similar best accuracies (needs max − min of the {len(means)} "
                          f"per-shape means < {SHAPE_SPREAD:g}; ours: {spread:.3f}): {verdict(spread < SHAPE_SPREAD)}.")
        else:
            claims.append(f"- {task}: the shapes reach similar best accuracies: not run (fewer than two shapes).")
        constant = per["constant"]
        if constant[2] and means:
            worst = min(means.values())
            ok = constant[0] < worst - CONSTANT_GAP
            claims.append(f"- {task}: the constant surrogate is worse (needs constant < worst shape − "
                          f"{CONSTANT_GAP:g}; ours: constant {constant[0]:.3f}, worst shape {worst:.3f}): "
                          f"{verdict(ok)}.")
        else:
            claims.append(f"- {task}: the constant surrogate is worse: not run.")
    return "\n".join(lines + [""] + claims)


# ----------------------------------------------------------------------------------------------- scale figure
def condition_name(scale: str, diff_reset: bool, recurrent: bool, recurrent_grad: bool) -> str:
    """Fig. 5's names: s|a (normalized | asymptotic scale) + DR (differentiable reset) or, for recurrent nets,
    Prop | Ctl (gradients through the recurrent synapses or not); feed-forward without DR is Ctl."""
    prefix = "s" if scale == "normalized" else "a"
    if recurrent:
        return prefix + ("DR" if diff_reset else "") + ("Prop" if recurrent_grad else "Ctl")
    return prefix + ("DR" if diff_reset else "Ctl")


def _scale_runs(table: pd.DataFrame) -> pd.DataFrame:
    """Runs of SuperSpike at normalized or asymptotic scale, with a ``condition`` column (one task: the first)."""
    runs = _runs(table)
    runs = runs[(runs["surrogate"] == "fast_sigmoid") & runs["scale"].astype(str).isin(("normalized", "asymptotic"))]
    if runs.empty:
        return runs.assign(condition=[])
    runs = runs[runs["task"] == _tasks(runs)[0]]
    names = [condition_name(str(r.scale), bool(r.diff_reset), bool(r.recurrent), bool(r.recurrent_grad))
             for r in runs.itertuples()]
    return runs.assign(condition=names)


def scale_stats(table: pd.DataFrame) -> dict[tuple[bool, int, str], tuple[float, float, int]]:
    """(recurrent, layers, condition) -> (mean, s.d., cells) of the best ``BEST_CELLS`` cells."""
    runs = _scale_runs(table)
    out = {}
    for (recurrent, layers, condition), group in runs.groupby(["recurrent", "layers", "condition"]):
        out[(bool(recurrent), int(layers), condition)] = best_of(_cells(group))
    return out


def _depth_panel(ax, stats, recurrent: bool, names: tuple[str, str], labels: tuple[str, str], chance) -> None:
    drawn = False
    for name, label in zip(names, labels, strict=True):
        points = sorted((layers, v) for (rec, layers, cond), v in stats.items() if rec == recurrent and cond == name)
        if points:
            layers = [p[0] for p in points]
            ax.errorbar(layers, [p[1][0] for p in points], yerr=[p[1][1] for p in points], fmt="o-", ms=3, lw=1.2,
                        capsize=2, color=CONDITION_COLOURS[name], label=label)
            drawn = True
    if drawn:
        ax.axhline(chance, ls=":", color="black", lw=0.8)
        ax.legend(frameon=False, fontsize=6, loc="lower left", bbox_to_anchor=(0.0, 0.12))
        depths = sorted({k[1] for k in stats if k[0] == recurrent and k[2] in names})
        ax.set_xticks(depths)
        ax.set_xlim(depths[0] - 0.5, depths[-1] + 0.5)
    else:
        _not_run(ax, " / ".join(names))
    missing = [n for n in names if not any(k[0] == recurrent and k[2] == n for k in stats)]
    if drawn and missing:
        ax.text(0.02, 0.02, "not run: " + ", ".join(missing), transform=ax.transAxes, fontsize=6,
                color=REFERENCE_GREY, style="italic")


def scale_figure(table: pd.DataFrame):
    runs = _scale_runs(table)
    if runs.empty:
        raise ValueError("no SuperSpike (fast_sigmoid) runs at normalized or asymptotic scale (a classify table)")
    task = runs["task"].iloc[0]
    chance = _chance(table, task)
    stats = scale_stats(table)
    fig, axes = new_figure(7.2, 4.6, ncols=3, nrows=2)
    shape_ax, curve_ax, bar_ax, depth_ax, rec_ax, rec_depth_ax = axes
    x = torch.linspace(-1.0, 1.0, 401)
    for beta, shade in zip((1.0, 2.0, 5.0, 10.0), (0.3, 0.5, 0.75, 1.0), strict=True):
        h = make_surrogate("fast_sigmoid", beta, "asymptotic").derivative(x)
        shape_ax.plot(x.numpy(), h.numpy(), color=ORANGE, alpha=shade, lw=1.2, label=f"β = {beta:g}")
    shape_ax.set(xlabel="x = U − ϑ", ylabel="h(x) = β/(β|x|+1)²", title="asymptotic SuperSpike")
    shape_ax.legend(frameon=False, fontsize=6)

    shallow = runs[~runs["recurrent"].astype(bool) & (runs["layers"] == 1)]
    drawn = []
    for name in ("sCtl", "aCtl", "sDR", "aDR"):
        cells = _cells(shallow[shallow["condition"] == name])
        if cells.empty:
            continue
        drawn.append(name)
        for k, cell in enumerate(cells.sort_values("valid", ascending=False).head(BEST_CURVES).itertuples()):
            cell_runs = shallow[shallow["config_hash"] == cell.config_hash]
            rows = table[(table["kind"] == "epoch") & table["run_id"].isin(cell_runs["run_id"])]
            curve = rows.groupby("epoch")["train_accuracy"].mean()
            curve_ax.plot(curve.index, curve.to_numpy(), color=CONDITION_COLOURS[name], lw=1.0,
                          alpha=0.9, label=name if k == 0 else None, zorder=3 if name == "aDR" else 2)
    if drawn:
        curve_ax.axhline(chance, ls=":", color="black", lw=0.8)
        curve_ax.legend(frameon=False, fontsize=6, loc="best")
        missing = [n for n in ("sCtl", "aCtl", "sDR", "aDR") if n not in drawn]
        if missing:
            curve_ax.text(0.02, 0.95, "not run: " + ", ".join(missing), transform=curve_ax.transAxes, fontsize=6,
                          color=REFERENCE_GREY, style="italic", va="top")
    else:
        _not_run(curve_ax, "feed-forward, 1 hidden layer")
    curve_ax.set(xlabel="epoch", ylabel="training accuracy", ylim=(0, 1.02),
                 title=f"{BEST_CURVES} best cells per condition")

    ff = {name: stats.get((False, 1, name), (math.nan, math.nan, 0)) for name in ("sCtl", "sDR", "aCtl", "aDR")}
    xs = _bars(bar_ax, list(ff), ff, CONDITION_COLOURS, chance)
    bar_ax.set_xticks(xs, list(ff))
    bar_ax.set(ylabel=CELLS_LABEL, ylim=(0, 1.05), title="feed-forward, 1 hidden layer")

    _depth_panel(depth_ax, stats, False, ("aCtl", "aDR"), ("reset detached (aCtl)", "differentiable reset (aDR)"),
                 chance)
    depth_ax.set(xlabel="hidden layers", ylabel=CELLS_LABEL, ylim=(0, 1.05), title="asymptotic, feed-forward")

    rec = {name: stats.get((True, 1, name), (math.nan, math.nan, 0)) for name in ("sCtl", "sProp", "aCtl", "aProp")}
    xs = _bars(rec_ax, list(rec), rec, CONDITION_COLOURS, chance)
    rec_ax.set_xticks(xs, list(rec))
    rec_ax.set(ylabel=CELLS_LABEL, ylim=(0, 1.05), title="recurrent, 1 hidden layer")
    if all(v[2] == 0 for v in rec.values()):
        _not_run(rec_ax, "recurrent nets")

    _depth_panel(rec_depth_ax, stats, True, ("aCtl", "aProp"), ("recurrence detached (aCtl)", "propagated (aProp)"),
                 chance)
    rec_depth_ax.set(xlabel="hidden layers", ylabel=CELLS_LABEL, ylim=(0, 1.05), title="asymptotic, recurrent")
    for ax, letter in zip(axes, "ABCDEF", strict=True):
        panel_letter(ax, letter)
    fig.suptitle(f"The scale of the surrogate derivative (Zenke & Vogels Fig. 5), {task}, SuperSpike surrogate\n"
                 "s/a: normalized/asymptotic scale; DR: differentiable reset; Prop/Ctl: recurrent gradient on/off; "
                 "dotted: chance", fontsize=8)
    return fig


def scale_report(table: pd.DataFrame) -> str:
    stats = scale_stats(table)
    runs = _scale_runs(table)
    task = runs["task"].iloc[0] if len(runs) else "?"

    def get(recurrent, layers, name):
        return stats.get((recurrent, layers, name), (math.nan, math.nan, 0))

    lines = [f"Task {task}; SuperSpike surrogate. Each value: mean ± s.d. of the best grid cells (10 of 72, the "
             "same fraction of a smaller grid) of the slope × learning-rate grid (cell = mean best test accuracy over "
             "seeds; Fig. 5c's convention, caption read). Paper (Fig. 5 caption; aDR value 2nd-hand): sCtl, aCtl, "
             f"sDR high, aDR clearly lower (≈ {PAPER_ADR:g}); aProp lower than sProp and aCtl.", "",
             "| network | hidden layers | condition | test accuracy | cells | paper |", "|---|---|---|---|---|---|"]
    for (recurrent, layers, name), (mean, sd, n) in sorted(stats.items()):
        paper = f"≈ {PAPER_ADR:g} (2nd-hand)" if (not recurrent and layers == 1 and name == "aDR") else ""
        lines.append(f"| {'recurrent' if recurrent else 'feed-forward'} | {layers} | {name} | {_fmt(mean, sd)} | {n} | "
                     f"{paper} |")
    for name in ("sCtl", "sDR", "aCtl", "aDR"):
        if not get(False, 1, name)[2]:
            lines.append(f"| feed-forward | 1 | {name} | not run | 0 | |")
    for name in ("sCtl", "sProp", "aCtl", "aProp"):
        if not get(True, 1, name)[2]:
            lines.append(f"| recurrent | 1 | {name} | not run | 0 | |")
    claims = [""]
    s_ctl, a_ctl = get(False, 1, "sCtl"), get(False, 1, "aCtl")
    if s_ctl[2] and a_ctl[2]:
        gap = abs(a_ctl[0] - s_ctl[0])
        claims.append(f"- With the reset detached, the scale does not matter, as Adam removes a constant factor (spec "
                      f"§4; needs |aCtl − sCtl| ≤ {SCALE_GAP:g}; ours: {gap:.3f}): {verdict(gap <= SCALE_GAP)}.")
    else:
        claims.append("- With the reset detached, the scale does not matter: not run (needs sCtl and aCtl).")
    adr = get(False, 1, "aDR")
    controls = {n: get(False, 1, n)[0] for n in ("sCtl", "aCtl", "sDR") if get(False, 1, n)[2]}
    main = "- A large scale harms learning only with implicit (DR) or explicit (Prop) recurrence"
    if not adr[2] or not controls:
        claims.append(f"{main}: not run (needs aDR and at least one of sCtl, aCtl, sDR).")
    else:
        ref = min(controls.values())
        ok = adr[0] < ref - SCALE_GAP
        parts = [f"needs aDR < min({', '.join(controls)}) − {SCALE_GAP:g}; ours: aDR {adr[0]:.3f}, min {ref:.3f}"]
        aprop = get(True, 1, "aProp")
        rec_controls = {n: get(True, 1, n)[0] for n in ("sProp", "aCtl") if get(True, 1, n)[2]}
        if aprop[2] and rec_controls:
            rref = min(rec_controls.values())
            ok = ok and aprop[0] < rref - SCALE_GAP
            parts.append(f"and aProp < min(recurrent {', '.join(rec_controls)}) − {SCALE_GAP:g}; ours: aProp "
                         f"{aprop[0]:.3f}, min {rref:.3f}")
        else:
            parts.append("recurrent aProp: not run")
        claims.append(f"{main} ({'; '.join(parts)}): {verdict(ok)}.")
    return "\n".join(lines + claims)


# -------------------------------------------------------------------------------------------- activity figure
def _activity_curves(table: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """(task, layers, L) -> cells sorted by activity (x = mean best_hidden_spikes, y = mean best test accuracy)."""
    runs = _runs(table)
    if "upper_power" not in runs:
        runs = runs.assign(upper_power=2)
    out = {}
    for (task, layers, power), group in runs.groupby(["task", "layers", "upper_power"]):
        out[(task, int(layers), int(power))] = _cells(group).sort_values("activity").reset_index(drop=True)
    return out


def critical_activity(cells: pd.DataFrame, chance: float = 0.0) -> dict[str, float | bool]:
    """Plateau (cells within ``PLATEAU`` of the best), its lowest activity (edge), and the critical activity: the
    highest activity below the edge whose accuracy is at least ``DROP`` below the best. ``shows`` = a plateau of ≥ 2
    cells at least twice chance, and a drop at lower activity."""
    best = float(cells["accuracy"].max())
    plateau = cells[cells["accuracy"] >= best - PLATEAU]
    edge = float(plateau["activity"].min())
    dropped = cells[(cells["activity"] < edge) & (cells["accuracy"] <= best - DROP)]
    critical = float(dropped["activity"].max()) if len(dropped) else math.nan
    return {"best": best, "plateau_cells": len(plateau), "edge": edge, "critical": critical,
            "shows": len(plateau) >= 2 and len(dropped) > 0 and best >= 2 * chance}


def _hidden_raster(ax, table: pd.DataFrame, run: pd.Series, title: str) -> None:
    spikes = table[(table["kind"] == "spike") & (table["run_id"] == run["run_id"]) & (table["layer"] == "hidden1")]
    if spikes.empty:
        _not_run(ax, "no hidden raster stored")
    else:
        first = spikes[spikes["sample"] == spikes["sample"].min()]
        ax.scatter(first["time"], first["neuron"], s=6, marker="|", color="black", lw=0.8)
    duration = float(run["steps"] * run.get("dt", 1.0)) if "steps" in run and run["steps"] == run["steps"] else None
    ax.set_xlim(0, duration or (float(spikes["time"].max()) + 1 if len(spikes) else 1))
    if "hidden" in run and run["hidden"] == run["hidden"]:
        ax.set_ylim(-0.5, float(run["hidden"]) - 0.5)
    ax.set(xlabel="time (ms)", ylabel="hidden neuron")
    ax.set_title(title, fontsize=7)


def activity_figure(table: pd.DataFrame):
    curves = _activity_curves(table)
    if not curves:
        raise ValueError("no kind=epoch rows (a `classify` table is needed)")
    fig = new_figure(7.2, 4.2)[0]
    fig.clear()
    grid = fig.add_gridspec(2, 3, height_ratios=[1.5, 1])
    ax = fig.add_subplot(grid[0, :])
    groups = sorted({(task, layers) for task, layers, _ in curves})
    for (task, layers, power), cells in curves.items():
        colour = DARK2[groups.index((task, layers)) % len(DARK2)]
        fill = colour if power == 2 else "white"
        shown = cells[cells["activity"] > 0]
        ax.plot(shown["activity"], shown["accuracy"], "o-" if power == 2 else "s--", color=colour, mfc=fill, ms=4,
                lw=1.2, label=f"{task}, {layers} hidden layer{'s' if layers > 1 else ''}, L = {power}")
        stats = critical_activity(cells)
        if stats["critical"] == stats["critical"]:
            ax.axvline(stats["critical"], color=colour, lw=0.6, ls=":")
    for task in sorted({k[0] for k in curves}):
        ax.axhline(_chance(table, task), ls=":", color="black", lw=0.8)
    ax.set(xscale="log", xlabel="hidden spikes per neuron per input (mean, validation set)",
           ylabel="test accuracy (mean over seeds)", ylim=(0, 1.05),
           title="upper-bound regulariser sweep (filled: L = 2, open: L = 1; dotted vertical: critical activity)")
    ax.legend(frameon=False, fontsize=6, loc="lower right")
    panel_letter(ax, "A")
    runs = _runs(table)
    runs = runs[runs["best_hidden_spikes"].notna()].sort_values("best_hidden_spikes", ascending=False)
    picks = []
    if len(runs):
        picks = [("densest", runs.iloc[0]), ("middle", runs.iloc[len(runs) // 2]), ("sparsest", runs.iloc[-1])]
    for j in range(3):
        rax = fig.add_subplot(grid[1, j])
        if j < len(picks):
            which, run = picks[j]
            _hidden_raster(rax, table, run, f"{which}: {run['best_hidden_spikes']:.3g} spikes/neuron, "
                                             f"acc. {run['best_test_accuracy']:.2f}")
        else:
            _not_run(rax)
        if j == 0:
            panel_letter(rax, "B")
    fig.suptitle("Sparse activity limit (Zenke & Vogels, activity figures — numbering inferred); hidden layer 1, "
                 "first stored test sample", fontsize=8)
    return fig


def activity_report(table: pd.DataFrame) -> str:
    curves = _activity_curves(table)
    lines = ["Paper (spec §1.4, 2nd-hand quote): \"Activity regularized SNNs can perform with high accuracy down to "
             "some critical activity threshold at which their performance degrades rapidly.\" Points: grid cells "
             "(mean over seeds) of the upper-bound sweep; plateau = cells within "
             f"{PLATEAU:g} of the best accuracy; plateau edge = its lowest activity; critical activity = the highest "
             f"activity below the edge whose accuracy is at least {DROP:g} below the best.", "",
             "| task | hidden layers | L | cells | plateau accuracy | plateau cells | plateau edge (spikes/neuron) | "
             "critical activity (spikes/neuron) | plateau then drop |", "|---|---|---|---|---|---|---|---|---|"]
    shows = []
    for (task, layers, power), cells in curves.items():
        s = critical_activity(cells, _chance(table, task))
        shows.append(s["shows"])
        critical = f"{s['critical']:.3g}" if s["critical"] == s["critical"] else "none"
        lines.append(f"| {task} | {layers} | {power} | {len(cells)} | {s['best']:.3f} | {s['plateau_cells']} | "
                     f"{s['edge']:.3g} | {critical} | {'yes' if s['shows'] else 'no'} |")
    ok = bool(shows) and all(shows)
    claim = (f"- Accuracy stays on a plateau (≥ 2 cells within {PLATEAU:g} of the best, at least twice chance) down "
             "to a critical activity, "
             f"below which it drops by ≥ {DROP:g}, on every curve ({sum(shows)} of {len(shows)}): {verdict(ok)}.")
    return "\n".join(lines + ["", claim])
