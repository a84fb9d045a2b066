"""Model selection of the binary R2: distances to the paper's digitized numbers on tables with known answers."""

import numpy as np
import pandas as pd
import pytest

from sgtheory.figures import render
from sgtheory.figures.flossing import PAPER_R1A, PAPER_R1B, PAPER_R2B, R1B_INDICES
from sgtheory.figures.model_selection import PAPER_GRAD_FIRST, model_selection_report, selection_table

NETWORK = dict(model="binary", gain=1.4142136, slope=1.0, surrogate="fast_sigmoid", scale="normalized",
               input_amplitude=1.0, input_scale=1.0, bias_scale=0.1, init="gaussian", N=80, T=300, batch=16,
               epochs=3001, lr=1e-3, clip=0.03, floss_lr=1e-3, floss_T=55)


def train_table(nle: int, exact: bool) -> pd.DataFrame:
    """Runs of one reading: unflossed ones at the paper's final means, flossed ones too (exact) or at chance, all
    with the paper's first-epoch |dL/dh0| (flossed 8.5e-5: 0.07 decades below the paper's band for panel D)."""
    rows = []
    for floss in ("none", "adaptive"):
        for delay in (10, 14, 18):
            for seed in range(2):
                accuracy = PAPER_R2B[floss][delay] / 100 if exact or floss == "none" else 0.5
                base = NETWORK | dict(experiment="train", task="xor", floss=floss, nle=nle, floss_pre=500,
                                      floss_every=100, floss_steps=500, floss_phases=2, floss_tol=0.05, delay=delay,
                                      seed=seed, run_id=f"{nle}-{floss}-{delay}-{seed}", damage=8.0)
                rows += [base | dict(epoch=e, accuracy=accuracy, grad_h0_norm=PAPER_GRAD_FIRST[floss])
                         for e in [*range(1, 3001, 10), 3001]]
    return pd.DataFrame(rows)


def floss_table(shift: float) -> pd.DataFrame:
    """R1 runs whose means are the paper's digitized values plus ``shift``."""
    rows = []
    base = NETWORK | dict(experiment="floss")
    for slope, points in PAPER_R1A.items():
        for epoch, value in points.items():
            rows.append(base | dict(slope=slope, nle=1, seed=0, run_id=f"a{slope}", phase="floss", epoch=epoch,
                                    index=1, value=value + shift))
    for k in (1, 16, 32):
        for i, before, after in zip(R1B_INDICES, PAPER_R1B["before"], PAPER_R1B[k], strict=True):
            run = base | dict(slope=0.5, nle=k, seed=0, run_id=f"b{k}", index=i)
            rows += [run | dict(phase="before", epoch=0, value=before + shift),
                     run | dict(phase="after", epoch=500, value=after + shift)]
    return pd.DataFrame(rows)


def test_distances_vanish_for_the_paper_and_rank_the_readings():
    table = pd.concat([train_table(16, exact=True), train_table(75, exact=False), floss_table(0.1)])
    scores = selection_table(table)
    assert set(scores.index) == {"nle=16", "nle=75"}
    good, bad = scores.loc["nle=16"], scores.loc["nle=75"]
    assert good["R2B"] == pytest.approx(0, abs=1e-9) and good["R2C"] == pytest.approx(0, abs=1e-9)
    assert good["R2D"] == pytest.approx(-4 - np.log10(8.5e-5)) == bad["R2D"]
    # flossed runs at chance against the paper's flossed final means 100 / 99.99 / 98.69; unflossed ones exact
    expected = np.sqrt(np.mean([(50 - PAPER_R2B["adaptive"][d]) ** 2 for d in (10, 14, 18)] + [0, 0, 0]))
    assert bad["R2B"] == pytest.approx(expected)
    # both readings share the network, so the same R1 runs, 0.1/step off everywhere
    assert good["R1A"] == pytest.approx(0.1) and bad["R1B"] == pytest.approx(0.1)
    assert good["damage"] == pytest.approx(0.1) and good["runs"] == 12


def test_report_names_the_closest_reading_per_panel(tmp_path):
    table = pd.concat([train_table(16, exact=True), train_table(75, exact=False), floss_table(0.0)])
    report = model_selection_report(table)
    assert "| nle=16 | 0.000 | 0.000 | 24.8 | 0.0 | 0.00 | 0.07 | 0.10 | 12 |" in report
    assert "R2B: nle=16" in report and "R2B: nle=75" not in report
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    paths = render("model-selection", path, tmp_path / "selection.png")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_selection_claims_flip_with_the_distance_to_the_paper():
    near = model_selection_report(pd.concat([train_table(16, exact=True), floss_table(0.0)]))
    assert "a reading reproduces R1A's λ_1 time course" in near
    lines = [line for line in near.splitlines() if line.startswith("- a reading")]
    assert lines[0].endswith("**holds**.") and lines[1].endswith("**holds**.")
    # the flossed |dL/dh0| (8.5e-5) lies 0.07 decades below the paper's band at 3001 epochs: fails
    assert lines[2].endswith("**fails**.") and "0.07 decades outside" in lines[2]
    far = model_selection_report(pd.concat([train_table(16, exact=True), floss_table(0.1)]))
    far_lines = [line for line in far.splitlines() if line.startswith("- a reading")]
    assert far_lines[0].endswith("**fails**.") and far_lines[1].endswith("**fails**.")
    short = pd.concat([train_table(16, exact=True).assign(epochs=301), floss_table(0.0)])
    assert "**needs the paper profile**" in model_selection_report(short).splitlines()[-1]
