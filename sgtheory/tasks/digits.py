"""Images as spike latencies: scikit-learn's 8×8 digits and user-supplied MNIST (robustness spec §6.2).

Latency code of Zenke's SpyTorch tutorial (``current2firing_time``): a pixel of intensity x ∈ [0, 1] drives a
neuron with a constant current x, threshold ϑ and effective time constant τ_eff, which first crosses threshold at

    T(x) = τ_eff · ln(x / (x − ϑ))   for x > ϑ,   no spike for x ≤ ϑ,

in time steps (Δt = 1 ms, so τ_eff = 20 steps = 20 ms). The spike falls in bin ⌊T⌋ and only bins < ``steps`` are
kept, so every pixel fires at most once and bright pixels fire early (x = 1, ϑ = 0.2: T = 20·ln 1.25 = 4.46 → bin 4).

Data sets return ``{"train"|"valid"|"test": (spikes, labels)}`` like :func:`sgtheory.tasks.randman.randman_dataset`:
spikes (samples, steps, pixels) of 0/1 in ``dtype``, labels (samples,) int64, every split shuffled by a seeded
generator. Files are read from ``data_dir`` and never downloaded; missing or malformed files raise
:class:`DataError`.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from sgtheory.errors import DataError
from sgtheory.seeding import stream_seed


def latency_bins(x: np.ndarray, steps: int = 100, tau_eff: float = 20.0, threshold: float = 0.2) -> np.ndarray:
    """Spike bin ⌊T(x)⌋ per intensity, T(x) = τ_eff · ln(x / (x − ϑ)) in steps (Δt = 1 ms); −1 = no spike.

    ``x`` (any shape) holds intensities in [0, 1]; ``tau_eff`` is in steps and ``threshold`` (ϑ) in intensity
    units. Pixels with x ≤ ϑ never fire; T is evaluated with x clipped to ≥ ϑ + 1e−7 (as the tutorial) and a spike
    is kept only when ⌊T⌋ < ``steps``. Returns int64 of the shape of ``x``.
    """
    if steps < 1 or not tau_eff > 0 or not threshold >= 0:
        raise ValueError(f"need steps >= 1, tau_eff > 0 and threshold >= 0, got {steps!r}, {tau_eff!r}, {threshold!r}")
    x = np.asarray(x, dtype=np.float64)
    clipped = np.maximum(x, threshold + 1e-7)
    t = tau_eff * np.log(clipped / (clipped - threshold))
    fires = (x > threshold) & (t < steps)
    return np.where(fires, np.floor(np.where(fires, t, 0.0)), -1).astype(np.int64)


def latency_spikes(
    images: np.ndarray,
    steps: int = 100,
    tau_eff: float = 20.0,
    threshold: float = 0.2,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Latency-coded spikes (samples, steps, pixels) in ``dtype`` of ``images`` (samples, ...) with values in [0, 1].

    Each image is flattened to its pixels; see :func:`latency_bins` for the code.
    """
    bins = torch.from_numpy(latency_bins(np.reshape(images, (len(images), -1)), steps, tau_eff, threshold))
    spikes = torch.zeros(bins.shape[0], steps, bins.shape[1], dtype=dtype)
    sample, pixel = torch.nonzero(bins >= 0, as_tuple=True)
    spikes[sample, bins[sample, pixel], pixel] = 1
    return spikes


def holdout_split(n_train: int, n_test: int, valid_fraction: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Sample indices per split for data sets shipped as a training and a test file.

    ``"train"`` and ``"valid"`` index the training file: a random round(valid_fraction · n_train) of its samples
    form the validation split, the rest the training split. ``"test"`` is a random order of the test file.
    """
    if not 0 <= valid_fraction < 1:
        raise ValueError(f"valid_fraction={valid_fraction!r} must lie in [0, 1)")
    order = rng.permutation(n_train)
    n_valid = round(valid_fraction * n_train)
    return {"train": order[n_valid:], "valid": order[:n_valid], "test": rng.permutation(n_test)}


def digits_dataset(
    seed: int,
    steps: int = 100,
    tau_eff: float = 20.0,
    threshold: float = 0.2,
    split: tuple[float, float, float] = (0.8, 0.1, 0.1),
    dtype: torch.dtype = torch.float32,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """scikit-learn's bundled 8×8 digits (1797 samples, 10 classes, 64 inputs) as spike latencies (spec §6.2).

    Intensities are the pixel values 0–16 divided by 16. ``split`` gives the train/valid/test fractions *per class*
    (stratified: round(f_train·n_c) and round(f_valid·n_c) random samples of class c, the rest for test; 1438/179/180
    in total with the defaults); which samples go where and the order within each split follow ``seed``.
    """
    from sklearn.datasets import load_digits

    if len(split) != 3 or min(split) < 0 or abs(sum(split) - 1) > 1e-9:
        raise ValueError(f"split={split!r} must be three non-negative fractions summing to 1")
    digits = load_digits()
    images, labels = digits.data / 16.0, digits.target.astype(np.int64)
    rng = np.random.default_rng(stream_seed(seed, "digits-split"))
    parts: dict[str, list[np.ndarray]] = {"train": [], "valid": [], "test": []}
    for c in range(10):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_train = round(split[0] * len(members))
        n_used = n_train + min(round(split[1] * len(members)), len(members) - n_train)
        for name, chunk in zip(parts, np.split(members, [n_train, n_used]), strict=True):
            parts[name].append(chunk)
    shuffle = np.random.default_rng(stream_seed(seed, "digits-shuffle"))
    out = {}
    for name, chunks in parts.items():
        index = shuffle.permutation(np.concatenate(chunks))
        out[name] = (latency_spikes(images[index], steps, tau_eff, threshold, dtype), torch.from_numpy(labels[index]))
    return out


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _idx_path(data_dir: Path, name: str) -> Path:
    """The IDX file ``name`` or ``name.gz`` in ``data_dir``; DataError if neither exists."""
    for path in (data_dir / name, data_dir / f"{name}.gz"):
        if path.is_file():
            return path
    raise DataError(f"{data_dir / name}: not found (expected the MNIST IDX file {name} or {name}.gz there)")


def check_mnist_dir(data_dir: str | Path) -> None:
    """DataError unless ``data_dir`` holds the four MNIST IDX files (their contents are checked when read)."""
    for name in MNIST_FILES:
        _idx_path(Path(data_dir), name)


def _read_idx(data_dir: Path, name: str, ndim: int) -> np.ndarray:
    """The uint8 array of the IDX file ``name`` (or ``name.gz``) in ``data_dir``; DataError if absent or malformed.

    IDX layout: magic bytes 0, 0, 0x08 (unsigned byte), ndim; ndim big-endian uint32 sizes; the data, row-major.
    """
    path = _idx_path(data_dir, name)
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot be read as {'gzip' if path.suffix == '.gz' else 'a file'} ({exc})") from exc
    header = 4 + 4 * ndim
    if len(data) < header or data[:4] != bytes([0, 0, 8, ndim]):
        raise DataError(
            f"{path}: not an IDX file of unsigned bytes with {ndim} dimension(s) (magic 0x{2048 + ndim:08x})"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header])
    if len(data) - header != math.prod(shape):
        raise DataError(f"{path}: {len(data) - header} data bytes, but its header declares shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _read_mnist_part(data_dir: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (samples, pixels) as intensities /255 and labels int64 of ``part`` ("train" or "t10k")."""
    image_file, label_file = f"{part}-images-idx3-ubyte", f"{part}-labels-idx1-ubyte"
    images, labels = _read_idx(data_dir, image_file, 3), _read_idx(data_dir, label_file, 1)
    if len(images) != len(labels):
        raise DataError(
            f"{data_dir}: {image_file} holds {len(images)} images but {label_file} {len(labels)} labels; "
            "expected equal counts"
        )
    if labels.size and labels.max() > 9:
        raise DataError(f"{data_dir / label_file}: labels must lie in 0..9, found {labels.max()}")
    return images.reshape(len(images), -1) / 255.0, labels.astype(np.int64)


def mnist_dataset(
    data_dir: str | Path,
    seed: int,
    steps: int = 100,
    tau_eff: float = 20.0,
    threshold: float = 0.2,
    valid_fraction: float = 0.1,
    dtype: torch.dtype = torch.float32,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """MNIST (or any data set in its IDX files, e.g. Fashion-MNIST) from ``data_dir`` as spike latencies (§6.2).

    Reads ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte`` (each may be gzipped as ``<name>.gz``); intensities are the pixel values / 255.
    The validation split is a seeded ``valid_fraction`` of the training file (see :func:`holdout_split`), the test
    split the t10k file. Memory: 54 000 × 100 × 784 training spikes take 17 GB as float32 (4.2 GB as
    ``torch.uint8``).
    """
    data_dir = Path(data_dir)
    files = {"train": _read_mnist_part(data_dir, "train"), "test": _read_mnist_part(data_dir, "t10k")}
    if files["train"][0].shape[1] != files["test"][0].shape[1]:
        raise DataError(f"{data_dir}: train and t10k images differ in size; expected the same number of pixels")
    index = holdout_split(
        len(files["train"][1]), len(files["test"][1]), valid_fraction, np.random.default_rng(stream_seed(seed, "mnist"))
    )
    out = {}
    for name, i in index.items():
        images, labels = files["test" if name == "test" else "train"]
        out[name] = (latency_spikes(images[i], steps, tau_eff, threshold, dtype), torch.from_numpy(labels[i]))
    return out
