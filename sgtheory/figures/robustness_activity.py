"""Accuracy vs hidden activity under the activity regulariser (Zenke & Vogels 2021, Figs. 6–7 inferred; from a
``classify`` table).
"""

from __future__ import annotations

import math

import pandas as pd

from sgtheory.figures.robustness import (
    ACTIVITY_LEVELS,
    ACTIVITY_SEEDS,
    Z_EQUAL,
    Z_SIGNIFICANT,
    _cells,
    _chance,
    _not_run,
    _runs,
    accuracy_noise,
)
from sgtheory.figures.style import claim, new_figure, ordered_colours, panel_letter


def _activity_curves(table: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """(task, layers, L) -> cells sorted by activity (x = mean best_hidden_spikes, y = mean best test accuracy)."""
    runs = _runs(table)
    if "upper_power" not in runs:
        runs = runs.assign(upper_power=2)
    out = {}
    for (task, layers, power), group in runs.groupby(["task", "layers", "upper_power"]):
        cells = _cells(group).sort_values("activity").reset_index(drop=True)
        best = float(cells["accuracy"].max())
        out[(task, int(layers), int(power))] = cells.assign(noise=accuracy_noise(group, best))
    return out


def critical_activity(cells: pd.DataFrame, chance: float = 0.0) -> dict[str, float | bool]:
    """Plateau (cells within ``Z_EQUAL`` noise units of the best), its lowest activity (edge), and the critical
    activity: the highest activity below the edge whose accuracy is more than ``Z_SIGNIFICANT`` noise units below
    the best. ``shows`` = a plateau of ≥ 2 cells at least twice chance, and a drop at lower activity."""
    best = float(cells["accuracy"].max())
    noise = float(cells["noise"].iloc[0])
    plateau = cells[cells["accuracy"] >= best - Z_EQUAL * noise]
    edge = float(plateau["activity"].min())
    dropped = cells[(cells["activity"] < edge) & (cells["accuracy"] < best - Z_SIGNIFICANT * noise)]
    critical = float(dropped["activity"].max()) if len(dropped) else math.nan
    return {"best": best, "noise": noise, "plateau_cells": len(plateau), "edge": edge, "critical": critical,
            "shows": len(plateau) >= 2 and len(dropped) > 0 and best >= 2 * chance}


def _hidden_raster(ax, table: pd.DataFrame, run: pd.Series, title: str) -> None:
    stored = table[(table["kind"] == "spike") & (table["run_id"] == run["run_id"])]
    spikes = stored[stored["layer"] == "hidden1"]
    if spikes.empty:
        ax.text(0.5, 0.5, "no hidden spike\nin the stored samples" if len(stored) else "no raster stored",
                transform=ax.transAxes, ha="center", va="center", fontsize=7, style="italic")
    else:
        first = spikes[spikes["sample"] == spikes["sample"].min()]
        ax.scatter(first["time"], first["neuron"], s=6, marker="|", color="black", lw=0.8)
    duration = float(run["steps"] * run.get("dt", 1.0)) if "steps" in run and run["steps"] == run["steps"] else None
    ax.set_xlim(0, duration or (float(spikes["time"].max()) + 1 if len(spikes) else 1))
    if "hidden" in run and run["hidden"] == run["hidden"]:
        ax.set_ylim(-0.5, float(run["hidden"]) - 0.5)
    ax.set(xlabel="time (ms)", ylabel="hidden neuron")
    ax.set_title(title, fontsize=6.5)


def activity_figure(table: pd.DataFrame):
    curves = _activity_curves(table)
    if not curves:
        raise ValueError("no kind=epoch rows (a `classify` table is needed)")
    fig = new_figure(7.2, 4.2)[0]
    fig.clear()
    grid = fig.add_gridspec(2, 3, height_ratios=[1.5, 1])
    ax = fig.add_subplot(grid[0, :])
    colours = ordered_colours({(task, layers) for task, layers, _ in curves})
    for (task, layers, power), cells in curves.items():
        colour = colours[(task, layers)]
        fill = colour if power == 2 else "white"
        shown = cells[cells["activity"] > 0]
        ax.plot(shown["activity"], shown["accuracy"], "o-" if power == 2 else "s--", color=colour, mfc=fill, ms=4,
                lw=1.2, label=f"{task}, {layers} hidden layer{'s' if layers > 1 else ''}, L = {power}")
        stats = critical_activity(cells)
        if stats["critical"] == stats["critical"]:
            ax.axvline(stats["critical"], color=colour, lw=0.6, ls=":", label=f"critical activity, L = {power}")
    for task in sorted({k[0] for k in curves}):
        ax.axhline(_chance(table, task), ls=":", color="black", lw=0.8, label=f"chance, {task}")
    ax.set(xscale="log", xlabel="hidden spikes per neuron per input (mean, validation set)",
           ylabel="test accuracy (mean over seeds)", ylim=(0, 1.05),
           title="upper-bound regulariser sweep")
    ax.legend(frameon=False, fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
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
            _hidden_raster(rax, table, run, f"{which}\n{run['best_hidden_spikes']:.3g} spikes/neuron\n"
                                             f"test accuracy {run['best_test_accuracy']:.2f}")
        else:
            _not_run(rax)
        if j == 0:
            panel_letter(rax, "B")
    fig.suptitle("Sparse activity limit (Zenke & Vogels, activity figures — numbering inferred); hidden layer 1, "
                 "first stored test sample", fontsize=8)
    return fig


def activity_report(table: pd.DataFrame) -> str:
    curves = _activity_curves(table)
    runs = _runs(table)
    levels = runs["upper_threshold"].nunique() if "upper_threshold" in runs else 0
    seeds = int(runs.groupby("config_hash").size().min()) if len(runs) else 0
    lines = ["Paper (spec §1.4, 2nd-hand quote): \"Activity regularized SNNs can perform with high accuracy down to "
             "some critical activity threshold at which their performance degrades rapidly.\" The paper's numbers are "
             "not available. Points: grid cells (mean over seeds) of the upper-bound sweep; noise = s.e. of a cell's "
             "mean over seeds (binomial s.e. of the test set with one seed); plateau = cells within "
             f"{Z_EQUAL:g} noise units of the best accuracy; plateau edge = its lowest activity; critical activity = "
             "the "
             f"highest activity below the edge whose accuracy is more than {Z_SIGNIFICANT:g} noise units below the "
             "best.", "",
             "| task | hidden layers | L | cells | plateau accuracy | noise | plateau cells | plateau edge "
             "(spikes/neuron) | critical activity (spikes/neuron) | plateau then drop |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    shows = []
    for (task, layers, power), cells in curves.items():
        s = critical_activity(cells, _chance(table, task))
        shows.append(s["shows"])
        critical = f"{s['critical']:.3g}" if s["critical"] == s["critical"] else "none"
        lines.append(f"| {task} | {layers} | {power} | {len(cells)} | {s['best']:.3f} | {s['noise']:.3f} | "
                     f"{s['plateau_cells']} | {s['edge']:.3g} | {critical} | {'yes' if s['shows'] else 'no'} |")
    enough = levels >= ACTIVITY_LEVELS and seeds >= ACTIVITY_SEEDS
    ok = (bool(shows) and all(shows)) if enough else None
    why = "" if enough else (f" — this run has {levels} levels and {seeds} seed(s), too few to locate a plateau and "
                             "a drop")
    return "\n".join(lines + ["", claim(
        "Accuracy stays on a plateau down to a critical activity, below which it degrades, on every curve",
        f"≥ 2 plateau cells at ≥ twice chance and a lower-activity cell > {Z_SIGNIFICANT:g} noise units below the "
        f"best, judged on ≥ {ACTIVITY_LEVELS} levels × {ACTIVITY_SEEDS} seeds{why}",
        "noise estimate; grid size from issue 16", f"{sum(shows)} of {len(shows)} curves", ok)])
