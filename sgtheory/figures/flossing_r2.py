"""Figure R2 of surrogate gradient flossing (Engelken & Abbott; flossing spec §8.2): A — accuracy vs epochs at one
long delay with and without flossing; B — final accuracy vs d; C — |dL/dh0| vs epochs; D — |dL/dh0| averaged over
training vs d (from a ``train`` table).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sgtheory.figures.flossing import (
    MAJORITY,
    PAPER_DELAYS,
    PAPER_EPOCHS,
    PAPER_FLOSSED_BAND,
    PAPER_GRAD_DECADES,
    PAPER_GRAD_FIRST,
    PAPER_GRAD_RANGE,
    PAPER_R2A,
    PAPER_R2B,
    PAPER_UNFLOSSED_GEOMEAN,
    R2_DELAY,
    SUCCESS,
    _is_binary,
    _thin_and_mean,
    at_scale,
    format_log_mean,
    gradient_average,
    log_mean,
    noise_margin,
    underflow_note,
)
from sgtheory.figures.style import PALETTE, REFERENCE_GREY, claim, new_figure, panel_letter, paper_markers
from sgtheory.figures.training import delay_claims, final_accuracy

SCHEDULE_KEYS = ("nle", "floss_lr", "floss_pre", "floss_every", "floss_steps", "floss_phases", "floss_tol")
SCHEDULE_NAMES = {"none": "no flossing", "pre": "pre-flossing", "pre+inter": "pre- and inter-flossing",
                  "adaptive": "adaptive flossing"}
VARIANT_NAMES = {"floss_lr": "adaptive, other flossing rate", "nle": "adaptive, other k"}


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


def condition_styles(table: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Colour (the shared palette) and legend label per condition of a ``with_conditions`` table. Of the conditions
    of one schedule the reference is the one run at the most delays (then: the most runs); the others are its
    variants, coloured by the setting in which they differ (flossing rate, k, or other settings)."""
    styles = {}
    runs = table.drop_duplicates("run_id")
    for floss, group in runs.groupby("floss"):
        name = SCHEDULE_NAMES.get(floss, f"{floss} flossing")
        size = group.groupby("condition").agg(delays=("delay", "nunique"), runs=("run_id", "count"))
        order = size.sort_values(["delays", "runs"], ascending=False).index.tolist()
        reference = group[group["condition"] == order[0]].iloc[0]
        for n, condition in enumerate(order):
            extra = condition.partition(", ")[2]
            if n == 0:
                styles[condition] = (PALETTE.get(name, PALETTE["adaptive, other settings"]),
                                     name + (f" ({extra})" if extra else ""))
                continue
            row = group[group["condition"] == condition].iloc[0]
            differ = [k for k in SCHEDULE_KEYS if k in row and row[k] != reference[k]]
            key = VARIANT_NAMES.get(differ[0], "adaptive, other settings") if len(differ) == 1 else \
                "adaptive, other settings"
            styles[condition] = (PALETTE[key], f"{floss}, {extra}")
    return styles


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


def _per_delay(ax, values: pd.DataFrame, column: str, conditions, styles, delays, centre) -> None:
    """Per-realization points and a centre line per condition vs delay; with a single delay, the conditions side
    by side at that delay (points: realizations, bar: the centre) instead of a lone point on a line axis."""
    single = len(delays) == 1
    for n, condition in enumerate(conditions):
        colour, label = styles[condition]
        runs = values[values["condition"] == condition]
        if single:
            x = np.full(len(runs), float(n)) + np.linspace(-0.12, 0.12, len(runs))
            ax.scatter(x, runs[column], s=10, color=colour, alpha=0.7, lw=0)
            ax.bar(n, centre(runs[column]), width=0.5, color=colour, alpha=0.35, label=label)
            continue
        ax.scatter(runs["delay"], runs[column], s=6, color=colour, alpha=0.4, lw=0)
        line = runs.groupby("delay")[column].apply(centre)
        ax.plot(line.index, line.to_numpy(), "o-", color=colour, ms=3, lw=1.5, label=label)
    if single:
        ax.set_xticks(range(len(conditions)), [styles[c][1].replace(" (", "\n(") for c in conditions], fontsize=6)
        ax.set_xlim(-0.6, len(conditions) - 0.4)
        ax.set_xlabel(f"one delay only: d = {delays[0]}")
        ax.set_title("points: realizations; bar: " + ("mean" if centre is np.mean else "log-mean"), fontsize=7)
    else:
        ax.set_xticks(delays)
        ax.set_xlabel("delay d (steps)")


def r2_figure(table: pd.DataFrame):
    table = with_conditions(table)
    conditions = _conditions_order(table)
    styles = condition_styles(table)
    fig, axes = new_figure(6.4, 5.0, ncols=2, nrows=2)
    acc, final, grad, grad_d = axes
    delay = r2_delay(table)
    at_d = table[table["delay"] == delay]
    binary = _is_binary(table)
    paper_here = binary and delay == R2_DELAY
    for condition in conditions:
        group = at_d[at_d["condition"] == condition]
        if group.empty:
            continue
        colour, label = styles[condition]
        _thin_and_mean(acc, group.pivot_table(index="epoch", columns="seed", values="accuracy") * 100, colour, label,
                       "median")
        _thin_and_mean(grad, group.pivot_table(index="epoch", columns="seed", values="grad_h0_norm"), colour, label,
                       "median")
    if paper_here:
        for n, floss in enumerate(("adaptive", "none")):
            paper = pd.Series(PAPER_R2A[floss])
            label = "paper (digitized; C: epoch 1, spec §6.3)" if n == 0 else None
            paper_markers(acc, paper.index, paper.to_numpy(), label=label)
            paper_markers(grad, [1], [PAPER_GRAD_FIRST[floss]], label=None)
    acc.axhline(50, ls=":", color=REFERENCE_GREY, lw=1)
    acc.set(xlabel="training epoch", ylabel="test accuracy (%), median", title=f"d = {delay}", ylim=(40, 102))
    grad.set(xlabel="training epoch", ylabel=r"$|\partial L/\partial h_0|$, median", yscale="log",
             title=f"d = {delay}")

    per_run = final_accuracy(table).merge(table[["run_id", "condition"]].drop_duplicates(), on="run_id")
    grads = gradient_average(table)
    delays = sorted(per_run["delay"].unique())
    _per_delay(final, per_run, "accuracy", conditions, styles, delays, np.mean)
    _per_delay(grad_d, grads, "geomean", conditions, styles, delays, log_mean)
    if binary:
        for floss in ("adaptive", "none"):
            paper = pd.Series(PAPER_R2B[floss])
            if len(delays) > 1:
                paper_markers(final, paper.index, paper.to_numpy(), label=None, line=True)
                final.annotate("paper, " + ("flossing" if floss == "adaptive" else "none"),
                               (paper.index[-1], paper.iloc[-1]), xytext=(2, 4),
                               textcoords="offset points", fontsize=6, ha="right")
        if len(delays) > 1:
            final.set_xticks(sorted(set(delays) | set(PAPER_DELAYS)))
            low, high = PAPER_FLOSSED_BAND
            span = [min(min(delays), min(PAPER_DELAYS)), max(max(delays), max(PAPER_DELAYS))]
            grad_d.fill_between(span, low, high, color="black", alpha=0.08, lw=0)
            grad_d.annotate("paper, flossed: 1e-4…1e-2", (span[0], high), xytext=(2, 2), textcoords="offset points",
                            fontsize=6)
            for d, value in PAPER_UNFLOSSED_GEOMEAN.items():
                paper_markers(grad_d, [d], [value], label=None)
                grad_d.annotate("paper, none", (d, value), xytext=(4, -3), textcoords="offset points", fontsize=6)
            grad_d.set_xticks(sorted(set(delays) | set(PAPER_DELAYS)))
        low = min(PAPER_GRAD_RANGE[0], table["grad_h0_norm"][table["grad_h0_norm"] > 0].min())
        high = max(PAPER_GRAD_RANGE[1], table["grad_h0_norm"].max())
        grad.set_ylim(low / 2, high * 2)
        grad_d.set_ylim(low / 2, max(high, 1.0) * 2)
    if binary and len(delays) == 1 and delays[0] in PAPER_R2B["none"]:
        for n, condition in enumerate(conditions):
            key = "none" if condition == "none" else "adaptive"
            paper_markers(final, [n], [PAPER_R2B[key][delays[0]]], label=None, ms=6)
    final.axhline(50, ls=":", color=REFERENCE_GREY, lw=1)
    final.set(ylabel="final accuracy (%)", ylim=(40, 102))
    grad_d.set(ylabel=r"$|\partial L/\partial h_0|$ over training", yscale="log")
    handles, labels = acc.get_legend_handles_labels()
    # one row for up to three entries; two columns for more, whose schedule labels would not fit three to a row
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels) if len(labels) <= 3 else 2,
               frameon=False, fontsize=7)
    model = ", ".join(sorted(table["model"].unique()))
    slope = f"slope {table['slope'].iloc[0]:g}, " if model != "tanh" else ""
    fig.suptitle(f"{model} RNN, delayed {', '.join(sorted(table['task'].unique()))}, N = {table['N'].iloc[0]}, "
                 f"{slope}gain {table['gain'].iloc[0]:.3g}, {table['seed'].nunique()} realizations, "
                 f"{int(table['epochs'].max())} epochs", fontsize=8)
    for ax, letter in zip((acc, final, grad, grad_d), "ABCD", strict=True):
        panel_letter(ax, letter)
    return fig


def never_worse_claim(label: str, per_run: pd.DataFrame, condition: str, reference: str, short: bool,
                      column: str = "condition") -> str:
    """The claim "``condition`` ≥ ``reference`` at every delay": at no delay is its mean final accuracy lower by more
    than 2 s.e. of the difference over realizations."""
    worst, worst_d, worst_margin, ok = np.inf, None, 0.0, True
    for delay in sorted(per_run["delay"].unique()):
        a = per_run[(per_run[column] == condition) & (per_run["delay"] == delay)]["accuracy"]
        b = per_run[(per_run[column] == reference) & (per_run["delay"] == delay)]["accuracy"]
        if a.empty or b.empty:
            continue
        margin = noise_margin(a, b)
        diff = a.mean() - b.mean()
        ok &= bool(diff >= -margin)
        if diff + margin < worst:
            worst, worst_d, worst_margin = diff + margin, delay, margin
            worst_diff = diff
    if worst_d is None:
        return ""
    return claim(f"{label} ≥ no flossing at every delay", "no delay lower by more than 2 s.e.",
                 "2 s.e. of the difference of the mean final accuracies over realizations (seed noise)"
                 + ("; fewer epochs than the paper's" if short and not ok else ""),
                 f"tightest at d = {worst_d}: {worst_diff:+.1f} points, margin {worst_margin:.1f}", at_scale(ok, short))


def r2_report(table: pd.DataFrame) -> str:
    table = with_conditions(table)
    per_run = final_accuracy(table).merge(table[["run_id", "condition"]].drop_duplicates(), on="run_id")
    stats = per_run.groupby(["condition", "delay"])["accuracy"].agg(["mean", "count"])
    success = per_run.assign(ok=per_run["accuracy"] >= SUCCESS).groupby(["condition", "delay"])["ok"].mean()
    grad_runs = gradient_average(table)
    grads = grad_runs.groupby(["condition", "delay"]).agg(geomean=("geomean", log_mean),
                                                          underflow=("underflow", "sum"))
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
            s, grad = stats.loc[(c, delay)], format_log_mean(*grads.loc[(c, delay)])
            lines.append(f"| {delay} | {c} | {'—' if paper is None else f'{paper:.2f}'} | {s['mean']:.2f} "
                         f"(n={int(s['count'])}) | {success[(c, delay)]:.0%} | {grad} |")
    lines += underflow_note(grad_runs, ["delay", "condition"])
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
    epochs = int(table["epochs"].max())
    short = epochs < PAPER_EPOCHS
    scale = f"; {epochs} epochs < the paper's {PAPER_EPOCHS}" if short else ""
    claims = []
    for c in flossed:
        if "none" not in conditions or (c, long_delay) not in stats.index or ("none", long_delay) not in stats.index:
            continue
        prefix = f"{c} flossing" if len(flossed) > 1 else "flossing"
        a = per_run[(per_run["condition"] == c) & (per_run["delay"] == long_delay)]["accuracy"]
        b = per_run[(per_run["condition"] == "none") & (per_run["delay"] == long_delay)]["accuracy"]
        margin = noise_margin(a, b)
        gain = a.mean() - b.mean()
        paper = (f" (paper: {PAPER_R2B['adaptive'][long_delay] - PAPER_R2B['none'][long_delay]:+.1f} points)"
                 if binary and long_delay in PAPER_R2B["none"] else "")
        claims.append(claim(f"{prefix} lifts the final accuracy at d = {long_delay} above no flossing{paper}",
                            f"a gain > {margin:.1f} points",
                            "2 s.e. of the difference over realizations (seed noise)" + (scale if gain <= margin
                                                                                          else ""),
                            f"{gain:+.1f} points", at_scale(bool(gain > margin), short)))
        first = table[table["epoch"] == table["epoch"].min()]
        fa = np.log10(first[(first["condition"] == c) & (first["delay"] == long_delay)]["grad_h0_norm"])
        fb = np.log10(first[(first["condition"] == "none") & (first["delay"] == long_delay)]["grad_h0_norm"])
        decades = fa.mean() - fb.mean()
        if binary and long_delay == R2_DELAY:
            need, source = PAPER_GRAD_DECADES, ("spec §8.2 C: 4.5-7.5 decades; §6.3: 8.5e-5 vs 2.2e-9 at the first "
                                               "epoch")
        else:
            need, source = noise_margin(fa, fb), "2 s.e. over realizations of the log10 difference (seed noise)"
        claims.append(claim(f"{prefix} makes |dL/dh0| at d = {long_delay} larger than without flossing at the first "
                            "recorded epoch (after pre-flossing)", f"> {need:.2f} decades", source,
                            f"{decades:+.2f} decades", bool(decades > need)))
        claims.append(never_worse_claim(prefix, per_run, c, "none", short))
        if binary:
            means = stats.xs(c, level="condition")["mean"]
            claims += delay_claims(means, PAPER_R2B["adaptive"], epochs, f"with {c} flossing")
    if binary and "none" in conditions:
        claims += delay_claims(stats.xs("none", level="condition")["mean"], PAPER_R2B["none"], epochs)
        missing = sorted(set(PAPER_DELAYS) - set(per_run["delay"]))
        if missing:
            claims.append(f"- Not run here: d = {', '.join(map(str, missing))} of the paper's grid.")
    lines += [""] + [c for c in claims if c]
    return "\n".join(lines)
