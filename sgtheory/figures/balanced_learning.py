"""Fig. 7 of Engelken et al. (PLOS CB 2022): common input impedes learning (balanced spec §2.7, decision D7), from
``balanced-learning`` tables.

- B: the teacher's λ1 vs I1, common (green) and independent (violet) input, mean ± 2 std over realizations (one
  realization: ± 2 standard errors of its λ1).
- C: the student's test error vs I1 (log scale; dots: realizations, line: median), I1_crit (zero crossing of the mean
  λ1) dashed, the stopping threshold 10⁻² dotted.
- D: target and output z of the autonomous student for two common-input amplitudes (I1 ≈ 5 and 15), and teacher
  (green) vs student (orange, dotted) rates of two units.
- E: test error vs the teacher's λ1 (± 2 standard errors), every run.

Statistics (:func:`run_summary`, :func:`learning_stats`, :func:`learning_amplitude`) are separate from the drawing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sgtheory.figures.balanced import COLOURS  # common green, independent violet, as in Figs. 2, 8 and 9
from sgtheory.figures.style import ORANGE, REFERENCE_GREY, claim, new_figure, panel_letter
from sgtheory.functional.dmft import zero_crossing

STOP_ERROR = 1e-2  # the caption: training stops once the test error is below 10⁻²
PANEL_D_AMPLITUDES = (5.0, 15.0)  # the caption's two amplitudes (common input)
TEACHER, STUDENT = COLOURS["common"], ORANGE  # the caption: teacher green, student orange dotted
ERROR_FLOOR, ERROR_CEIL = 1e-5, 1e3  # the log axis (a diverged student, error ∞, is drawn at the ceiling)


def run_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run: input_type, N, I1, seed, teacher λ1 (1/τ) and its standard error, final test error, epochs
    trained, success."""
    rows = frame[frame["quantity"] == "lambda1"]
    out = rows[["input_type", "N", "I1", "seed", "teacher_lambda1", "teacher_lambda1_se", "final_error",
                "epochs_trained"]].copy()
    stop = rows["stop_error"] if "stop_error" in rows else STOP_ERROR
    out["success"] = out["final_error"] < stop
    return out.sort_values(["input_type", "I1", "seed"]).reset_index(drop=True)


def learning_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (input_type, I1): λ1 mean, std and mean standard error, median test error, success fraction, mean epochs,
    realizations."""
    runs = run_summary(frame)
    return runs.groupby(["input_type", "I1"]).agg(
        lambda_mean=("teacher_lambda1", "mean"), lambda_std=("teacher_lambda1", "std"),
        lambda_se=("teacher_lambda1_se", "mean"),
        error_median=("final_error", "median"), success=("success", "mean"), epochs=("epochs_trained", "mean"),
        count=("seed", "count")).reset_index()


def learning_amplitude(stats: pd.DataFrame, kind: str) -> float:
    """The smallest I1 at which the median test error is below 10⁻² (∞ if it never is on the grid). Not "from there
    on": strong common input (I1 ≳ 1.5·√N·I0) silences the teacher for part of each period, which the autonomous
    student cannot reproduce, and learning fails again there (see the README)."""
    s = stats[(stats["input_type"] == kind) & (stats["error_median"] < STOP_ERROR)]
    return float(s["I1"].min()) if len(s) else math.inf


def critical_amplitude(stats: pd.DataFrame, kind: str) -> float:
    """I1_crit: the zero crossing of the mean teacher λ1(I1) (NaN if it does not cross on the grid)."""
    s = stats[stats["input_type"] == kind]
    return zero_crossing(s["I1"], s["lambda_mean"]) if len(s) else math.nan


def _clip(errors) -> np.ndarray:
    return np.clip(np.nan_to_num(np.asarray(errors, dtype=float), nan=ERROR_CEIL, posinf=ERROR_CEIL), ERROR_FLOOR,
                   ERROR_CEIL)


def _trace_run(frame: pd.DataFrame, I1: float) -> pd.DataFrame:
    """The traced rows of the common-input run (first seed) whose I1 is closest to ``I1``."""
    traced = frame[(frame["quantity"] == "output") & (frame["input_type"] == "common")]
    if not len(traced):
        return traced
    amplitudes = np.array(sorted(set(traced["I1"])))
    best = amplitudes[np.argmin(abs(amplitudes - I1))]
    seed = traced[traced["I1"] == best]["seed"].min()
    return frame[(frame["input_type"] == "common") & (frame["I1"] == best) & (frame["seed"] == seed)]


def _legend_above(ax, title: str | None) -> None:
    ax.legend(title=title, frameon=False, fontsize=5.5, title_fontsize=6, ncols=2, loc="lower left",
              bbox_to_anchor=(0.0, 1.0), borderaxespad=0.2)


def balanced_learning_figure(frame: pd.DataFrame):
    fig, axes = new_figure(7.6, 4.6, ncols=3, nrows=2)
    ax_b, ax_c, ax_e, ax_d1, ax_d2, ax_d3 = axes
    stats, runs = learning_stats(frame), run_summary(frame)
    for kind, colour in COLOURS.items():
        s, r = stats[stats["input_type"] == kind], runs[runs["input_type"] == kind]
        if not len(s):
            continue
        label = f"{kind} input"
        spread = s["lambda_std"].where(s["count"] > 1, s["lambda_se"]).fillna(0)
        ax_b.errorbar(s["I1"], s["lambda_mean"], yerr=2 * spread, fmt="o-", ms=3, lw=0.8, capsize=2, color=colour,
                      label=label)
        ax_c.plot(r["I1"], _clip(r["final_error"]), "o", ms=2.5, alpha=0.5, color=colour)
        ax_c.plot(s["I1"], _clip(s["error_median"]), "-", lw=1.0, color=colour, label=f"{label} (median)")
        ax_e.errorbar(r["teacher_lambda1"], _clip(r["final_error"]), xerr=2 * r["teacher_lambda1_se"].fillna(0),
                      fmt="o", ms=3, lw=0.6, alpha=0.7, color=colour, label=label)
        crit = critical_amplitude(stats, kind)
        for ax in (ax_b, ax_c):
            if np.isfinite(crit):
                ax.axvline(crit, color=colour, ls="--", lw=0.8)
    ax_b.axhline(0.0, color=REFERENCE_GREY, lw=0.6)
    ax_b.set(xlabel=r"input amplitude $I_1$", ylabel=r"teacher $\lambda_1$ (1/τ; ± 2 std)")
    _legend_above(ax_b, None)
    for ax in (ax_c, ax_e):
        ax.axhline(STOP_ERROR, color=REFERENCE_GREY, ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_ylim(ERROR_FLOOR * 0.5, ERROR_CEIL * 2)
        ax.set_ylabel("test error (normalised MSE)")
    ax_c.set(xlabel=r"input amplitude $I_1$")
    ax_c.set_title("dots: runs, lines: median; dashed: $I_1^{crit}$", fontsize=7)
    ax_e.axvline(0.0, color=REFERENCE_GREY, lw=0.6)
    ax_e.set(xlabel=r"teacher $\lambda_1$ (1/τ; ± 2 SE)")
    ax_e.set_title("every run; dotted: 10⁻²", fontsize=7)
    for ax, amplitude in zip((ax_d1, ax_d2), PANEL_D_AMPLITUDES, strict=True):
        run = _trace_run(frame, amplitude)
        out, tgt = run[run["quantity"] == "output"], run[run["quantity"] == "target"]
        if len(out):
            ax.plot(tgt["time"], tgt["value"], color=REFERENCE_GREY, lw=1.6, alpha=0.6, label="target")
            ax.plot(out["time"], out["value"], color=STUDENT, lw=0.9, label="output z")
            I1, err = run["I1"].iloc[0], run["final_error"].iloc[0]
            _legend_above(ax, f"common $I_1$ = {I1:g}, test error {err:.2g}")
        ax.set(xlabel="time (τ)", ylabel="z (a.u.)")
    run = _trace_run(frame, PANEL_D_AMPLITUDES[-1])
    for quantity, colour, style, label in (("teacher_rate", TEACHER, "-", "teacher"),
                                           ("student_rate", STUDENT, ":", "student")):
        part = run[run["quantity"] == quantity]
        for k, (_unit, u) in enumerate(part.groupby("index")):
            offset = 0.0 if k == 0 else float(run[run["quantity"] == "teacher_rate"]["value"].max()) * 1.1
            ax_d3.plot(u["time"], u["value"] + offset, style, color=colour, lw=1.0,
                       label=label if k == 0 else None)
    ax_d3.set(xlabel="time (τ)", ylabel="rate relu(h) (1/τ; unit 2 offset)")
    if len(run):
        _legend_above(ax_d3, f"two units, common $I_1$ = {run['I1'].iloc[0]:g}")
    for ax, letter in ((ax_b, "B"), (ax_c, "C"), (ax_e, "E"), (ax_d1, "D")):
        panel_letter(ax, letter)
    return fig


def balanced_learning_report(frame: pd.DataFrame) -> str:
    stats, runs = learning_stats(frame), run_summary(frame)
    first = frame.iloc[0]
    lines = [f"Teacher–student learning (full-FORCE with RLS, decision D7) with the balanced ReLU network (N = "
             f"{int(first['N'])}, g = {first['gain']:g}, I0 = J0 = 1, f = {first['f']:g}/τ) as the teacher, driven by "
             "common or independent sinusoidal input of amplitude I1; the student has no sinusoid, learns the "
             f"teacher's input currents and a readout to sin(2πft) (α = {first['alpha']:g}, an update every "
             f"{int(first['rls_every'])} steps, epochs of {int(first['train_periods'])} periods, at most "
             f"{int(first['max_epochs'])}); test: {int(first['test_periods'])} periods autonomous, error = "
             "mean((z − target)²)/var(target). The teacher's λ1 is `balanced`'s simulation on the same network.", "",
             "| input | I1 | teacher λ1 (1/τ, mean ± std; one realization: ± its standard error) | median test error "
             "| success (error < 10⁻²) | mean epochs | realizations |", "|---|---|---|---|---|---|---|"]
    for _, s in stats.iterrows():
        spread = s["lambda_std"] if s["count"] > 1 else s["lambda_se"]
        lines.append(f"| {s['input_type']} | {s['I1']:g} | {s['lambda_mean']:+.3f} ± {spread:.3f} | "
                     f"{s['error_median']:.2g} | {s['success']:.0%} | {s['epochs']:.1f} | {int(s['count'])} |")
    crit = {kind: critical_amplitude(stats, kind) for kind in COLOURS}
    learn = {kind: learning_amplitude(stats, kind) for kind in COLOURS}
    lines += ["", "I1_crit (zero crossing of the mean teacher λ1): " + ", ".join(
        f"{kind} {crit[kind]:.2f}" for kind in COLOURS) + "; the smallest I1 at which the median test error is below "
        "10⁻²: " + ", ".join(f"{kind} {learn[kind]:g}" for kind in COLOURS) + "."]
    claims = []
    good = runs[runs["success"]]
    positive = int((good["teacher_lambda1"] >= 0).sum())
    significant = int((good["teacher_lambda1"] >= 2 * good["teacher_lambda1_se"].fillna(0)).sum())
    claims.append(claim("training succeeds (test error < 10⁻²) only where the teacher's λ1 < 0",
                        "no run with test error < 10⁻² whose teacher λ1 is significantly positive (λ1 ≥ 2 standard "
                        "errors)", "Fig. 7E caption; the noise of a finite λ1 measurement",
                        f"{len(good) - positive} of {len(good)} successful runs have λ1 < 0, {significant} have "
                        "λ1 ≥ 2 SE", None if not len(good) else significant == 0))
    ok = None if not math.isfinite(learn["independent"]) else learn["common"] > learn["independent"]
    claims.append(claim("common input needs a larger I1 than independent input to reach test error < 10⁻²",
                        "the smallest I1 with median error < 10⁻² larger for common input",
                        "Fig. 7C caption", f"common {learn['common']:g} vs independent {learn['independent']:g}", ok))
    return "\n".join(lines + ["", *claims])
