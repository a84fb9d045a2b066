"""The random-manifold illustration (Zenke & Vogels 2021, paper Fig. 1 inferred; from a ``randman`` table).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd

from sgtheory.figures.robustness import (
    _not_run,
)
from sgtheory.figures.style import BLUE, new_figure

CLASS_COLOURS = plt.get_cmap("tab10").colors  # classes are labels, not conditions: matplotlib's categorical colours


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
        _scatter3d(ax, smooth[smooth["alpha"] == alpha], BLUE, 0.6)
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
                _scatter3d(ax, rows[rows["manifold"] == i], CLASS_COLOURS[i % len(CLASS_COLOURS)], alpha)
            _clean3d(ax, f"D = {dim:g}, n = {n}")
    if not dims:
        for ax in grid[0]:
            ax.axis("off")
        _not_run(grid[0, 0], "dimension panel")

    _row_title(bottom, "C", "Example inputs: one spike per input unit, colour = class")
    steps = float(table["steps"].dropna().iloc[0]) if "steps" in table and table["steps"].notna().any() else None
    labels = sorted(spikes["label"].unique())
    colours = CLASS_COLOURS
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
    lines.append("The generator's properties (tested in tests/test_randman.py, not claims of the paper): every one of "
                 f"the {units} input units fires exactly once in each of the {examples} examples: "
                 f"{'yes' if once else 'no'}; all spikes fall in [0, {window:g}) ms (ours: {spikes['time'].min():g}–"
                 f"{spikes['time'].max():g} ms): {'yes' if inside else 'no'}.")
    return "\n".join(lines)
