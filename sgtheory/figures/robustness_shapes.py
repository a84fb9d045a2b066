"""Robustness to the surrogate's shape (Zenke & Vogels 2021, Fig. 3 2nd-hand; from ``classify`` tables).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from matplotlib.patches import Patch

from sgtheory.figures.robustness import (
    GRID_LRS,
    GRID_SEEDS,
    GRID_SLOPES,
    SHAPE_COLOURS,
    SHAPE_LABELS,
    SHAPES,
    Z_EQUAL,
    Z_SIGNIFICANT,
    _bars,
    _cells,
    _chance,
    _fmt,
    _not_run,
    _runs,
    _tasks,
    accuracy_noise,
    best_of,
    grid_size,
)
from sgtheory.figures.style import claim, new_figure, panel_letter
from sgtheory.functional.surrogate import make_surrogate


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
        if j == len(SHAPES) - 1:
            ax.legend(frameon=False, fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0))
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
    colours = SHAPE_COLOURS
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
    ax.legend(handles=handles, frameon=False, fontsize=6, loc="upper center", ncols=2, bbox_to_anchor=(0.5, 1.0))
    ax.set(ylabel="test accuracy (best cells, mean ± s.d.)", ylim=(0, 1.22),
           yticks=np.linspace(0, 1, 6), title="best cells")
    panel_letter(ax, "C")
    fig.suptitle("Robustness to the surrogate shape (Zenke & Vogels Fig. 3 — numbering 2nd-hand); dotted: chance",
                 fontsize=8)
    return fig


def shape_robustness_report(table: pd.DataFrame) -> str:
    stats = shape_stats(table)
    runs = _shape_runs(table)
    lines = ["Paper (spec §1.1–1.2; abstract read, the rest 2nd-hand): SG learning is robust to the shape of the "
             "surrogate derivative — SuperSpike, Sigmoid′ and Esser reach similar best accuracies (\"statistically "
             "indistinguishable\", spec §7) — \"as long as it is not a constant\", which performs badly. The paper's "
             "accuracies are not available. Per shape: mean ± s.d. of the best grid cells (10 of 72, the same fraction "
             "of a smaller grid) of the slope × learning-rate grid (cell = mean best test accuracy over seeds; the "
             "constant surrogate's cells are its learning rates). Noise = s.e. of a cell's mean over seeds (binomial "
             f"s.e. of the test set with one seed); equal = within {Z_EQUAL:g}, different = beyond {Z_SIGNIFICANT:g} "
             "noise units of the difference.", "",
             "| task | grid (β × η × seeds) | " + " | ".join(SHAPE_LABELS[s] for s in (*SHAPES, "constant")) + " |",
             "|---|---|" + "---|" * (len(SHAPES) + 1)]
    claims = []
    for task, per in stats.items():
        at = runs[runs["task"] == task]
        slopes, lrs, seeds = grid_size(at[at["surrogate"].isin(SHAPES)])
        cells = [f"{_fmt(m, s if n > 1 else None)} ({n} cell{'s' if n > 1 else ''})" if n else "not run"
                 for m, s, n in per.values()]
        lines.append(f"| {task} | {slopes} × {lrs} × {seeds} | " + " | ".join(cells) + " |")
        means = {s: per[s][0] for s in SHAPES if per[s][2]}
        noise = {s: accuracy_noise(at[at["surrogate"] == s], per[s][0]) for s in (*SHAPES, "constant") if per[s][2]}
        if len(means) >= 2:
            high, low = max(means, key=means.get), min(means, key=means.get)
            spread, tol = means[high] - means[low], Z_EQUAL * float(np.hypot(noise[high], noise[low]))
            enough = slopes >= GRID_SLOPES and lrs >= GRID_LRS and seeds >= GRID_SEEDS
            why = "" if enough else f" — this grid is {slopes} × {lrs} × {seeds}"
            claims.append(claim(f"{task}: the shapes reach similar best accuracies",
                                f"max − min of the {len(means)} per-shape means ≤ {Z_EQUAL:g} noise units, on a grid "
                                f"of ≥ {GRID_SLOPES} slopes × {GRID_LRS} learning rates × {GRID_SEEDS} seeds{why}",
                                "noise estimate; grid size from issue 16",
                                f"{SHAPE_LABELS[high]} − {SHAPE_LABELS[low]} = {spread:.3f}, {Z_EQUAL:g} noise units "
                                f"= {tol:.3f}", spread <= tol if enough else None))
        else:
            claims.append(f"- {task}: the shapes reach similar best accuracies: not run (fewer than two shapes).")
        constant = per["constant"]
        if constant[2] and means:
            worst = min(means, key=means.get)
            gap, tol = means[worst] - constant[0], Z_SIGNIFICANT * float(np.hypot(noise[worst], noise["constant"]))
            claims.append(claim(f"{task}: the constant surrogate is worse than every shape",
                                f"worst shape − constant > {Z_SIGNIFICANT:g} noise units", "noise estimate",
                                f"{SHAPE_LABELS[worst]} {means[worst]:.3f} − constant {constant[0]:.3f} = {gap:.3f}, "
                                f"{Z_SIGNIFICANT:g} noise units = {tol:.3f}", gap > tol))
        else:
            claims.append(f"- {task}: the constant surrogate is worse: not run.")
    return "\n".join(lines + [""] + claims)
