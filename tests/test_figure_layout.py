"""The layout check that every saved figure passes: no text off the canvas, no legend over data, no panel letter over
another text."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from sgtheory.errors import ResultsError
from sgtheory.figures.style import PALETTE, PAPER, layout_problems, ordered_colours, panel_letter, save


def figure(**kwargs):
    fig, ax = plt.subplots(figsize=(3, 2), layout="constrained", **kwargs)
    return fig, ax


def test_a_clean_figure_passes_and_is_saved(tmp_path):
    fig, ax = figure()
    ax.plot([0, 1, 2], [0, 1, 0.5], label="ours")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))  # outside the axes
    ax.set(xlabel="epoch", ylabel="accuracy", title="a title")
    assert layout_problems(fig) == []
    paths = save(fig, tmp_path / "ok.png")
    assert all(p.exists() for p in paths)


def test_a_suptitle_wider_than_the_canvas_is_found_and_nothing_is_written(tmp_path):
    fig, ax = figure()
    ax.plot([0, 1], [0, 1])
    fig.suptitle("a suptitle far too long for a figure three inches wide, so both of its ends are clipped")
    assert any("suptitle far too long" in p for p in layout_problems(fig))
    with pytest.raises(ResultsError, match="outside the canvas"):
        save(fig, tmp_path / "clipped.png")
    assert not (tmp_path / "clipped.png").exists() and not (tmp_path / "clipped.pdf").exists()


def test_tick_labels_pushed_off_a_small_canvas_are_found():
    fig, ax = plt.subplots(figsize=(1, 1))  # no layout engine: the y tick labels leave the left edge
    ax.plot([0, 1], [0, 1000])
    fig.subplots_adjust(left=0.0)
    assert any("y-axis" in p for p in layout_problems(fig))
    plt.close(fig)


def test_a_legend_over_a_line_is_found_and_one_beside_it_is_not():
    x = np.linspace(0, 1, 50)
    fig, ax = figure()
    ax.plot(x, np.full_like(x, 0.9), label="high line")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper right")  # sits on the line at y = 0.9
    assert any("covers" in p for p in layout_problems(fig))
    ax.legend(loc="lower right")  # below the line: nothing covered
    assert layout_problems(fig) == []
    plt.close(fig)


def test_a_legend_over_a_bar_or_a_marker_is_found():
    fig, ax = figure()
    ax.bar([0, 1, 2], [0.2, 0.3, 0.95], label="bars")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper right")
    assert any("covers" in p for p in layout_problems(fig))
    plt.close(fig)
    fig, ax = figure()
    ax.plot([0.95], [0.95], **PAPER, label="paper")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper right")
    assert any("covers 1 data point" in p for p in layout_problems(fig))
    plt.close(fig)


def test_a_reference_line_across_the_axes_does_not_count_as_data():
    fig, ax = figure()
    ax.plot([0, 1], [0.1, 0.2], label="ours")
    ax.axhline(0.9, ls=":", color="black")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper right")
    assert layout_problems(fig) == []
    plt.close(fig)


def test_a_panel_letter_under_a_long_title_is_found_and_beside_a_short_one_is_not():
    fig, ax = figure()
    ax.plot([0, 1], [0, 1])
    ax.set_title("a title as wide as the whole axes and beyond")
    panel_letter(ax, "B")
    assert any("panel letter 'B'" in p for p in layout_problems(fig))
    ax.set_title("short")
    assert layout_problems(fig) == []


def test_the_palette_keeps_black_for_the_paper_and_ordered_colours_differ():
    assert PAPER["color"] == "black" and "black" not in PALETTE.values() and "#000000" not in PALETTE.values()
    for family in (("no flossing", "pre-flossing", "pre- and inter-flossing", "adaptive flossing",
                    "adaptive, other flossing rate", "adaptive, other k", "adaptive, other settings"),
                   ("deterministic", "stochastic", "MultilayerSpiker"),
                   ("SuperSpike", "Sigmoid′", "Esser", "constant", "true gradient")):
        colours = [PALETTE[name] for name in family]
        assert len(set(colours)) == len(colours), family  # one colour per condition within a paper's figures
    colours = ordered_colours([10, 14, 18, 22, 26])
    rgb = np.array([colours[d][:3] for d in (10, 14, 18, 22, 26)])
    assert np.min(np.linalg.norm(np.diff(rgb, axis=0), axis=1)) > 0.1  # neighbouring delays are distinguishable
