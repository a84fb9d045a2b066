"""Figures of Engelken, Ingrosso, Khajeh, Goedeke & Abbott (PLOS CB 2022), input correlations and chaos suppression
in balanced rate networks (balanced spec §2.6), from ``balanced`` tables (simulation and DMFT rows together).

- ``balanced-lambda`` (Fig. 2): λ1 vs I1 for common (green) and independent (violet) input, simulations (mean ± 2 std
  over realizations) and DMFT (dashed), the critical amplitudes I1_crit, the spec's numbers as black markers.
- ``balanced-crit`` (Fig. 3A): I1_crit vs N for both inputs (simulation: mean ± 2 std over realizations; DMFT for
  common input), with the quasi-static estimate √N·I0/cos(πλ0/(1+λ0)) and the √N law.
- ``balanced-mechanism`` (Fig. 4): slow common input: external drive and population rate, unit rates, the local
  Lyapunov exponent against the stationary-DMFT λ0 and the silent level ln(1 − dt)/dt.
- ``balanced-activity`` (Fig. 9, and Fig. 8 for common input): unit rates, population rate and autocovariance at
  three amplitudes, simulation solid, DMFT dashed.

Statistics (:func:`lambda_stats`, :func:`critical_amplitudes`, :func:`silent_stats`) are separate from the drawing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from sgtheory.figures.style import (
    DARK_GREY,
    LIGHT_GREY,
    PALETTE,
    REFERENCE_GREY,
    claim,
    new_figure,
    panel_letter,
    paper_markers,
)
from sgtheory.functional.dmft import quasi_static_I1_crit, zero_crossing

COLOURS = {"common": PALETTE["common input"], "independent": PALETTE["independent input"]}
# Spec §2.8 (simulation, N = 500, g = 2, f = 0.2, dt = 0.02, 2 seeds; rough targets): λ1 at each I1.
SPEC_SIM_500 = {"independent": {0.0: 0.056, 0.5: 0.063, 1.0: 0.053, 2.0: 0.021, 3.0: -0.017, 5.0: -0.101},
                "common": {0.0: 0.056, 5.0: 0.054, 10.0: 0.028, 15.0: -0.010, 20.0: -0.042, 25.0: -0.088,
                           30.0: -0.139, 40.0: -0.223}}
SPEC_CRIT_500 = {"independent": 2.7, "common": 14.0}  # spec §2.8, order of magnitude
ORDER_OF_MAGNITUDE = 2.0  # "order-of-magnitude targets" (spec §2.8): ours within a factor 2
SPEC_LAMBDA0_SIM_500 = 0.056
LAMBDA0_TOL = 0.02  # spec §2.8's 2-seed estimate vs another dt and duration: ± half the DMFT−N=500 gap (0.038)
# Spec §2.5 (DMFT, common input, f = 0.2): λ1 at each I1 for N = 500 and 5000; λ1(0) and ν at N = 5000 (issue 18).
SPEC_DMFT = {500: {0.0: 0.094, 5.0: 0.086, 10.0: 0.064, 15.0: 0.035, 20.0: -0.004, 25.0: -0.063},
             5000: {0.0: 0.094, 30.0: 0.064, 50.0: 0.023, 70.0: -0.045, 90.0: -0.145}}
SPEC_DMFT_LAMBDA0, DMFT_LAMBDA_TOL = 0.094, 0.005
SPEC_DMFT_RATE, DMFT_RATE_TOL = 1.025, 0.005
SPEC_DMFT_RATIO, DMFT_RATIO_TOL = 2.8, 0.3  # I1_crit(5000)/I1_crit(500), common input (issue 18)
SUPPRESSION_RATIO = 3.0  # I1_crit(common)/I1_crit(independent) at N = 500, f = 0.2 (issue 18)


def _label(kind: str) -> str:
    return f"{kind} input"


def _sim(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["method"] == "simulation"]


def _dmft(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["method"] == "dmft"]


def _lambda1(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame["quantity"] == "lambda1") & (frame["index"] == 1)]


def lambda_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """Simulated λ1 per (N, f, gain, input_type, I1): mean, std and number of realizations."""
    rows = _lambda1(_sim(frame))
    return rows.groupby(["N", "f", "gain", "input_type", "I1"])["value"].agg(["mean", "std", "count"]).reset_index()


def critical_amplitudes(frame: pd.DataFrame) -> pd.DataFrame:
    """I1_crit, the interpolated zero crossing of λ1(I1): per realization (seed) for simulations, then mean, std and
    count over realizations; one value per condition for the DMFT. Columns: method, N, f, gain, input_type, mean,
    std, count (NaN where λ1 never crosses zero on the grid)."""
    out = []
    rows = _lambda1(frame)
    for (method, N, f, gain, kind), part in rows.groupby(["method", "N", "f", "gain", "input_type"]):
        crossings = [zero_crossing(seed_rows["I1"], seed_rows["value"]) for _, seed_rows in part.groupby("seed")]
        crossings = np.array(crossings if method == "simulation" else crossings[:1])
        ok = crossings[np.isfinite(crossings)]
        out.append({"method": method, "N": N, "f": f, "gain": gain, "input_type": kind,
                    "mean": ok.mean() if len(ok) else np.nan, "std": ok.std(ddof=1) if len(ok) > 1 else 0.0,
                    "count": len(ok), "realizations": len(crossings)})
    return pd.DataFrame(out)


def _main_condition(frame: pd.DataFrame) -> tuple[int, float]:
    """The (N, f) that Fig. 2 shows: N = 500 and f = 0.2 where the table has them (the spec's check), else the largest
    simulated N and its first f."""
    sims = _lambda1(_sim(frame))
    source = sims if len(sims) else _lambda1(frame)
    N = 500 if 500 in set(source["N"]) else int(source["N"].max())
    fs = sorted(set(source[source["N"] == N]["f"]))
    return N, (0.2 if 0.2 in fs else fs[0])


def balanced_lambda_figure(frame: pd.DataFrame):
    N, f = _main_condition(frame)
    fig, (ax,) = new_figure(4.6, 3.0)
    stats = lambda_stats(frame)
    stats = stats[(stats["N"] == N) & (stats["f"] == f)]
    crit = critical_amplitudes(frame)
    for kind, colour in COLOURS.items():
        s = stats[stats["input_type"] == kind]
        if len(s):
            ax.errorbar(s["I1"], s["mean"], yerr=2 * s["std"].fillna(0), fmt="o", ms=3, color=colour, capsize=2,
                        lw=0.8, label=f"{_label(kind)}, simulation (± 2 std)")
        d = _lambda1(_dmft(frame))
        d = d[(d["N"] == N) & (d["f"] == f) & (d["input_type"] == kind)].sort_values("I1")
        if len(d):
            ax.plot(d["I1"], d["value"], "--", color=colour, lw=1.2, label=f"{_label(kind)}, DMFT")
        c = crit[(crit["method"] == "simulation") & (crit["N"] == N) & (crit["f"] == f) & (crit["input_type"] == kind)]
        if len(c) and np.isfinite(c["mean"].iloc[0]):
            ax.axvline(c["mean"].iloc[0], color=colour, ls=":", lw=0.8)
    if N == 500 and f == 0.2:
        for i, values in enumerate(SPEC_SIM_500.values()):
            paper_markers(ax, list(values), list(values.values()), label="spec §2.8 (simulation, dt = 0.02)"
                          if i == 0 else None)
        paper_markers(ax, list(SPEC_DMFT[500]), list(SPEC_DMFT[500].values()), label="spec §2.5 (DMFT, common)",
                      marker="+", ms=5)
    ax.axhline(0.0, color=REFERENCE_GREY, lw=0.6)
    ax.set(xlabel=r"input amplitude $I_1$", ylabel=r"$\lambda_1$ (1/τ)",
           title=f"N = {N}, g = {stats['gain'].iloc[0] if len(stats) else 2:g}, f = {f:g}/τ (dotted: I1_crit)")
    ax.legend(frameon=False, fontsize=5.5, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _crit_value(crit: pd.DataFrame, method: str, N: int, f: float, kind: str) -> tuple[float, float, int]:
    c = crit[(crit["method"] == method) & (crit["N"] == N) & (crit["f"] == f) & (crit["input_type"] == kind)]
    if not len(c):
        return math.nan, math.nan, 0
    return float(c["mean"].iloc[0]), float(c["std"].iloc[0]), int(c["count"].iloc[0])


def balanced_lambda_report(frame: pd.DataFrame) -> str:
    N, f = _main_condition(frame)
    crit = critical_amplitudes(frame)
    stats = lambda_stats(frame)
    lines = [f"λ1 of the balanced ReLU network (g = 2, I0 = J0 = 1, f = {f:g}/τ, N = {N}) vs the amplitude I1 of "
             "common (θ_i = 0) and independent (θ_i uniform, decision D6) sinusoidal input; simulations (Euler dt as "
             "in the table, QR every t_ons) and the DMFT of the same Euler recursion (decision D10). The spec's "
             "numbers (§2.8 simulation at dt = 0.02; §2.5 DMFT) are black markers.", "",
             "| input | I1_crit simulation (mean ± std over realizations) | I1_crit DMFT | spec §2.8 (sim) |",
             "|---|---|---|---|"]
    values = {}
    for kind in COLOURS:
        m, s, n = _crit_value(crit, "simulation", N, f, kind)
        d, _, _ = _crit_value(crit, "dmft", N, f, kind)
        values[kind] = m
        lines.append(f"| {kind} | {m:.2f} ± {s:.2f} (n = {n}) | {d:.2f} | {SPEC_CRIT_500[kind]:g} |")
    claims = []
    ratio = values["common"] / values["independent"]
    claims.append(claim(f"common input needs a much larger amplitude to suppress chaos than independent input "
                        f"(N = {N}, f = {f:g})", f"I1_crit(common)/I1_crit(independent) > {SUPPRESSION_RATIO:g}",
                        "issue 18 (spec §2.8: 14/2.7)", f"{ratio:.2f}",
                        None if not np.isfinite(ratio) else ratio > SUPPRESSION_RATIO))
    zero = stats[(stats["N"] == N) & (stats["f"] == f) & (stats["I1"] == 0)]
    if len(zero) and N == 500:
        lam0 = float(_lambda1(_sim(frame)).query("N == @N and f == @f and I1 == 0")["value"].mean())
        claims.append(claim("the undriven network at N = 500 is chaotic, below the large-N DMFT value (finite size)",
                            f"|λ1(I1 = 0) − {SPEC_LAMBDA0_SIM_500}| ≤ {LAMBDA0_TOL}",
                            "spec §2.8 (rough target; tolerance half the DMFT − N = 500 gap)", f"{lam0:+.3f}/τ",
                            abs(lam0 - SPEC_LAMBDA0_SIM_500) <= LAMBDA0_TOL))
    if N == 500 and f == 0.2:
        for kind in COLOURS:
            v = values[kind]
            ok = None if not np.isfinite(v) else 1 / ORDER_OF_MAGNITUDE <= v / SPEC_CRIT_500[kind] <= ORDER_OF_MAGNITUDE
            claims.append(claim(f"I1_crit({kind}) at N = 500 matches the spec's check", f"within a factor "
                                f"{ORDER_OF_MAGNITUDE:g} of {SPEC_CRIT_500[kind]:g}", "spec §2.8 (order of magnitude)",
                                f"{v:.2f}", ok))
    dm = _lambda1(_dmft(frame))
    at0 = dm[dm["I1"] == 0]
    if len(at0):
        lam = float(at0["value"].iloc[0])
        claims.append(claim("the DMFT λ1 of the undriven network (N-independent at I1 = 0)",
                            f"{SPEC_DMFT_LAMBDA0} ± {DMFT_LAMBDA_TOL}", "issue 18 / spec §2.5", f"{lam:+.4f}/τ",
                            abs(lam - SPEC_DMFT_LAMBDA0) <= DMFT_LAMBDA_TOL))
    d500 = dm[(dm["N"] == 500) & (dm["f"] == 0.2) & (dm["input_type"] == "common")]
    if len(d500) > 1 and 500 in SPEC_DMFT:
        ours = zero_crossing(d500["I1"], d500["value"])
        spec = zero_crossing(list(SPEC_DMFT[500]), list(SPEC_DMFT[500].values()))
        claims.append(claim("DMFT I1_crit(common) at N = 500 as the spec's solver", f"|Δ| ≤ 2.5 (half the spec "
                            f"table's I1 spacing) of {spec:.1f}", "spec §2.5 table", f"{ours:.2f}",
                            None if not np.isfinite(ours) else abs(ours - spec) <= 2.5))
    return "\n".join(lines + ["", *claims])


def balanced_crit_figure(frame: pd.DataFrame):
    crit = critical_amplitudes(frame)
    f = _main_condition(frame)[1]
    crit = crit[crit["f"] == f]
    fig, (ax,) = new_figure(4.6, 3.0)
    for kind, colour in COLOURS.items():
        s = crit[(crit["method"] == "simulation") & (crit["input_type"] == kind)].sort_values("N")
        if len(s):
            ax.errorbar(s["N"], s["mean"], yerr=2 * s["std"], fmt="o-", ms=3, color=colour, capsize=2, lw=0.8,
                        label=f"{_label(kind)}, simulation (± 2 std)")
        d = crit[(crit["method"] == "dmft") & (crit["input_type"] == kind)].sort_values("N")
        if len(d):
            ax.plot(d["N"], d["mean"], "s--", ms=3, mfc="white", color=colour, lw=1.0, label=f"{_label(kind)}, DMFT")
    d0 = _lambda1(_dmft(frame))
    d0 = d0[d0["I1"] == 0]
    Ns = np.array(sorted(set(crit["N"])), dtype=float)
    if len(d0) and len(Ns):
        lam0 = float(d0["value"].iloc[0])
        grid = np.geomspace(Ns.min(), Ns.max(), 30)
        ax.plot(grid, [quasi_static_I1_crit(lam0, 1.0, math.sqrt(n)) for n in grid], ":", color=DARK_GREY, lw=1,
                label=r"quasi-static $\sqrt{N}I_0/\cos(\pi\lambda_0/(1+\lambda_0))$")
    spec = {n: zero_crossing(list(v), list(v.values())) for n, v in SPEC_DMFT.items()}
    paper_markers(ax, list(spec), list(spec.values()), label="spec §2.5 (DMFT, common)")
    ax.set(xscale="log", yscale="log", xlabel="network size N", ylabel=r"$I_1^{crit}$", title=f"f = {f:g}/τ")
    ticks = sorted(set(Ns.astype(int)) | set(SPEC_DMFT))
    ax.set_xticks(ticks, [str(n) for n in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(frameon=False, fontsize=5.5, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def balanced_crit_report(frame: pd.DataFrame) -> str:
    f = _main_condition(frame)[1]
    crit = critical_amplitudes(frame)
    crit = crit[crit["f"] == f].sort_values(["method", "input_type", "N"])
    lines = [f"Critical amplitude I1_crit (zero crossing of λ1(I1), interpolated) vs N at f = {f:g}/τ.", "",
             "| method | input | N | I1_crit | std over realizations | √N·I0 |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.method} | {r.input_type} | {r.N} | {r.mean:.2f} | {r.std:.2f} | {math.sqrt(r.N):.1f} |"
              for r in crit.itertuples()]
    claims = []
    d = crit[(crit["method"] == "dmft") & (crit["input_type"] == "common")].set_index("N")["mean"]
    if {500, 5000} <= set(d.index):
        ratio = d[5000] / d[500]
        claims.append(claim("DMFT: I1_crit(common) grows like √N between N = 500 and 5000",
                            f"I1_crit(5000)/I1_crit(500) = {SPEC_DMFT_RATIO} ± {DMFT_RATIO_TOL}", "issue 18",
                            f"{ratio:.2f}", abs(ratio - SPEC_DMFT_RATIO) <= DMFT_RATIO_TOL))
    rate = _lambda1(_dmft(frame))
    rate = rate[(rate["N"] == 5000) & (rate["I1"] == 0)]
    if len(rate):
        nu = float(rate["rate_mean"].iloc[0])
        claims.append(claim("DMFT population rate of the undriven network at N = 5000", f"{SPEC_DMFT_RATE} ± "
                            f"{DMFT_RATE_TOL}", "issue 18 / spec §2.5 (1.0245)", f"{nu:.4f}",
                            abs(nu - SPEC_DMFT_RATE) <= DMFT_RATE_TOL))
    sims = crit[crit["method"] == "simulation"]
    Ns = sorted(set(sims["N"]))
    if len(Ns) >= 2:
        lo, hi = Ns[0], Ns[-1]
        for kind, grows in (("common", True), ("independent", False)):
            a = sims[(sims["input_type"] == kind) & (sims["N"] == lo)]
            b = sims[(sims["input_type"] == kind) & (sims["N"] == hi)]
            if not (len(a) and len(b)):
                continue
            (ma, sa, na), (mb, sb, nb) = (a[["mean", "std", "count"]].iloc[0], b[["mean", "std", "count"]].iloc[0])
            margin = 2 * math.sqrt(sa**2 / max(na, 1) + sb**2 / max(nb, 1))
            diff = mb - ma
            judged = min(na, nb) >= 2  # the spread over realizations needs two crossings per N
            if grows:
                claims.append(claim(f"simulation: I1_crit(common) grows from N = {lo} to {hi}", f"Δ > {margin:.2f}",
                                    "2 s.e. of the difference over realizations", f"Δ = {diff:+.2f} (√N ratio "
                                    f"{math.sqrt(hi / lo):.2f}, ours {mb / ma:.2f}; crossings {int(na)}, {int(nb)})",
                                    diff > margin if judged else None))
            else:
                flat = max(margin, 0.25 * ma)
                claims.append(claim(f"simulation: I1_crit(independent) stays flat from N = {lo} to {hi}",
                                    f"|Δ| ≤ {flat:.2f}", "2 s.e. over realizations, at least 25 % (the paper: "
                                    "constant)", f"Δ = {diff:+.2f} (crossings {int(na)}, {int(nb)})",
                                    abs(diff) <= flat if judged else None))
    return "\n".join(lines + ["", *claims])


def silent_stats(frame: pd.DataFrame) -> dict[str, float]:
    """The local exponent of the first simulated run during silent episodes (external drive < 0 over the whole ONS
    interval, judged at its end with one interval's margin) and while the drive is positive."""
    sim = _sim(frame)
    run = sim[sim["run_id"] == sim["run_id"].iloc[0]]
    local = run[run["quantity"] == "local_lambda"].sort_values("time")
    cfg = run.iloc[0]
    t = local["time"].to_numpy()
    drive = math.sqrt(cfg["K"] or cfg["N"]) * cfg["I0"]
    ext = drive + cfg["I1"] * np.sin(2 * math.pi * cfg["f"] * t)
    margin = drive + cfg["I1"] * np.sin(2 * math.pi * cfg["f"] * (t - 2 * cfg["t_ons"]))
    silent = (ext < 0) & (margin < 0)
    active = ext > 0
    return {"silent": float(local["value"][silent].mean()) if silent.any() else math.nan,
            "active": float(local["value"][active].mean()) if active.any() else math.nan,
            "silent_level": math.log(1 - cfg["dt"]) / cfg["dt"], "fraction_silent": float(silent.mean()),
            "lambda1": float(_lambda1(run)["value"].iloc[0])}


def balanced_mechanism_figure(frame: pd.DataFrame):
    sim = _sim(frame)
    run = sim[sim["run_id"] == sim["run_id"].iloc[0]]
    cfg = run.iloc[0]
    fig, axes = new_figure(4.8, 5.0, nrows=3)
    rate = run[run["quantity"] == "rate"].sort_values("time")
    t = rate["time"].to_numpy()
    silent = rate["drive"].to_numpy() < 0
    ax = axes[0]
    ax.plot(t, rate["drive"], "--", color=COLOURS["common"], lw=1, label="external input")
    ax.plot(t, rate["value"] * math.sqrt(cfg["K"] or cfg["N"]) * cfg["J0"], color=DARK_GREY, lw=1,
            label=r"recurrent mean input, sign flipped: $\sqrt{K}J_0\nu$")
    ax.set(ylabel="input")
    ax.legend(frameon=False, fontsize=5.5, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2)
    units = run[run["quantity"] == "unit_rate"]
    for i, (_, u) in enumerate(units.groupby("index")):
        u = u.sort_values("time")
        axes[1].plot(u["time"], u["value"], lw=0.8, color=[DARK_GREY, LIGHT_GREY, REFERENCE_GREY, "#999999"][i % 4])
    axes[1].set(ylabel=r"rates $\phi(h_i)$")
    local = run[run["quantity"] == "local_lambda"].sort_values("time")
    axes[2].plot(local["time"], local["value"], color=COLOURS["common"], lw=0.8, label="local λ (simulation)")
    d0 = _lambda1(_dmft(frame))
    d0 = d0[d0["I1"] == 0]
    if len(d0):
        axes[2].axhline(float(d0["value"].iloc[0]), color=DARK_GREY, ls="--", lw=1, label="stationary DMFT λ0")
    axes[2].axhline(math.log(1 - cfg["dt"]) / cfg["dt"], color=REFERENCE_GREY, ls=":", lw=1,
                    label="silent: ln(1 − dt)/dt")
    axes[2].set(xlabel="time (τ)", ylabel="local λ (1/τ)")
    axes[2].legend(frameon=False, fontsize=5.5, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=3)
    for ax in axes:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], silent.astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            ax.axvspan(t[a], t[b - 1], color=LIGHT_GREY, alpha=0.4, lw=0)
    fig.suptitle(f"slow common input: N = {cfg['N']}, f = {cfg['f']:g}/τ, I1 = {cfg['I1']:g} (grey: drive < 0)",
                 fontsize=8)
    for ax, letter in zip(axes, "ABC", strict=True):
        panel_letter(ax, letter)
    return fig


SILENT_TOL = 0.05  # the silent network's local λ is ln(1 − dt)/dt exactly (φ' = 0); 0.05: residual activity at edges


def balanced_mechanism_report(frame: pd.DataFrame) -> str:
    s = silent_stats(frame)
    d0 = _lambda1(_dmft(frame))
    d0 = d0[d0["I1"] == 0]
    lam0 = float(d0["value"].iloc[0]) if len(d0) else math.nan
    lines = [f"Slow common input: local Lyapunov exponent over time. Silent fraction of the ONS intervals "
             f"{s['fraction_silent']:.2f}; mean local λ while silent {s['silent']:+.3f}/τ, while driven "
             f"{s['active']:+.3f}/τ; λ1 {s['lambda1']:+.3f}/τ; stationary DMFT λ0 {lam0:+.3f}/τ."]
    claims = [claim("while the total input is negative the network is silent and the local exponent is that of the "
                    "leak", f"|local λ − ln(1 − dt)/dt| ≤ {SILENT_TOL}", "spec §2.3 (φ' = 0: λ = ln(1−dt)/dt exactly)",
                    f"{s['silent']:+.3f} vs {s['silent_level']:+.3f}",
                    None if not np.isfinite(s["silent"]) else abs(s["silent"] - s["silent_level"]) <= SILENT_TOL),
              claim("otherwise the dynamics stays chaotic on average", "mean local λ while driven > 0",
                    "spec §2.3 / Fig. 4 caption", f"{s['active']:+.3f}/τ",
                    None if not np.isfinite(s["active"]) else s["active"] > 0)]
    return "\n".join(lines + ["", *claims])


def _activity_kind(frame: pd.DataFrame) -> str:
    kinds = sorted(set(frame["input_type"]))
    return "independent" if "independent" in kinds else kinds[0]


def balanced_activity_figure(frame: pd.DataFrame):
    kind = _activity_kind(frame)
    frame = frame[frame["input_type"] == kind]
    amplitudes = sorted(set(_sim(frame)["I1"]))
    fig, axes = new_figure(7.2, 1.6 * len(amplitudes) + 0.6, ncols=3, nrows=len(amplitudes))
    colour = COLOURS[kind]
    for row, I1 in enumerate(amplitudes):
        sim = _sim(frame)[_sim(frame)["I1"] == I1]
        dm = _dmft(frame)[_dmft(frame)["I1"] == I1]
        first = sim[sim["run_id"] == sim["run_id"].iloc[0]]
        ax_u, ax_r, ax_c = axes[3 * row: 3 * row + 3]
        for i, (_, u) in enumerate(first[first["quantity"] == "unit_rate"].groupby("index")):
            u = u.sort_values("time")
            ax_u.plot(u["time"], u["value"], lw=0.7, color=[colour, DARK_GREY, LIGHT_GREY][i % 3])
        rate = sim[sim["quantity"] == "rate"].groupby("time")["value"].median()
        ax_r.plot(rate.index, rate.to_numpy(), color=colour, lw=0.8, label="simulation (median)")
        r_d = dm[dm["quantity"] == "rate"].sort_values("time")
        if len(r_d):  # the same clock as the simulation (the input's phase is 2πft in both)
            keep = r_d["time"] >= (rate.index.min() if len(rate) else 0)
            ax_r.plot(r_d["time"][keep], r_d["value"][keep], "--", color=DARK_GREY, lw=0.9, label="DMFT")
        acf = sim[sim["quantity"] == "autocorr"].groupby("lag")["value"].median()
        ax_c.plot(acf.index, acf.to_numpy(), color=colour, lw=1, label="simulation (median)")
        a_d = dm[dm["quantity"] == "autocorr"].sort_values("lag")
        if len(a_d):
            ax_c.plot(a_d["lag"], a_d["value"], "--", color=DARK_GREY, lw=0.9, label="DMFT")
        lam = _lambda1(sim)["value"].mean()
        ax_u.set(ylabel=f"I1 = {I1:g}\nφ(h_i)")
        ax_u.set_title(f"λ1 = {lam:+.3f}/τ", fontsize=7)
        ax_r.set(ylabel="ν(t)")
        ax_c.set(ylabel="C(lag)")
        if row == 0:
            ax_r.legend(frameon=False, fontsize=5.5, loc="lower left", bbox_to_anchor=(0.0, 1.15), ncol=2)
        if row == len(amplitudes) - 1:
            ax_u.set(xlabel="time (τ)")
            ax_r.set(xlabel="time (τ)")
            ax_c.set(xlabel="lag (τ)")
    fig.suptitle(f"{kind} input, f = {frame['f'].iloc[0]:g}/τ, N = {frame['N'].max()}", fontsize=8)
    return fig


TRACK_TOL = 0.15


def tracking_amplitude(frame: pd.DataFrame, I1: float) -> tuple[float, float]:
    """The in-phase amplitude of the simulated population rate at the input frequency (least squares on ν(t) ≈ a +
    b·sin(2πft) + c·cos(2πft), pooled over realizations) and the balance prediction I1/(√K·J0)."""
    sim = _sim(frame)
    rows = sim[(sim["quantity"] == "rate") & (sim["I1"] == I1)]
    cfg = rows.iloc[0]
    w = 2 * math.pi * cfg["f"]
    t = rows["time"].to_numpy()
    design = np.column_stack([np.ones_like(t), np.sin(w * t), np.cos(w * t)])
    coef = np.linalg.lstsq(design, rows["value"].to_numpy(), rcond=None)[0]
    return float(coef[1]), I1 / (math.sqrt(cfg["K"] or cfg["N"]) * cfg["J0"])


def balanced_activity_report(frame: pd.DataFrame) -> str:
    kind = _activity_kind(frame)
    frame = frame[frame["input_type"] == kind]
    sim = _lambda1(_sim(frame)).groupby("I1")[["value", "rate_mean", "h_var"]].mean()
    dm = _lambda1(_dmft(frame)).set_index("I1")[["value", "rate_mean", "h_var"]]
    lines = [f"{kind.capitalize()} input: λ1, time-averaged population rate and variance of h − ⟨h⟩ (simulation mean "
             "over realizations; DMFT in brackets).", "", "| I1 | λ1 | ν | C(t,t) |", "|---|---|---|---|"]
    for I1, r in sim.iterrows():
        d = dm.loc[I1] if I1 in dm.index else None
        cells = [f"{r[k]:+.3f}" + ("" if d is None else f" ({d[k]:+.3f})") for k in ("value", "rate_mean", "h_var")]
        lines.append(f"| {I1:g} | " + " | ".join(cells) + " |")
    claims = []
    amps = sorted(sim.index)
    tracked = [a for a in amps if 0 < a < math.sqrt(frame["N"].iloc[0]) * frame["I0"].iloc[0]]
    if kind == "common" and tracked:
        amp, expected = tracking_amplitude(frame, tracked[0])
        claims.append(claim(f"the population rate tracks the common input (I1 = {tracked[0]:g}): δν = "
                            "I1·sin(2πft)/(√N·J0)", f"in-phase amplitude within {TRACK_TOL:.0%} of {expected:.3f}",
                            "spec §2.3 balance equation; the neglected (m + dm/dt)/(√N·J0) is O(1/√N) ≈ 5 % at "
                            "N = 500, tripled", f"{amp:.3f}", abs(amp / expected - 1) <= TRACK_TOL))
    if kind == "independent" and len(amps) >= 2:
        top = amps[-1]
        claims.append(claim(f"strong independent input (I1 = {top:g}) fully controls the network", "λ1 < 0",
                            "Fig. 9 caption (I1 = 10: not chaotic)", f"{sim.loc[top, 'value']:+.3f}/τ",
                            sim.loc[top, "value"] < 0))
        small = [a for a in amps if 0 < a <= 1]
        if small:
            claims.append(claim(f"weak independent input (I1 = {small[0]:g}) leaves it chaotic", "λ1 > 0",
                                "Fig. 9 caption (I1 = 0.8: still chaotic)", f"{sim.loc[small[0], 'value']:+.3f}/τ",
                                sim.loc[small[0], "value"] > 0))
    return "\n".join(lines + ["", *claims])
