"""Sensitivity to the surrogate's scale (Zenke & Vogels 2021, Fig. 5, caption read; from ``classify`` tables).
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from sgtheory.figures.robustness import (
    BEST_CURVES,
    CELLS_LABEL,
    CONDITION_COLOURS,
    ORANGE,
    PAPER_ADR,
    SCALE_GAP,
    _bars,
    _cells,
    _chance,
    _fmt,
    _not_run,
    _runs,
    _tasks,
    best_of,
)
from sgtheory.figures.style import REFERENCE_GREY, new_figure, panel_letter, verdict
from sgtheory.functional.surrogate import make_surrogate


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
