"""Figures: tidy tables in, matplotlib figures out (a figure module never runs an experiment)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from sgtheory.figures.style import RC, save
from sgtheory.figures.training import training_curves
from sgtheory.results import read_table

FIGURES = {"training-curves": training_curves}


def render(name: str, table: str | Path, out: str | Path) -> list[Path]:
    """Draw figure ``name`` from the table at ``table``; writes PNG and PDF, returns their paths."""
    with plt.rc_context(RC):
        return save(FIGURES[name](read_table(table)), out)
