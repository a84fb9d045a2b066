"""Success rate and epochs to success vs delay with and without flossing (gradient flossing, Engelken 2023;
flossing spec §8.3; from ``train`` tables of the copy and XOR tasks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sgtheory.figures.flossing import (
    MAJORITY,
    PAPER_DELAYS,
    PAPER_EPOCHS,
    SUCCESS,
    at_scale,
    binomial_margin,
    format_log_mean,
    gradient_average,
    log_mean,
    noise_margin,
    underflow_note,
)
from sgtheory.figures.flossing_r2 import SCHEDULE_NAMES, never_worse_claim
from sgtheory.figures.style import PALETTE, claim, new_figure, panel_letter
from sgtheory.figures.training import FINAL_WINDOW, final_accuracy

GF_CONDITIONS = ("none", "pre", "pre+inter")
GF_COLOURS = {f: PALETTE[SCHEDULE_NAMES[f]] for f in GF_CONDITIONS}


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
    """Per run: final accuracy (%), floss, epochs to success, success (bool), the geometric mean of |dL/dh0| and the
    numbers of its recorded values and of those that underflowed to 0 (:func:`gradient_average`)."""
    grads = gradient_average(table.assign(condition=table["floss"]))[["run_id", "geomean", "recorded", "underflow"]]
    per_run = (final_accuracy(table)
               .merge(table[["run_id", "floss"]].drop_duplicates(), on="run_id")
               .merge(epochs_to_success(table), on="run_id")
               .merge(grads, on="run_id"))
    return per_run.assign(success=per_run["accuracy"] >= SUCCESS)


def success_stats(per_run: pd.DataFrame) -> pd.DataFrame:
    """Per (task, delay, floss) of :func:`per_run_success`: mean final accuracy (%), success rate, median epochs to
    success over the successful runs, geometric mean over runs and epochs of |dL/dh0|, and the number of runs."""
    return per_run.groupby(["task", "delay", "floss"]).agg(
        accuracy=("accuracy", "mean"), success=("success", "mean"),
        epochs_to_success=("epochs_to_success", "median"),
        grad_h0=("geomean", log_mean), underflow=("underflow", "sum"), runs=("run_id", "count"))


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
                         label=SCHEDULE_NAMES[floss])
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
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels) if len(tasks) > 1 else 1, frameon=False,
               fontsize=7)
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
    per_run = per_run_success(table)
    stats = success_stats(per_run)
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
                     f"{row['success']:.0%} | {speed} | {format_log_mean(row['grad_h0'], row['underflow'])} |")
    lines += underflow_note(per_run.rename(columns={"floss": "flossing"}), ["task", "delay", "flossing"])
    epochs = int(table["epochs"].max())
    claims = []
    present = set(stats.index.get_level_values("floss"))
    for task in sorted(stats.index.get_level_values("task").unique()):
        if "none" not in present:
            break
        delays = sorted(stats.loc[task].index.get_level_values("delay").unique())
        short = epochs < PAPER_EPOCHS or len(delays) < len(PAPER_DELAYS)
        scale = (f"; {epochs} epochs, {len(delays)} delays < the paper's {PAPER_EPOCHS} epochs, "
                 f"{len(PAPER_DELAYS)} delays")
        runs = per_run[per_run["task"] == task]
        reach = {f: reached_delay(stats, task, f) for f in GF_CONDITIONS if f in present}
        text = ", ".join(f"{f}: {'—' if d is None else d}" for f, d in reach.items())
        for floss in [f for f in ("pre", "pre+inter") if f in present]:
            claims.append(never_worse_claim(f"{task}: {floss} flossing", runs, floss, "none",
                                            epochs < PAPER_EPOCHS, column="floss"))
        if "pre" in present:
            gaps = []
            for d in delays:
                pre, none = stats.loc[(task, d, "pre")], stats.loc[(task, d, "none")]
                margin = binomial_margin(pre["success"], int(pre["runs"]), none["success"], int(none["runs"]))
                gaps.append((d, pre["success"] - none["success"], margin))
            raised = [d for d, gap, margin in gaps if gap > margin]
            lowered = [d for d, gap, margin in gaps if gap < -margin]
            ok = bool(raised) and not lowered
            best = max(gaps, key=lambda g: g[1] - g[2])
            claims.append(claim(f"{task}: flossing before training raises the success rate",
                                "pre - none > 2 binomial s.e. at one delay at least, and < -2 s.e. at none",
                                "the binomial s.e. of the difference of two success rates" + (scale if short and not ok
                                                                                             else ""),
                                f"best d = {best[0]}: {best[1]:+.0%} (margin {best[2]:.0%})"
                                + (f"; lower at d = {', '.join(map(str, lowered))}" if lowered else ""),
                                at_scale(ok, short)))
            both = [d for d in delays if stats.loc[(task, d, "pre"), "success"] > 0
                    and stats.loc[(task, d, "none"), "success"] > 0]
            if both:
                d = max(both)
                a = runs[(runs["delay"] == d) & (runs["floss"] == "pre")]["epochs_to_success"].dropna()
                b = runs[(runs["delay"] == d) & (runs["floss"] == "none")]["epochs_to_success"].dropna()
                every = float(np.median(np.diff(np.sort(table["epoch"].unique()))))
                margin = max(every, noise_margin(a, b))
                pre, none = a.median(), b.median()
                ok = bool(none - pre > margin)
                claims.append(claim(
                    f"{task}: flossing before training speeds convergence (median epochs to success at d = {d}, the "
                    "longest delay at which both succeed at all)", f"none - pre > {margin:.0f} epochs",
                    "the larger of the recording interval and 2 s.e. of the difference over successful runs"
                    + (scale if short and not ok else ""), f"pre {pre:.0f}, none {none:.0f}", at_scale(ok, short)))
        if "pre+inter" in present:
            ok = _longer(reach["pre+inter"], reach["none"])
            claims.append(claim(f"{task}: pre- and inter-flossing reaches a longer delay than none",
                                f"a longer delay with ≥ {MAJORITY:.0%} successful runs",
                                "our definition of a reached delay (majority of runs at D11's threshold)"
                                + (scale if short and not ok else ""), f"longest delay reached: {text}",
                                at_scale(ok, short)))
            if "pre" in present:
                ok = _longer(reach["pre+inter"], reach["pre"])
                claims.append(claim(f"{task}: flossing during training extends the bridgeable delay further "
                                    "(pre- and inter-flossing reaches a longer delay than pre-flossing)",
                                    f"a longer delay with ≥ {MAJORITY:.0%} successful runs",
                                    "our definition of a reached delay" + (scale if short and not ok else ""),
                                    f"longest delay reached: {text}", at_scale(ok, short)))
    lines += [""] + [c for c in claims if c]
    return "\n".join(lines)
