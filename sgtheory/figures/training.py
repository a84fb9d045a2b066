"""Training curves of RNNs on the delayed XOR task without flossing (Engelken & Abbott, Fig. 2 baseline).

Panels: A test accuracy vs epoch (median over realizations, thin lines per realization, one colour
per delay d); B |dL/dh0| vs epoch (log axis); C final accuracy (mean over the last 100 epochs,
decision D10) vs d with the paper's no-flossing values.
"""

from __future__ import annotations

import pandas as pd

from sgtheory.figures.style import DARK2, REFERENCE_GREY, new_figure, panel_letter, verdict

# Mean final test accuracy (%) without flossing, binary RNN, read off Engelken & Abbott's Fig. 2B
# (digitized; flossing spec §8.2).
PAPER_FINAL_ACCURACY_NO_FLOSS = {10: 100.0, 14: 99.79, 18: 52.66, 22: 52.79, 26: 52.83}
FINAL_WINDOW = 100  # epochs averaged for the final accuracy (decision D10)


def final_accuracy(table: pd.DataFrame, window: int = FINAL_WINDOW) -> pd.DataFrame:
    """Per run: mean accuracy (%) over the recorded epochs in the last ``window`` epochs."""
    last = table.groupby("run_id")["epoch"].transform("max")
    late = table[table["epoch"] > last - window]
    keys = ["run_id", "model", "task", "delay", "seed"]
    return late.groupby(keys, as_index=False)["accuracy"].mean().assign(accuracy=lambda d: 100 * d["accuracy"])


def _curves(ax, table: pd.DataFrame, measure: str, scale: float = 1.0) -> None:
    for colour, (delay, group) in zip(DARK2, table.groupby("delay"), strict=False):
        wide = group.pivot_table(index="epoch", columns="seed", values=measure) * scale
        ax.plot(wide.index, wide.to_numpy(), color=colour, lw=0.5, alpha=0.25)
        ax.plot(wide.index, wide.median(axis=1), color=colour, lw=1.8, label=f"d = {delay}")


def training_curves(table: pd.DataFrame):
    """Figure with panels A-C from a ``train`` table (one or more delays, any number of seeds)."""
    fig, (acc, grad, final) = new_figure(7.2, 2.3, ncols=3)
    _curves(acc, table, "accuracy", 100)
    acc.axhline(50, ls=":", color=REFERENCE_GREY, lw=1)
    acc.set(xlabel="training epoch", ylabel="test accuracy (%)", ylim=(40, 102))
    acc.legend(frameon=False, loc="center right")

    _curves(grad, table, "grad_h0_norm")
    grad.set(xlabel="training epoch", ylabel=r"$|\partial L/\partial h_0|$ (Frobenius)", yscale="log")

    per_run = final_accuracy(table)
    final.scatter(per_run["delay"], per_run["accuracy"], s=8, color=DARK2[0], alpha=0.5, lw=0, label="realization")
    means = per_run.groupby("delay")["accuracy"].mean()
    final.plot(means.index, means.to_numpy(), "o-", color=DARK2[0], lw=1.5, ms=3, label="ours (mean)")
    paper = pd.Series(PAPER_FINAL_ACCURACY_NO_FLOSS)
    final.plot(paper.index, paper.to_numpy(), "s--", color=REFERENCE_GREY, lw=1, ms=3, label="paper, no flossing")
    final.axhline(50, ls=":", color=REFERENCE_GREY, lw=1)
    final.set(xlabel="delay d (steps)", ylabel=f"final accuracy (%, last {FINAL_WINDOW} epochs)", ylim=(40, 102))
    final.legend(frameon=False, loc="upper right")

    model = ", ".join(sorted(table["model"].unique()))
    fig.suptitle(f"{model} RNN, delayed XOR, no flossing (N = {table['N'].iloc[0]}, "
                 f"{table['seed'].nunique()} realizations)", fontsize=9)
    for ax, letter in zip((acc, grad, final), "ABC", strict=True):
        panel_letter(ax, letter)
    return fig


MATCH_TOLERANCE = 5.0  # percentage points between our mean final accuracy and the paper's


def training_report(table: pd.DataFrame) -> str:
    """Markdown: final accuracy per delay next to the paper's no-flossing values, and the baseline claims."""
    per_run = final_accuracy(table)
    stats = per_run.groupby("delay")["accuracy"].agg(["mean", "std", "count"])
    lines = ["| d | paper, no flossing (%) | ours (%, mean ± s.d.) | realizations | "
             f"within {MATCH_TOLERANCE:g} points of the paper |", "|---|---|---|---|---|"]
    for delay, row in stats.iterrows():
        paper = PAPER_FINAL_ACCURACY_NO_FLOSS.get(delay)
        match = "—" if paper is None else ("yes" if abs(row["mean"] - paper) <= MATCH_TOLERANCE else "**no**")
        lines.append(f"| {delay} | {'—' if paper is None else f'{paper:.2f}'} | "
                     f"{row['mean']:.2f} ± {0 if pd.isna(row['std']) else row['std']:.2f} | {int(row['count'])} | "
                     f"{match} |")
    shortest, longest = stats.index.min(), stats.index.max()
    claims = [
        (f"the shortest delay (d = {shortest}) is learned: final accuracy ≥ 95 %", stats.loc[shortest, "mean"] >= 95),
        (f"without flossing the longest delay (d = {longest}) stays near chance: final accuracy ≤ 55 %",
         longest >= 18 and stats.loc[longest, "mean"] <= 55),
    ]
    lines += [""] + [f"- {text}: {verdict(ok)}" for text, ok in claims]
    return "\n".join(lines)
