"""Flossing figures and their report sections on synthetic tables with known answers."""

import numpy as np
import pandas as pd
import pytest

from sgtheory.figures import render
from sgtheory.figures.flossing import r1_report, r2_report, reconcile_report, tanh_flossing_report


def floss_table(model="binary", pinned=True, gain=1.0):
    """Two slopes × k ∈ {1, 3}; flossing drives λ_1 from its start to 0 (or not); spectra 1..8."""
    rows = []
    for slope, start in ((0.5, -0.2), (1.0, -0.5)):
        for k in (1, 3):
            for seed in range(2):
                run = f"{slope}-{k}-{seed}"
                base = dict(run_id=run, model=model, N=8, gain=gain, slope=slope, nle=k, seed=seed)
                for epoch in range(0, 151):
                    value = start * max(0.0, 1 - epoch / 50) if pinned else start
                    rows.append(base | dict(phase="floss", epoch=epoch, index=1, value=value))
                before = [-0.2 - 0.1 * i for i in range(8)]
                after = [0.0 if (pinned and i < k) else lam - 0.02 for i, lam in enumerate(before)]
                for i in range(8):
                    rows.append(base | dict(phase="before", epoch=0, index=i + 1, value=before[i]))
                    rows.append(base | dict(phase="after", epoch=150, index=i + 1, value=after[i]))
    return pd.DataFrame(rows)


def test_r1_report_claims_hold_for_a_successful_flossing_run():
    report = r1_report(floss_table())
    assert report.count("**holds**") == 6 and "**fails**" not in report
    assert "| 0.5 | -0.200 (-0.223) |" in report  # ours next to the paper's digitized value


def test_r1_report_claims_fail_when_nothing_is_pinned():
    report = r1_report(floss_table(pinned=False))
    assert "reaches λ_1 ≈ 0" in report and report.count("**fails**") >= 3


def train_table(lift: bool):
    rows = []
    for floss in ("none", "adaptive"):
        for delay in (10, 18):
            for seed in range(3):
                learned = delay == 10 or (floss == "adaptive" and lift)
                grad = 1e-3 if floss == "adaptive" else 1e-8
                for epoch in [*range(1, 300, 10), 300]:
                    rows.append(dict(run_id=f"{floss}-{delay}-{seed}", model="binary", task="xor", N=8, slope=1.0,
                                     gain=1.0, epochs=300, floss=floss, delay=delay, seed=seed, epoch=epoch,
                                     accuracy=1.0 if learned and epoch > 200 else 0.5, grad_h0_norm=grad))
    return pd.DataFrame(rows)


def test_r2_report_compares_conditions_and_marks_claims():
    good = r2_report(train_table(lift=True))
    assert good.count("**holds**") == 3
    assert "| 18 | none | 52.66 | 50.00 (n=3) | 0% | 1.00e-08 |" in good
    assert "| 18 | adaptive | 98.69 | 100.00 (n=3) | 100% | 1.00e-03 |" in good
    bad = r2_report(train_table(lift=False))
    assert "far above no flossing (by ≥ 20 points; ours: +0.0): **fails**" in bad


def test_reconcile_report_ranks_variants_by_distance_to_the_paper():
    rows = []
    for gain, offset in ((1.0, -0.25), (1.4, 0.0)):
        for slope, paper in ((0.5, -0.223), (1.0, -0.491)):
            for seed in range(2):
                rows.append(dict(quantity="exponent", index=1, model="binary", gain=gain, slope=slope, seed=seed,
                                 steps=1000, value=paper + offset))
    report = reconcile_report(pd.DataFrame(rows))
    lines = [line for line in report.splitlines() if line.startswith("| 1")]
    assert lines[0].startswith("| 1.4 |") and lines[0].endswith("| 0.000 |")
    assert lines[1].endswith("| 0.250 |")


def test_tanh_report_condition_numbers_from_the_spectra():
    table = floss_table(model="tanh").assign(slope=1.0)
    table["gain"] = np.where(table["run_id"].str.startswith("0.5"), 1.0, 2.0)
    report = tanh_flossing_report(table)
    # before: λ_1 - λ_3 = 0.2 over 100 steps -> log10 κ_3 = 20/ln 10; after flossing k = 3: 0
    before = f"{20 / np.log(10):.2f}"
    assert f"| 3 | 1 | {before} | 0.00 |" in report and f"| 3 | 2 | {before} | 0.00 |" in report
    assert report.count("**holds**") == 3  # λ_1 → 0, and κ_3 small for each gain


@pytest.mark.parametrize("figure,table", [("r1", floss_table()), ("r2", train_table(True)),
                                          ("tanh-flossing", floss_table(model="tanh"))])
def test_flossing_figures_render(tmp_path, figure, table):
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    paths = render(figure, path, tmp_path / f"{figure}.png")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_r2_conditions_name_the_varying_schedule_settings(tmp_path):
    from sgtheory.figures.flossing import with_conditions

    first = train_table(lift=False).assign(nle=75)
    second = train_table(lift=True).assign(nle=16)
    second = second[second["floss"] == "adaptive"].assign(run_id=lambda d: "k16-" + d["run_id"])
    labels = set(with_conditions(pd.concat([first, second]))["condition"])
    assert labels == {"none", "adaptive, nle=75", "adaptive, nle=16"}
    paths = []
    for name, table in (("a", first), ("b", second)):
        paths.append(tmp_path / f"{name}.parquet")
        table.to_parquet(paths[-1])
    render("r2", paths, tmp_path / "r2.png")
    report = (tmp_path / "r2.md").read_text()
    assert "adaptive, nle=16 flossing lifts the final accuracy at d = 18" in report and "**holds**" in report
    assert "adaptive, nle=75 flossing lifts the final accuracy at d = 18" in report and "**fails**" in report
