"""Figures: tidy tables in, matplotlib figures out (a figure module never runs an experiment)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from sgtheory.errors import ResultsError
from sgtheory.figures.report import table_record, write_provenance, write_report, write_section
from sgtheory.figures.style import RC, save
from sgtheory.results import read_metadata, read_table

__all__ = ["FIGURES", "Figure", "render", "write_report"]


@dataclass(frozen=True)
class Figure:
    """A figure: ``draw(table) -> matplotlib Figure``, ``report(table) -> markdown`` (paper vs ours and the claims;
    None: no report section) and the ``experiments`` whose tables it draws. Both functions are given by name, with
    their ``module`` (a relative name such as ".training" is a module of this package), and imported on first use, so
    that one ``sgtheory plot`` imports only its own figure's
    dependencies (torch, numba and scipy are not needed by most)."""

    module: str
    draw_name: str
    report_name: str | None
    experiments: tuple[str, ...]

    def _function(self, name: str) -> Callable:
        return getattr(importlib.import_module(self.module, __name__), name)

    @property
    def draw(self) -> Callable[[pd.DataFrame], object]:
        return self._function(self.draw_name)

    @property
    def report(self) -> Callable[[pd.DataFrame], str] | None:
        return None if self.report_name is None else self._function(self.report_name)


FIGURES: dict[str, Figure] = {  # THE registry of figures, read by `sgtheory plot` and the report
    "training-curves": Figure(".training", "training_curves", "training_report", ("train",)),
    "r1": Figure(".flossing_r1", "r1_figure", "r1_report", ("floss",)),
    "r2": Figure(".flossing_r2", "r2_figure", "r2_report", ("train",)),
    "reconcile": Figure(".flossing_r1", "reconcile_figure", "reconcile_report", ("lyap",)),
    "tanh-flossing": Figure(".gf_tanh", "tanh_flossing_figure", "tanh_flossing_report", ("floss",)),
    "gf-success": Figure(".gf_success", "gf_success_figure", "gf_success_report", ("train",)),
    "model-selection": Figure(".model_selection", "model_selection_figure", "model_selection_report",
                              ("train", "floss")),
    "sigmoid-bias": Figure(".sigmoid", "sigmoid_bias_figure", "sigmoid_bias_report", ("sigmoid-bias",)),
    "not-gradients": Figure(".sigmoid", "not_gradients_figure", "not_gradients_report", ("conservative-check",)),
    "theory": Figure(".theory", "theory_figure", "theory_report", ("stochastic-neuron",)),
    "spike-match": Figure(".spike_match", "spike_match_figure", "spike_match_report", ("spike-match",)),
    "spike-match-stats": Figure(".spike_match", "spike_match_stats_figure", None, ("spike-match",)),
    "conv-snn": Figure(".conv_snn", "conv_snn_figure", "conv_snn_report", ("classify",)),
    "randman": Figure(".robustness_randman", "randman_figure", "randman_report", ("randman",)),
    "sg-vs-true": Figure(".robustness_sg_vs_true", "sg_vs_true_figure", "sg_vs_true_report", ("classify",)),
    "shape-robustness": Figure(".robustness_shapes", "shape_robustness_figure", "shape_robustness_report",
                               ("classify",)),
    "scale": Figure(".robustness_scale", "scale_figure", "scale_report", ("classify",)),
    "activity": Figure(".robustness_activity", "activity_figure", "activity_report", ("classify",)),
    "rate-extensivity": Figure(".rate_spectra", "extensivity_figure", "extensivity_report", ("rate-spectrum",)),
    "rate-lambda-max": Figure(".rate_spectra", "lambda_max_figure", "lambda_max_report", ("rate-spectrum",)),
    "rate-dimension": Figure(".rate_spectra", "dimension_figure", "dimension_report", ("rate-spectrum",)),
    "rate-convergence": Figure(".rate_spectra", "convergence_figure", "convergence_report", ("rate-spectrum",)),
    "rate-noise": Figure(".rate_spectra", "noise_figure", "noise_report", ("rate-spectrum",)),
    "rate-discrete": Figure(".rate_spectra", "discrete_figure", "discrete_report", ("rate-spectrum",)),
    "balanced-lambda": Figure(".balanced", "balanced_lambda_figure", "balanced_lambda_report", ("balanced",)),
    "balanced-crit": Figure(".balanced", "balanced_crit_figure", "balanced_crit_report", ("balanced",)),
    "balanced-mechanism": Figure(".balanced", "balanced_mechanism_figure", "balanced_mechanism_report", ("balanced",)),
    "balanced-activity": Figure(".balanced", "balanced_activity_figure", "balanced_activity_report", ("balanced",)),
    "balanced-learning": Figure(".balanced_learning", "balanced_learning_figure", "balanced_learning_report",
                                ("balanced-learning",)),
    "sparseprop": Figure(".sparseprop", "sparseprop_figure", "sparseprop_report", ("sparseprop",)),
    "sparseprop-train": Figure(".sparseprop", "sparseprop_train_figure", "sparseprop_train_report", ("sparseprop",)),
}


def _metadata(table) -> dict:
    """The sgtheory metadata of ``table``; empty for a table written by something else."""
    try:
        return read_metadata(table)
    except (OSError, KeyError, TypeError, ValueError):
        return {}


def render(name: str, tables, out: str | Path) -> list[Path]:
    """Draw figure ``name`` from one table or a sequence of tables (rows combined); writes PNG, PDF, the tables'
    provenance ``<out>.json`` and (where the figure has one) its report section ``<out>.md``. Returns the paths."""
    tables = [tables] if isinstance(tables, str | Path) else list(tables)
    figure = FIGURES[name]
    for table in tables:
        if "failures" in _metadata(table):
            raise ResultsError(f"'{table}' is a failures table (the runs that failed), not a result table")
    frame = pd.concat([read_table(t) for t in tables], ignore_index=True)
    if frame.empty:
        raise ResultsError(f"{', '.join(map(str, tables))} hold no rows (every run failed?)")
    wrong = sorted(set(frame["experiment"]) - set(figure.experiments)) if "experiment" in frame else []
    if wrong:
        raise ResultsError(f"figure {name} draws tables of {', '.join(figure.experiments)}, not of {', '.join(wrong)}")
    with plt.rc_context(RC):
        paths = save(figure.draw(frame), out)
    records = [table_record(t) for t in tables]
    paths.append(write_provenance(records, out))
    if figure.report is not None:
        paths.append(write_section(name, tables, records, out, figure.report(frame)))
    return paths
