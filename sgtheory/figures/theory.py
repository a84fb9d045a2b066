"""Figure ``theory``: surrogate gradients of stochastic neurons (Gygax & Zenke 2025, left half of the README's
``theoretical_framework.png``; sgtheory spec §1.2-1.4, figure catalogue rows 1-2), from a ``stochastic-neuron``
table.

Rows: deterministic neuron S = H(u - θ) / escape-noise neuron S ~ Bernoulli(f(u - θ)). Columns: a raster of
spikes over trials vs the membrane potential u; the curves (deterministic: S, f = σ_β and the SG ψ = f′;
stochastic: E[S] with the trial mean ± SEM of the raster as a grey band, and dE[S]/du). Derivative curves
are divided by their peak, as in the published figure. Third column: the five-parameter network with
Bernoulli units along the scanned parameter p: E[y] (exact, enumeration) with the sample mean, and
∂E[y]/∂p (exact) next to the SG averaged over samples (± SEM) and its exact expectation E[SG].
The first run of the table is drawn; the report covers every run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sgtheory.figures.style import REFERENCE_GREY, new_figure, panel_letter, verdict

TEAL = "#008ca5"  # deterministic / SG (the paper's colour)
YELLOW = "#EBB400"  # stochastic / derivative of the expected output
BAND_GREY = "#c8c8c8"
SINGLE_TOL = 1e-12  # |SG - dE[S]/dw| counted as "equal" (float64 rounding is ~1e-16)
GAP_MIN = 0.05  # E[SG] vs ∇E[y]: a gap of at least this fraction of max|∇E[y]| counts as "measurable"
OUTPUT_TOL = 1e-12  # output-layer weights: |E[SG] - ∂E[y]/∂u| counted as "equal"
Z_MAX = 4.5  # the sampled SG mean must lie within this many (exact) standard errors of E[SG]
HIDDEN = ("w", "v1", "v2")  # parameters whose gradient passes through a stochastic hidden unit


def _curve(run: pd.DataFrame, panel: str, quantity: str) -> pd.Series:
    part = run[(run["panel"] == panel) & (run["quantity"] == quantity)]
    return part.set_index("position")["value"].sort_index()


def _theta_ticks(ax, lo: float, hi: float) -> None:
    """Ticks of a u - θ axis labelled relative to the threshold: θ-1, θ, θ+1."""
    ticks = [lo, 0.0, hi]
    ax.set_xticks(ticks, [r"$\theta$" if t == 0 else rf"$\theta{t:+g}$" for t in ticks])


def _peak_normalised(series: pd.Series) -> tuple[pd.Series, float]:
    peak = float(series.abs().max())
    return (series / peak if peak > 0 else series), peak


def _raster(ax, positions, trials, lo, hi, label_row: str) -> None:
    ax.scatter(positions, trials, s=1.5, color="black", lw=0)
    ax.set(xlim=(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)), xlabel=r"mem. pot. $u$", ylabel="trial idx")
    _theta_ticks(ax, lo, hi)
    ax.text(-0.32, 0.5, label_row, transform=ax.transAxes, rotation=90, va="center", ha="center", fontsize=9)


def _legend_room(ax, loc: str, fraction: float = 0.6) -> None:
    """Extend the y-axis by ``fraction`` of its data range on the legend's side, then place the legend there."""
    lo, hi = ax.get_ylim()
    if loc.startswith("upper"):
        ax.set_ylim(lo, hi + fraction * (hi - lo))
    else:
        ax.set_ylim(lo - fraction * (hi - lo), hi)
    ax.legend(frameon=False, fontsize=5.5, loc=loc)


def _first_run(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["run_id"] == frame["run_id"].iloc[0]] if "run_id" in frame else frame


def theory_figure(frame: pd.DataFrame):
    """Deterministic vs stochastic neuron (raster, curves) and the Bernoulli network's gradients."""
    run = _first_run(frame)
    cfg = run.iloc[0]
    fig, axes = new_figure(7.4, 3.9, ncols=3, nrows=2)
    det_raster, det_curves, net_out, sto_raster, sto_curves, net_grad = axes
    f_label = r"$\sigma_\beta(u-\theta)$" if cfg["escape"] == "sigmoid" else r"$f(u-\theta)$ (exponential)"

    spikes = run[(run["panel"] == "neuron") & (run["quantity"] == "spike")]
    lo, hi = float(spikes["position"].min()), float(spikes["position"].max())
    det = _curve(run, "neuron", "deterministic_spike")
    fired = det[det > 0.5].index.to_numpy()
    trials = np.arange(int(spikes["trial"].max()) + 1)
    _raster(det_raster, np.repeat(fired, len(trials)), np.tile(trials, len(fired)), lo, hi, "Deterministic")
    hits = spikes[spikes["value"] > 0.5]
    _raster(sto_raster, hits["position"], hits["trial"], lo, hi, "Stochastic")

    step = _curve(run, "neuron", "deterministic_output")
    expected = _curve(run, "neuron", "expected_spike")
    sg, sg_peak = _peak_normalised(_curve(run, "neuron", "deterministic_sg"))
    det_curves.plot(step.index, step.to_numpy(), color="black", lw=1.5, label=r"$S = H(u-\theta)$")
    det_curves.plot(expected.index, expected.to_numpy(), color="grey", lw=1.5, label=f_label)
    det_curves.plot(sg.index, sg.to_numpy(), color=TEAL, lw=1.5, label=rf"SG $\psi = f'$ (÷ {sg_peak:.3g})")

    mean = _curve(run, "neuron", "empirical_mean")
    sem = _curve(run, "neuron", "empirical_std") / np.sqrt(len(trials))
    deriv, d_peak = _peak_normalised(_curve(run, "neuron", "expected_spike_derivative"))
    sto_curves.fill_between(mean.index, (mean - sem).to_numpy(), (mean + sem).to_numpy(), color=BAND_GREY, lw=0,
                            label=f"trial mean ± SEM ({len(trials)} trials)")
    sto_curves.plot(expected.index, expected.to_numpy(), color="black", lw=1.5, label=r"$\mathbb{E}[S]$")
    sto_curves.plot(deriv.index, deriv.to_numpy(), color=YELLOW, lw=1.5,
                    label=rf"$\frac{{d}}{{du}}\mathbb{{E}}[S]$ (÷ {d_peak:.3g})")
    sto_curves.axvline(0.0, color="grey", ls="--", lw=1)
    for ax in (det_curves, sto_curves):
        ax.set(xlabel=r"mem. pot. $u$", ylabel="output, derivative/peak", ylim=(-0.05, 1.6), yticks=[0, 0.5, 1])
        _theta_ticks(ax, float(expected.index.min()), float(expected.index.max()))
        ax.legend(frameon=False, fontsize=5.5, loc="upper left")

    name = cfg["scan"]
    ey = _curve(run, "network", "expected_output")
    my = _curve(run, "network", "mean_output")
    my_sem = _curve(run, "network", "mean_output_sem")
    net_out.fill_between(my.index, (my - my_sem).to_numpy(), (my + my_sem).to_numpy(), color=BAND_GREY, lw=0,
                         label=f"sample mean ± SEM (n = {int(cfg['samples'])})")
    net_out.plot(ey.index, ey.to_numpy(), color="black", lw=1.5, label=r"exact $\mathbb{E}[y]$ (enumeration)")
    net_out.set(xlabel=f"network parameter {name}", ylabel=r"expected output $\mathbb{E}[y]$")
    _legend_room(net_out, "upper left")

    grad = _curve(run, "network", "exact_gradient")
    esg = _curve(run, "network", "expected_sg")
    msg = _curve(run, "network", "mean_sg")
    msg_sem = _curve(run, "network", "mean_sg_sem")
    net_grad.fill_between(msg.index, (msg - msg_sem).to_numpy(), (msg + msg_sem).to_numpy(), color=YELLOW,
                          alpha=0.35, lw=0, label="SG, sample mean ± SEM")
    net_grad.plot(esg.index, esg.to_numpy(), color=YELLOW, lw=1.5, label=r"$\mathbb{E}[$SG$]$ (exact)")
    net_grad.plot(grad.index, grad.to_numpy(), color="black", lw=1.5,
                  label=rf"$\partial\mathbb{{E}}[y]/\partial {name}$ (exact)")
    net_grad.axhline(0.0, color=REFERENCE_GREY, ls=":", lw=1)
    net_grad.set(xlabel=f"network parameter {name}", ylabel=rf"derivative of $\mathbb{{E}}[y]$ w.r.t. {name}")
    _legend_room(net_grad, "lower right")

    fig.suptitle(f"{cfg['escape']} escape noise, β = {cfg['slope']:g}, seed {int(cfg['seed'])}; network "
                 r"x→g→(h1,h2)→y with Bernoulli units, SG with $\psi = f'$", fontsize=8)
    for ax, letter in zip((det_raster, det_curves, net_out, sto_raster, sto_curves, net_grad), "ABECDF",
                          strict=True):
        panel_letter(ax, letter)
    return fig


def _summaries(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run (the summary columns repeat on every row of a run)."""
    if "run_id" not in frame:
        return frame.iloc[:1]
    return frame.groupby("run_id", sort=False).first().reset_index()


def theory_report(frame: pd.DataFrame) -> str:
    """Markdown: what was computed, the measured numbers per run and the claims marked holds / fails."""
    runs = _summaries(frame)
    lines = [
        "Single escape-noise neuron S ~ Bernoulli(f(u − θ)), u = w·x: the SG of every sample (forward: the draw; "
        "backward: ψ = f′) against dE[S]/dw = f′(u − θ)·x by autograd through f. Five-parameter network "
        "x → g → (h1, h2) → y with Bernoulli units: exact ∇E[y] and exact E[SG] by enumerating the 2³ hidden "
        "states, and the SG averaged over samples, along the scanned parameter (float64).", "",
        "| escape | β | scan | seed | max \\|SG − dE[S]/dw\\| | max \\|E[SG] − ∇E[y]\\| | ÷ max \\|∇E[y]\\| "
        "| opposite sign | output layer gap | max z (sampled SG) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in runs.iterrows():
        lines.append(f"| {r['escape']} | {r['slope']:g} | {r['scan']} | {int(r['seed'])} "
                     f"| {r['single_neuron_max_error']:.1e} | {r['network_max_gap']:.3g} "
                     f"| {r['network_relative_gap']:.3g} | {100 * r['network_sign_disagreement']:.0f} % "
                     f"| {r['output_layer_max_gap']:.1e} | {r['mc_sg_max_z']:.2f} |")
    base = frame[frame["panel"] == "base"] if "panel" in frame else frame.iloc[:0]
    if not base.empty:
        first = base[base["run_id"] == base["run_id"].iloc[0]] if "run_id" in base else base
        wide = first.pivot_table(index="parameter", columns="quantity", values="value", sort=False)
        lines += ["", "At the base point (first run): exact ∂E[y]/∂θ vs the exact expectation of the SG:", "",
                  "| parameter | ∂E[y]/∂θ | E[SG] |", "|---|---|---|"]
        lines += [f"| {p} | {wide.loc[p, 'exact_gradient']:+.4g} | {wide.loc[p, 'expected_sg']:+.4g} |"
                  for p in wide.index]

    claims = []
    error = float(runs["single_neuron_max_error"].max())
    claims.append((f"single-neuron SG with ψ = f′ equals dE[S]/dw for every sample (max error {error:.1e} "
                   f"≤ {SINGLE_TOL:g})", error <= SINGLE_TOL))
    hidden = runs[runs["scan"].isin(HIDDEN)]
    if not hidden.empty:
        gaps = hidden["network_relative_gap"].fillna(np.inf).where(hidden["network_max_gap"] > 0, 0.0)
        worst = float(gaps.min())
        claims.append((f"with a hidden layer E[SG] ≠ ∇E[y]: the gap along {', '.join(sorted(set(hidden['scan'])))} "
                       f"is ≥ {GAP_MIN:.0%} of max|∇E[y]| in every run (smallest: {worst:.3g}, largest absolute: "
                       f"{hidden['network_max_gap'].max():.3g}; opposite sign at up to "
                       f"{100 * hidden['network_sign_disagreement'].max():.0f} % of the scan)", worst >= GAP_MIN))
    out_gap = float(runs["output_layer_max_gap"].max())
    claims.append((f"for the output weights u1, u2 (one stochastic layer) E[SG] = ∂E[y]/∂u exactly (max gap "
                   f"{out_gap:.1e} ≤ {OUTPUT_TOL:g})", out_gap <= OUTPUT_TOL))
    z = float(runs["mc_sg_max_z"].max())
    claims.append((f"the SG averaged over samples agrees with its exact expectation (max z = {z:.2f} ≤ {Z_MAX:g})",
                   z <= Z_MAX))
    lines += [""] + [f"- {text}: {verdict(ok)}" for text, ok in claims]
    return "\n".join(lines)
