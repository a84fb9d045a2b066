"""Figure R2 of surrogate gradient flossing (Engelken & Abbott; flossing spec §8.2): A — accuracy vs epochs at one
long delay with and without flossing; B — final accuracy vs d; C — |dL/dh0| vs epochs; D — |dL/dh0| averaged over
training vs d (from a ``train`` table).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sgtheory.figures.flossing import (
    MAJORITY,
    PAPER_R2A,
    PAPER_R2B,
    R2_DELAY,
    SUCCESS,
    _is_binary,
    _thin_and_mean,
    gradient_average,
)
from sgtheory.figures.style import TAB10_BLUE, TAB10_ORANGE, new_figure, panel_letter, verdict
from sgtheory.figures.training import final_accuracy

SCHEDULE_KEYS = ("nle", "floss_lr", "floss_pre", "floss_every", "floss_steps", "floss_phases", "floss_tol")
CONDITION_COLOURS = (TAB10_ORANGE, "#2ca02c", "#d62728", "#9467bd")


def with_conditions(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``condition``: "none", or the flossing schedule plus the schedule settings that vary between the
    flossed runs of the table (e.g. "adaptive, nle=16")."""
    flossed = table[table["floss"] != "none"]
    varying = [k for k in SCHEDULE_KEYS if k in flossed and flossed[k].nunique() > 1]

    def label(row) -> str:
        if row["floss"] == "none":
            return "none"
        return ", ".join([row["floss"]] + [f"{k}={row[k]:g}" for k in varying])

    return table.assign(condition=table.apply(label, axis=1))


def _condition_style(condition: str, others: list[str]):
    if condition == "none":
        return TAB10_BLUE, "no flossing"
    return CONDITION_COLOURS[others.index(condition) % len(CONDITION_COLOURS)], f"{condition} flossing"


def _conditions_order(table: pd.DataFrame) -> list[str]:
    return sorted(table["condition"].unique(), key=lambda c: (c != "none", c))


def r2_delay(table: pd.DataFrame) -> int:
    """The delay of panels A and C and of the claims: the paper's d = 18 for the binary network; otherwise the
    shortest delay at which most unflossed runs fail (chosen from the baseline alone, so the flossing claims there
    can fail), or the longest delay when the baseline learns them all."""
    delays = sorted(table["delay"].unique())
    if _is_binary(table) and R2_DELAY in delays:
        return R2_DELAY
    baseline = final_accuracy(table[table["floss"] == "none"])
    rate = (baseline["accuracy"] >= SUCCESS).groupby(baseline["delay"]).mean()
    failing = [d for d in delays if rate.get(d, 1.0) < MAJORITY]
    return int(min(failing) if failing else max(delays))


def r2_figure(table: pd.DataFrame):
    table = with_conditions(table)
    order = [c for c in _conditions_order(table) if c != "none"]
    fig, axes = new_figure(6.0, 4.2, ncols=2, nrows=2)
    acc, final, grad, grad_d = axes
    delay = r2_delay(table)
    at_d = table[table["delay"] == delay]
    binary = _is_binary(table)
    for condition, group in at_d.groupby("condition"):
        colour, label = _condition_style(condition, order)
        floss = group["floss"].iloc[0]
        _thin_and_mean(acc, group.pivot_table(index="epoch", columns="seed", values="accuracy") * 100, colour, label,
                       "median")
        _thin_and_mean(grad, group.pivot_table(index="epoch", columns="seed", values="grad_h0_norm"), colour, label,
                       "median")
        if binary and floss in PAPER_R2A and table["epochs"].iloc[0] == 3001:
            paper = pd.Series(PAPER_R2A[floss])
            acc.plot(paper.index, paper.to_numpy(), "s", color=colour, mfc="white", ms=3)
    acc.axhline(50, ls=":", color="black", lw=1)
    acc.set(xlabel="training epoch", ylabel="test accuracy (%)", title=f"d = {delay}", ylim=(40, 102))
    acc.legend(frameon=False, fontsize=6)
    grad.set(xlabel="training epoch", ylabel=r"$|\partial L/\partial h_0|$", yscale="log", title=f"d = {delay}")

    per_run = final_accuracy(table).merge(table[["run_id", "condition"]].drop_duplicates(), on="run_id")
    grads = gradient_average(table)
    for condition in _conditions_order(table):
        colour, label = _condition_style(condition, order)
        floss = "none" if condition == "none" else "adaptive"
        runs = per_run[per_run["condition"] == condition]
        final.scatter(runs["delay"], runs["accuracy"], s=6, color=colour, alpha=0.4, lw=0)
        means = runs.groupby("delay")["accuracy"].mean()
        final.plot(means.index, means.to_numpy(), "o-", color=colour, ms=3, lw=1.5, label=label)
        paper_key = "none" if floss == "none" else "adaptive"
        if binary:
            paper = pd.Series(PAPER_R2B[paper_key])
            final.plot(paper.index, paper.to_numpy(), "s--", color=colour, mfc="white", ms=3, lw=0.8)
        g = grads[grads["condition"] == condition]
        grad_d.scatter(g["delay"], g["mean"], s=6, color=colour, alpha=0.4, lw=0)
        geo = g.groupby("delay")["geomean"].apply(lambda x: float(np.exp(np.log(x).mean())))
        grad_d.plot(geo.index, geo.to_numpy(), "o-", color=colour, ms=3, lw=1.5, label=label)
    final.axhline(50, ls=":", color="black", lw=1)
    final.set(xlabel="delay d (steps)", ylabel="final accuracy (%)", ylim=(40, 102))
    if binary:
        final.plot([], [], "s--", color="grey", mfc="white", ms=3, lw=0.8, label="paper")
    final.legend(frameon=False, fontsize=6)
    grad_d.set(xlabel="delay d (steps)", ylabel=r"$|\partial L/\partial h_0|$ over training", yscale="log")
    model = ", ".join(sorted(table["model"].unique()))
    slope = f"slope {table['slope'].iloc[0]:g}, " if model != "tanh" else ""
    fig.suptitle(f"{model} RNN, delayed {', '.join(sorted(table['task'].unique()))}, N = {table['N'].iloc[0]}, "
                 f"{slope}gain {table['gain'].iloc[0]:.3g}, {table['seed'].nunique()} realizations", fontsize=8)
    for ax, letter in zip((acc, final, grad, grad_d), "ABCD", strict=True):
        panel_letter(ax, letter)
    return fig


def r2_report(table: pd.DataFrame) -> str:
    table = with_conditions(table)
    per_run = final_accuracy(table).merge(table[["run_id", "condition"]].drop_duplicates(), on="run_id")
    stats = per_run.groupby(["condition", "delay"])["accuracy"].agg(["mean", "count"])
    success = per_run.assign(ok=per_run["accuracy"] >= SUCCESS).groupby(["condition", "delay"])["ok"].mean()
    grads = gradient_average(table).groupby(["condition", "delay"])["geomean"].apply(
        lambda x: float(np.exp(np.log(x).mean())))
    binary = _is_binary(table)
    conditions = _conditions_order(table)
    lines = ["Mean final accuracy (last 100 epochs, D10), success = final accuracy ≥ 90 % (D11), and the "
             "geometric mean over training of |dL/dh0|:", "",
             "| d | flossing | paper (%) | ours (%) | success | geo-mean abs(dL/dh0) |", "|---|---|---|---|---|---|"]
    for delay in sorted(per_run["delay"].unique()):
        for c in conditions:
            if (c, delay) not in stats.index:
                continue
            paper = PAPER_R2B["none" if c == "none" else "adaptive"].get(delay) if binary else None
            s = stats.loc[(c, delay)]
            lines.append(f"| {delay} | {c} | {'—' if paper is None else f'{paper:.2f}'} | {s['mean']:.2f} "
                         f"(n={int(s['count'])}) | {success[(c, delay)]:.0%} | {grads[(c, delay)]:.2e} |")
    if "damage" in table and table["damage"].notna().any():
        first, last = table["epoch"].min(), table["epoch"].max()
        damage = table[table["epoch"].isin([first, last])].groupby(["delay", "condition", "epoch"])["damage"].mean()
        lines += ["", f"Damage spreading of the forward network (mean Hamming distance in units of N = "
                  f"{table['N'].iloc[0]}, 20 steps after one flipped unit), at the first epoch (after any "
                  "pre-flossing) and the last:", "", f"| d | flossing | epoch {first} | epoch {last} |",
                  "|---|---|---|---|"]
        lines += [f"| {d} | {c} | {damage.get((d, c, first), np.nan):.1f} | {damage.get((d, c, last), np.nan):.1f} |"
                  for d in sorted(table["delay"].unique()) for c in conditions]
    flossed = [c for c in conditions if c != "none"]
    long_delay = r2_delay(table)
    claims = []
    for c in flossed:
        if "none" not in conditions or (c, long_delay) not in stats.index or ("none", long_delay) not in stats.index:
            continue
        prefix = f"{c} flossing" if len(flossed) > 1 else "flossing"
        gain = stats.loc[(c, long_delay), "mean"] - stats.loc[("none", long_delay), "mean"]
        claims.append((f"{prefix} lifts the final accuracy at d = {long_delay} far above no flossing (by ≥ 20 points; "
                       f"ours: {gain:+.1f})", gain >= 20))
        ratio = grads[(c, long_delay)] / grads[("none", long_delay)]
        claims.append((f"{prefix} keeps |dL/dh0| at d = {long_delay} orders of magnitude larger (≥ 100×; ours: "
                       f"{ratio:.3g}×)", ratio >= 100))
        worst = min(stats.loc[(c, d), "mean"] - stats.loc[("none", d), "mean"]
                    for d in per_run["delay"].unique() if (c, d) in stats.index and ("none", d) in stats.index)
        claims.append((f"{prefix} ≥ no flossing at every delay (within 2 points; ours: worst {worst:+.1f})",
                       worst >= -2))
    if "none" in conditions:
        shortest = per_run["delay"].min()
        claims.append((f"without flossing the shortest delay (d = {shortest}) is learned (≥ 95 %)",
                       stats.loc[("none", shortest), "mean"] >= 95))
        if binary and ("none", 14) in stats.index:
            claims.append(("the unflossed network learns d = 14 (≥ 95 %; paper 99.79 %)",
                           stats.loc[("none", 14), "mean"] >= 95))
    lines += [""] + [f"- {text}: {verdict(ok)}" for text, ok in claims]
    return "\n".join(lines)
