"""Sensitivity to the surrogate's scale (Zenke & Vogels 2021, Fig. 5, caption read; from ``classify`` tables).
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from sgtheory.figures.robustness import (
    BEST_CURVES,
    CELLS_LABEL,
    PAPER_ADR,
    SCALE_SLOPES,
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
)
from sgtheory.figures.style import ORANGE, PALETTE, REFERENCE_GREY, claim, new_figure, panel_letter, paper_markers
from sgtheory.functional.surrogate import make_surrogate

CONDITION_COLOURS = {name: PALETTE[name] for name in ("sCtl", "aCtl", "sDR", "aDR", "sProp", "aProp")}


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


def scale_noise(table: pd.DataFrame) -> dict[tuple[bool, int, str], float]:
    """(recurrent, layers, condition) -> the noise of one cell's accuracy (:func:`accuracy_noise`)."""
    runs = _scale_runs(table)
    stats = scale_stats(table)
    return {(bool(r), int(n), c): accuracy_noise(group, stats[(bool(r), int(n), c)][0])
            for (r, n, c), group in runs.groupby(["recurrent", "layers", "condition"])}


def _depth_panel(ax, stats, recurrent: bool, names: tuple[str, str], labels: tuple[str, str], chance) -> None:
    depths = sorted({k[1] for k in stats if k[0] == recurrent and k[2] in names})
    if len(depths) == 1:
        _not_run(ax, f"one depth ({depths[0]}) only;\nthe medium profile runs 1–3")
        return
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
        ax.legend(frameon=False, fontsize=6, loc="upper left", bbox_to_anchor=(0.0, -0.3))
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
    fig, axes = new_figure(7.6, 5.2, ncols=3, nrows=2)
    shape_ax, curve_ax, bar_ax, depth_ax, rec_ax, rec_depth_ax = axes
    x = torch.linspace(-1.0, 1.0, 401)
    for beta, shade in zip((1.0, 2.0, 5.0, 10.0), (0.3, 0.5, 0.75, 1.0), strict=True):
        h = make_surrogate("fast_sigmoid", beta, "asymptotic").derivative(x)
        shape_ax.plot(x.numpy(), h.numpy(), color=ORANGE, alpha=shade, lw=1.2, label=f"β = {beta:g}")
    shape_ax.set(xlabel="x = U − ϑ", ylabel="h(x) = β/(β|x|+1)²", title="asymptotic SuperSpike")
    shape_ax.legend(frameon=False, fontsize=6, loc="upper left", bbox_to_anchor=(0.62, 1.0))

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
        curve_ax.legend(frameon=False, fontsize=6, loc="upper left", bbox_to_anchor=(0.0, -0.3), ncols=4)
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
    paper_markers(bar_ax, [xs[3]], [PAPER_ADR], label="paper aDR (2nd-hand)")
    bar_ax.legend(frameon=False, fontsize=6, loc="upper left", bbox_to_anchor=(0.0, -0.15))
    bar_ax.set(ylabel=CELLS_LABEL, ylim=(0, 1.05), title="feed-forward, 1 layer")

    _depth_panel(depth_ax, stats, False, ("aCtl", "aDR"), ("reset detached (aCtl)", "differentiable reset (aDR)"),
                 chance)
    depth_ax.set(xlabel="hidden layers", ylabel=CELLS_LABEL, ylim=(0, 1.05), title="asymptotic, feed-forward")

    rec = {name: stats.get((True, 1, name), (math.nan, math.nan, 0)) for name in ("sCtl", "sProp", "aCtl", "aProp")}
    xs = _bars(rec_ax, list(rec), rec, CONDITION_COLOURS, chance)
    rec_ax.set_xticks(xs, list(rec))
    rec_ax.set(ylabel=CELLS_LABEL, ylim=(0, 1.05), title="recurrent, 1 layer")
    if all(v[2] == 0 for v in rec.values()):
        _not_run(rec_ax, "recurrent nets")

    _depth_panel(rec_depth_ax, stats, True, ("aCtl", "aProp"), ("recurrence detached (aCtl)", "propagated (aProp)"),
                 chance)
    rec_depth_ax.set(xlabel="hidden layers", ylabel=CELLS_LABEL, ylim=(0, 1.05), title="asymptotic, recurrent")
    for ax, letter in zip(axes, "ABCDEF", strict=True):
        panel_letter(ax, letter)
    fig.suptitle(f"The scale of the surrogate derivative (Zenke & Vogels Fig. 5), {task}, SuperSpike surrogate\n"
                 "s/a: normalized/asymptotic scale; DR: differentiable reset; Prop/Ctl: recurrent gradient on/off; "
                 "dotted: chance", fontsize=7)
    return fig


def scale_report(table: pd.DataFrame) -> str:
    stats = scale_stats(table)
    noise = scale_noise(table)
    runs = _scale_runs(table)
    task = runs["task"].iloc[0] if len(runs) else "?"
    slopes = runs["slope"].nunique() if len(runs) else 0
    chance = _chance(table, task)

    def get(recurrent, layers, name):
        return stats.get((recurrent, layers, name), (math.nan, math.nan, 0))

    lines = [f"Task {task}; SuperSpike surrogate. Each value: mean ± s.d. of the best grid cells (10 of 72, the "
             "same fraction of a smaller grid) of the slope × learning-rate grid (cell = mean best test accuracy over "
             "seeds; Fig. 5c's convention, caption read). Paper (Fig. 5 caption; aDR value 2nd-hand): sCtl, aCtl, "
             f"sDR high, aDR clearly lower (≈ {PAPER_ADR:g}); aProp lower than sProp and aCtl; the same at every "
             "depth. Noise = s.e. of a cell's mean over seeds (binomial s.e. of the test set with one seed); equal = "
             f"within {Z_EQUAL:g}, lower = more than {Z_SIGNIFICANT:g} noise units of the difference below. The harm "
             f"of a large scale, and its absence with the reset detached, are judged only on grids of ≥ {SCALE_SLOPES} "
             "slopes (small and large β; spec §7): the best cells of a single slope say nothing about the grid.", "",
             "| network | hidden layers | condition | test accuracy | cells | noise | paper |",
             "|---|---|---|---|---|---|---|"]
    for (recurrent, layers, name), (mean, sd, n) in sorted(stats.items()):
        paper = f"≈ {PAPER_ADR:g} (2nd-hand)" if (not recurrent and layers == 1 and name == "aDR") else ""
        network = "recurrent" if recurrent else "feed-forward"
        lines.append(f"| {network} | {layers} | {name} | {_fmt(mean, sd if n > 1 else None)} | {n} | "
                     f"{noise[(recurrent, layers, name)]:.3f} | {paper} |")
    for name in ("sCtl", "sDR", "aCtl", "aDR"):
        if not get(False, 1, name)[2]:
            lines.append(f"| feed-forward | 1 | {name} | not run | 0 | | |")
    for name in ("sCtl", "sProp", "aCtl", "aProp"):
        if not get(True, 1, name)[2]:
            lines.append(f"| recurrent | 1 | {name} | not run | 0 | | |")

    small_grid = f" — this grid has {slopes} slope(s)"

    def lower(statement, recurrent, harmed, controls, depths=(1,), enough=True):
        """Claim: ``harmed`` more than Z_SIGNIFICANT noise units below every control, at every depth of ``depths``."""
        present = [(d, c) for d in depths for c in controls if get(recurrent, d, c)[2]]
        if not all(get(recurrent, d, harmed)[2] for d in depths) or not present:
            return f"- {statement}: not run (needs {harmed} and {', '.join(controls)})."
        gaps = [(get(recurrent, d, c)[0] - get(recurrent, d, harmed)[0],
                 Z_SIGNIFICANT * math.hypot(noise[(recurrent, d, c)], noise[(recurrent, d, harmed)]), d, c)
                for d, c in present]
        worst = min(gaps, key=lambda g: g[0] - g[1])
        idle = [(d, c) for d, c in present
                if get(recurrent, d, c)[0] <= chance + Z_SIGNIFICANT * noise[(recurrent, d, c)]]
        why = "" if enough else small_grid
        why += "".join(f" — {c} at {d} layer(s) does not learn here ({get(recurrent, d, c)[0]:.3f}, chance "
                       f"{chance:.3f}), so no harm can show" for d, c in idle)
        return claim(statement, f"{harmed} below each of {', '.join(controls)} by > {Z_SIGNIFICANT:g} noise units"
                     f"{' at every depth' if len(depths) > 1 else ''}, on a grid of ≥ {SCALE_SLOPES} slopes, with "
                     f"every control above chance by > {Z_SIGNIFICANT:g} noise units{why}",
                     "noise estimate; grid from spec §7",
                     f"smallest margin: {worst[3]} − {harmed} = {worst[0]:.3f} at {worst[2]} layer(s), "
                     f"{Z_SIGNIFICANT:g} noise units = {worst[1]:.3f}",
                     all(g[0] > g[1] for g in gaps) if enough and not idle else None)

    claims = [""]
    enough = slopes >= SCALE_SLOPES
    s_ctl, a_ctl = get(False, 1, "sCtl"), get(False, 1, "aCtl")
    if s_ctl[2] and a_ctl[2]:
        gap = abs(a_ctl[0] - s_ctl[0])
        tol = Z_EQUAL * math.hypot(noise[(False, 1, "sCtl")], noise[(False, 1, "aCtl")])
        why = "" if enough else small_grid
        claims.append(claim("With the reset detached, the scale does not matter (Fig. 5c: sCtl ≈ aCtl; Adam removes "
                            "a constant factor, spec §4)",
                            f"|aCtl − sCtl| ≤ {Z_EQUAL:g} noise units, on a grid of ≥ {SCALE_SLOPES} slopes{why}",
                            "noise estimate; grid from spec §7", f"{gap:.3f}, {Z_EQUAL:g} noise units = {tol:.3f}",
                            gap <= tol if enough else None))
    else:
        claims.append("- With the reset detached, the scale does not matter: not run (needs sCtl and aCtl).")
    claims.append(lower("A large scale harms learning with a differentiable reset (Fig. 5c: aDR lower)", False, "aDR",
                        ("sCtl", "aCtl", "sDR"), enough=enough))
    claims.append(lower("A large scale harms learning with gradients through recurrence (Fig. 5e: aProp lower)", True,
                        "aProp", ("sProp", "aCtl"), enough=enough))
    for recurrent, harmed, panel in ((False, "aDR", "5d"), (True, "aProp", "5f")):
        depths = tuple(sorted({k[1] for k in stats if k[0] == recurrent and k[2] == harmed}))
        if len(depths) >= 2:
            claims.append(lower(f"The harm persists at every depth (Fig. {panel}: {harmed} below aCtl)", recurrent,
                                harmed, ("aCtl",), depths, enough))
        else:
            claims.append(f"- The harm persists at every depth (Fig. {panel}): not run (needs ≥ 2 depths; this run: "
                          f"{', '.join(map(str, depths)) or 'none'}).")
    return "\n".join(lines + claims)
