"""Tests for sgtheory.tasks.randman (robustness spec §2.1–§2.2, §9c).

Oracles: the spec's spectral tables (F(α), weights at α = 1), the series written out term by term in numpy,
its analytic derivative, the bound |f_i| ≤ (Σ s_k)^D, and the data set's construction (exact spike counts,
per-class min–max standardisation to bins 0..window−1, per-class splits).
"""

import math

import numpy as np
import pytest
import torch

from sgtheory.tasks.randman import Randman, randman_dataset, spectrum_terms

SMALL = dict(classes=3, units=6, dim=1, alpha=2.0, samples_per_class=20, steps=40, step_frac=0.5)


def _bins(spikes: torch.Tensor) -> torch.Tensor:
    """Spike bin per (sample, unit) for one spike per unit."""
    return spikes.argmax(1)


@pytest.mark.parametrize("alpha, terms", [(0.5, 1000), (1.0, 1000), (1.5, 100), (2.0, 32), (3.0, 10), (4.0, 6)])
def test_code_cutoff_follows_prec_and_alpha(alpha, terms):
    k, s = spectrum_terms(alpha, "code")
    assert len(k) + 1 == terms  # F terms k = 0..F-1, the constant k = 0 term dropped
    np.testing.assert_array_equal(k, np.arange(1, terms))
    assert len(spectrum_terms(alpha, "paper")[0]) == 1000  # n_cutoff, independent of alpha


def test_spectral_weights_at_alpha_1():
    k, s = spectrum_terms(1.0, "code")
    np.testing.assert_allclose(s[np.isin(k, [1, 2, 3, 10, 100])], [1 / 3, 1 / 4, 1 / 5, 1 / 12, 1 / 102])
    k, s = spectrum_terms(1.0, "paper")
    np.testing.assert_allclose(s[np.isin(k, [1, 2, 3, 10, 100])], [1, 1 / 2, 1 / 3, 1 / 10, 1 / 100])


@pytest.mark.parametrize("spectrum", ["code", "paper"])
@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.5])
def test_weights_decay_as_a_power_law(spectrum, alpha):
    k, s = spectrum_terms(alpha, spectrum, prec=1e-12, max_f_cutoff=50_000)
    assert np.all(np.diff(s) < 0)
    ratio = s[k == 10_000] / s[k == 20_000]  # → 2^α for large k in both forms
    np.testing.assert_allclose(ratio, 2**alpha, rtol=1e-2)
    if spectrum == "paper":
        np.testing.assert_allclose(s, k**-alpha)
    else:
        np.testing.assert_allclose(s, 1 / ((k + 1) ** alpha + 1))


@pytest.mark.parametrize("spectrum", ["code", "paper"])
def test_manifold_is_the_product_of_fourier_series(spectrum):
    f = Randman(3, 2, 1.0, np.random.default_rng(1), spectrum, max_f_cutoff=200)
    x = np.random.default_rng(2).random((4000, 2))  # more than one evaluation chunk
    expected = np.ones((4000, 3))
    for i in range(3):
        for j in range(2):
            g = sum(s * f.A[i, j, n] * np.sin(2 * np.pi * (k * x[:, j] * f.B[i, j, n] + f.C[i, j, n]))
                    for n, (k, s) in enumerate(zip(f.freq, f.weight, strict=True)))  # fmt: skip
            expected[:, i] *= g
    np.testing.assert_allclose(f(x), expected, rtol=1e-9, atol=1e-12)
    assert f.A.shape == (3, 2, len(f.freq)) and 0 <= f.A.min() and f.C.max() < 1


@pytest.mark.parametrize("spectrum", ["code", "paper"])
@pytest.mark.parametrize("dim", [1, 2])
def test_manifold_is_bounded(spectrum, dim):
    f = Randman(10, dim, 1.0, np.random.default_rng(3), spectrum)
    y = f(np.random.default_rng(4).random((500, dim)))
    bound = f.weight.sum() ** dim
    assert np.abs(y).max() <= bound
    assert np.abs(y).max() > 1e-3 * bound  # not degenerate


@pytest.mark.parametrize("spectrum", ["code", "paper"])
@pytest.mark.parametrize("alpha", [1.0, 3.0])
def test_manifold_is_smooth(spectrum, alpha):
    f = Randman(4, 1, alpha, np.random.default_rng(5), spectrum)
    x = np.random.default_rng(6).uniform(0.01, 0.99, (50, 1))
    h = 1e-6
    diff = (f(x + h) - f(x - h)) / (2 * h)
    deriv = (f.weight * f.A[:, 0] * 2 * np.pi * f.freq * f.B[:, 0]
             * np.cos(2 * np.pi * (f.freq * x[:, :, None] * f.B[:, 0] + f.C[:, 0]))).sum(-1)  # fmt: skip
    np.testing.assert_allclose(diff, deriv, rtol=1e-4, atol=1e-6 * np.abs(deriv).max())
    lipschitz = 2 * np.pi * (f.freq * f.weight).sum()
    assert np.abs(f(x + h) - f(x)).max() <= lipschitz * h


def test_smaller_alpha_gives_rougher_manifolds():
    x = np.linspace(0, 1, 1001)[:, None]

    def roughness(alpha):  # total variation over range, averaged over 10 units
        y = Randman(10, 1, alpha, np.random.default_rng(7))(x)
        return np.mean(np.abs(np.diff(y, axis=0)).sum(0) / np.ptp(y, axis=0))

    assert roughness(0.5) > 3 * roughness(3.0)


def test_shapes_dtypes_and_split_sizes():
    data = randman_dataset(0, **SMALL, split=(0.7, 0.2, 0.1))
    assert set(data) == {"train", "valid", "test"}
    for name, n in [("train", 14), ("valid", 4), ("test", 2)]:
        spikes, labels = data[name]
        assert spikes.shape == (3 * n, 40, 6) and spikes.dtype == torch.float32
        assert labels.shape == (3 * n,) and labels.dtype == torch.int64
        assert set(spikes.unique().tolist()) == {0.0, 1.0}
        assert torch.equal(torch.bincount(labels, minlength=3), torch.full((3,), n))  # balanced per split
    assert randman_dataset(0, **SMALL, dtype=torch.float64)["test"][0].dtype == torch.float64


def test_default_split_is_800_100_100_per_class():
    data = randman_dataset(0, classes=2, units=2, alpha=4.0)
    for name, n in [("train", 800), ("valid", 100), ("test", 100)]:
        assert torch.equal(torch.bincount(data[name][1]), torch.tensor([n, n]))
        assert data[name][0].shape == (2 * n, 100, 2)
    assert not torch.equal(data["train"][1], data["train"][1].sort().values)  # shuffled


@pytest.mark.parametrize("spikes_per_unit", [1, 3])
@pytest.mark.parametrize("spectrum", ["code", "paper"])
def test_every_unit_fires_exactly_spikes_per_unit(spikes_per_unit, spectrum):
    data = randman_dataset(1, **SMALL, spikes_per_unit=spikes_per_unit, spectrum=spectrum)
    for spikes, _ in data.values():
        assert torch.all(spikes.sum(1) == spikes_per_unit)  # spike counts carry no class information


@pytest.mark.parametrize("steps, step_frac, window", [(100, 0.5, 50), (40, 0.25, 10), (30, 1.0, 30)])
def test_spike_times_fill_exactly_the_window_per_class(steps, step_frac, window):
    cfg = {**SMALL, "steps": steps, "step_frac": step_frac}
    spikes, labels = randman_dataset(2, **cfg, split=(1.0, 0.0, 0.0))["train"]
    assert torch.all(spikes[:, window:] == 0)
    bins = _bins(spikes)
    for c in range(3):  # per-class min–max standardisation: earliest bin 0, latest window − 1, for every unit
        assert torch.all(bins[labels == c].min(0).values == 0)
        assert torch.all(bins[labels == c].max(0).values == window - 1)


def test_same_seed_same_data_different_seed_different_data():
    a, b, c = randman_dataset(3, **SMALL), randman_dataset(3, **SMALL), randman_dataset(4, **SMALL)
    for name in a:
        assert torch.equal(a[name][0], b[name][0]) and torch.equal(a[name][1], b[name][1])
        assert not torch.equal(a[name][0], c[name][0])
    paper = randman_dataset(3, **SMALL, spectrum="paper")
    assert not torch.equal(a["train"][0], paper["train"][0])


def test_no_global_rng_is_touched():
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()  # noqa: NPY002
    randman_dataset(5, **SMALL)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002


@pytest.mark.parametrize("spectrum", ["code", "paper"])
def test_classes_differ_in_spike_timing(spectrum):
    cfg = dict(classes=4, units=20, alpha=1.0, samples_per_class=300, split=(0.9, 0.0, 0.1), spectrum=spectrum)
    data = randman_dataset(0, **cfg)
    (x_train, y_train), (x_test, y_test) = data["train"], data["test"]
    times = [_bins(x_train)[y_train == c].float() for c in range(4)]
    for a in range(4):  # every pair of classes: some unit's mean spike time differs by > 4 standard errors
        for b in range(a):
            se = (times[a].var(0) / len(times[a]) + times[b].var(0) / len(times[b])).sqrt()
            assert ((times[a].mean(0) - times[b].mean(0)).abs() / se).max() > 4
    nearest = y_train[torch.cdist(_bins(x_test).float(), _bins(x_train).float()).argmin(1)]
    assert (nearest == y_test).float().mean() > 0.9  # 1-nearest neighbour in spike-time space; chance 0.25


@pytest.mark.parametrize(
    "kwargs",
    [
        {"classes": 0},
        {"units": 0},
        {"dim": 0},
        {"alpha": 0.0},
        {"alpha": math.inf},
        {"samples_per_class": 0},
        {"spikes_per_unit": 0},
        {"steps": 0},
        {"step_frac": 0.0},
        {"step_frac": 1.5},
        {"steps": 10, "step_frac": 0.05},
        {"split": (0.8, 0.1)},
        {"split": (0.9, 0.2, -0.1)},
        {"split": (0.5, 0.1, 0.1)},
        {"spectrum": "numpy"},
        {"prec": 0.0},
        {"prec": 1.0},
        {"max_f_cutoff": 1},
    ],
)
def test_bad_arguments_raise_one_line_value_error(kwargs):
    with pytest.raises(ValueError) as err:
        randman_dataset(0, **{**SMALL, **kwargs})
    assert "\n" not in str(err.value) and str(err.value)


def test_bad_manifold_input_shape():
    f = Randman(3, 2, 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        f(np.zeros((5, 3)))
