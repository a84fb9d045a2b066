"""Stochastic (escape-noise) neurons: SG = dE[S]/dw for one neuron, E[SG] ≠ ∇E[y] through a hidden layer."""

import itertools
import math

import pandas as pd
import pytest
import torch

from sgtheory.errors import ConfigError
from sgtheory.experiments import expand, load_config_file
from sgtheory.experiments.stochastic import StochasticNeuronConfig, neuron_curves, neuron_sg_samples, stochastic_neuron
from sgtheory.figures.theory import theory_figure, theory_report
from sgtheory.functional.surrogate import P0_EXPONENTIAL, escape_derivative, make_surrogate
from sgtheory.models.stochastic_net import exact_gradient, expected_output, expected_sg, sampled_sg
from sgtheory.results import tidy
from sgtheory.seeding import stream

SMALL = dict(u_points=21, raster_points=11, trials=10, scan_points=11, samples=300)
D = torch.float64


def closed_form_fprime(z: torch.Tensor, escape: str, beta: float) -> torch.Tensor:
    """f′ written out by hand: β σ(βz)(1 - σ(βz)), or β p0 e^{βz} below saturation and 0 above."""
    if escape == "sigmoid":
        s = 1.0 / (1.0 + torch.exp(-beta * z))
        return beta * s * (1.0 - s)
    rising = P0_EXPONENTIAL * torch.exp(beta * z)
    return torch.where(rising < 1.0, beta * rising, torch.zeros_like(z))


def closed_form_fprob(z: torch.Tensor, escape: str, beta: float) -> torch.Tensor:
    if escape == "sigmoid":
        return 1.0 / (1.0 + torch.exp(-beta * z))
    return (P0_EXPONENTIAL * torch.exp(beta * z)).clamp(max=1.0)


@pytest.mark.parametrize("escape", ["sigmoid", "exponential"])
def test_single_neuron_sg_equals_the_gradient_of_the_expected_spike(escape):
    cfg = StochasticNeuronConfig(escape=escape, slope=3.0, threshold=0.7, neuron_input=-1.5, u_min=-2.0, u_max=2.0,
                                 **SMALL)
    z = torch.linspace(cfg.u_min, cfg.u_max, cfg.u_points, dtype=D)
    analytic = closed_form_fprime(z, escape, cfg.slope) * cfg.neuron_input  # dE[S]/dw = f′(u - θ)·x
    sg = neuron_sg_samples(cfg, stream(0, "test"))  # every sample's SG, through escape_spike
    assert sg.shape == (cfg.trials, cfg.u_points)
    assert torch.allclose(sg, analytic.expand_as(sg), rtol=1e-12, atol=1e-14)
    curves = neuron_curves(cfg)
    assert torch.allclose(curves["expected_spike"], closed_form_fprob(z, escape, cfg.slope), rtol=1e-12, atol=0)
    assert torch.allclose(curves["expected_spike_gradient"], analytic, rtol=1e-12, atol=1e-14)
    # the deterministic neuron's SG with ψ = f′ is dE[S]/du of the stochastic one
    assert torch.allclose(curves["deterministic_sg"], curves["expected_spike_derivative"], rtol=1e-12, atol=1e-14)
    assert curves["deterministic_output"].tolist() == (z > 0).to(D).tolist()
    rows = stochastic_neuron([cfg])[0].rows
    assert rows[0]["single_neuron_max_error"] < 1e-14


def test_library_sigmoid_surrogate_is_the_sigmoid_escape_derivative():
    z = torch.linspace(-3, 3, 61, dtype=D)
    assert torch.allclose(make_surrogate("sigmoid", 5.0).derivative(z), escape_derivative(z, "sigmoid", 5.0),
                          rtol=1e-14, atol=0)


def _points(n: int, seed: int) -> torch.Tensor:
    return 2.0 * torch.rand(n, 5, generator=torch.Generator().manual_seed(seed), dtype=D) - 1.0


@pytest.mark.parametrize("escape", ["sigmoid", "exponential"])
def test_enumeration_matches_a_large_monte_carlo_mean(escape):
    theta = _points(4, 1)
    samples = 100_000
    ey = expected_output(theta, 0.8, escape, 4.0)
    esg = expected_sg(theta, 0.8, escape, 4.0)
    y, sg = sampled_sg(theta, 0.8, escape, 4.0, samples, stream(3, "test"))
    z_y = (y.mean(0) - ey).abs() / (y.std(0) / math.sqrt(samples))
    assert float(z_y.max()) < 4.5
    sem = sg.std(0) / math.sqrt(samples)
    varies = sem > 1e-9
    assert float(((sg.mean(0) - esg).abs()[varies] / sem[varies]).max()) < 4.5
    assert torch.allclose(sg.mean(0)[~varies], esg[~varies], atol=1e-9)


def test_expected_sg_equals_the_hand_written_chain_rule():
    """E[SG] against Σ_states P(state)·SG(state) with SG written out (x → g → (h1, h2) → y, ψ = f′)."""
    beta, x = 5.0, 1.3
    theta = _points(6, 2)
    f = lambda z: closed_form_fprob(z, "sigmoid", beta)  # noqa: E731
    d = lambda z: closed_form_fprime(z, "sigmoid", beta)  # noqa: E731
    w, v1, v2, u1, u2 = theta.unbind(-1)
    total = torch.zeros_like(theta)
    for g, h1, h2 in itertools.product((0.0, 1.0), repeat=3):
        p = lambda q, s: q if s else 1.0 - q  # noqa: E731
        prob = p(f(w * x), g) * p(f(v1 * g), h1) * p(f(v2 * g), h2)
        a = u1 * h1 + u2 * h2
        sg = torch.stack([d(a) * (u1 * d(v1 * g) * v1 + u2 * d(v2 * g) * v2) * d(w * x) * x,
                          d(a) * u1 * d(v1 * g) * g, d(a) * u2 * d(v2 * g) * g, d(a) * h1, d(a) * h2], -1)
        total += prob[:, None] * sg
    assert torch.allclose(expected_sg(theta, x, "sigmoid", beta), total, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("escape", ["sigmoid", "exponential"])
def test_exact_gradient_matches_finite_differences(escape):
    theta = _points(5, 4)
    _, grad = exact_gradient(theta, 1.0, escape, 5.0)
    h = 1e-6
    for i in range(5):
        step = torch.zeros(5, dtype=D)
        step[i] = h
        ey = lambda t: expected_output(t, 1.0, escape, 5.0)  # noqa: E731
        fd = (ey(theta + step) - ey(theta - step)) / (2 * h)
        assert torch.allclose(grad[:, i], fd, atol=1e-7, rtol=0)


def test_gap_is_measurable_through_the_hidden_layer_and_vanishes_for_the_output_layer():
    default = stochastic_neuron([StochasticNeuronConfig(**SMALL)])[0].rows[0]
    assert default["network_relative_gap"] > 1.0 and default["network_max_gap"] > 0.1
    assert default["network_sign_disagreement"] > 0.5  # E[SG] even points the other way
    assert default["output_layer_max_gap"] < 1e-14
    for name in ("v1", "v2"):
        assert stochastic_neuron([StochasticNeuronConfig(scan=name, **SMALL)])[0].rows[0]["network_relative_gap"] > 0.05
    for name in ("u1", "u2"):  # one stochastic layer between parameter and output: the single-neuron case
        row = stochastic_neuron([StochasticNeuronConfig(scan=name, **SMALL)])[0].rows[0]
        assert row["network_max_gap"] < 1e-14


def test_same_seed_same_rows_and_other_seed_other_raster():
    first, again, other = (tidy(r.config, "stochastic-neuron", r.rows) for r in
                           stochastic_neuron([StochasticNeuronConfig(seed=s, **SMALL) for s in (0, 0, 1)]))
    pd.testing.assert_frame_equal(first, again)
    spikes = [t[t["quantity"] == "spike"]["value"].to_numpy() for t in (first, other)]
    assert (spikes[0] != spikes[1]).any()
    exact = ["expected_spike", "deterministic_sg", "expected_output", "exact_gradient", "expected_sg"]
    for t in (first, other):
        assert set(exact) <= set(t["quantity"])
    pick = lambda t: t[t["quantity"].isin(exact)]["value"].to_numpy()  # noqa: E731
    assert (pick(first) == pick(other)).all()
    assert first["run_id"].iloc[0] != other["run_id"].iloc[0]


def synthetic(error=1e-16, gap=0.4, relative=5.0, out_gap=0.0, z=1.5, scan="w", seeds=(0, 1)):
    rows = []
    for seed in seeds:
        summary = dict(run_id=f"r{seed}", escape="sigmoid", slope=5.0, scan=scan, seed=seed, samples=100,
                       single_neuron_max_error=error, network_max_gap=gap, network_relative_gap=relative,
                       network_sign_disagreement=0.5, output_layer_max_gap=out_gap, mc_sg_max_z=z,
                       mc_output_max_z=z)
        for q in ("exact_gradient", "expected_sg"):
            rows += [summary | dict(panel="base", quantity=q, parameter=p, value=0.1) for p in ("w", "u1")]
    return pd.DataFrame(rows)


def test_report_marks_claims_from_the_summary_columns():
    good = theory_report(synthetic())
    assert good.count("**holds**") == 1 and "**fails**" not in good
    assert "1.0e-16 (single neuron)" in good and "| w | +0.1 | +0.1 |" in good
    # the identities are numbers, not claims: large errors there do not add verdicts
    assert theory_report(synthetic(error=1e-3, out_gap=1e-3, z=9.0)).count("**") == 2
    assert theory_report(synthetic(relative=1e-14)).count("**fails**") == 1  # a gap at rounding level
    flat = theory_report(synthetic(gap=0.0, relative=float("nan")))  # no gradient and no gap
    assert "E[SG] ≠ ∇E[y]" in flat and flat.count("**fails**") == 1
    output_scan = theory_report(synthetic(scan="u1", gap=0.0, relative=0.0))
    assert "E[SG] ≠ ∇E[y]" not in output_scan and "**" not in output_scan


@pytest.mark.parametrize("escape", ["sigmoid", "exponential"])
def test_one_layer_identities_and_sampling_hold_to_rounding(escape):
    """Moved from the report: with one stochastic layer the SG is the gradient of the expected output (single neuron;
    output weights u1, u2) to float64 rounding, and the sampled SG mean lies within 4.5 standard errors of E[SG]."""
    for scan in ("w", "u1", "u2"):
        row = stochastic_neuron([StochasticNeuronConfig(escape=escape, scan=scan, **SMALL)])[0].rows[0]
        assert row["single_neuron_max_error"] <= 1e-12
        assert row["output_layer_max_gap"] <= 1e-12
        assert row["mc_sg_max_z"] <= 4.5


def test_theory_figure_renders_through_the_layout_check(tmp_path):
    from sgtheory.figures import render
    from sgtheory.results import write_table

    result = stochastic_neuron([StochasticNeuronConfig(**SMALL)])[0]
    path = tmp_path / "sn.parquet"
    write_table(tidy(result.config, "stochastic-neuron", result.rows), path, {})
    paths = render("theory", path, tmp_path / "theory.png")
    assert (tmp_path / "theory.png").exists() and any(p.suffix == ".md" for p in paths)


def test_figure_draws_from_a_real_table(tmp_path):
    import matplotlib.pyplot as plt

    result = stochastic_neuron([StochasticNeuronConfig(**SMALL)])[0]
    table = tidy(result.config, "stochastic-neuron", result.rows)
    fig = theory_figure(table)
    assert len(fig.axes) == 6 and all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    fig.savefig(tmp_path / "theory.png")
    plt.close(fig)
    assert "**holds**" in theory_report(table) and "**fails**" not in theory_report(table)


@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"escape": "tanh"}, "escape='tanh' is not allowed"),
    ({"slope": 0.0}, "slope=0.0 must be a positive"),
    ({"scan": "q"}, "scan='q' must name 1 different parameters"),
    ({"u_min": 1.0, "u_max": 1.0}, "u_min=1.0 must be smaller than u_max=1.0"),
    ({"scan_points": 2}, "scan_points=2 must be >= 3"),
    ({"samples": 1}, "samples=1 must be >= 2"),
    ({"trials": 0}, "trials=0 must be >= 1"),
    ({"neuron_input": 0.0}, "neuron_input=0.0 must be a finite non-zero number"),
    ({"samplez": 10}, "did you mean 'samples'"),
])
def test_config_errors_are_one_line(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")) as err:
        expand("stochastic-neuron", overrides)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("profile", [None, "quick", "paper"])
def test_config_file_profiles_are_valid(profile):
    overrides = load_config_file("configs/stochastic_neuron.yaml", profile, "stochastic-neuron")
    (cfg,) = expand("stochastic-neuron", overrides)
    assert cfg.escape == "sigmoid" and cfg.scan == "w"


def test_stochastic_neuron_cli_end_to_end(tmp_path, run_cli):
    def run(*args):
        return run_cli("stochastic-neuron", *args)

    out = tmp_path / "neuron.csv"
    code, stdout, _ = run("--samples", "20", "--scan-points", "5", "--seeds", "0-1", "--out", str(out))
    assert code == 0, stdout
    table = pd.read_csv(out)
    assert set(table["panel"]) == {"neuron", "network", "base"} and table["seed"].nunique() == 2
    assert (table["single_neuron_max_error"] < 1e-12).all()
    code, _, err = run("--escape", "linear")
    assert code == 2 and err.count("\n") == 1 and "escape" in err
