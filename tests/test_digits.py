"""Tests for the latency-coded image data sets (sgtheory.tasks.digits) and the SHD loader (sgtheory.tasks.shd).

Oracles: T(x) = 20·ln(x / (x − 0.2)) worked out by hand for chosen intensities (robustness spec §6.2), the class
counts of scikit-learn's digits, and tiny MNIST IDX / SHD HDF5 files written here whose binned spikes are known.
"""

import gzip
import struct
import sys
from collections import Counter

import h5py
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from sgtheory.errors import DataError
from sgtheory.tasks.digits import digits_dataset, latency_bins, latency_spikes, mnist_dataset
from sgtheory.tasks.shd import shd_dataset

# T(x) in steps for x = 1, 0.7843 (200/255), 0.5, 0.5020 (128/255), 0.2510 (64/255), 0.2078 (53/255), 0.2039 (52/255):
# 4.46, 5.89, 10.22, 10.16, 31.88, 65.54, 79.02
HAND = [(1.0, 4), (200 / 255, 5), (0.5, 10), (128 / 255, 10), (64 / 255, 31), (53 / 255, 65), (52 / 255, 79)]


@pytest.mark.parametrize("x, expected", HAND)
def test_latency_hand_values(x, expected):
    assert latency_bins(np.array([x]))[0] == expected


def test_no_spike_at_or_below_threshold():
    np.testing.assert_array_equal(latency_bins(np.array([0.0, 0.1, 0.2, 51 / 255])), [-1, -1, -1, -1])
    assert latency_bins(np.array([0.5]), threshold=0.6)[0] == -1


def test_only_bins_below_steps_are_kept():
    x = np.array([0.2001, 52 / 255, 1.0])  # T = 152.03, 79.02, 4.46
    np.testing.assert_array_equal(latency_bins(x, steps=200), [152, 79, 4])
    np.testing.assert_array_equal(latency_bins(x, steps=100), [-1, 79, 4])
    np.testing.assert_array_equal(latency_bins(x, steps=79), [-1, -1, 4])


def test_tau_eff_scales_latency():
    assert latency_bins(np.array([1.0]), tau_eff=40.0)[0] == 8  # 40·ln 1.25 = 8.93


def test_brighter_fires_earlier():
    x = np.linspace(0.25, 1.0, 300)
    bins = latency_bins(x)
    assert np.all(bins >= 0)
    assert np.all(np.diff(bins) <= 0)
    assert bins[0] > bins[-1] == 4


def test_latency_bins_keeps_shape_and_rejects_bad_parameters():
    assert latency_bins(np.full((2, 3, 4), 0.5)).shape == (2, 3, 4)
    for kwargs in ({"steps": 0}, {"tau_eff": 0.0}, {"threshold": -0.1}):
        with pytest.raises(ValueError):
            latency_bins(np.ones(3), **kwargs)


def test_latency_spikes_one_spike_per_pixel_at_its_bin():
    rng = np.random.default_rng(0)
    images = rng.random((5, 3, 4))
    spikes = latency_spikes(images, steps=50, dtype=torch.float64)
    assert spikes.shape == (5, 50, 12) and spikes.dtype == torch.float64
    bins = latency_bins(images.reshape(5, 12), steps=50)
    np.testing.assert_array_equal(spikes.sum(1).numpy(), bins >= 0)
    sample, pixel = np.nonzero(bins >= 0)
    assert torch.all(spikes[sample, bins[sample, pixel], pixel] == 1)


# --- digits ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return digits_dataset(seed=3)


def test_digits_split_sizes_are_stratified(digits):
    per_class = np.bincount(load_digits().target)  # 178, 182, ... (1797 in all)
    expected = {"train": np.round(0.8 * per_class), "valid": np.round(0.1 * per_class)}
    expected["test"] = per_class - expected["train"] - expected["valid"]
    for name, (spikes, labels) in digits.items():
        assert spikes.shape == (len(labels), 100, 64) and spikes.dtype == torch.float32
        assert labels.dtype == torch.int64
        np.testing.assert_array_equal(np.bincount(labels.numpy(), minlength=10), expected[name])
    assert [len(digits[name][1]) for name in ("train", "valid", "test")] == [1438, 179, 180]


def test_digits_splits_partition_the_coded_data_set(digits):
    data = load_digits()
    coded = latency_spikes(data.data / 16.0)
    everything = Counter((s.numpy().tobytes(), int(y)) for s, y in zip(coded, data.target, strict=True))
    ours = Counter(
        (s.numpy().tobytes(), int(y)) for spikes, labels in digits.values() for s, y in zip(spikes, labels, strict=True)
    )
    assert ours == everything


def test_digits_at_most_one_spike_per_unit(digits):
    for spikes, _ in digits.values():
        assert set(spikes.unique().tolist()) == {0.0, 1.0}
        assert spikes.sum(1).max() == 1


def test_digits_seeding(digits):
    again = digits_dataset(seed=3)
    other = digits_dataset(seed=4)
    for name in digits:
        assert torch.equal(digits[name][0], again[name][0]) and torch.equal(digits[name][1], again[name][1])
        assert not torch.equal(digits[name][1], other[name][1])
    members = [{s.numpy().tobytes() for s in data["valid"][0]} for data in (digits, other)]
    assert members[0] != members[1]  # which samples are held out follows the seed too


def test_digits_rejects_bad_split():
    with pytest.raises(ValueError, match="split"):
        digits_dataset(seed=0, split=(0.8, 0.3, 0.1))


# --- MNIST IDX files ------------------------------------------------------------------------------------------------

# 2 × 4 pixels; with 100 steps the bins are [4, 10, 31, 79, none, none, 5, 65] (see HAND)
IMAGE = np.array([[255, 128, 64, 52], [51, 0, 200, 53]], dtype=np.uint8)
IMAGE_SPIKES = {(4, 0), (10, 1), (31, 2), (79, 3), (5, 6), (65, 7)}  # (step, pixel)


def _idx(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: magic 0, 0, 8, ndim; big-endian uint32 sizes; data."""
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _write_mnist(directory, gz: bool) -> None:
    """Training file: six images with one white pixel each at the position of their label 0..5; test file: IMAGE
    (label 7) and a black image (label 2)."""
    train_images = np.zeros((6, 2, 4), dtype=np.uint8)
    train_images.reshape(6, 8)[np.arange(6), np.arange(6)] = 255
    files = {
        "train-images-idx3-ubyte": train_images,
        "train-labels-idx1-ubyte": np.arange(6, dtype=np.uint8),
        "t10k-images-idx3-ubyte": np.stack([IMAGE, np.zeros_like(IMAGE)]),
        "t10k-labels-idx1-ubyte": np.array([7, 2], dtype=np.uint8),
    }
    for name, array in files.items():
        data = _idx(array)
        (directory / (name + ".gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)


def _events(spikes: torch.Tensor) -> set[tuple[int, ...]]:
    return {tuple(e) for e in spikes.nonzero().tolist()}


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx_files(tmp_path, gz):
    _write_mnist(tmp_path, gz)
    data = mnist_dataset(tmp_path, seed=1, valid_fraction=0.5)
    assert [len(data[name][1]) for name in ("train", "valid", "test")] == [3, 3, 2]
    assert sorted(data["train"][1].tolist() + data["valid"][1].tolist()) == list(range(6))
    for name in ("train", "valid"):
        spikes, labels = data[name]
        assert spikes.shape == (3, 100, 8)
        assert _events(spikes) == {(i, 4, int(y)) for i, y in enumerate(labels)}  # x = 1 → bin 4 at pixel = label
    spikes, labels = data["test"]
    seven = labels.tolist().index(7)
    assert _events(spikes[seven]) == IMAGE_SPIKES
    assert spikes[1 - seven].sum() == 0
    short = mnist_dataset(tmp_path, seed=1, steps=70, valid_fraction=0.5, dtype=torch.uint8)["test"][0]
    assert short.dtype == torch.uint8
    assert _events(short[seven]) == IMAGE_SPIKES - {(79, 3)}


def test_mnist_seeded_validation_split(tmp_path):
    _write_mnist(tmp_path, gz=False)
    first, again = (mnist_dataset(tmp_path, seed=1, valid_fraction=0.5) for _ in range(2))
    assert all(torch.equal(first[n][0], again[n][0]) and torch.equal(first[n][1], again[n][1]) for n in first)
    splits = {tuple(sorted(mnist_dataset(tmp_path, seed=s, valid_fraction=0.5)["valid"][1].tolist())) for s in range(8)}
    assert len(splits) > 1


def test_mnist_missing_file(tmp_path):
    _write_mnist(tmp_path, gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte") as info:
        mnist_dataset(tmp_path, seed=0)
    assert "\n" not in str(info.value) and "not found" in str(info.value)
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        mnist_dataset(tmp_path / "nowhere", seed=0)


@pytest.mark.parametrize(
    "name, payload, message",
    [
        ("train-images-idx3-ubyte", b"\x00\x00\x08\x01\x00\x00\x00\x01\x00", "3 dimension"),  # labels header
        ("train-images-idx3-ubyte", _idx(np.zeros((6, 2, 4), np.uint8))[:-1], "data bytes"),  # truncated
        ("train-labels-idx1-ubyte", _idx(np.arange(5, dtype=np.uint8)), "6 images but"),  # count mismatch
        ("t10k-labels-idx1-ubyte", _idx(np.array([7, 12], np.uint8)), "0..9"),
    ],
)
def test_mnist_corrupt_files(tmp_path, name, payload, message):
    _write_mnist(tmp_path, gz=False)
    (tmp_path / name).write_bytes(payload)
    with pytest.raises(DataError, match=message) as info:
        mnist_dataset(tmp_path, seed=0)
    assert name in str(info.value)


def test_mnist_bad_gzip(tmp_path):
    _write_mnist(tmp_path, gz=True)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz"):
        mnist_dataset(tmp_path, seed=0)


# --- SHD HDF5 files -------------------------------------------------------------------------------------------------

# (label, spike times in s, units); binned with steps = 10 over max_time = 1.0 s → bin ⌊10·t⌋, t ≥ 1 dropped
SHD_TRAIN = [
    (5, [0.0, 0.12, 0.15, 0.55, 0.99, 1.0, 1.3], [0, 3, 3, 2, 5, 1, 4]),
    (0, [], []),
    (19, [0.5], [1]),
    (7, [0.05, 0.07], [4, 4]),
]
SHD_TEST = [(1, [0.31], [0]), (2, [0.0], [5])]
SHD_EXPECTED = {  # label → {(step, unit): count}
    5: {(0, 0): 1, (1, 3): 2, (5, 2): 1, (9, 5): 1},
    0: {},
    19: {(5, 1): 1},
    7: {(0, 4): 2},
    1: {(3, 0): 1},
    2: {(0, 5): 1},
}


def _write_shd(path, samples, units_dtype=np.uint16) -> None:
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (len(samples),), dtype=h5py.vlen_dtype(np.float32))
        units = f.create_dataset("spikes/units", (len(samples),), dtype=h5py.vlen_dtype(units_dtype))
        for k, (_, t, u) in enumerate(samples):
            times[k] = np.array(t, dtype=np.float32)
            units[k] = np.array(u, dtype=units_dtype)
        f.create_dataset("labels", data=np.array([s[0] for s in samples], dtype=np.uint8))


@pytest.fixture
def shd_dir(tmp_path):
    _write_shd(tmp_path / "shd_train.h5", SHD_TRAIN)
    _write_shd(tmp_path / "shd_test.h5", SHD_TEST)
    return tmp_path


def test_shd_binning(shd_dir):
    data = shd_dataset(shd_dir, seed=0, steps=10, max_time=1.0, valid_fraction=0.25, units=6)
    assert [len(data[name][1]) for name in ("train", "valid", "test")] == [3, 1, 2]
    assert sorted(data["train"][1].tolist() + data["valid"][1].tolist()) == [0, 5, 7, 19]
    assert sorted(data["test"][1].tolist()) == [1, 2]
    for spikes, labels in data.values():
        assert spikes.shape == (len(labels), 10, 6) and spikes.dtype == torch.float32 and labels.dtype == torch.int64
        for sample, label in zip(spikes, labels.tolist(), strict=True):
            expected = torch.zeros(10, 6)
            for (step, unit), count in SHD_EXPECTED[label].items():
                expected[step, unit] = count
            assert torch.equal(sample, expected), label


def test_shd_seeding(shd_dir):
    def run(seed):
        return shd_dataset(shd_dir, seed=seed, steps=10, max_time=1.0, valid_fraction=0.5, units=6)

    first, again = run(0), run(0)
    assert all(torch.equal(first[n][0], again[n][0]) and torch.equal(first[n][1], again[n][1]) for n in first)
    assert len({tuple(sorted(run(s)["valid"][1].tolist())) for s in range(8)}) > 1


def test_shd_missing_file(shd_dir):
    (shd_dir / "shd_test.h5").unlink()
    with pytest.raises(DataError, match="shd_test.h5") as info:
        shd_dataset(shd_dir, seed=0)
    assert "\n" not in str(info.value)


def test_shd_malformed_files(shd_dir):
    (shd_dir / "shd_test.h5").write_bytes(b"not hdf5")
    with pytest.raises(DataError, match="shd_test.h5"):
        shd_dataset(shd_dir, seed=0)
    with h5py.File(shd_dir / "shd_test.h5", "w") as f:
        f.create_dataset("labels", data=np.array([1], dtype=np.uint8))
    with pytest.raises(DataError, match="spikes/times"):
        shd_dataset(shd_dir, seed=0)
    _write_shd(shd_dir / "shd_test.h5", SHD_TEST)
    with pytest.raises(DataError, match="0..4"):  # unit 5 with units=5
        shd_dataset(shd_dir, seed=0, steps=10, max_time=1.0, units=5)


def test_shd_without_h5py(shd_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(DataError, match="pip install h5py"):
        shd_dataset(shd_dir, seed=0)
