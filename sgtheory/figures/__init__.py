"""Figures: tidy tables in, matplotlib figures out (a figure module never runs an experiment)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from sgtheory.figures import flossing, model_selection, robustness, sigmoid, spike_match, theory
from sgtheory.figures.report import table_record, write_provenance, write_report, write_section
from sgtheory.figures.style import RC, save
from sgtheory.figures.training import training_curves, training_report
from sgtheory.results import read_table

__all__ = ["FIGURES", "REPORTS", "render", "write_report"]

FIGURES = {
    "training-curves": training_curves,
    "r1": flossing.r1_figure,
    "r2": flossing.r2_figure,
    "reconcile": flossing.reconcile_figure,
    "tanh-flossing": flossing.tanh_flossing_figure,
    "gf-success": flossing.gf_success_figure,
    "model-selection": model_selection.model_selection_figure,
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
    "gf-success": flossing.gf_success_report,
    "model-selection": model_selection.model_selection_report,
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
    """Draw figure ``name`` from one table or a sequence of tables (rows combined); writes PNG, PDF, the tables'
    provenance ``<out>.json`` and (where the figure has one) its report section ``<out>.md``. Returns the paths."""
    tables = [tables] if isinstance(tables, str | Path) else list(tables)
    frame = pd.concat([read_table(t) for t in tables], ignore_index=True)
    with plt.rc_context(RC):
        paths = save(FIGURES[name](frame), out)
    records = [table_record(t) for t in tables]
    paths.append(write_provenance(records, out))
    if name in REPORTS:
        paths.append(write_section(name, tables, records, out, REPORTS[name](frame)))
    return paths
