"""Gradient flossing of the tanh RNN (Engelken 2023; flossing spec §8.3): λ_1 vs flossing epochs per gain and the
singular values / condition number κ_k(t) of the measured long-term Jacobian before and after flossing k exponents
(from a ``floss`` table).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sgtheory.figures.flossing import (
    PINNED,
    _floss_curves,
    _thin_and_mean,
    at_scale,
    floss_epochs_needed,
    mean_by,
    noise_margin,
)
from sgtheory.figures.style import PALETTE, REFERENCE_GREY, claim, new_figure, ordered_colours, panel_letter

CONDITION_HORIZON = 100  # steps of the long-term Jacobian in the condition-number claims
KAPPA_GROWTH = 1.0  # log10: κ_k stays O(1) after flossing (spec §8.3), read as at most 10× its value at t = 0
OUTSIDE = {"frameon": False, "fontsize": 6, "loc": "upper left", "bbox_to_anchor": (1.0, 1.0)}
RUNNING = 10  # flossing epochs of the running mean that decides when the flossed exponents reached the target


RESOLVED = 14.0  # decades below σ_1 that float64 resolves in the measured product (its rounding floor is ≈ 16)


def _jacobian(table: pd.DataFrame) -> pd.DataFrame:
    """Measured log10 σ_i(t) rows (phase jacobian_before / jacobian_after), with ``phase`` before / after and
    ``log10_kappa`` = log10 σ_1/σ_i, capped at RESOLVED (beyond it σ_i is rounding noise: κ is only known to be
    at least 10^RESOLVED)."""
    rows = table[table["phase"].isin(["jacobian_before", "jacobian_after"])]
    if rows.empty:
        raise ValueError("the table has no measured long-term Jacobian (run floss with --jacobian-T)")
    first = rows[rows["index"] == 1].set_index(["run_id", "phase", "step"])["value"]
    top = first.reindex(pd.MultiIndex.from_frame(rows[["run_id", "phase", "step"]])).to_numpy()
    return rows.assign(phase=rows["phase"].str.removeprefix("jacobian_"),
                       log10_kappa=np.minimum(top - rows["value"].to_numpy(), RESOLVED))


def condition_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """log10 κ_k(t) = log10 σ_1(t) - log10 σ_k(t) (at most RESOLVED) of the measured long-term Jacobian, per run,
    phase and step, with k = the run's number of flossed exponents (nle)."""
    jac = _jacobian(table)
    return jac[jac["index"] == jac["nle"]][["run_id", "phase", "step", "nle", "gain", "seed", "log10_kappa"]]


def epochs_to_target(table: pd.DataFrame) -> pd.Series:
    """Per run: the first flossing epoch at which the running mean (over RUNNING epochs) of max_{i≤k} |λ_i - λ*|
    is within PINNED (NaN if never)."""
    floss = table[(table["phase"] == "floss") & (table["index"] <= table["nle"])]
    deviation = (floss["value"] - floss["floss_target"]).abs().groupby([floss["run_id"], floss["epoch"]]).max()
    running = deviation.groupby(level="run_id").transform(lambda x: x.rolling(RUNNING).mean())
    reached = running[running <= PINNED].reset_index()
    return reached.groupby("run_id")["epoch"].min().reindex(deviation.index.unique("run_id"))


def tanh_flossing_figure(table: pd.DataFrame):
    fig, (a, b, c) = new_figure(10.0, 2.6, ncols=3)
    curves = _floss_curves(table)
    gains = ordered_colours(curves["gain"].unique())
    for gain, group in curves.groupby("gain"):
        _thin_and_mean(a, group.pivot_table(index="epoch", columns="seed", values="value"), gains[gain],
                       f"gain {gain:g}")
    a.axhline(0, ls=":", color=REFERENCE_GREY, lw=1)
    a.set(xlabel="flossing epoch", ylabel=r"$\lambda_1$ (1/step), k = 1")
    a.legend(**OUTSIDE)

    jac = _jacobian(table)
    gain = min(jac["gain"].unique(), key=lambda g: abs(g - 1.0))
    jac = jac[jac["gain"] == gain]
    horizon = min(CONDITION_HORIZON, int(jac["step"].max()))
    at_horizon = jac[(jac["step"] == horizon) & (jac["log10_kappa"] < RESOLVED)]
    ks = sorted(jac["nle"].unique())
    k_colours = ordered_colours(ks)
    for _, group in at_horizon[at_horizon["phase"] == "before"].groupby("nle"):
        b.plot(*mean_by(group, "index"), color=PALETTE["before flossing"], lw=1.5)
    b.plot([], [], color=PALETTE["before flossing"], lw=1.5, label="before flossing")
    for k in ks:
        b.plot(*mean_by(at_horizon[(at_horizon["phase"] == "after") & (at_horizon["nle"] == k)], "index"),
               "o-" if k == 1 else "-", ms=3, color=k_colours[k], lw=1.5, label=f"after flossing k = {k}")
    b.set(xlabel="singular value index i", ylabel=rf"$\log_{{10}} \sigma_i$ of $D_t\cdots D_1$, t = {horizon}",
          xlim=(0, 50), title="singular values")
    b.plot([], [], " ", label=rf"($\sigma_i < 10^{{-{RESOLVED:g}}}\,\sigma_1$ not shown)")
    b.legend(**OUTSIDE)

    kappa = condition_numbers(table)
    kappa = kappa[(kappa["gain"] == gain) & (kappa["step"] <= CONDITION_HORIZON)]
    for k in ks:
        if k == 1:
            continue
        for phase, style in (("before", ":"), ("after", "-")):
            c.plot(*mean_by(kappa[(kappa["nle"] == k) & (kappa["phase"] == phase)], "step", "log10_kappa"),
                   style, color=k_colours[k], lw=1.5, label=f"k = {k}, {phase}")
    c.axhline(KAPPA_GROWTH, ls="--", color=REFERENCE_GREY, lw=0.8, label=r"$\kappa_k = 10$ (claim's bound)")
    c.axhline(RESOLVED, ls=":", color=REFERENCE_GREY, lw=0.8, label="float64 limit")
    c.set(xlabel="time t (steps)", ylabel=r"$\log_{10} \kappa_k(t)$, $\kappa_k = \sigma_1/\sigma_k$",
          title="condition number")
    c.legend(**OUTSIDE)
    fig.suptitle(f"tanh RNN, N = {table['N'].iloc[0]}: gradient flossing; B, C: measured long-term Jacobian "
                 f"(gain {gain:g}, mean over {table['seed'].nunique()} realizations)", fontsize=8)
    for ax, letter in zip((a, b, c), "ABC", strict=True):
        panel_letter(ax, letter)
    return fig


def tanh_flossing_report(table: pd.DataFrame) -> str:
    curves = _floss_curves(table)
    lam1 = curves.groupby(["gain", "epoch"])["value"].mean()
    end = curves["epoch"].max()
    spectra = table[table["phase"].isin(["before", "after"]) & (table["index"] <= table["nle"])]
    worst = spectra.assign(dev=(spectra["value"] - spectra["floss_target"]).abs()).groupby(
        ["nle", "gain", "phase", "seed"])["dev"].max().groupby(["nle", "gain", "phase"]).mean().unstack()
    needed = epochs_to_target(table).rename("epochs").to_frame().merge(
        table[["run_id", "nle", "gain"]].drop_duplicates(), left_index=True, right_on="run_id")
    kappa = condition_numbers(table)
    kappa = kappa[kappa["step"] <= CONDITION_HORIZON]
    growth = kappa.groupby(["nle", "gain", "phase", "seed"])["log10_kappa"].max().groupby(
        ["nle", "gain", "phase"]).mean().unstack()
    lines = ["| gain | λ_1 before (1/step) | λ_1 after " + f"{end} flossing epochs (k = 1) |", "|---|---|---|"]
    for gain in sorted(curves["gain"].unique()):
        lines.append(f"| {gain:g} | {lam1[(gain, 0)]:+.3f} | {lam1[(gain, end)]:+.3f} |")
    lines += ["", f"Flossing k exponents for {end} epochs: max_(i≤k) |λ_i - λ*| of the spectra before and after "
              f"({int(table['spectrum_T'].iloc[0])} steps), the flossing epoch at which its running mean over "
              f"{RUNNING} epochs first fell within {PINNED} (runs that got there), and the largest log10 κ_k(t) = "
              f"log10 σ_1/σ_k of the **measured** long-term Jacobian D_t⋯D_1 over t ≤ {CONDITION_HORIZON} (κ_k(0) = 1; "
              f"means over realizations; float64 resolves σ_k down to 10^-{RESOLVED:g} σ_1, so {RESOLVED:g} means "
              f"'at least {RESOLVED:g}'):", "",
              "| k | gain | max dev. before | after | epochs to target | max log10 κ_k before | after |",
              "|---|---|---|---|---|---|---|"]
    per_seed = spectra.assign(dev=(spectra["value"] - spectra["floss_target"]).abs()).groupby(
        ["nle", "gain", "phase", "seed"])["dev"].max()
    kappa_seed = kappa.groupby(["nle", "gain", "phase", "seed"])["log10_kappa"].max()
    after_end = int(table.loc[table["phase"] == "after", "epoch"].max())
    claims = []
    for (k, gain), row in worst.iterrows():
        got = needed[(needed["nle"] == k) & (needed["gain"] == gain)]["epochs"]
        reached = f"{got.median():.0f}" if got.notna().any() else "—"
        reached += f" ({got.notna().sum()} of {len(got)})"
        kb, ka = growth.loc[(k, gain), "before"], growth.loc[(k, gain), "after"]
        lines.append(f"| {k} | {gain:g} | {row['before']:.3f} | {row['after']:.3f} | {reached} | "
                     f"{'—' if k == 1 else f'{kb:.2f}'} | {'—' if k == 1 else f'{ka:.2f}'} |")
        short = after_end < floss_epochs_needed(k)
        scale = f"; {after_end} flossing epochs < {floss_epochs_needed(k)} (R1A / D9)"
        drop = (per_seed.loc[(k, gain, "before")] - per_seed.loc[(k, gain, "after")]).dropna()
        margin = noise_margin(drop)
        ok = bool(row["after"] <= PINNED and drop.mean() > margin)
        claims.append(claim(
            f"gain {gain:g}, k = {k}: flossing brings the flossed exponents to the target",
            f"max |λ_i - λ*| ≤ {PINNED} after and reduced by more than {margin:.3f}/step",
            f"spec §8.1's ±{PINNED}/step; 2 s.e. over realizations of the reduction (seed noise)"
            + (scale if short and not ok else ""), f"{row['before']:.3f} → {row['after']:.3f}", at_scale(ok, short)))
        if k > 1:
            fall = (kappa_seed.loc[(k, gain, "before")] - kappa_seed.loc[(k, gain, "after")]).dropna()
            margin = noise_margin(fall)
            ok = bool(ka <= KAPPA_GROWTH and fall.mean() > margin)
            claims.append(claim(
                f"gain {gain:g}, k = {k}: after flossing κ_k stays O(1) over {CONDITION_HORIZON} steps",
                f"max log10 κ_k ≤ {KAPPA_GROWTH:g} and lowered by more than {margin:.2f} decades",
                "spec §8.3 (κ_k = σ_1/σ_k stays O(1) after flossing), read as ≤ 10×; 2 s.e. over realizations"
                + (scale if short and not ok else ""), f"{kb:.2f} → {ka:.2f}", at_scale(ok, short)))
    lines += [""] + claims
    return "\n".join(lines)
