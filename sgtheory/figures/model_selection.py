"""Model selection for the binary R2: candidate readings of the unpublished surrogate-flossing model, each scored
against every digitized number of figures R1 and R2 (flossing spec §8.1-8.2), one distance per panel.

A *reading* is a set of model and flossing settings. The tables are ``train`` runs (R2: flossed and unflossed,
several delays) and ``floss`` runs (R1: λ_1 over flossing epochs per slope, spectra after flossing k exponents);
the settings in READING_KEYS that differ between the flossed training runs name the readings. A reading's unflossed
runs are those with its network settings (NETWORK_KEYS), its R1 runs those with its network settings but any slope
(R1 has its own two slopes). Distances, smaller is better:

- R1A: RMS over slopes {0.5, 1} and epochs {0, 10, …, 150} of the mean λ_1 minus the paper's (1/step);
- R1B: RMS over the digitized indices of the mean spectra before and after flossing k ∈ {1, 16, 32} (1/step);
- R2A: RMS over the digitized epochs of the median accuracy at d = 18, both conditions (percentage points);
- R2B: RMS over the delays of the mean final accuracy, both conditions (percentage points);
- R2C: RMS of log10 |dL/dh0| at the first recorded epoch at d = 18 minus the paper's (8.5e-5 flossed, 2.2e-9
  unflossed; spec §6.3), in decades;
- R2D: RMS over the delays of the distance (decades) of the flossed geometric-mean |dL/dh0| to the paper's band
  1e-4…1e-2 (spec §8.2: "stays at 1e-4 to 1e-2 for all d").

Beside them, the mechanism: the forward network's damage spreading (``damage`` of the training rows: mean Hamming
distance 20 steps after one flipped unit, as a fraction of N) at the last epoch of the flossed runs — whether the
reading keeps the forward binary network out of the chaotic regime.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sgtheory.figures.flossing import (
    PAPER_EPOCHS,
    PAPER_FLOSSED_BAND,
    PAPER_GRAD_FIRST,
    PAPER_PRE_FLOSS,
    PAPER_R1A,
    PAPER_R1B,
    PAPER_R2A,
    PAPER_R2B,
    PINNED,
    R1B_INDICES,
    R1B_SLOPE,
    R2_DELAY,
    at_scale,
    floss_epochs_needed,
)
from sgtheory.figures.style import claim, new_figure
from sgtheory.figures.training import final_accuracy

NETWORK_KEYS = ("gain", "slope", "surrogate", "scale", "input_amplitude", "input_scale", "bias_scale", "init", "N",
                "T", "batch", "epochs", "lr", "clip")
FLOSSING_KEYS = ("nle", "floss_lr", "floss_T", "floss_slope", "floss_pre", "floss_every", "floss_steps",
                 "floss_phases", "floss_tol", "floss")
READING_KEYS = NETWORK_KEYS + FLOSSING_KEYS
R1_KEYS = tuple(k for k in NETWORK_KEYS if k not in ("slope", "T", "batch", "epochs", "lr", "clip")) + (
    "floss_lr", "floss_T")
PANELS = ("R1A", "R1B", "R2A", "R2B", "R2C", "R2D")
FORMATS = {"R1A": ".3f", "R1B": ".3f", "R2A": ".1f", "R2B": ".1f", "R2C": ".2f", "R2D": ".2f", "damage": ".2f"}


def _rms(values) -> float:
    values = np.asarray(list(values), dtype=float)
    return float(np.sqrt(np.mean(values**2))) if len(values) else np.nan


def _matching(table: pd.DataFrame, reference: pd.Series, keys) -> pd.DataFrame:
    mask = np.ones(len(table), dtype=bool)
    for key in keys:
        if key in table and key in reference:
            mask &= (table[key] == reference[key]).to_numpy()
    return table[mask]


def readings(train: pd.DataFrame) -> pd.DataFrame:
    """One row per reading: its settings (READING_KEYS of its flossed runs) and its ``reading`` label, the settings
    that differ between the readings (``reference`` when there is one)."""
    flossed = train[train["floss"] != "none"]
    keys = [k for k in READING_KEYS if k in flossed]
    settings = flossed[keys].drop_duplicates().reset_index(drop=True)
    varying = [k for k in keys if settings[k].nunique() > 1]

    def label(row) -> str:
        return ", ".join(f"{k}={row[k]:g}" if isinstance(row[k], float) else f"{k}={row[k]}" for k in varying)

    return settings.assign(reading=settings.apply(label, axis=1) if varying else "reference")


def r1_distances(floss: pd.DataFrame) -> dict[str, float]:
    """R1A and R1B distances of one reading's floss runs."""
    first = floss[(floss["phase"] == "floss") & (floss["index"] == 1) & (floss["nle"] == 1)]
    lam1 = first.groupby(["slope", "epoch"])["value"].mean()
    r1a = [lam1[(s, e)] - v for s, points in PAPER_R1A.items() for e, v in points.items() if (s, e) in lam1.index]
    spectra = floss[(floss["slope"] == R1B_SLOPE) & floss["phase"].isin(["before", "after"])]
    after = spectra[spectra["phase"] == "after"].groupby(["nle", "index"])["value"].mean()
    before = spectra[spectra["phase"] == "before"].groupby("index")["value"].mean()
    r1b = [before[i] - v for i, v in zip(R1B_INDICES, PAPER_R1B["before"], strict=True) if i in before.index]
    r1b += [after[(k, i)] - v for k in (1, 16, 32) for i, v in zip(R1B_INDICES, PAPER_R1B[k], strict=True)
            if (k, i) in after.index]
    return {"R1A": _rms(r1a), "R1B": _rms(r1b)}


def r2_distances(runs: pd.DataFrame) -> dict[str, float]:
    """R2A-D distances and the damage fraction of one reading's training runs (flossed and unflossed)."""
    runs = runs.assign(condition=np.where(runs["floss"] == "none", "none", "adaptive"))
    at_d = runs[runs["delay"] == R2_DELAY]
    r2a, r2c = [], []
    for condition, group in at_d.groupby("condition"):
        median = group.groupby("epoch")["accuracy"].median() * 100
        r2a += [median[median.index <= e].iloc[-1] - v for e, v in PAPER_R2A[condition].items()
                if e <= median.index.max() and (median.index <= e).any()]
        first = group[group["epoch"] == group["epoch"].min()]["grad_h0_norm"]
        r2c.append(np.log10(np.exp(np.log(first).mean())) - np.log10(PAPER_GRAD_FIRST[condition]))
    final = final_accuracy(runs).merge(runs[["run_id", "condition"]].drop_duplicates(), on="run_id")
    means = final.groupby(["condition", "delay"])["accuracy"].mean()
    r2b = [means[(c, d)] - PAPER_R2B[c][d] for c, d in means.index if d in PAPER_R2B[c]]
    flossed = runs[runs["condition"] == "adaptive"]
    geo = flossed.groupby("delay")["grad_h0_norm"].apply(lambda x: float(np.log10(x).mean()))
    low, high = np.log10(PAPER_FLOSSED_BAND)
    r2d = [max(low - g, g - high, 0.0) for g in geo]
    last = flossed[flossed["epoch"] == flossed["epoch"].max()]
    damage = last["damage"].mean() / last["N"].iloc[0] if "damage" in last and len(last) else np.nan
    return {"R2A": _rms(r2a), "R2B": _rms(r2b), "R2C": _rms(r2c), "R2D": _rms(r2d), "damage": damage}


def selection_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per reading: its label, the six panel distances, the damage fraction and its number of runs."""
    train = table[table["experiment"] == "train"]
    floss = table[table["experiment"] == "floss"]
    rows = []
    for _, reading in readings(train).iterrows():
        flossed = _matching(train[train["floss"] != "none"], reading, READING_KEYS)
        unflossed = _matching(train[train["floss"] == "none"], reading, NETWORK_KEYS)
        first = unflossed.drop_duplicates(["delay", "seed"])["run_id"]  # readings that share the network share these
        unflossed = unflossed[unflossed["run_id"].isin(first)]
        r1 = _matching(floss, reading, R1_KEYS)
        scores = r1_distances(r1) if len(r1) else {"R1A": np.nan, "R1B": np.nan}
        rows.append({"reading": reading["reading"], **scores, **r2_distances(pd.concat([flossed, unflossed])),
                     "runs": flossed["run_id"].nunique() + unflossed["run_id"].nunique()})
    return pd.DataFrame(rows).set_index("reading")


def model_selection_figure(table: pd.DataFrame):
    scores = selection_table(table)
    fig, (ax,) = new_figure(1.6 + 0.9 * len(PANELS), 0.9 + 0.35 * len(scores))
    ranks = scores[list(PANELS)].rank(axis=0)
    ax.imshow(ranks.to_numpy(), cmap="Greens_r", aspect="auto", vmin=0.5, vmax=len(scores) + 1.5)
    for (i, j), value in np.ndenumerate(scores[list(PANELS)].to_numpy()):
        ax.text(j, i, "—" if np.isnan(value) else format(value, FORMATS[PANELS[j]]), ha="center", va="center",
                fontsize=6)
    ax.set_xticks(range(len(PANELS)), [f"{p}\n({u})" for p, u in zip(PANELS, ("1/step", "1/step", "points", "points",
                                                                          "decades", "decades"), strict=True)])
    ax.set_yticks(range(len(scores)), scores.index)
    ax.spines[:].set_visible(False)
    ax.set_title("distance to the paper per panel\n(darker: closer among the readings)", fontsize=8)
    return fig


def model_selection_report(table: pd.DataFrame) -> str:
    scores = selection_table(table)
    lines = ["Each candidate reading of the binary R2 against every digitized number of R1 and R2 (one distance per "
             "panel, smaller is closer; definitions in `sgtheory/figures/model_selection.py`), and whether it keeps "
             "the forward network ordered (damage: mean Hamming distance 20 steps after one flipped unit, fraction of "
             "N, flossed runs at the last epoch):", "",
             "| reading | " + " | ".join(PANELS) + " | damage | runs |", "|---|" + "---|" * (len(PANELS) + 2)]
    for reading, row in scores.iterrows():
        cells = ["—" if np.isnan(row[p]) else format(row[p], FORMATS[p]) for p in (*PANELS, "damage")]
        lines.append(f"| {reading} | " + " | ".join(cells) + f" | {int(row['runs'])} |")
    best = scores[list(PANELS)].idxmin()
    lines += ["", "Closest reading per panel: " + "; ".join(f"{p}: {best[p]}" for p in PANELS if best.notna()[p])]
    return "\n".join(lines + [""] + selection_claims(table, scores))


def selection_claims(table: pd.DataFrame, scores: pd.DataFrame) -> list[str]:
    """Whether any reading reproduces the panels that have a tolerance of the paper's own: R1A and R1B within the
    spec's ±0.05/step (RMS), R2D inside the paper's band 1e-4…1e-2 at every delay. A reading too small to judge
    (fewer flossing or training epochs than the paper's) only counts where it holds. R2A-C have no stated tolerance
    and carry no claim."""
    floss = table[(table["experiment"] == "floss") & (table["phase"] == "after")]
    floss_epochs = int(floss["epoch"].max()) if len(floss) else 0
    train_epochs = int(table.loc[table["experiment"] == "train", "epochs"].max())
    lines = []
    for panel, needed, what in (("R1A", floss_epochs_needed(1), "R1A's λ_1 time course"),
                                ("R1B", PAPER_PRE_FLOSS, "R1B's spectra")):
        if scores[panel].isna().all():
            continue
        value = scores[panel].min()
        short = floss_epochs < needed
        ok = bool(value <= PINNED)
        lines.append(claim(f"a reading reproduces {what} (closest: {scores[panel].idxmin()})",
                           f"RMS ≤ {PINNED}/step", f"spec §8.1's ±{PINNED}/step"
                           + (f"; {floss_epochs} flossing epochs < {needed}" if short and not ok else ""),
                           f"{value:.3f}/step", at_scale(ok, short)))
    value = scores["R2D"].min()
    short = train_epochs < PAPER_EPOCHS
    ok = bool(value <= 0.0)
    low, high = PAPER_FLOSSED_BAND
    lines.append(claim(f"a reading keeps the flossed |dL/dh0| over training inside the paper's band at every delay "
                       f"(closest: {scores['R2D'].idxmin()})", f"{low:g}…{high:g} (distance 0 decades)",
                       "spec §8.2 D" + (f"; {train_epochs} epochs < the paper's {PAPER_EPOCHS}" if short and not ok
                                        else ""), f"{value:.2f} decades outside", at_scale(ok, short)))
    return lines
