"""Success rate and epochs to success vs delay with and without flossing (gradient flossing, Engelken 2023;
flossing spec §8.3; from ``train`` tables of the copy and XOR tasks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sgtheory.figures.flossing import (
    MAJORITY,
    SUCCESS,
    gradient_average,
)
from sgtheory.figures.style import TAB10_BLUE, TAB10_ORANGE, new_figure, panel_letter, verdict
from sgtheory.figures.training import FINAL_WINDOW, final_accuracy

GF_CONDITIONS = ("none", "pre", "pre+inter")
GF_COLOURS = {"none": TAB10_BLUE, "pre": TAB10_ORANGE, "pre+inter": "#2ca02c"}


def epochs_to_success(table: pd.DataFrame, window: int = FINAL_WINDOW) -> pd.DataFrame:
    """Per run: the first recorded epoch e ≥ ``window`` at which the mean accuracy over the recorded epochs in
    (e - window, e] reaches the success threshold (D11); NaN for a run that never gets there."""
    rows = []
    for run_id, g in table.sort_values("epoch").groupby("run_id"):
        epochs, accuracy = g["epoch"].to_numpy(), 100 * g["accuracy"].to_numpy()
        first = np.nan
        for e in epochs[epochs >= window]:
            if accuracy[(epochs > e - window) & (epochs <= e)].mean() >= SUCCESS:
                first = float(e)
                break
        rows.append({"run_id": run_id, "epochs_to_success": first})
    return pd.DataFrame(rows)


def per_run_success(table: pd.DataFrame) -> pd.DataFrame:
    """Per run: final accuracy (%), floss, epochs to success, success (bool) and the geometric mean of |dL/dh0|."""
    per_run = (final_accuracy(table)
               .merge(table[["run_id", "floss"]].drop_duplicates(), on="run_id")
               .merge(epochs_to_success(table), on="run_id")
               .merge(gradient_average(table.assign(condition=table["floss"]))[["run_id", "geomean"]], on="run_id"))
    return per_run.assign(success=per_run["accuracy"] >= SUCCESS)


def success_stats(per_run: pd.DataFrame) -> pd.DataFrame:
    """Per (task, delay, floss) of :func:`per_run_success`: mean final accuracy (%), success rate, median epochs to
    success over the successful runs, geometric mean over runs and epochs of |dL/dh0|, and the number of runs."""
    return per_run.groupby(["task", "delay", "floss"]).agg(
        accuracy=("accuracy", "mean"), success=("success", "mean"),
        epochs_to_success=("epochs_to_success", "median"),
        grad_h0=("geomean", lambda x: float(np.exp(np.log(x).mean()))), runs=("run_id", "count"))


def reached_delay(stats: pd.DataFrame, task: str, floss: str) -> int | None:
    """The longest delay at which most realizations of a condition succeed (None: no delay)."""
    rate = stats.xs((task, floss), level=("task", "floss"))["success"]
    reached = rate[rate >= MAJORITY]
    return None if reached.empty else int(reached.index.max())


def _longer(reached: int | None, other: int | None) -> bool:
    """A reached delay is longer than another (None: no delay reached)."""
    return reached is not None and (other is None or reached > other)


def gf_success_figure(table: pd.DataFrame):
    """Success rate (top) and epochs to success (bottom) vs delay, one column per task."""
    tasks = sorted(table["task"].unique(), key=lambda t: (t != "copy", t))
    fig, axes = new_figure(3.2 * len(tasks), 4.2 if len(tasks) > 1 else 4.8, ncols=len(tasks), nrows=2)
    per_run = per_run_success(table)
    stats = success_stats(per_run)
    for column, task in enumerate(tasks):
        rate_ax, speed_ax = axes[column], axes[len(tasks) + column]
        for floss, marker, size in zip([f for f in GF_CONDITIONS if f in set(table["floss"])], "os^", (6, 4, 3),
                                       strict=False):
            colour = GF_COLOURS[floss]
            s = stats.xs((task, floss), level=("task", "floss"))
            rate_ax.plot(s.index, 100 * s["success"], marker + "-", color=colour, ms=size, lw=1.2,
                         label="no flossing" if floss == "none" else f"{floss} flossing")
            runs = per_run[(per_run["task"] == task) & (per_run["floss"] == floss)]
            speed_ax.scatter(runs["delay"], runs["epochs_to_success"], s=8, color=colour, alpha=0.4, lw=0)
            speed_ax.plot(s.index, s["epochs_to_success"], marker + "-", color=colour, ms=size, lw=1.2)
        delays = sorted(table[table["task"] == task]["delay"].unique())
        rate_ax.set(title=f"delayed {task}", xlabel="delay d (steps)", ylabel="success rate (%)", ylim=(-5, 105),
                    xticks=delays)
        speed_ax.set(xlabel="delay d (steps)", ylabel="epochs to success", ylim=(0, table["epochs"].max()),
                     xticks=delays)
        panel_letter(rate_ax, "AB"[column])
        panel_letter(speed_ax, "CD"[column])
    axes[0].legend(frameon=False, fontsize=6, loc="lower left")
    model = {"tanh": "tanh RNN", "binary": "binary RNN", "lif": "LIF RNN"}[table["model"].iloc[0]]
    if model == "LIF RNN":
        first = table.iloc[0]
        model += f" (τ_mem {first['tau_mem']:g} ms, τ_syn {first['tau_syn']:g} ms, slope {first['slope']:g})"
    settings = (f"N = {table['N'].iloc[0]}, gain {table['gain'].iloc[0]:g}, k = {table['nle'].iloc[0]}, "
                f"T = {table['T'].iloc[0]}, {table['epochs'].iloc[0]} epochs, {table['seed'].nunique()} realizations")
    criteria = f"success: final accuracy ≥ {SUCCESS:g} %; C, D: median over successful runs (dots: runs)"
    parts = [f"{model}, {settings}", criteria] if len(tasks) > 1 else [model, settings, *criteria.split("; ")]
    fig.suptitle("\n".join(parts), fontsize=8 if len(tasks) > 1 else 7)
    return fig


def gf_success_report(table: pd.DataFrame) -> str:
    stats = success_stats(per_run_success(table))
    lines = [f"Final accuracy = mean over the last {FINAL_WINDOW} epochs (D10); success = final accuracy ≥ "
             f"{SUCCESS:g} % (D11); epochs to success = first epoch whose trailing {FINAL_WINDOW}-epoch mean accuracy "
             f"≥ {SUCCESS:g} % (median over successful runs); a delay is reached when ≥ {MAJORITY:.0%} of the "
             "runs succeed. The paper's numbers for these panels are not available (spec §8.3); the claims are the "
             "abstract's.", "",
             "| task | d | flossing | final accuracy (%) | success | epochs to success | geo-mean abs(dL/dh0) |",
             "|---|---|---|---|---|---|---|"]
    for (task, delay, floss), row in stats.iterrows():
        speed = "—" if np.isnan(row["epochs_to_success"]) else f"{row['epochs_to_success']:.0f}"
        lines.append(f"| {task} | {delay} | {floss} | {row['accuracy']:.1f} (n={int(row['runs'])}) | "
                     f"{row['success']:.0%} | {speed} | {row['grad_h0']:.2e} |")
    claims = []
    present = set(stats.index.get_level_values("floss"))
    for task in sorted(stats.index.get_level_values("task").unique()):
        if "none" not in present:
            break
        delays = sorted(stats.loc[task].index.get_level_values("delay").unique())
        reach = {f: reached_delay(stats, task, f) for f in GF_CONDITIONS if f in present}
        text = ", ".join(f"{f}: {'—' if d is None else d}" for f, d in reach.items())
        for floss in [f for f in ("pre", "pre+inter") if f in present]:
            diff = [stats.loc[(task, d, floss), "accuracy"] - stats.loc[(task, d, "none"), "accuracy"] for d in delays]
            claims.append((f"{task}: {floss} flossing ≥ no flossing at every delay (within 2 points; ours: worst "
                           f"{min(diff):+.1f})", min(diff) >= -2))
        if "pre" in present:
            rate = [(stats.loc[(task, d, "pre"), "success"], stats.loc[(task, d, "none"), "success"]) for d in delays]
            raised = all(p >= n for p, n in rate) and any(p > n for p, n in rate)
            claims.append((f"{task}: flossing before training raises the success rate on long delays (pre ≥ none at "
                           "every delay, > at one at least)", raised))
            both = [d for d in delays if stats.loc[(task, d, "pre"), "success"] > 0
                    and stats.loc[(task, d, "none"), "success"] > 0]
            if both:
                d = max(both)
                pre, none = stats.loc[(task, d, "pre"), "epochs_to_success"], stats.loc[(task, d, "none"),
                                                                                         "epochs_to_success"]
                claims.append((f"{task}: flossing before training speeds convergence (median epochs to success at "
                               f"d = {d}, the longest delay at which both succeed at all: pre {pre:.0f} ≤ none "
                               f"{none:.0f})", pre <= none))
        if "pre+inter" in present:
            claims.append((f"{task}: pre+inter reaches a longer delay than none (longest delay reached: {text})",
                           _longer(reach["pre+inter"], reach["none"])))
            if "pre" in present:
                claims.append((f"{task}: flossing during training extends the bridgeable delay further (pre+inter "
                               "reaches a longer delay than pre)", _longer(reach["pre+inter"], reach["pre"])))
    lines += [""] + [f"- {text}: {verdict(ok)}" for text, ok in claims]
    return "\n".join(lines)
