"""The five-parameter sigmoid network: SG vs exact gradients, bias scans, landscapes and closed loops."""


import pandas as pd
import pytest
import torch

from sgtheory.errors import ConfigError
from sgtheory.experiments import conservative, sigmoid
from sgtheory.experiments.configs.conservative_check import ConservativeConfig
from sgtheory.experiments.configs.sigmoid_bias import SigmoidBiasConfig
from sgtheory.figures.sigmoid import not_gradients_report, sigmoid_bias_report
from sgtheory.functional.surrogate import make_surrogate
from sgtheory.models import sigmoid_net


def random_points(n=64, seed=0, dtype=torch.float64):
    return 2 * torch.randn(n, 5, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("beta", [0.5, 3.0, 20.0])
def test_sg_with_the_forward_steepness_is_the_exact_gradient(beta):
    theta = random_points()
    _, exact = sigmoid_net.output_and_gradient(theta, 1.3, beta)
    _, sg = sigmoid_net.output_and_gradient(theta, 1.3, beta, make_surrogate("sigmoid", beta))
    assert torch.allclose(sg, exact, rtol=0, atol=1e-10)
    assert exact.abs().max() > 1e-3  # not a trivially flat comparison


def test_exact_gradient_matches_central_finite_differences():
    theta, h = random_points(16, seed=1), 1e-6
    _, grad = sigmoid_net.output_and_gradient(theta, 0.7, 2.0)
    for i in range(5):
        e = torch.zeros(5, dtype=torch.float64)
        e[i] = h
        fd = (sigmoid_net.output(theta + e, 0.7, 2.0) - sigmoid_net.output(theta - e, 0.7, 2.0)) / (2 * h)
        assert torch.allclose(grad[:, i], fd, atol=1e-8)


def test_sg_differs_from_the_exact_gradient_for_another_slope():
    theta = random_points()
    _, exact = sigmoid_net.output_and_gradient(theta, 1.0, 5.0)
    _, sg = sigmoid_net.output_and_gradient(theta, 1.0, 5.0, make_surrogate("sigmoid", 2.0))
    assert (sg - exact).abs().max() > 1e-2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_overflow_at_beta_1e4(dtype):
    theta = 50 * random_points(256, dtype=dtype)  # |β z| up to ~1e6
    for surrogate in (None, make_surrogate("sigmoid", 20.0), make_surrogate("fast_sigmoid", 5.0)):
        y, grad = sigmoid_net.output_and_gradient(theta, 1.0, 1.0e4, surrogate)
        assert torch.isfinite(y).all() and torch.isfinite(grad).all()
        assert ((y >= 0) & (y <= 1)).all()


def scan_table(**fields):
    return pd.DataFrame(sigmoid.scan_rows(SigmoidBiasConfig(**fields)))


def test_scan_reproduces_the_spec_check_values():
    table = scan_table(slope=30.0)
    sg = table[table["quantity"] == "sg"].set_index("position_1")["value"]
    true = table[table["quantity"] == "true_gradient"].set_index("position_1")["value"]
    first_positive = true[true > 0].index.min()
    assert first_positive == pytest.approx(-0.0126, abs=5e-4)  # true ∂y/∂w turns positive at w ≈ −0.013
    assert sg.max() == pytest.approx(3.64, abs=0.01) and sg.idxmax() == pytest.approx(0.030, abs=1e-3)
    assert sg.min() == pytest.approx(-13.5, abs=0.05) and sg.idxmin() == pytest.approx(-0.041, abs=1e-3)
    row = table.iloc[0]
    assert row["argmin_integrated_sg"] == pytest.approx(0.009, abs=5e-4)
    assert row["argmin_smoothed_output"] == pytest.approx(0.029, abs=1e-3)
    sg15 = scan_table(slope=15.0)
    sg15 = sg15[sg15["quantity"] == "sg"]["value"]
    assert sg15.max() < 0 and sg15.max() == pytest.approx(-0.153, abs=1e-3)  # negative on the whole grid


def test_integrating_the_exact_gradient_recovers_the_output():
    table = scan_table(beta=15.0, slope=15.0, scan_points=2001)
    out = table[table["quantity"] == "output"]["value"].to_numpy()
    integrated = table[table["quantity"] == "integrated_sg"]["value"].to_numpy()
    assert abs(out - integrated).max() < 1e-5
    assert table["sign_disagreement"].iloc[0] < 0.01


def landscape(slope, points=121):
    cfg = SigmoidBiasConfig(panel="landscape", beta=4.0, slope=slope, u1=1.0, u2=-1.0, grid_points=points)
    return pd.DataFrame(sigmoid.landscape_rows(cfg))


def test_landscape_orders_agree_for_a_gradient_field_only():
    coarse, fine = landscape(4.0, 61)["path_dependence"].iloc[0], landscape(4.0, 241)["path_dependence"].iloc[0]
    assert fine < coarse / 10 and fine < 1e-3  # second-order convergence of the trapezoid rule
    assert landscape(1.0)["path_dependence"].iloc[0] > 0.05


def test_landscape_arrow_values_match_the_spec():
    cfg = SigmoidBiasConfig(panel="landscape", beta=20.0, slope=2.0, u1=1.0, u2=-1.0, grid_points=11)
    row = sigmoid.landscape_rows(cfg)[0]
    assert row["arrow_sg_1"] == pytest.approx(0.0131, abs=1e-4)
    assert row["arrow_sg_2"] == pytest.approx(-0.0270, abs=1e-4)


def loop_summary(**fields):
    return conservative.sigmoid_loop(ConservativeConfig(landscape_points=0, **fields))[0]


def test_exact_loop_integral_tends_to_zero_while_the_sg_one_does_not():
    exact = [abs(loop_summary(beta=5.0, slope=5.0, points=n)["loop_integral"]) for n in (16, 64, 256)]
    assert exact[0] > 1e-2 > exact[1] > 1e-12 > exact[2]  # β_SG = β: the SG is the exact gradient
    sg = [loop_summary(beta=1.0e4, slope=5.0, points=n)["loop_integral"] for n in (256, 1024, 4096)]
    assert abs(sg[-1]) > 0.5 and sg[-1] == pytest.approx(sg[-2], rel=1e-3)


def test_published_loop_sums_match_the_spec():
    for slope, expected in ((1.0, -5.52), (5.0, -79.5), (20.0, -163.3)):
        row = loop_summary(slope=slope)
        assert row["loop_sum"] == pytest.approx(expected, rel=0.01)
        assert abs(row["exact_loop_integral"]) < 1e-10
        assert -1 <= row["relative_loop_integral"] <= 1


def test_tangents_are_unit_and_the_loop_closes():
    cfg = ConservativeConfig(points=100)
    d1, d2 = conservative.plane(cfg, 5, torch.float64)
    assert abs(float(d1 @ d2)) < 1e-12 and float(d1.norm()) == pytest.approx(1.0)
    points, tangents, angle, ds = conservative.loop(cfg, d1, d2, torch.zeros(5, dtype=torch.float64))
    assert torch.allclose(tangents.norm(dim=1), torch.ones(100, dtype=torch.float64))
    assert torch.allclose((points[1] - points[0]) / ds, tangents[0], atol=0.05)  # clockwise from the top
    assert angle[0] == 0 and ds == pytest.approx(2 * torch.pi * 1.8 / 100)


def rnn_summary(model, seed=0):
    cfg = ConservativeConfig(model=model, surrogate="fast_sigmoid", slope=1.0, N=8, T=20, batch=4, points=1024,
                             seed=seed)
    return conservative.rnn_loop(cfg)[0]


def test_rnn_loop_is_conservative_for_exact_gradients_only():
    assert abs(rnn_summary("tanh")["relative_loop_integral"]) < 1e-6
    lif = [abs(rnn_summary("lif", seed)["relative_loop_integral"]) for seed in range(3)]
    assert max(lif) > 1e-3


def test_configs_reject_bad_values_in_one_line():
    for bad in (dict(scan="q"), dict(plane="v1,v1"), dict(scan_min=1.0), dict(panel="x"), dict(grid_points=2),
                dict(beta=0.0)):
        with pytest.raises(ConfigError):
            SigmoidBiasConfig(**bad)
    for bad in (dict(model="rate"), dict(directions="up"), dict(radius=0.0), dict(points=4), dict(delay=5)):
        with pytest.raises(ConfigError):
            ConservativeConfig(**bad)




def test_conservative_check_cli_runs_a_user_chosen_lif_network(tmp_path, run_cli):
    out = tmp_path / "loop.parquet"
    code, stdout, _ = run_cli("conservative-check", "--model", "lif", "--surrogate",
                              "fast_sigmoid", "--slope", "2", "--N", "6", "--T", "12", "--batch", "2",
                              "--points", "40", "--seeds", "0-1", "--out", str(out))
    assert code == 0, stdout
    table = pd.read_parquet(out)
    assert set(table["quantity"]) == {"output", "integrated_sg"} and table["run_id"].nunique() == 2
    per_run = table.groupby("run_id").first()
    assert (per_run["model"] == "lif").all() and (per_run["N"] == 6).all()
    last = table[(table["quantity"] == "integrated_sg") & (table["step"] == 39)].set_index("run_id")["value"]
    assert torch.allclose(torch.tensor(last.to_numpy()), torch.tensor(per_run.loc[last.index, "loop_integral"]
                                                                      .to_numpy()))
    code, _, err = run_cli("conservative-check", "--model", "lif", "--points", "3")
    assert code == 2 and err.count("\n") == 1 and "points=3" in err


def test_sigmoid_bias_cli_and_reports(tmp_path, run_cli):
    scan, land = tmp_path / "scan.parquet", tmp_path / "land.parquet"
    assert run_cli("sigmoid-bias", "--set", "slope=[15,30]", "--scan-points", "2001",
                   "--out", str(scan))[0] == 0
    assert run_cli("sigmoid-bias", "--panel", "landscape", "--beta", "20", "--u1", "1",
                   "--u2", "-1", "--set", "slope=[2,20]", "--grid-points", "301", "--out", str(land))[0] == 0
    table = pd.concat([pd.read_parquet(scan), pd.read_parquet(land)])
    report = sigmoid_bias_report(table)
    assert "**fails**" not in report and report.count("**holds**") == 4
    # An SG that never disagrees with the true gradient (β_SG = β) makes the sign-flip claim fail.
    exact = pd.DataFrame(sigmoid.scan_rows(SigmoidBiasConfig(slope=100.0, scan_points=2001))).assign(
        panel="scan", beta=100.0, slope=100.0, scan="w", scan_min=-0.2, scan_max=0.2, scan_points=2001)
    flipped = exact.assign(slope=15.0)
    assert "SGs can flip the sign of the derivative" in sigmoid_bias_report(flipped)
    assert "**fails**" in sigmoid_bias_report(flipped).split("SGs find different minima")[0]
    # minima moved off the spec's values fail; another scan has no check values
    moved = table.copy()
    moved.loc[moved["panel"] == "scan", "argmin_integrated_sg"] += 0.01
    assert "SGs find different minima than the actual gradient" in sigmoid_bias_report(moved)
    assert sigmoid_bias_report(moved).split("SGs find different minima")[1].split("\n")[0].endswith("**fails**.")
    assert "not the spec's" in sigmoid_bias_report(flipped.assign(scan_min=-0.1))
    # an SG arrow off the spec's value, or an order-independent SG landscape, fail
    off = table.copy()
    off.loc[(off["panel"] == "landscape") & (off["slope"] == 2.0), "arrow_sg_1"] *= 1.2
    assert "SGs provide a descent direction" in sigmoid_bias_report(off)
    assert sigmoid_bias_report(off).split("SGs provide a descent direction")[1].split("\n")[0].endswith("**fails**.")
    flat = table.copy()
    flat.loc[flat["panel"] == "landscape", "path_dependence"] = 0.01
    assert sigmoid_bias_report(flat).rstrip().endswith("**fails**.")


def test_not_gradients_report_marks_an_exact_field_as_failing(tmp_path):
    rows = []
    for slope in (1.0, 5.0, 20.0):
        cfg = ConservativeConfig(slope=slope, points=200, landscape_points=0)
        rows += [r | cfg.to_dict() for r in conservative.sigmoid_loop(cfg)]
    table = pd.DataFrame(rows)
    report = not_gradients_report(table)
    assert report.count("**holds**") == 3 and "**fails**" not in report  # 200 points: not the spec's loop sums
    fake = table.copy()
    fake["loop_integral"] = fake["exact_loop_integral"]  # pretend the SG were a gradient
    assert "unlike that of the actual gradient (spec §3.3) (needs" in not_gradients_report(fake)
    assert not_gradients_report(fake).count("**fails**") == 2  # not non-zero, not growing
    shrinking = table.copy()
    shrinking["loop_integral"] = -shrinking["slope"].map({1.0: 3.0, 5.0: 2.0, 20.0: 1.0})
    assert not_gradients_report(shrinking).count("**fails**") == 1
    leaky = table.copy()
    leaky["exact_loop_sum"] = 0.05
    assert not_gradients_report(leaky).count("**fails**") == 1
    spec = table.assign(points=1500)  # the spec's loop (only its sums are faked here)
    spec["loop_sum"] = spec["slope"].map({1.0: -5.52, 5.0: -79.5, 20.0: -163.3})
    assert "the spec's re-computed values" in not_gradients_report(spec)
    assert not_gradients_report(spec).count("**fails**") == 0
    spec["loop_sum"] *= 1.05
    assert not_gradients_report(spec).count("**fails**") == 1


@pytest.mark.parametrize("name", ["sigmoid-bias", "not-gradients"])
def test_sigmoid_figures_render_through_the_layout_check(tmp_path, name):
    from sgtheory.figures import render
    from sgtheory.results import write_table

    if name == "sigmoid-bias":
        scan = pd.DataFrame(sigmoid.scan_rows(SigmoidBiasConfig(slope=15.0, scan_points=401)))
        frame = scan.assign(**{k: v for k, v in SigmoidBiasConfig(slope=15.0, scan_points=401).to_dict().items()
                               if k not in scan})
    else:
        rows = []
        for slope in (1.0, 5.0):
            cfg = ConservativeConfig(slope=slope, points=100, landscape_points=30)
            rows += [r | cfg.to_dict() for r in conservative.sigmoid_loop(cfg)]
        frame = pd.DataFrame(rows)
    path = tmp_path / "t.parquet"
    experiment = "sigmoid-bias" if name == "sigmoid-bias" else "conservative-check"
    write_table(frame.assign(experiment=experiment, run_id="r0"), path, {})
    render(name, path, tmp_path / "f.png")
    assert (tmp_path / "f.png").exists()
