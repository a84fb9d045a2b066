"""The rate-spectrum command end to end on tiny networks, and its four figures with their report claims."""

import pandas as pd
import pytest

from sgtheory.figures import render
from sgtheory.figures.rate_spectra import discrete_mean_field_lambda_max, discrete_mean_field_variance


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    import sys

    from sgtheory.cli import main

    folder = tmp_path_factory.mktemp("rate")
    runs = {
        "ext": ["--set", "N=[10, 20]", "--gain", "4", "--dt", "0.1", "--t-sim", "30", "--t-warm", "5"],
        "lmax": ["--N", "30", "--nle", "1", "--set", "dt=[1.0, 0.05]", "--set", "gain=[0.5, 2.0]", "--t-sim", "20",
                 "--t-warm", "5", "--brute-force", "5"],
        "dim": ["--N", "15", "--set", "gain=[2.0, 5.0]", "--t-sim", "20", "--t-warm", "5"],
        "noise": ["--N", "15", "--gain", "4", "--set", "noise=[0.0, 2.0]", "--t-sim", "20", "--t-warm", "5"],
        "conv": ["--N", "20", "--nle", "3", "--set", "t_ons=[0.5, 1.0]", "--set", "ons_transient=[-1.0, 0.0]",
                 "--t-sim", "20", "--t-warm", "5", "--brute-force", "5", "--trace-every", "2"],
    }
    paths = {}
    for name, args in runs.items():
        out = folder / f"{name}.parquet"
        sys_argv = ["sgtheory", "rate-spectrum", *args, "--seeds", "0-1", "--executor", "inline", "--out", str(out)]
        old, sys.argv = sys.argv, sys_argv
        try:
            main()
        except SystemExit as exc:
            assert exc.code in (0, None)
        finally:
            sys.argv = old
        paths[name] = out
    return folder, paths


def test_table_columns_and_sum_rule(tables):
    _, paths = tables
    t = pd.read_parquet(paths["ext"])
    e = t[t["quantity"] == "exponent"]
    assert set(e.groupby("run_id").size()) == {10, 20}
    assert {"i_over_N", "ci_low", "ci_high", "ky_dimension", "entropy_rate", "lambda_sum_per_N"} <= set(t.columns)
    assert (e["ci_low"] <= e["ci_high"]).all()


@pytest.mark.parametrize(("figure", "name"), [("rate-extensivity", "ext"), ("rate-lambda-max", "lmax"),
                                              ("rate-dimension", "dim"), ("rate-convergence", "conv"),
                                              ("rate-noise", "noise")])
def test_figures_render_with_claims(tables, figure, name):
    folder, paths = tables
    written = render(figure, paths[name], folder / f"{name}.png")
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    section = (folder / f"{name}.md").read_text()
    assert "**holds**" in section or "**fails**" in section or "**needs the paper profile**" in section


def test_mean_field_fixed_point():
    delta = discrete_mean_field_variance(3.0)
    assert delta > 0
    assert discrete_mean_field_lambda_max(1.0) == pytest.approx(0.0, abs=1e-9)
