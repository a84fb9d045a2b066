"""What the flossing figures share: the paper's digitized values and the common thresholds and helpers. The figures
are ``flossing_r1`` (r1, reconcile), ``flossing_r2`` (r2), ``gf_success`` (gf-success) and ``gf_tanh``
(tanh-flossing).

Paper values are the digitized means of flossing spec §8.1-8.2 (binary RNN); they are drawn only for
binary-network tables. Exponents are in 1/step (decision D4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Figure R1A: mean λ_1 (1/step) vs flossing epoch, k = 1, per surrogate slope (digitized; spec §8.1).
PAPER_R1A = {0.5: {0: -0.223, 10: 0.034, 25: 0.043, 50: 0.027, 100: 0.040, 150: 0.035},
             1.0: {0: -0.491, 10: -0.419, 25: -0.276, 50: -0.157, 100: -0.020, 150: 0.001}}
# Figure R1B: mean λ_i after flossing k exponents ("before" = unflossed), slope 0.5 (digitized; spec §8.1).
R1B_INDICES = (1, 2, 5, 10, 16, 17, 18, 20, 30, 32, 33, 34, 40, 50)
PAPER_R1B = {
    "before": (-0.223, -0.236, -0.278, -0.317, -0.369, -0.388, -0.394, -0.419, -0.525, -0.551, -0.575, -0.573,
               -0.678, -0.853),
    1: (0.035, -0.142, -0.313, -0.369, -0.434, -0.449, -0.455, -0.474, -0.598, -0.632, -0.641, -0.655, -0.757,
        -0.947),
    16: (0.038, 0.025, 0.006, -0.007, -0.036, -0.181, -0.317, -0.396, -0.562, -0.592, -0.608, -0.622, -0.701,
         -0.861),
    32: (0.026, 0.023, 0.019, 0.008, -0.002, -0.003, -0.009, -0.014, -0.046, -0.052, -0.329, -0.542, -0.703,
         -0.899),
}
R1B_SLOPE = 0.5  # decision D2: panel B's data match slope 0.5
# Figure R2B: mean final test accuracy (%) per delay d (digitized; spec §8.2).
PAPER_R2B = {"adaptive": {10: 100.0, 14: 99.99, 18: 98.69, 22: 76.27, 26: 64.30},
             "none": {10: 100.0, 14: 99.79, 18: 52.66, 22: 52.79, 26: 52.83}}
# Figure R2A: median test accuracy (%) at d = 18 vs epoch (digitized; spec §8.2).
PAPER_R2A = {"adaptive": {1: 50.2, 500: 49.9, 1000: 58.9, 1500: 63.3, 2000: 68.1, 2500: 91.1, 3001: 95.5},
             "none": {1: 49.8, 500: 49.4, 1000: 50.2, 1500: 50.2, 2000: 49.9, 2500: 50.0, 3001: 49.8}}
PINNED = 0.05  # |λ_i - λ*| (1/step) counted as "near the target" (spec §8.1: within about ±0.05)
SUCCESS = 90.0  # final accuracy (%) counted as success (decision D11)
MAJORITY = 0.5  # a delay is "reached" when at least this fraction of the realizations succeeds (our definition)
R2_DELAY = 18


def _thin_and_mean(ax, wide: pd.DataFrame, colour, label, centre="mean"):
    ax.plot(wide.index, wide.to_numpy(), color=colour, lw=0.5, alpha=0.2)
    line = wide.mean(axis=1) if centre == "mean" else wide.median(axis=1)
    ax.plot(wide.index, line, color=colour, lw=2, label=label)


def _is_binary(table: pd.DataFrame) -> bool:
    return set(table["model"].unique()) == {"binary"}


def _floss_curves(table: pd.DataFrame) -> pd.DataFrame:
    """λ_1 per (slope or gain, seed, epoch) of the k = 1 runs."""
    runs = table[(table["phase"] == "floss") & (table["index"] == 1) & (table["nle"] == 1)]
    if runs.empty:
        raise ValueError("no flossing run with nle = 1 in the table")
    return runs


def mean_by(rows: pd.DataFrame, x: str, y: str = "value"):
    """Mean of ``y`` per value of ``x``, over the x values that every run has (others are left out)."""
    stats = rows.groupby(x)[y].agg(["mean", "count"])
    stats = stats[stats["count"] == rows["run_id"].nunique()] if "run_id" in rows else stats
    return stats.index, stats["mean"].to_numpy()


def log_mean(values) -> float:
    """Geometric mean exp(<log x>) over the resolved values x > 0 (NaN when there is none).

    A |dL/dh0| that underflowed to exactly 0 in a float32 run (below ≈ 1e-45) has no logarithm; it is left out, so
    a mean over values that include such zeros is an upper bound (the reports mark it with ≤).
    """
    x = np.asarray(values, dtype=float)
    x = x[x > 0]
    return float(np.exp(np.log(x).mean())) if x.size else np.nan


def gradient_average(table: pd.DataFrame) -> pd.DataFrame:
    """Per run: |dL/dh0| averaged over training (arithmetic), its log-space (geometric) mean (:func:`log_mean`) and
    the numbers of recorded values and of those that underflowed to 0."""
    keys = ["run_id", "condition", "delay", "seed"]
    g = table.groupby(keys)["grad_h0_norm"]
    return pd.DataFrame({"mean": g.mean(), "geomean": g.apply(log_mean), "recorded": g.size(),
                         "underflow": g.apply(lambda x: int((x == 0).sum()))}).reset_index()


def format_log_mean(value: float, underflow: int) -> str:
    """A log-mean of |dL/dh0| for a table: ``≤`` in front when some values underflowed to 0 (an upper bound)."""
    return ("≤ " if underflow else "") + f"{value:.2e}"


def underflow_note(grads: pd.DataFrame, keys: list[str]) -> list[str]:
    """One line naming the groups (``keys`` of :func:`gradient_average` rows) whose |dL/dh0| underflowed to 0."""
    counts = grads.groupby(keys)[["underflow", "recorded"]].sum()
    counts = counts[counts["underflow"] > 0]
    if counts.empty:
        return []
    where = "; ".join(", ".join(f"{k} {v}" for k, v in zip(keys, np.atleast_1d(index), strict=True))
                      + f": {row.underflow} of {row.recorded}" for index, row in counts.iterrows())
    return ["", f"Recorded |dL/dh0| that underflowed to 0 in float32 (left out of the log-means, which are then "
                f"upper bounds, marked ≤): {where}."]


# The scale of the paper's runs (spec §6.1 example call, §8.1-8.2): a run smaller than this can only be judged where
# its result is conclusive anyway (see :func:`at_scale`).
PAPER_EPOCHS = 3001  # training epochs E of the example call (spec §6.1) and of Fig. R2A
PAPER_DELAYS = (10, 14, 18, 22, 26)  # the delay grid of Fig. R2B/D (spec §8.2)
PAPER_FLOSS_EPOCHS = {1: 150}  # flossing epochs of R1A (k = 1); other k: PAPER_PRE_FLOSS (D9)
PAPER_PRE_FLOSS = 500  # pre-flossing steps Ep of the example call, assumed for R1B (decision D9)
PAPER_GRAD_FIRST = {"adaptive": 8.5e-5, "none": 2.2e-9}  # |dL/dh0| at the first recorded epoch, d = 18 (spec §6.3)
PAPER_FLOSSED_BAND = (1e-4, 1e-2)  # flossed |dL/dh0| averaged over training, every d (spec §8.2, panel D)
PAPER_UNFLOSSED_GEOMEAN = {18: 7e-11}  # unflossed log-space mean over training of |dL/dh0|, d = 18 (spec §8.2 D)
PAPER_GRAD_DECADES = 4.5  # flossed |dL/dh0| is 4.5-7.5 decades above the unflossed one at d = 18 (spec §8.2 C)
PAPER_GRAD_RANGE = (1e-13, 1e-1)  # the |dL/dh0| axis of Fig. R2C (spec §8.2)
PAPER_SPREAD = PAPER_R1B["before"][0] - PAPER_R1B["before"][-1]  # λ_1 - λ_50 of the paper's unflossed spectrum


def floss_epochs_needed(k: int) -> int:
    """Flossing epochs the paper gave k flossed exponents: 150 for k = 1 (R1A), Ep = 500 otherwise (D9)."""
    return PAPER_FLOSS_EPOCHS.get(k, PAPER_PRE_FLOSS)


def at_scale(ok: bool, short: bool, small_run_passes: bool = False) -> bool | None:
    """A claim's verdict for a run smaller than the paper's (``short``: fewer epochs, a coarser delay grid). A small
    run can miss an effect that needs the paper's scale (``small_run_passes`` False: only its failures are
    inconclusive) or keep a baseline from learning what the paper's run learned (True: only its passes are
    inconclusive); then the verdict is None, "needs the paper profile"."""
    if short and ok == small_run_passes:
        return None
    return ok


def noise_margin(a, b=None, sigmas: float = 2.0) -> float:
    """``sigmas`` standard errors of the mean of ``a`` (or of the difference of the means of ``a`` and ``b``), from
    the realizations' sample s.d.; 0 where a sample has one realization (no noise estimate)."""
    def var(x) -> float:
        x = np.asarray(x, dtype=float)
        return float(np.var(x, ddof=1) / len(x)) if len(x) > 1 else 0.0

    return sigmas * float(np.sqrt(var(a) + (0.0 if b is None else var(b))))


def binomial_margin(p1: float, n1: int, p2: float, n2: int, sigmas: float = 2.0) -> float:
    """``sigmas`` binomial standard errors of the difference of two success rates; with both rates 0 or 1 (no
    spread) the s.e. of the pooled rate with one success or failure added, so the margin is never 0."""
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        pooled = 1.0 / (n1 + n2 + 1)
    return sigmas * float(np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)))
