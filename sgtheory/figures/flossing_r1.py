"""Figure R1 of surrogate gradient flossing (Engelken & Abbott; flossing spec §8.1) and the reconciliation of its
epoch-0 exponents.

- ``r1``: A — λ_1 vs flossing epochs per surrogate slope (k = 1); B — spectra after flossing k exponents, the
  unflossed spectra in grey; C — damage spreading before and after flossing (from a ``floss`` table).
- ``reconcile``: surrogate λ_1 at initialisation for slopes 0.5 and 1.0 across model variants, next to the paper's
  values (from a ``lyap`` table).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sgtheory.figures.flossing import (
    PAPER_R1A,
    PAPER_R1B,
    PAPER_SPREAD,
    PINNED,
    R1B_INDICES,
    R1B_SLOPE,
    _floss_curves,
    _is_binary,
    _thin_and_mean,
    at_scale,
    floss_epochs_needed,
    mean_by,
    noise_margin,
)
from sgtheory.figures.style import (
    BLUE,
    DARK_GREY,
    LIGHT_GREY,
    PALETTE,
    REFERENCE_GREY,
    claim,
    new_figure,
    ordered_colours,
    panel_letter,
    paper_markers,
)

BEFORE = PALETTE["before flossing"]
OUTSIDE = {"frameon": False, "fontsize": 6, "loc": "upper left", "bbox_to_anchor": (1.0, 1.0)}
LAST_INDEX = 50  # the exponents R1B plots (spec §8.1: i = 1..50)


def _panel_b_slope(table: pd.DataFrame) -> float:
    """The slope whose spectra panel B shows: 0.5 (decision D2) when present, else the smallest."""
    return R1B_SLOPE if R1B_SLOPE in set(table["slope"]) else table["slope"].min()


def _damage(table: pd.DataFrame) -> pd.DataFrame:
    """The damage-spreading rows of a floss table (binary and LIF networks; empty for tanh or older tables)."""
    return table[table["phase"] == "damage"] if "damage" in set(table["phase"]) else table.iloc[:0]


def r1_figure(table: pd.DataFrame):
    damage = _damage(table)
    fig, axes = new_figure(10.4 if len(damage) else 7.6, 2.5, ncols=3 if len(damage) else 2)
    a, b = axes[:2]
    binary = _is_binary(table)
    curves = _floss_curves(table)
    last_epoch = 150 if curves["epoch"].max() >= 150 else curves["epoch"].max()
    slope_colours = ordered_colours(curves["slope"].unique())
    for slope, group in curves.groupby("slope"):
        wide = group[group["epoch"] <= last_epoch].pivot_table(index="epoch", columns="seed", values="value")
        _thin_and_mean(a, wide, slope_colours[slope], f"slope {slope:g}")
    if binary:
        for n, slope in enumerate(s for s in sorted(slope_colours) if s in PAPER_R1A):
            paper = pd.Series(PAPER_R1A[slope])
            paper_markers(a, paper.index, paper.to_numpy(), label="paper (means)" if n == 0 else None)
    a.axhline(0, ls=":", color=REFERENCE_GREY, lw=1)
    a.set(xlabel="flossing epoch", ylabel=r"surrogate $\lambda_1$ (1/step), k = 1")
    a.legend(**OUTSIDE)

    slope_b = _panel_b_slope(table)
    spectra = table[(table["slope"] == slope_b) & (table["phase"].isin(["before", "after"]))
                    & (table["index"] <= LAST_INDEX)]
    before = spectra[spectra["phase"] == "before"]
    for _, group in before.groupby("nle"):
        wide = group.pivot_table(index="index", columns="seed", values="value")
        b.plot(wide.index, wide.to_numpy(), color=BEFORE, lw=0.5, alpha=0.5)
    b.plot(*mean_by(before, "index"), color=BEFORE, lw=2, label="before flossing")
    after = spectra[spectra["phase"] == "after"]
    k_colours = ordered_colours(after["nle"].unique())
    for k, group in after.groupby("nle"):
        wide = group.pivot_table(index="index", columns="seed", values="value")
        _thin_and_mean(b, wide, k_colours[k], f"after, k = {k}")
    values = list(spectra["value"])
    if binary:
        shown = [k for k in (1, 16, 32) if k in k_colours]
        for k in shown:
            paper_markers(b, R1B_INDICES, PAPER_R1B[k], label=None)
            values += list(PAPER_R1B[k])
        paper_markers(b, R1B_INDICES, PAPER_R1B["before"], label="paper (means)")
        values += list(PAPER_R1B["before"])
    b.axhline(0, ls=":", color=REFERENCE_GREY, lw=1)
    low, high = min(values), max(max(values), 0.0)
    pad = 0.06 * (high - low)
    b.set(xlabel="exponent index i", ylabel=rf"surrogate $\lambda_i$ (1/step), slope {slope_b:g}", xlim=(-1, 51),
          ylim=(low - pad, high + pad))
    b.legend(**OUTSIDE)
    model = ", ".join(sorted(table["model"].unique()))
    fig.suptitle(f"{model} RNN, N = {table['N'].iloc[0]}, gain {table['gain'].iloc[0]:.3g}, "
                 f"{table['seed'].nunique()} realizations, {int(curves['epoch'].max())} flossing epochs", fontsize=8)
    if len(damage):
        c = axes[2]
        damage = damage[damage["slope"] == slope_b]
        c.plot(*mean_by(damage[damage["epoch"] == 0], "step"), color=BEFORE, lw=2, label="before flossing")
        for k, group in damage.groupby("nle"):
            c.plot(*mean_by(group[group["epoch"] == group["epoch"].max()], "step"), color=k_colours.get(k, "k"),
                   lw=1.5, label=f"after, k = {k}")
        c.set(xlabel="steps after one flipped unit", ylabel="damage (Hamming distance)", title=f"slope {slope_b:g}",
              ylim=(0, None))
        c.legend(**OUTSIDE)
        panel_letter(c, "C")
    panel_letter(a, "A")
    panel_letter(b, "B")
    return fig


def _per_seed_spectra(table: pd.DataFrame):
    """λ_i per (k, seed, index) after flossing and per (k, seed, index) before, for panel B's slope."""
    slope_b = _panel_b_slope(table)
    spectra = table[(table["slope"] == slope_b) & table["phase"].isin(["before", "after"])]
    after = spectra[spectra["phase"] == "after"].groupby(["nle", "seed", "index"])["value"].mean()
    before = spectra[spectra["phase"] == "before"].groupby(["nle", "seed", "index"])["value"].mean()
    return after, before


def mode_time_constants(table: pd.DataFrame, after: pd.Series, before: pd.Series):
    """Markdown lines and claims: time constants τ_i = -Δt/λ_i of the tangent modes of the LIF network before and
    after flossing k exponents, against τ_mem and τ_syn (the talk: flossing creates tangent modes slower than the
    single-neuron time constants; a mode with λ_i ≥ 0 does not decay, τ_i = ∞). ``after``/``before``: λ_i per
    (k, seed, index)."""
    dt, tau_mem, tau_syn = (float(table[c].iloc[0]) for c in ("dt", "tau_mem", "tau_syn"))

    def tau(lam: float) -> str:
        return "∞" if lam >= 0 else f"{-dt / lam:.1f}"

    mean_after = after.groupby(level=["nle", "index"]).mean()
    mean_before = before.groupby(level=["nle", "index"]).mean()
    ks = sorted(mean_after.index.get_level_values(0).unique())
    lines = ["", f"Time constants τ_i = -Δt/λ_i (ms) of the tangent modes, τ_mem = {tau_mem:g} ms, τ_syn = {tau_syn:g} "
             "ms (means of λ_i over realizations):", "", "| k | τ_1 before | τ_k before | τ_1 after | τ_k after | "
             "τ_(k+1) after |", "|---|---|---|---|---|---|"]
    claims = []
    epochs = int(table.loc[table["phase"] == "after", "epoch"].max())
    for k in ks:
        lam_k = mean_after[(k, k)]
        nxt = tau(mean_after[(k, k + 1)]) if (k, k + 1) in mean_after.index else "—"
        lines.append(f"| {k} | {tau(mean_before[(k, 1)])} | {tau(mean_before[(k, k)])} | {tau(mean_after[(k, 1)])} | "
                     f"{tau(lam_k)} | {nxt} |")
        rise = (after.xs((k, k), level=["nle", "index"]) - before.xs((k, k), level=["nle", "index"])).dropna()
        margin = noise_margin(rise)
        ok = (lam_k >= 0 or -dt / lam_k > tau_mem) and rise.mean() > margin
        short = epochs < floss_epochs_needed(k)
        claims.append(claim(
            f"k = {k}: flossing creates {k} tangent mode{'s' if k > 1 else ''} slower than the membrane — the talk's "
            "claim", f"τ_k after > τ_mem = {tau_mem:g} ms and λ_k raised by more than {margin:.3f}/step",
            "τ_mem (the model, spec §2.3); 2 s.e. over realizations of the rise of λ_k (seed noise)"
            + (f"; {epochs} flossing epochs < {floss_epochs_needed(k)} (D9)" if short and not ok else ""),
            f"τ_k {tau(mean_before[(k, k)])} → {tau(lam_k)} ms, rise {rise.mean():+.3f}/step", at_scale(ok, short)))
    return lines, claims


DAMAGE_STEPS = (1, 5, 20, 40)


def damage_report(table: pd.DataFrame) -> list[str]:
    """Markdown lines: the mean damage d_t of the forward network before, halfway through and after flossing."""
    damage = _damage(table)
    if damage.empty:
        return []
    keys = [k for k in ("slope", "gain", "nle") if damage[k].nunique() > 1] or ["nle"]
    means = damage[damage["step"].isin(DAMAGE_STEPS)].groupby([*keys, "epoch", "step"])["value"].mean().unstack()
    lines = ["", f"Damage spreading of the forward network (mean Hamming distance, in units of N = "
             f"{table['N'].iloc[0]}, t steps after one flipped unit; ordered dynamics stays near 0, chaotic dynamics "
             "reaches a fraction of N), before flossing (epoch 0), halfway and after:", "",
             "| " + " | ".join(keys) + " | flossing epoch | " + " | ".join(f"t = {t}" for t in DAMAGE_STEPS) + " |",
             "|" + "---|" * (len(keys) + 1 + len(DAMAGE_STEPS))]
    for index, row in means.iterrows():
        cells = [f"{v:g}" for v in index]
        lines.append("| " + " | ".join(cells) + " | " + " | ".join(f"{row.get(t, np.nan):.1f}" for t in DAMAGE_STEPS)
                     + " |")
    return lines


def _r1_means(table: pd.DataFrame):
    curves = _floss_curves(table)
    lam1 = curves.groupby(["slope", "epoch"])["value"].mean()
    slope_b = _panel_b_slope(table)
    spectra = table[(table["slope"] == slope_b) & table["phase"].isin(["before", "after"])]
    after = spectra[spectra["phase"] == "after"].groupby(["nle", "index"])["value"].mean()
    before = spectra[spectra["phase"] == "before"].groupby("index")["value"].mean()
    return lam1, after, before


def pinned_tolerance(before: pd.Series, binary: bool) -> tuple[float, str]:
    """The tolerance of "near the target" and where it comes from: the spec's ±0.05/step for the binary network
    (spec §8.1); for other models the same fraction of the unflossed spectrum's spread λ_1 - λ_50 as 0.05 is of the
    paper's (0.63/step), so a model with a narrow spectrum is not judged on a tolerance as wide as its spectrum."""
    if binary:
        return PINNED, f"±{PINNED}/step, spec §8.1 (\"within about ±0.05\")"
    last = min(LAST_INDEX, int(before.index.max()))
    spread = float(before[1] - before[last])
    tol = PINNED * spread / PAPER_SPREAD
    return tol, (f"±{tol:.4f}/step: spec §8.1's ±{PINNED} scaled by our unflossed spread λ_1 - λ_{last} = "
                 f"{spread:.3f} over the paper's {PAPER_SPREAD:.3f}")


def r1_report(table: pd.DataFrame) -> str:
    lam1, after, before = _r1_means(table)
    binary = _is_binary(table)
    lines = ["Mean surrogate λ_1 (1/step) vs flossing epoch, k = 1" + (" (paper in brackets):" if binary else ":"),
             "", "| slope | " + " | ".join(f"epoch {e}" for e in PAPER_R1A[0.5]) + " |",
             "|---|" + "---|" * len(PAPER_R1A[0.5])]
    slopes = sorted(lam1.index.get_level_values(0).unique())
    for slope in slopes:
        cells = []
        for epoch in PAPER_R1A[0.5]:
            ours = lam1.get((slope, epoch))
            paper = PAPER_R1A.get(slope, {}).get(epoch) if binary else None
            cells.append(("—" if ours is None else f"{ours:+.3f}") + ("" if paper is None else f" ({paper:+.3f})"))
        lines.append(f"| {slope:g} | " + " | ".join(cells) + " |")
    ks = sorted(after.index.get_level_values(0).unique())
    lines += ["", "Mean spectrum after flossing k exponents" + (" (paper in brackets):" if binary else ":"), "",
              "| i | before | " + " | ".join(f"k = {k}" for k in ks) + " |", "|---|---|" + "---|" * len(ks)]
    for i in R1B_INDICES:
        if i not in before.index:
            continue
        row = [f"{before[i]:+.3f}" + (f" ({PAPER_R1B['before'][R1B_INDICES.index(i)]:+.3f})" if binary else "")]
        for k in ks:
            paper = PAPER_R1B.get(k) if binary else None
            row.append(f"{after[(k, i)]:+.3f}" + ("" if paper is None else f" ({paper[R1B_INDICES.index(i)]:+.3f})"))
        lines.append(f"| {i} | " + " | ".join(row) + " |")

    curves = _floss_curves(table)
    per_seed = curves.groupby(["slope", "seed", "epoch"])["value"].mean()
    floss_end = int(curves["epoch"].max())
    tol, tol_source = pinned_tolerance(before, binary)
    claims = []
    if len(slopes) >= 2:
        soft, sharp = slopes[0], slopes[-1]
        s0, s1 = per_seed.xs((soft, 0), level=["slope", "epoch"]), per_seed.xs((sharp, 0), level=["slope", "epoch"])
        margin = noise_margin(s1, s0)
        diff = s1.mean() - s0.mean()
        paper = (f" (paper: {PAPER_R1A[sharp][0]:+.3f} vs {PAPER_R1A[soft][0]:+.3f})"
                 if binary and {soft, sharp} <= set(PAPER_R1A) else "")
        claims.append(claim(f"the sharper surrogate (slope {sharp:g}) starts more negative than slope {soft:g}{paper}",
                            f"λ_1(slope {sharp:g}) - λ_1(slope {soft:g}) < -{margin:.3f}/step",
                            "2 s.e. of the difference over realizations (seed noise)", f"{diff:+.3f}/step",
                            bool(diff < -margin)))
    end = min(floss_end, floss_epochs_needed(1))
    short = floss_end < floss_epochs_needed(1)
    for slope in slopes:
        start, last = per_seed.xs((slope, 0), level=["slope", "epoch"]), per_seed.xs((slope, end),
                                                                                   level=["slope", "epoch"])
        moved = (start.abs() - last.abs()).dropna()
        margin = noise_margin(moved)
        ok = abs(last.mean()) <= tol and moved.mean() > margin
        claims.append(claim(
            f"slope {slope:g}: flossing k = 1 drives λ_1 to 0 by flossing epoch {end}",
            f"|mean λ_1| ≤ {tol:.3g} and |λ_1| reduced by more than {margin:.3f}/step",
            f"{tol_source}; 2 s.e. over realizations of the reduction (seed noise)"
            + (f"; {floss_end} flossing epochs < the paper's {floss_epochs_needed(1)}" if short and not ok else ""),
            f"{start.mean():+.3f} → {last.mean():+.3f}", at_scale(ok, short)))
    after_seed, before_seed = _per_seed_spectra(table)
    after_end = int(table.loc[table["phase"] == "after", "epoch"].max())
    for k in ks:
        short = after_end < floss_epochs_needed(k)
        pinned = all(abs(after[(k, i)]) <= tol for i in range(1, k + 1))
        drop = (k, k + 1) in after.index and after[(k, k + 1)] < after[(k, k)] - tol
        text = f"k = {k}: exactly the first {k} exponents near 0, then a drop at i = {k + 1}"
        if binary and k in PAPER_R1B:
            paper_pinned = all(abs(v) <= PINNED for i, v in zip(R1B_INDICES, PAPER_R1B[k], strict=True) if i <= k)
            text += f" (the paper's digitized values by the same test: {'pass' if paper_pinned else 'fail'})"
        worst = max(abs(after[(k, i)]) for i in range(1, k + 1))
        step = after[(k, k)] - after[(k, k + 1)] if (k, k + 1) in after.index else np.nan
        ok = bool(pinned and drop)
        claims.append(claim(text, f"max_(i≤{k}) |λ_i| ≤ {tol:.3g} and λ_{k} - λ_{k + 1} > {tol:.3g}",
                            tol_source + (f"; {after_end} flossing epochs < {floss_epochs_needed(k)} (D9)"
                                          if short and not ok else ""),
                            f"max {worst:.3f}, drop {step:.3f}", at_scale(ok, short)))
        last = min(LAST_INDEX, int(before.index.max()))
        if k + 5 <= last:
            tail = [i for i in range(k + 5, last + 1)]
            a_k = after_seed.xs(k, level="nle")
            b_k = before_seed.xs(k, level="nle") if k in before_seed.index.get_level_values(0) else None
            if b_k is None:
                continue
            gap = (a_k[a_k.index.get_level_values("index").isin(tail)]
                   - b_k[b_k.index.get_level_values("index").isin(tail)]).groupby(level="seed").mean().dropna()
            margin = noise_margin(gap)
            paper_gap = (np.mean([a - b for i, a, b in zip(R1B_INDICES, PAPER_R1B[k], PAPER_R1B["before"],
                                                             strict=True) if i >= k + 5])
                         if binary and k in PAPER_R1B else None)
            ok = bool(gap.mean() < -margin)
            claims.append(claim(
                f"k = {k}: the tail (i = {k + 5}..{last}) lies below the unflossed spectrum"
                + ("" if paper_gap is None else f" (paper: {paper_gap:+.3f}/step on average)"),
                f"mean λ_i after - before < -{margin:.3f}/step",
                "2 s.e. over realizations of the mean gap (seed noise)"
                + (f"; {after_end} flossing epochs < {floss_epochs_needed(k)} (D9)" if short and not ok else ""),
                f"{gap.mean():+.3f}/step", at_scale(ok, short)))
    if set(table["model"]) == {"lif"}:
        mode_lines, mode_claims = mode_time_constants(table, after_seed, before_seed)
        lines += mode_lines
        claims += mode_claims
    lines += damage_report(table)
    lines += [""] + claims
    return "\n".join(lines)


def _reconcile_means(table: pd.DataFrame) -> pd.DataFrame:
    exps = table[(table["quantity"] == "exponent") & (table["index"] == 1)]
    varying = [c for c in ("surrogate", "gain", "input_rate", "init", "scale", "input_scale", "N")
               if c in exps and exps[c].nunique() > 1]
    wide = exps.pivot_table(index=varying or ["model"], columns="slope", values="value", aggfunc="mean")
    if not {0.5, 1.0} <= set(wide.columns):
        raise ValueError("the reconciliation table needs slopes 0.5 and 1.0")
    wide = wide[[0.5, 1.0]]
    paper = np.array([PAPER_R1A[0.5][0], PAPER_R1A[1.0][0]])
    wide["rms"] = np.sqrt(((wide[[0.5, 1.0]].to_numpy() - paper) ** 2).mean(axis=1))
    return wide.sort_values("rms")


CHOSEN = {"surrogate": "fast_sigmoid", "gain": 2**0.5, "input_rate": 0.5, "init": "gaussian"}
LITERAL = {"surrogate": "fast_sigmoid", "gain": 1.0, "input_rate": 0.5, "init": "gaussian"}


def _variant_rows(wide: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Rows of ``wide`` whose index levels match ``spec`` (levels absent from the index are not checked)."""
    frame = wide.reset_index()
    mask = np.ones(len(frame), dtype=bool)
    for key, value in spec.items():
        if key in frame:
            column = frame[key]
            mask &= np.isclose(column, value, rtol=1e-6) if isinstance(value, float) else (column == value)
    return frame[mask]


def reconcile_figure(table: pd.DataFrame):
    fig, (ax,) = new_figure(5.4, 3.0)
    wide = _reconcile_means(table)
    ax.scatter(wide[0.5], wide[1.0], s=10, color=LIGHT_GREY, lw=0, label="variant")
    for spec, colour, label in ((LITERAL, DARK_GREY, "literal reconstruction\n(gain 1)"),
                                (CHOSEN, BLUE, "chosen: gain √2")):
        rows = _variant_rows(wide, spec)
        ax.scatter(rows[0.5], rows[1.0], s=25, color=colour, label=label, zorder=3)
    paper_markers(ax, [PAPER_R1A[0.5][0]], [PAPER_R1A[1.0][0]], label="paper (R1A, epoch 0)", ms=7)
    ax.set(xlabel=r"$\lambda_1$ at slope 0.5 (1/step)", ylabel=r"$\lambda_1$ at slope 1.0 (1/step)")
    ax.legend(**OUTSIDE)
    fig.suptitle("Surrogate λ_1 of the unflossed binary RNN across model variants", fontsize=8)
    return fig


def reconcile_claims(table: pd.DataFrame) -> list[str]:
    """The paper's epoch-0 exponents against the literal reconstruction of the spec (gain 1: not chosen by matching
    them, so it can fail): each slope's λ_1 and their difference within the spec's ±0.05/step plus seed noise."""
    exps = table[(table["quantity"] == "exponent") & (table["index"] == 1)]
    frame = exps
    mask = np.ones(len(frame), dtype=bool)
    for key, value in LITERAL.items():
        if key in frame:
            mask &= (np.isclose(frame[key], value, rtol=1e-6) if isinstance(value, float) else frame[key] == value)
    literal = frame[mask].groupby(["slope", "seed"])["value"].mean()
    if not {0.5, 1.0} <= set(literal.index.get_level_values("slope")):
        return []
    lines = []
    for slope in (0.5, 1.0):
        ours = literal.xs(slope, level="slope")
        margin = PINNED + noise_margin(ours)
        dev = ours.mean() - PAPER_R1A[slope][0]
        lines.append(claim(f"the literal reconstruction (gain 1) has the paper's λ_1 at slope {slope:g} "
                           f"({PAPER_R1A[slope][0]:+.3f})", f"|ours - paper| ≤ {margin:.3f}/step",
                           f"spec §8.1's ±{PINNED}/step plus 2 s.e. over realizations", f"{ours.mean():+.3f}",
                           bool(abs(dev) <= margin)))
    diff = literal.xs(1.0, level="slope") - literal.xs(0.5, level="slope")
    diff = diff.dropna()
    paper = PAPER_R1A[1.0][0] - PAPER_R1A[0.5][0]
    margin = PINNED + noise_margin(diff)
    lines.append(claim("the literal reconstruction has the paper's difference between the slopes "
                       f"(λ_1(1.0) - λ_1(0.5) = {paper:+.3f})", f"|ours - paper| ≤ {margin:.3f}/step",
                       f"spec §8.1's ±{PINNED}/step plus 2 s.e. over realizations", f"{diff.mean():+.3f}",
                       bool(abs(diff.mean() - paper) <= margin)))
    return lines


def reconcile_report(table: pd.DataFrame) -> str:
    wide = _reconcile_means(table)
    names = list(wide.index.names)
    lines = [f"Mean surrogate λ_1 at initialisation ({table['seed'].nunique()} realizations, "
             f"{int(table['steps'].iloc[0])} steps) for each variant, sorted by the RMS distance to the paper's "
             f"({PAPER_R1A[0.5][0]}, {PAPER_R1A[1.0][0]}):", "",
             "| " + " | ".join(names) + " | slope 0.5 | slope 1.0 | RMS to paper |",
             "|" + "---|" * (len(names) + 3)]
    for name, row in wide.iterrows():
        cells = name if isinstance(name, tuple) else (name,)
        lines.append("| " + " | ".join(f"{c:g}" if isinstance(c, float) else str(c) for c in cells)
                     + f" | {row[0.5]:+.3f} | {row[1.0]:+.3f} | {row['rms']:.3f} |")
    claims = reconcile_claims(table)
    return "\n".join(lines + ["", RECONCILIATION_CHOICE] + ([""] + claims if claims else [])
                     + ["", "The chosen variant was picked for its distance to these values, so it carries no claim."])


RECONCILIATION_CHOICE = (
    "Chosen for R1 and R2 (configs `r1_flossing.yaml`, `r2_flossing.yaml`): the fast-sigmoid surrogate with "
    "recurrent gain √2 and the task input present. R1's caption says the input is the task's, which rules out "
    "the input-free variants; among input-driven ones √2 is closest, and it is the natural normalisation of J "
    "for {0, 1} units (E[r²] = ½, so std √2·gain/√N gives the recurrent input variance gain²). The flossing "
    "time course of R1A and the spectra of R1B are the independent check (section r1_flossing). Every other "
    "setting is the reference call's; the surrogate slope stays the one calibrated on the unflossed baseline."
)
