"""Shared figure style: sizes in inches, one palette for every figure, the papers' values as black markers, and
saving PNG + PDF together after checking the layout (no text off the canvas, no legend over data)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from sgtheory.errors import ResultsError  # noqa: E402

# One colour per condition in every figure (Okabe & Ito's colour-blind-safe colours). Within each paper family the
# baseline is blue and the method under test vermillion; the papers' values are always black markers (PAPER), which
# no condition uses.
BLUE, VERMILLION, GREEN, PURPLE = "#0072B2", "#D55E00", "#009E73", "#CC79A7"
ORANGE, SKY, YELLOW = "#E69F00", "#56B4E9", "#B8A000"
GREY, LIGHT_GREY, DARK_GREY = "#8c8c8c", "#c7c7c7", "#525252"
REFERENCE_GREY = "#4c4c4c"  # reference lines (zero, chance) and notes
PALETTE = {
    # flossing (Engelken & Abbott; Engelken 2023): the schedules, and R2's schedule variants
    "no flossing": BLUE, "pre-flossing": GREEN, "pre- and inter-flossing": PURPLE, "adaptive flossing": VERMILLION,
    "adaptive, other flossing rate": ORANGE, "adaptive, other k": SKY, "adaptive, other settings": YELLOW,
    "before flossing": LIGHT_GREY,
    # Gygax & Zenke: deterministic vs stochastic networks
    "deterministic": BLUE, "stochastic": VERMILLION, "MultilayerSpiker": GREEN,
    # Zenke & Vogels: the surrogate shapes (Fig. 3) and the scale conditions (Fig. 5: controls grey, harm orange)
    "SuperSpike": BLUE, "Sigmoid′": GREEN, "Esser": PURPLE, "constant": GREY, "true gradient": "#3d3d3d",
    "sCtl": LIGHT_GREY, "aCtl": GREY, "sDR": DARK_GREY, "sProp": DARK_GREY, "aDR": ORANGE, "aProp": ORANGE,
    # Engelken et al. 2022 (balanced rate networks): the two input types in the paper's colours
    "common input": GREEN, "independent input": "#7B3294",
}
PAPER = {"color": "black", "marker": "D", "mfc": "white", "mec": "black", "ms": 3.5, "ls": "none", "zorder": 6}


def ordered_colours(values) -> dict:
    """Colours for the values of an ordered parameter (delay, slope, gain, k): viridis by rank, from dark blue to
    yellow-green, evenly spaced so that neighbours differ."""
    values = sorted(set(values))
    cmap = plt.get_cmap("viridis")
    if len(values) == 1:
        return {values[0]: cmap(0.0)}
    return {v: cmap(0.85 * i / (len(values) - 1)) for i, v in enumerate(values)}


def paper_markers(ax, x, y, label: str | None = "paper", line: bool = False, **kwargs) -> None:
    """The paper's digitized values as black open diamonds (joined by a thin dashed line with ``line``)."""
    style = PAPER | ({"ls": "--", "lw": 0.8} if line else {}) | kwargs
    ax.plot(x, y, label=label, **style)

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


PENDING = "needs the paper profile"


def verdict(ok: bool | None) -> str:
    """A report claim's mark: **holds**, **fails**, or (None: the run is too small to judge it) **needs the paper
    profile**."""
    return f"**{PENDING if ok is None else 'holds' if ok else 'fails'}**"


def claim(statement: str, needs: str, source: str, ours: str, ok: bool | None) -> str:
    """One report claim: what the paper asserts, the threshold that decides it and where that threshold comes from
    (the paper, the spec or a noise estimate — never our own result), our value, and the verdict."""
    return f"- {statement} (needs {needs}; threshold: {source}; ours: {ours}): {verdict(ok)}."


PANEL_LETTER = "panel letter"  # the gid that marks a panel letter for the layout check


def panel_letter(ax, letter: str) -> None:
    ax.text(-0.18, 1.04, letter, transform=ax.transAxes, fontsize=10, fontweight="bold", va="bottom",
            gid=PANEL_LETTER)


def _outside(box, canvas) -> bool:
    return (box.x0 < canvas.x0 - 0.5 or box.y0 < canvas.y0 - 0.5 or box.x1 > canvas.x1 + 0.5
            or box.y1 > canvas.y1 + 0.5)


def _tick_label_ids(fig) -> set[int]:
    """ids of every tick label of every axis of ``fig`` (matplotlib keeps undrawn ones beyond the axis limits)."""
    return {id(label) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks() for label in (tick.label1, tick.label2)}


def _text_outside(fig, renderer) -> list[str]:
    """The texts of ``fig`` that leave the canvas (by more than half a pixel): every visible, non-empty text, and of
    the axes' tick labels those drawn (an axis's tight box: drawn tick labels, axis label, offset text)."""
    found = []
    tick_labels = _tick_label_ids(fig)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            box = axis.get_tightbbox(renderer)
            if box is not None and _outside(box, fig.bbox):
                found.append(f"the {axis.axis_name}-axis of {(ax.get_title() or ax.get_ylabel())[:40]!r} "
                             "(tick labels or label) leaves the canvas")
    for text in fig.findobj(matplotlib.text.Text):
        if id(text) in tick_labels or not text.get_visible() or not text.get_text().strip():
            continue
        if _outside(text.get_window_extent(renderer), fig.bbox):
            found.append(f"text {text.get_text()[:40]!r} lies outside the canvas")
    return found


def _data_points(ax) -> np.ndarray:
    """Display coordinates of the data of ``ax`` drawn in data coordinates: line vertices (and points every few
    pixels along their segments), scatter points and bar tops; reference lines (axhline) and images are left out."""
    points = []
    for line in ax.get_lines():
        if line.get_transform() != ax.transData or not line.get_visible():
            continue
        xy = ax.transData.transform(np.column_stack(line.get_data()).astype(float))
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy) > 1 and line.get_linestyle() not in ("None", "none", "", " "):
            steps = np.maximum(1, (np.hypot(*np.diff(xy, axis=0).T) // 3).astype(int))
            xy = np.concatenate([np.linspace(a, b, n, endpoint=False) for a, b, n in zip(xy[:-1], xy[1:], steps,
                                                                                         strict=True)] + [xy[-1:]])
        points.append(xy)
    for collection in ax.collections:
        if isinstance(collection, PathCollection) and collection.get_visible() and len(collection.get_offsets()):
            points.append(collection.get_offset_transform().transform(collection.get_offsets()))
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_visible() and patch.get_transform() != ax.transAxes:
            box = patch.get_window_extent()
            points.append(np.array([[box.x0, box.y1], [(box.x0 + box.x1) / 2, box.y1], [box.x1, box.y1]]))
    return np.concatenate(points) if points else np.empty((0, 2))


def _legends_over_data(fig, renderer) -> list[str]:
    """Legends drawn inside an axes that cover a data point of it."""
    found = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        if not ax.bbox.overlaps(box):
            continue
        xy = _data_points(ax)
        inside = ((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1) & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1))
        if inside.any():
            title = ax.get_title() or ax.get_ylabel() or "an axes"
            found.append(f"the legend of {title[:40]!r} covers {int(inside.sum())} data point(s)")
    return found


def _letters_over_text(fig, renderer) -> list[str]:
    """Panel letters that overlap another text of the figure (a title, an axis label, an annotation, the suptitle;
    tick labels are left out: matplotlib keeps undrawn ones beyond the axis limits)."""
    tick_labels = _tick_label_ids(fig)
    texts = [t for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip() and id(t) not in tick_labels]
    letters = [t for t in texts if t.get_gid() == PANEL_LETTER]
    found = []
    for letter in letters:
        box = letter.get_window_extent(renderer)
        for text in texts:
            if text is not letter and box.overlaps(text.get_window_extent(renderer)):
                found.append(f"panel letter {letter.get_text()!r} overlaps the text {text.get_text()[:40]!r}")
    return found


def layout_problems(fig) -> list[str]:
    """Texts outside the canvas, legends over data and panel letters over other texts in ``fig`` (empty: the layout
    is acceptable)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return _text_outside(fig, renderer) + _legends_over_data(fig, renderer) + _letters_over_text(fig, renderer)


def save(fig, out: str | Path) -> list[Path]:
    """Write ``out`` (PNG) and the same figure as PDF beside it; returns both paths. Raises ResultsError, writing
    nothing, if a text lies outside the canvas or a legend covers data (:func:`layout_problems`)."""
    problems = layout_problems(fig)
    if problems:
        plt.close(fig)
        raise ResultsError(f"figure {Path(out).name}: " + "; ".join(problems))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".png"), out.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, metadata={"Software": None} if path.suffix == ".png" else {"Creator": None})
    plt.close(fig)
    return paths
