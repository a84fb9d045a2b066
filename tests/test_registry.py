"""Adding an experiment and a figure touches only the registries: a toy pair runs end to end through the CLI, the
sweep (inline and worker processes), `sgtheory plot` and `sgtheory report`."""

import pandas as pd
import pytest
import toy_experiment

from sgtheory import experiments, figures


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(experiments.EXPERIMENTS, "toy", experiments.Experiment(
        toy_experiment.ToyConfig, toy_experiment.toy_run, "A toy experiment: one line per seed."))
    monkeypatch.setitem(figures.FIGURES, "toy-lines", figures.Figure(
        "toy_experiment", "toy_draw", "toy_report", ("toy",)))


def test_a_toy_experiment_and_figure_run_through_the_registries(registered, run_cli, tmp_path):
    code, text, err = run_cli("--help")
    assert code == 0 and "A toy experiment: one line per seed." in text
    tables = {}
    for executor in ("inline", "processes"):
        out = tmp_path / f"{executor}.parquet"
        code, _, err = run_cli("toy", "--seeds", "0-2", "--set", "slope=[1,2]", "--steps", "4",
                               "--executor", executor, "--workers", "2", "--out", str(out))
        assert code == 0, err
        tables[executor] = pd.read_parquet(out).sort_values(["slope", "seed", "step"]).reset_index(drop=True)
    inline = tables["inline"]
    pd.testing.assert_frame_equal(inline, tables["processes"])
    assert len(inline) == 2 * 3 * 4 and set(inline["experiment"]) == {"toy"}
    assert inline.query("slope == 2 and seed == 1")["value"].tolist() == [1.0, 3.0, 5.0, 7.0]

    folder = tmp_path / "figures"
    code, _, err = run_cli("plot", "toy-lines", str(tmp_path / "inline.parquet"), "--out", str(folder / "toy.png"))
    assert code == 0, err
    code, _, err = run_cli("report", str(folder))
    assert code == 0, err
    report = (folder / "REPORT.md").read_text()
    assert "the toy line rises: **holds**" in report and "[toy](#toy)" in report


def test_a_figure_refuses_tables_of_other_experiments(registered, run_cli, tmp_path):
    out = tmp_path / "toy.parquet"
    assert run_cli("toy", "--executor", "inline", "--out", str(out))[0] == 0
    code, _, err = run_cli("plot", "r1", str(out), "--out", str(tmp_path / "r1.png"))
    assert code == 2 and "figure r1 draws tables of floss, not of toy" in err


def test_an_unknown_progress_unit_is_refused():
    with pytest.raises(ValueError, match="progress_unit='step'"):
        experiments.Experiment(toy_experiment.ToyConfig, toy_experiment.toy_run, "toy", "step")
