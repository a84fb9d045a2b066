"""Spike-train matching: filters, the fast hidden update, distances, targets, reproducibility, learning."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from sgtheory.errors import ConfigError, TargetError
from sgtheory.experiments.spike_match import (
    SpikeMatchConfig,
    SpikeMatcher,
    bin_variability,
    build_filters,
    hidden_update,
    init_sigma,
    spike_match_run,
)
from sgtheory.figures.spike_match import spike_match_report
from sgtheory.functional.losses import filter_in_time, van_rossum_distance
from sgtheory.tasks.spike_match import DARK_BELOW, default_target, read_target

CAMERA = Path(__file__).resolve().parents[2] / "shared" / "data" / "radcliffe_camera.png"
SMALL = dict(n_input=30, n_hidden=20, epochs=3)


def rng(seed=0):
    return np.random.default_rng(seed)


def test_fast_hidden_update_equals_the_direct_double_sum():
    T, n_in, n_h, trials = 40, 6, 5, 3
    r = rng()
    trace, psi, error = r.random((T, n_in)), r.random((T, trials, n_h)), r.normal(size=(T, trials, n_h))
    eps = r.random(T)
    direct = np.zeros((n_in, n_h))
    for b in range(trials):
        for t in range(T):
            for s in range(t + 1):
                direct += eps[t - s] * np.outer(trace[s], psi[s, b] * error[t, b])
    filters = build_filters(SpikeMatchConfig(), T)
    eps_matrix = torch.tensor(np.tril(eps[np.subtract.outer(np.arange(T), np.arange(T)).clip(0)]))
    assert torch.allclose(filters.eps, torch.tensor(np.tril(filters.eps.numpy())))  # causal
    fast = hidden_update(torch.tensor(trace), torch.tensor(psi), torch.tensor(error), eps_matrix)
    np.testing.assert_allclose(fast.numpy(), direct, rtol=1e-10, atol=1e-10)


def test_filter_matrices_equal_the_step_by_step_recursions():
    cfg, T = SpikeMatchConfig(), 50
    f = build_filters(cfg, T)
    spikes = torch.tensor((rng(1).random((T, 7)) < 0.2).astype(float))
    lam_m, lam_s = math.exp(-0.1), math.exp(-0.2)
    I, x, Is, xs = np.zeros(7), np.zeros(7), [], []
    for t in range(T):
        Is.append(I.copy())
        xs.append(x.copy())
        x = lam_m * x + (1 - lam_m) * I
        I = lam_s * I + spikes[t].numpy()
    np.testing.assert_allclose(filter_in_time(f.current, spikes).numpy(), np.array(Is), atol=1e-12)
    np.testing.assert_allclose(filter_in_time(f.trace, spikes).numpy(), np.array(xs), atol=1e-12)
    t_k = np.linspace(0, T * 1e-3, T)
    np.testing.assert_allclose(f.eps[:, 0].numpy(), 0.2 * (np.exp(-t_k / 0.01) - np.exp(-t_k / 0.005)), atol=1e-14)


def test_network_follows_the_spec_equations():
    cfg = SpikeMatchConfig(method="superspike", **SMALL)
    task = SpikeMatcher(cfg)
    run = task.forward(1, False, torch.Generator())
    lam_m, lam_s = math.exp(-0.1), math.exp(-0.2)
    W0, W1, S_in = task.W0.numpy(), task.W1.numpy(), task.inputs.numpy()

    def layer(pre, W):
        U, I, Ss = np.zeros(W.shape[1]), np.zeros(W.shape[1]), []
        for t in range(pre.shape[0]):
            S = (U > 1.0).astype(float)
            Ss.append(S)
            U = lam_m * U * (1 - S) + (1 - lam_m) * I
            I = lam_s * I + pre[t] @ W
        return np.array(Ss)

    S_h = layer(S_in, W0)
    np.testing.assert_array_equal(run.S_h[:, 0].numpy(), S_h)
    np.testing.assert_array_equal(run.S_o[:, 0].numpy(), layer(S_h, W1))
    assert S_h.sum() > 0


def test_stochastic_spikes_are_the_same_with_and_without_gradients():
    cfg = SpikeMatchConfig(method="stochastic", **SMALL)
    task = SpikeMatcher(cfg)
    fast = task.forward(4, True, torch.Generator().manual_seed(3))
    graded = task.forward(4, True, torch.Generator().manual_seed(3), grad=True)
    assert torch.equal(fast.S_h, graded.S_h.detach()) and torch.equal(fast.S_o, graded.S_o.detach())
    p = fast.S_h.mean()
    assert 0 < p < 1


def test_van_rossum_distance_properties():
    eps = build_filters(SpikeMatchConfig(), 100).eps
    a = torch.zeros(100, 1, dtype=torch.float64)
    a[20] = 1
    assert van_rossum_distance(a, a, eps).item() == 0
    b = torch.roll(a, 3, dims=0)
    assert van_rossum_distance(a, b, eps).item() == pytest.approx(van_rossum_distance(b, a, eps).item())
    shifts = [van_rossum_distance(a, torch.roll(a, k, dims=0), eps).item() for k in (1, 2, 5, 10)]
    assert all(x < y for x, y in zip(shifts, shifts[1:], strict=False)) and shifts[0] > 0


def test_bin_variability_is_one_minus_the_spike_probability():
    spikes = torch.tensor(rng(2).random((50, 400, 8)) < 0.3, dtype=torch.float64)
    assert bin_variability(spikes) == pytest.approx(0.7, abs=0.01)
    assert math.isnan(bin_variability(spikes[:, :1]))


def test_default_target_matches_the_papers_size_and_density():
    target = default_target()
    assert target.shape == (200, 189) and 0.26 < target.mean() < 0.29
    np.testing.assert_array_equal(target, default_target())


@pytest.mark.skipif(not CAMERA.exists(), reason="the original image is only on the team's machines")
def test_original_image_converts_as_the_spec_says():
    target = read_target(CAMERA)
    assert target.shape == (200, 189) and target.sum() == 10367


def test_target_images_of_any_size_and_bad_files(tmp_path):
    import matplotlib.image

    picture = np.ones((12, 30))
    picture[3, 5] = picture[7, 20] = 0.2
    path = tmp_path / "t.png"
    matplotlib.image.imsave(path, picture, cmap="gray", vmin=0, vmax=1)
    target = read_target(path)
    assert target.shape == (12, 30) and target.sum() == 2 and DARK_BELOW == 0.85
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(TargetError):
        read_target(tmp_path / "bad.png")
    with pytest.raises(ConfigError):
        SpikeMatchConfig(target_image=str(tmp_path / "missing.png"))
    cfg = SpikeMatchConfig(target_image=str(path), **SMALL)
    result = spike_match_run(cfg)
    spikes = pd.DataFrame([r for r in result.rows if r["kind"] == "spike"])
    assert spikes[spikes["layer"] == "output"]["neuron"].max() < 12 and spikes["time"].max() < 30


def test_initial_weight_scale_matches_the_spec():
    assert init_sigma(SpikeMatchConfig(), 200) == pytest.approx(0.3464, abs=1e-4)


def test_method_defaults_resolve_and_bad_values_are_rejected():
    assert SpikeMatchConfig(method="superspike").trials == 1 and SpikeMatchConfig().trials == 10
    assert SpikeMatchConfig(method="superspike").lr_output == 1e-4 and SpikeMatchConfig().lr_output == 1e-5
    assert SpikeMatchConfig(trials=10).run_id() == SpikeMatchConfig().run_id()
    for bad in (dict(method="x"), dict(learning="bptt", method="multilayerspiker"), dict(epochs=0),
                dict(input_rate=2000.0), dict(raster_trials=11)):
        with pytest.raises(ConfigError):
            SpikeMatchConfig(**bad)


def epochs_of(result):
    return pd.DataFrame([r for r in result.rows if r["kind"] == "epoch"])


def test_same_seed_same_numbers_different_seed_different_spikes():
    cfg = SpikeMatchConfig(method="stochastic", trials=3, **SMALL)
    first, again = spike_match_run(cfg), spike_match_run(cfg)
    assert first.rows == again.rows
    other = spike_match_run(SpikeMatchConfig(method="stochastic", trials=3, seed=1, **SMALL))
    hidden = [[(r["time"], r["neuron"]) for r in res.rows if r["kind"] == "spike" and r["layer"] == "hidden"]
              for res in (first, other)]
    assert hidden[0] != hidden[1]


@pytest.mark.parametrize("method, learning", [("superspike", "rule"), ("stochastic", "rule"),
                                              ("multilayerspiker", "rule"), ("superspike", "bptt")])
def test_training_reduces_the_van_rossum_distance(method, learning):
    cfg = SpikeMatchConfig(method=method, learning=learning, epochs=25 if learning == "rule" else 15,
                           trials=0 if method == "superspike" else 2)
    table = epochs_of(spike_match_run(cfg))
    assert table["van_rossum"].iloc[-3:].mean() < 0.4 * table["van_rossum"].iloc[0]
    assert table["rate_output_valid"].notna().all()


def test_exploding_weights_are_reported():
    result = spike_match_run(SpikeMatchConfig(method="superspike", lr_output=1e308, **SMALL))
    assert result.error and "non-finite" in result.error




def test_cli_writes_epochs_and_rasters_and_the_report_reads_them(tmp_path, run_cli):
    out = tmp_path / "sm.parquet"
    code, stdout, _ = run_cli("spike-match", "--epochs", "12", "--trials", "2",
                              "--set", "method=[superspike,stochastic]", "--out", str(out))
    assert code == 0, stdout
    table = pd.read_parquet(out)
    epochs = table[table["kind"] == "epoch"]
    assert len(epochs) == 24 and set(table["layer"].dropna()) == {"target", "input", "hidden", "output"}
    assert set(table[table["kind"] == "spike"]["epoch"]) == {0, 11}
    report = spike_match_report(table)
    assert "| deterministic | 1 |" in report and "fires more in the hidden layer" in report
    code, _, err = run_cli("spike-match", "--target-image", str(tmp_path / "none.png"))
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err


def small_table(epochs=3):
    from sgtheory.results import tidy

    frames = []
    for method in ("superspike", "stochastic"):
        cfg = SpikeMatchConfig(method=method, trials=2 if method == "stochastic" else 0, n_input=30, n_hidden=20,
                               epochs=epochs)
        frames.append(tidy(cfg, "spike-match", spike_match_run(cfg).rows))
    return pd.concat(frames, ignore_index=True)


def claim_line(report: str, start: str) -> str:
    return next(line for line in report.splitlines() if line.startswith("- " + start))


def test_silent_score_is_half_the_target_spikes_per_neuron_and_claims_flip():
    from sgtheory.figures.spike_match import SILENT_RATIO, silent_scores

    table = small_table()
    target = default_target()
    silent = silent_scores(table)
    assert silent["l2"] == pytest.approx(0.5 * target.sum() / target.shape[0])
    assert silent["van_rossum"] > 0
    short = spike_match_report(table)  # 3 epochs: the distance claims need the paper's 1500
    assert "**needs the paper profile**" in claim_line(short, "The trained deterministic network's L2")
    long = table.assign(epochs=1500)
    epochs = long["kind"] == "epoch"
    for method, ratio in SILENT_RATIO.items():
        rows = epochs & (long["method"] == method)
        long.loc[rows, "l2"] = 0.99 * ratio["l2"] * silent["l2"]
        long.loc[rows, "van_rossum"] = 0.99 * ratio["van_rossum"] * silent["van_rossum"]
    report = spike_match_report(long)
    for name in ("deterministic", "stochastic"):
        assert claim_line(report, f"The trained {name} network's L2").endswith("**holds**.")
        assert claim_line(report, f"The trained {name} network's van Rossum").endswith("**holds**.")
    assert claim_line(report, "The stochastic network ends with higher").endswith("**holds**.")
    worse = long.copy()
    worse.loc[epochs & (worse["method"] == "superspike"), ["l2", "van_rossum"]] = [silent["l2"], 1.0]
    report = spike_match_report(worse)
    assert claim_line(report, "The trained deterministic network's L2").endswith("**fails**.")
    assert claim_line(report, "The trained deterministic network's van Rossum").endswith("**fails**.")
    assert claim_line(report, "The stochastic network ends with higher").endswith("**fails**.")


def test_rate_and_variability_claims_flip():
    table = small_table()
    epochs = table["kind"] == "epoch"
    good = table.copy()
    good.loc[epochs, "rate_output"] = 270.0 * default_target().mean() / 0.274
    good.loc[epochs & (good["method"] == "stochastic"), ["bin_variability_hidden", "bin_variability_output",
                                                         "rate_hidden"]] = [0.6, 0.55, 50.0]
    good.loc[epochs & (good["method"] == "superspike"), "rate_hidden"] = 20.0
    report = spike_match_report(good)
    assert claim_line(report, "The deterministic network's output fires").endswith("**holds**.")
    assert claim_line(report, "The stochastic network keeps").endswith("**holds**.")
    assert claim_line(report, "The stochastic network fires more").endswith("**holds**.")
    bad = good.copy()
    bad.loc[epochs, "rate_output"] = 200.0
    bad.loc[epochs & (bad["method"] == "stochastic"), ["bin_variability_hidden", "rate_hidden"]] = [0.3, 10.0]
    report = spike_match_report(bad)
    assert claim_line(report, "The deterministic network's output fires").endswith("**fails**.")
    assert claim_line(report, "The stochastic network keeps").endswith("**fails**.")
    assert claim_line(report, "The stochastic network fires more").endswith("**fails**.")


@pytest.mark.parametrize("name", ["spike-match", "spike-match-stats"])
def test_spike_match_figures_render_through_the_layout_check(tmp_path, name):
    from sgtheory.figures import render
    from sgtheory.results import write_table

    path = tmp_path / "sm.parquet"
    write_table(small_table(), path, {})
    render(name, path, tmp_path / "f.png")
    assert (tmp_path / "f.png").exists()
