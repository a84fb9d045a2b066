"""Shared figure style: sizes in inches, the papers' palettes, and saving PNG + PDF together."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DARK2 = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
TAB10_BLUE, TAB10_ORANGE = "#1f77b4", "#ff7f0e"
REFERENCE_GREY = "#4c4c4c"

RC = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 200,
    "figure.dpi": 100,
}


def new_figure(width: float, height: float, ncols: int = 1, nrows: int = 1):
    """A figure of the given size (inches); call inside ``plt.rc_context(RC)`` (``render`` does)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, layout="constrained")
    return fig, axes.ravel()


def verdict(ok: bool) -> str:
    """A report claim's mark: **holds** or **fails**."""
    return f"**{'holds' if ok else 'fails'}**"


def panel_letter(ax, letter: str) -> None:
    ax.text(-0.18, 1.04, letter, transform=ax.transAxes, fontsize=10, fontweight="bold", va="bottom")


def save(fig, out: str | Path) -> list[Path]:
    """Write ``out`` (PNG) and the same figure as PDF beside it; returns both paths."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".png"), out.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, metadata={"Software": None} if path.suffix == ".png" else {"Creator": None})
    plt.close(fig)
    return paths
