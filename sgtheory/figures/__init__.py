"""Figures: tidy tables in, matplotlib figures out (a figure module never runs an experiment)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from sgtheory.figures import flossing, robustness, sigmoid, spike_match, theory
from sgtheory.figures.style import RC, save
from sgtheory.figures.training import training_curves, training_report
from sgtheory.results import read_table

FIGURES = {
    "training-curves": training_curves,
    "r1": flossing.r1_figure,
    "r2": flossing.r2_figure,
    "reconcile": flossing.reconcile_figure,
    "tanh-flossing": flossing.tanh_flossing_figure,
    "sigmoid-bias": sigmoid.sigmoid_bias_figure,
    "not-gradients": sigmoid.not_gradients_figure,
    "theory": theory.theory_figure,
    "spike-match": spike_match.spike_match_figure,
    "spike-match-stats": spike_match.spike_match_stats_figure,
    "randman": robustness.randman_figure,
    "sg-vs-true": robustness.sg_vs_true_figure,
    "shape-robustness": robustness.shape_robustness_figure,
    "scale": robustness.scale_figure,
    "activity": robustness.activity_figure,
}
REPORTS = {  # figure -> markdown section (paper vs ours, claims)
    "training-curves": training_report,
    "r1": flossing.r1_report,
    "r2": flossing.r2_report,
    "reconcile": flossing.reconcile_report,
    "tanh-flossing": flossing.tanh_flossing_report,
    "sigmoid-bias": sigmoid.sigmoid_bias_report,
    "not-gradients": sigmoid.not_gradients_report,
    "theory": theory.theory_report,
    "spike-match": spike_match.spike_match_report,
    "randman": robustness.randman_report,
    "sg-vs-true": robustness.sg_vs_true_report,
    "shape-robustness": robustness.shape_robustness_report,
    "scale": robustness.scale_report,
    "activity": robustness.activity_report,
}


def render(name: str, tables, out: str | Path) -> list[Path]:
    """Draw figure ``name`` from one table or a sequence of tables (rows combined); writes PNG, PDF and
    (where the figure has one) its report section as ``<out>.md`` beside them. Returns the written paths."""
    tables = [tables] if isinstance(tables, str | Path) else list(tables)
    frame = pd.concat([read_table(t) for t in tables], ignore_index=True)
    with plt.rc_context(RC):
        paths = save(FIGURES[name](frame), out)
    if name in REPORTS:
        section = Path(out).with_suffix(".md")
        sources = ", ".join(f"`{t}`" for t in tables)
        body = f"## {Path(out).stem}\n\n![{name}]({Path(out).with_suffix('.png').name})\n\nTable: {sources}\n\n"
        section.write_text(body + REPORTS[name](frame) + "\n")
        paths.append(section)
    return paths


def write_report(folder: str | Path) -> Path:
    """Assemble ``REPORT.md`` in ``folder`` from the report sections written by :func:`render`."""
    folder = Path(folder)
    sections = sorted(p for p in folder.glob("*.md") if p.name != "REPORT.md")
    header = ("# Reproduction report\n\nPaper values next to ours for every figure built so far, and each "
              "qualitative claim marked holds / fails. Rebuilt by `make all`.\n\n")
    report = folder / "REPORT.md"
    report.write_text(header + "\n".join(p.read_text() for p in sections))
    return report
