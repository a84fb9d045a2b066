"""Robustness figures (Zenke & Vogels 2021) and the randman illustration command, on small synthetic tables whose
answers are known: every figure renders, claims flip with the data, absent conditions read "not run"."""

import hashlib
import importlib
import math

import pandas as pd
import pytest

from sgtheory.figures import FIGURES, render
from sgtheory.figures.robustness import best_of
from sgtheory.figures.robustness_activity import activity_report, critical_activity
from sgtheory.figures.robustness_scale import condition_name, scale_report
from sgtheory.figures.robustness_sg_vs_true import sg_vs_true_report
from sgtheory.figures.robustness_shapes import shape_robustness_report

BASE = dict(experiment="classify", task="randman", classes=10, surrogate="fast_sigmoid", slope=10.0,
            scale="normalized", lr=0.05, layers=1, hidden=8, recurrent=False, recurrent_grad=True, diff_reset=False,
            readout="max", lower_strength=100.0, lower_threshold=1e-3, upper_strength=0.0, upper_threshold=0.0,
            upper_power=2, epochs=4, batch=250, steps=20, dt=1.0, samples_per_class=1000)


def _hash(d: dict) -> str:
    return hashlib.sha1(repr(sorted(d.items())).encode()).hexdigest()[:12]


def run_rows(accuracy: float, seed: int = 0, activity: float = 2.0, **config) -> list[dict]:
    """One run of a ``classify`` table: accuracy rising linearly from chance (epoch 0) to ``accuracy``, constant
    hidden activity, and a hidden raster of the first test sample with about ``activity`` spikes per neuron."""
    cfg = BASE | config
    cfg = cfg | {"config_hash": _hash(cfg), "seed": seed}
    cfg["run_id"] = _hash(cfg)
    chance = 1 / cfg["classes"]
    summary = dict(best_epoch=cfg["epochs"], best_valid_accuracy=accuracy, best_test_accuracy=accuracy,
                   final_test_accuracy=accuracy, best_hidden_spikes=activity)
    rows = []
    for epoch in range(cfg["epochs"] + 1):
        acc = chance + (accuracy - chance) * epoch / cfg["epochs"]
        rows.append(cfg | summary | dict(kind="epoch", epoch=epoch, loss=math.nan if epoch == 0 else 1 - acc,
                                         train_accuracy=acc, valid_accuracy=acc, test_accuracy=acc,
                                         hidden_spikes=activity))
    count = max(1, round(activity * cfg["hidden"]))
    for k in range(count):
        rows.append(cfg | dict(kind="spike", layer="hidden1", sample=0, label=3, time=float(k % cfg["steps"]),
                               neuron=k % cfg["hidden"]))
    rows.append(cfg | dict(kind="spike", layer="input", sample=0, label=3, time=1.0, neuron=0))
    return rows


def table_of(runs: list[list[dict]]) -> pd.DataFrame:
    return pd.DataFrame([row for run in runs for row in run])


def save(table: pd.DataFrame, path) -> str:
    table.to_parquet(path)
    return path


def render_texts(monkeypatch, name: str, table: pd.DataFrame, tmp_path) -> str:
    """Render figure ``name`` from ``table`` through ``render`` (PNG, PDF, report) and return the texts of its axes."""
    drawn = []

    def capture(frame):
        drawn.append(function(frame))
        return drawn[-1]

    figure = FIGURES[name]
    function = figure.draw
    monkeypatch.setattr(importlib.import_module(figure.module, "sgtheory.figures"), figure.draw_name, capture)
    paths = render(name, save(table, tmp_path / f"{name}.parquet"), tmp_path / f"{name}.png")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    return " ".join(t.get_text() for ax in drawn[0].axes for t in ax.texts)


# -------------------------------------------------------------------------------------- randman experiment
def test_randman_command_writes_manifolds_and_rasters(tmp_path, run_cli):
    out = tmp_path / "randman.parquet"
    code, _, err = run_cli("randman", "--seeds", "42", "--samples", "40", "--alphas", "3,1", "--manifolds", "2",
                           "--raster-units", "6", "--raster-samples", "20", "--raster-examples", "3", "--steps", "40",
                           "--out", str(out))
    assert code == 0, err
    table = pd.read_parquet(out)
    manifolds = table[table["kind"] == "manifold"]
    sizes = manifolds.groupby(["panel", "alpha", "dim", "manifold"])["sample"].agg(["size", "nunique"])
    assert len(sizes) == 2 + 2 * 2  # one per α; two per D ∈ {1, 2}
    assert (sizes["size"] == 40).all() and (sizes["nunique"] == 40).all()
    assert manifolds[["y0", "y1", "y2"]].notna().all().all()
    spikes = table[table["kind"] == "spike"]
    per_example = spikes.groupby("example")
    assert per_example.ngroups == 3 * 2  # examples per class × classes
    assert (per_example["unit"].apply(lambda u: sorted(u) == list(range(6)))).all()  # one spike per unit
    assert spikes.groupby("example")["label"].nunique().eq(1).all()
    assert spikes.drop_duplicates("example")["label"].value_counts().tolist() == [3, 3]
    assert spikes["time"].min() >= 0 and spikes["time"].max() < 0.5 * 40
    paths = render("randman", out, tmp_path / "randman.png")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    report = paths[-1].read_text()
    assert "40 points per manifold" in report and "fires exactly once in each of the 6 examples: yes" in report
    assert "**" not in report  # the generator's properties are tests, not claims


def test_randman_command_rejects_bad_values(tmp_path, run_cli):
    for args, message in ((["--alphas", "3,x"], "alphas='3,x' must be a comma-separated list"),
                          (["--embed", "2"], "embed=2 must be >= 3"),
                          (["--raster-examples", "9", "--raster-samples", "5"], "exceeds raster_samples")):
        code, _, err = run_cli("randman", *args, "--out", str(tmp_path / "x.parquet"))
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.parquet").exists()


# ------------------------------------------------------------------------------------------------ helpers
def test_condition_names_and_best_cells():
    assert condition_name("normalized", False, False, True) == "sCtl"
    assert condition_name("asymptotic", True, False, True) == "aDR"
    assert condition_name("asymptotic", False, True, True) == "aProp"
    assert condition_name("normalized", False, True, False) == "sCtl"
    cells = pd.DataFrame({"accuracy": [0.01 * i for i in range(72)]})
    mean, sd, n = best_of(cells)
    assert n == 10 and mean == pytest.approx(0.665) and sd == pytest.approx(cells["accuracy"][62:].std())
    assert best_of(cells.head(36))[2] == 5 and best_of(cells.head(3))[:2] == (0.02, 0.0)


# -------------------------------------------------------------------------------------------- sg-vs-true
def sg_true_table(sg: float, true: float) -> pd.DataFrame:
    runs = [run_rows(sg + 0.01 * s, seed=s) for s in range(2)]
    runs += [run_rows(true, seed=s, surrogate="zero", activity=0.0) for s in range(2)]
    return table_of(runs)


def test_sg_vs_true_report_and_figure(tmp_path, monkeypatch):
    good = sg_vs_true_report(sg_true_table(0.9, 0.1))
    assert good.count("**holds**") == 2 and "| randman | true gradient (h ≡ 0) | 2 | 0.100 ± 0.000 |" in good
    bad = sg_vs_true_report(sg_true_table(0.4, 0.4))  # nothing learns, and the true gradient is not at chance
    assert bad.count("**fails**") == 2
    assert sg_vs_true_report(sg_true_table(0.9, 0.13)).count("**fails**") == 1  # 0.13: 3 binomial s.e. off chance
    only_sg = table_of([run_rows(0.9)])
    assert "true gradient stays at chance: not run" in sg_vs_true_report(only_sg)
    render_texts(monkeypatch, "sg-vs-true", sg_true_table(0.9, 0.1), tmp_path)
    assert "**holds**" in (tmp_path / "sg-vs-true.md").read_text()


# -------------------------------------------------------------------------------------- shape robustness
def shape_table(shapes: dict[str, float], constant: float | None, full: bool = True) -> pd.DataFrame:
    """Each shape's best cell at ``top`` on a 5 slopes × 4 learning rates × 3 seeds grid (``full``; seeds 0.004
    apart) or a 3 × 2 × 1 grid; the constant surrogate over the learning rates."""
    slopes = (0.2, 1.0, 5.0, 20.0, 100.0) if full else (1.0, 10.0, 100.0)
    lrs, seeds = ((0.005, 0.02, 0.05, 0.1), 3) if full else ((0.01, 0.05), 1)
    runs = []
    for shape, top in shapes.items():
        for slope in slopes:
            for lr in lrs:
                acc = top - (0.0 if lr == lrs[-1] else 0.02) - (0.1 if slope == slopes[-1] else 0.0)
                scale = "0.25" if shape == "sigmoid_unscaled" else "normalized"
                runs += [run_rows(acc + 0.004 * s, seed=s, surrogate=shape, slope=slope, lr=lr, scale=scale)
                         for s in range(seeds)]
    if constant is not None:
        runs += [run_rows(constant - (0.0 if lr == lrs[-1] else 0.02) + 0.004 * s, seed=s, surrogate="constant",
                          lr=lr) for lr in lrs for s in range(seeds)]
    return table_of(runs)


def test_shape_report_claims_flip():
    good = shape_robustness_report(shape_table({"fast_sigmoid": 0.95, "sigmoid_unscaled": 0.949, "esser": 0.948}, 0.5))
    assert good.count("**holds**") == 2 and "| randman | 5 × 4 × 3 |" in good
    bad = shape_robustness_report(shape_table({"fast_sigmoid": 0.95, "sigmoid_unscaled": 0.94, "esser": 0.7}, 0.69))
    assert bad.count("**fails**") == 2  # Esser far below; the constant not below Esser by 3 noise units
    small = shape_robustness_report(shape_table({"fast_sigmoid": 0.95, "sigmoid_unscaled": 0.94, "esser": 0.93}, 0.5,
                                                full=False))
    assert "this grid is 3 × 2 × 1" in small and small.count("**needs the paper profile**") == 1
    assert small.count("**holds**") == 1 and "(1 cell)" in small
    missing = shape_robustness_report(shape_table({"fast_sigmoid": 0.95, "esser": 0.94}, None))
    assert "constant surrogate is worse: not run" in missing and "| not run |" in missing


def test_shape_figure_marks_a_missing_shape(tmp_path, monkeypatch):
    table = shape_table({"fast_sigmoid": 0.95, "esser": 0.94}, 0.5)
    assert "not run: Sigmoid′" in render_texts(monkeypatch, "shape-robustness", table, tmp_path)
    assert "constant surrogate is worse" in (tmp_path / "shape-robustness.md").read_text()


# -------------------------------------------------------------------------------------------------- scale
def scale_table(adr: float, aprop: float | None = None, depths=(1,), slopes=(2.0, 20.0, 200.0)) -> pd.DataFrame:
    """sCtl, aCtl, sDR at 0.95, aDR at ``adr`` (feed-forward, each depth); recurrent sCtl, sProp, aCtl, aProp
    (at ``aprop``) when ``aprop`` is given. Grid: ``slopes`` × 2 learning rates, one seed."""
    runs = []

    def grid(acc, **config):
        for slope in slopes:
            for lr in (0.01, 0.05):
                runs.append(run_rows(acc - (0.01 if lr == 0.01 else 0.0), slope=slope, lr=lr, **config))

    for layers in depths:
        for scale in ("normalized", "asymptotic"):
            for dr in (False, True):
                grid(adr if (scale, dr) == ("asymptotic", True) else 0.95, scale=scale, diff_reset=dr, layers=layers)
            if aprop is not None:
                for prop in (False, True):
                    acc = aprop if (scale, prop) == ("asymptotic", True) else 0.95
                    grid(acc, scale=scale, recurrent=True, recurrent_grad=prop, layers=layers)
    return table_of(runs)


def test_scale_report_claims_flip():
    harmful = scale_report(scale_table(adr=0.6, aprop=0.5))
    assert harmful.count("**holds**") == 3 and "**fails**" not in harmful
    assert "| feed-forward | 1 | aDR | 0.600 | 1 | 0.015 | ≈ 0.78 (2nd-hand) |" in harmful
    harmless = scale_report(scale_table(adr=0.95, aprop=0.5))
    assert "with a differentiable reset (Fig. 5c: aDR lower)" in harmless and harmless.count("**fails**") == 1
    assert scale_report(scale_table(adr=0.6, aprop=0.95)).count("**fails**") == 1  # aProp is harmless
    deep = scale_report(scale_table(adr=0.6, aprop=0.5, depths=(1, 2)))
    assert deep.count("**holds**") == 5 and "at every depth (Fig. 5d: aDR below aCtl)" in deep
    one_slope = scale_report(scale_table(adr=0.6, aprop=0.5, slopes=(50.0,)))
    # sCtl ≈ aCtl, too, is a statement about the grid: with one slope all three wait for a larger profile
    assert one_slope.count("**needs the paper profile**") == 3 and "this grid has 1 slope(s)" in one_slope
    assert "**holds**" not in one_slope and "**fails**" not in one_slope


def test_scale_missing_conditions_read_not_run(tmp_path, monkeypatch):
    table = scale_table(adr=0.6)
    table = table[~((table["scale"] == "normalized") & table["diff_reset"])]  # no sDR
    report = scale_report(table)
    assert "| recurrent | 1 | aProp | not run | 0 | | |" in report and "| feed-forward | 1 | sDR | not run |" in report
    assert "(Fig. 5e: aProp lower): not run (needs aProp" in report and "**holds**" in report
    no_adr = scale_report(table[~((table["scale"] == "asymptotic") & table["diff_reset"])])
    assert "(Fig. 5c: aDR lower): not run (needs aDR" in no_adr
    texts = render_texts(monkeypatch, "scale", table, tmp_path)
    assert "not run: recurrent nets" in texts and "not run: aCtl / aProp" in texts and "not run: sDR" in texts


# ----------------------------------------------------------------------------------------------- activity
ACTIVITIES = (10.0, 3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 0.003)


def activity_table(drops: bool, seeds: int = 3) -> pd.DataFrame:
    """An upper-bound sweep (8 targets × ``seeds`` seeds 0.004 apart) for L = 1 and 2: a plateau at 0.95 down to
    0.3 spikes per neuron, then 0.6 and below (or flat when not ``drops``)."""
    runs = []
    for power in (1, 2):
        for activity in ACTIVITIES:
            acc = 0.95 if (activity >= 0.3 or not drops) else {0.1: 0.6, 0.03: 0.3, 0.01: 0.1, 0.003: 0.1}[activity]
            runs += [run_rows(acc + 0.004 * s, seed=s, activity=activity, upper_power=power, upper_strength=10.0,
                              upper_threshold=activity) for s in range(seeds)]
    return table_of(runs)


def test_activity_report_finds_the_critical_activity(tmp_path, monkeypatch):
    table = activity_table(drops=True)
    runs = table[table["kind"] == "epoch"].drop_duplicates("run_id")
    cells = runs.groupby("config_hash").agg(activity=("best_hidden_spikes", "mean"), accuracy=("best_test_accuracy",
                                                                                             "mean"),
                                            upper_power=("upper_power", "first"))
    stats = critical_activity(cells[cells["upper_power"] == 2].sort_values("activity").assign(noise=0.01))
    assert stats["edge"] == pytest.approx(0.3) and stats["critical"] == pytest.approx(0.1)
    assert stats["plateau_cells"] == 4 and stats["shows"]
    report = activity_report(table)
    assert "| randman | 1 | 2 | 8 | 0.954 | 0.004 | 4 | 0.3 | 0.1 | yes |" in report and "**holds**" in report
    flat = activity_report(activity_table(drops=False))
    assert "| none | no |" in flat and "**fails**" in flat
    small = activity_report(activity_table(drops=True, seeds=1))
    assert "8 levels and 1 seed(s)" in small and "**needs the paper profile**" in small
    texts = render_texts(monkeypatch, "activity", table, tmp_path)
    assert "not run" not in texts


def test_scale_harm_needs_controls_that_learn():
    table = scale_table(adr=0.6, aprop=0.5, depths=(1, 2))
    deep = (table["layers"] == 2) & ~((table["scale"] == "asymptotic") & table["diff_reset"])
    table.loc[deep & ~table["recurrent"], ["best_test_accuracy"]] = 0.11  # deep controls at chance
    report = scale_report(table)
    assert "aCtl at 2 layer(s) does not learn here (0.110, chance 0.100)" in report
    assert "at every depth (Fig. 5d: aDR below aCtl)" in report and report.count("**needs the paper profile**") == 1
