"""Training curves of RNNs on the delayed XOR task without flossing (Engelken & Abbott, Fig. 2 baseline).

Panels: A test accuracy vs epoch (median over realizations, thin lines per realization, one colour
per delay d); B |dL/dh0| vs epoch (log axis); C final accuracy (mean over the last 100 epochs,
decision D10) vs d with the paper's no-flossing values (black diamonds).
"""

from __future__ import annotations

import pandas as pd

from sgtheory.figures.flossing import PAPER_EPOCHS, at_scale
from sgtheory.figures.style import (
    PALETTE,
    REFERENCE_GREY,
    claim,
    new_figure,
    ordered_colours,
    panel_letter,
    paper_markers,
)

# Mean final test accuracy (%) without flossing, binary RNN, read off Engelken & Abbott's Fig. 2B
# (digitized; flossing spec §8.2).
PAPER_FINAL_ACCURACY_NO_FLOSS = {10: 100.0, 14: 99.79, 18: 52.66, 22: 52.79, 26: 52.83}
FINAL_WINDOW = 100  # epochs averaged for the final accuracy (decision D10)
LEARNED = 90.0  # final accuracy (%) counted as learned: the success threshold of decision D11


def final_accuracy(table: pd.DataFrame, window: int = FINAL_WINDOW) -> pd.DataFrame:
    """Per run: mean accuracy (%) over the recorded epochs in the last ``window`` epochs."""
    last = table.groupby("run_id")["epoch"].transform("max")
    late = table[table["epoch"] > last - window]
    keys = ["run_id", "model", "task", "delay", "seed"]
    return late.groupby(keys, as_index=False)["accuracy"].mean().assign(accuracy=lambda d: 100 * d["accuracy"])


def _curves(ax, table: pd.DataFrame, measure: str, scale: float = 1.0) -> None:
    colours = ordered_colours(table["delay"].unique())
    for delay, group in table.groupby("delay"):
        wide = group.pivot_table(index="epoch", columns="seed", values=measure) * scale
        ax.plot(wide.index, wide.to_numpy(), color=colours[delay], lw=0.5, alpha=0.25)
        ax.plot(wide.index, wide.median(axis=1), color=colours[delay], lw=1.8, label=f"d = {delay}")


def training_curves(table: pd.DataFrame):
    """Figure with panels A-C from a ``train`` table (one or more delays, any number of seeds)."""
    fig, (acc, grad, final) = new_figure(7.6, 2.5, ncols=3)
    _curves(acc, table, "accuracy", 100)
    acc.axhline(50, ls=":", color=REFERENCE_GREY, lw=1)
    acc.set(xlabel="training epoch", ylabel="test accuracy (%, median and realizations)", ylim=(40, 102))
    acc.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="delay", handlelength=1.2)

    _curves(grad, table, "grad_h0_norm")
    grad.set(xlabel="training epoch", ylabel=r"$|\partial L/\partial h_0|$ (Frobenius)", yscale="log")

    per_run = final_accuracy(table)
    colour = PALETTE["no flossing"]
    final.scatter(per_run["delay"], per_run["accuracy"], s=8, color=colour, alpha=0.5, lw=0, label="realization")
    means = per_run.groupby("delay")["accuracy"].mean()
    final.plot(means.index, means.to_numpy(), "o-", color=colour, lw=1.5, ms=3, label="ours (mean)")
    paper = pd.Series(PAPER_FINAL_ACCURACY_NO_FLOSS)
    paper_markers(final, paper.index, paper.to_numpy(), label="paper", line=True)
    final.axhline(50, ls=":", color=REFERENCE_GREY, lw=1)
    final.set(xlabel="delay d (steps)", ylabel=f"final accuracy (%, last {FINAL_WINDOW} epochs)", ylim=(40, 102),
              xticks=sorted(set(means.index) | set(paper.index)))
    final.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    model = ", ".join(sorted(table["model"].unique()))
    fig.suptitle(f"{model} RNN, delayed XOR, no flossing (N = {table['N'].iloc[0]}, "
                 f"{table['seed'].nunique()} realizations, {table['epochs'].max()} epochs)", fontsize=9)
    for ax, letter in zip((acc, grad, final), "ABC", strict=True):
        panel_letter(ax, letter)
    return fig


MATCH_TOLERANCE = 5.0  # percentage points between our mean and the paper's, shown in the table (not a claim)


def delay_claims(means: pd.Series, paper: dict, epochs: int, condition: str = "without flossing") -> list[str]:
    """One claim per delay with a paper value: the paper's outcome there (learned: ≥ LEARNED %, or not, D11) is
    ours. With fewer epochs than the paper's a miss of a learned delay, and a pass of an unlearned one, are
    inconclusive (``needs the paper profile``)."""
    short = epochs < PAPER_EPOCHS
    lines = []
    for delay, value in sorted(paper.items()):
        if delay not in means.index:
            continue
        learned = value >= LEARNED
        ok = (means[delay] >= LEARNED) == learned
        why = f"; {epochs} epochs < the paper's {PAPER_EPOCHS}" if short and ok != learned else ""
        lines.append(claim(f"{condition} d = {delay} is {'learned' if learned else 'not learned'}, as in the paper "
                           f"({value:.2f} %)", f"{'≥' if learned else '<'} {LEARNED:g} %",
                           f"the success threshold of D11{why}", f"{means[delay]:.2f} %",
                           at_scale(ok, short, small_run_passes=not learned)))
    return lines


def training_report(table: pd.DataFrame) -> str:
    """Markdown: final accuracy per delay next to the paper's no-flossing values, and one claim per delay the paper
    has."""
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
    epochs = int(table["epochs"].max()) if "epochs" in table else int(table["epoch"].max())
    claims = delay_claims(stats["mean"], PAPER_FINAL_ACCURACY_NO_FLOSS, epochs)
    missing = sorted(set(PAPER_FINAL_ACCURACY_NO_FLOSS) - set(stats.index))
    if missing:
        claims.append(f"- Not run here: d = {', '.join(map(str, missing))} (the paper's grid; "
                      f"{'needs the paper profile' if epochs < PAPER_EPOCHS else 'not in this table'}).")
    lines += [""] + (claims or ["- No delay of this table has a paper value."])
    return "\n".join(lines)
