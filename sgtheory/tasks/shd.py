"""Spiking Heidelberg Digits (SHD; Cramer et al.) from user-supplied HDF5 files (robustness spec §6.3).

``data_dir`` must hold ``shd_train.h5`` and ``shd_test.h5``, each with the datasets ``spikes/times`` (per sample a
float array of spike times in seconds), ``spikes/units`` (per sample an int array of input channels, 0..699) and
``labels`` (0..19: the digits 0–9 in English and German). Nothing is downloaded; h5py is imported only here.

Binning: a spike at time t (s) falls in bin ⌊t / max_time · steps⌋, so bin k covers [k, k+1) · max_time / steps
(14 ms with the defaults 1.4 s and 100 steps); spikes with t ≥ max_time are dropped and coinciding spikes of one
unit in one bin add up (an input of 2, 3, ...). The SpyTorch tutorial instead uses numpy ``digitize`` against the
edges linspace(0, max_time, steps), which leaves bin 0 empty and shifts every spike one bin later.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sgtheory.errors import DataError
from sgtheory.seeding import stream_seed
from sgtheory.tasks.digits import holdout_split

CLASSES = 20
DATASETS = "spikes/times, spikes/units and labels"


FILES = ("shd_train.h5", "shd_test.h5")


def _h5py():
    try:
        import h5py
    except ImportError as exc:
        raise DataError("reading SHD needs the h5py package, which is not installed: pip install h5py") from exc
    return h5py


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise DataError(f"{path}: not found (expected the SHD HDF5 file {path.name} with datasets {DATASETS})")


def check_shd_dir(data_dir: str | Path) -> None:
    """DataError unless h5py is installed and ``data_dir`` holds both SHD files (their contents are checked when
    read)."""
    _h5py()
    for name in FILES:
        _check_file(Path(data_dir) / name)


def _read_shd(path: Path, units: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Events of one SHD file as flat arrays (sample index, time in s, unit) plus the labels (int64)."""
    h5py = _h5py()
    _check_file(path)
    try:
        with h5py.File(path, "r") as f:
            times, chans, labels = f["spikes/times"][()], f["spikes/units"][()], f["labels"][()]
    except (OSError, KeyError) as exc:
        raise DataError(f"{path}: not an SHD HDF5 file with datasets {DATASETS} ({exc})") from exc
    counts = [np.size(t) for t in times]
    if len(times) != len(chans) or len(times) != len(labels) or counts != [np.size(u) for u in chans]:
        raise DataError(f"{path}: {DATASETS} must describe the same samples and spikes (equal lengths)")
    sample = np.repeat(np.arange(len(times)), counts)
    t = np.concatenate([np.empty(0), *(np.ravel(x) for x in times)]).astype(np.float64)
    u = np.concatenate([np.empty(0, np.int64), *(np.ravel(x) for x in chans)]).astype(np.int64)
    if not np.all(np.isfinite(t) & (t >= 0)):
        raise DataError(f"{path}: spikes/times must be finite and >= 0 (seconds)")
    if np.any((u < 0) | (u >= units)):
        raise DataError(f"{path}: spikes/units must lie in 0..{units - 1}, found {u.min()}..{u.max()}")
    labels = np.asarray(labels, dtype=np.int64)
    if np.any((labels < 0) | (labels >= CLASSES)):
        raise DataError(f"{path}: labels must lie in 0..{CLASSES - 1}")
    return sample, t, u, labels


def _bin(
    events: tuple, index: np.ndarray, steps: int, max_time: float, units: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Spike counts (len(index), steps, units) in ``dtype`` of the samples ``index`` (in that order), and labels."""
    sample, t, u, labels = events
    position = np.full(len(labels), -1)
    position[index] = np.arange(len(index))
    row = position[sample]
    keep = (row >= 0) & (t < max_time)
    step = np.minimum(np.floor(t[keep] / max_time * steps).astype(np.int64), steps - 1)  # rounding guard at t ≈ max
    spikes = torch.zeros(len(index), steps, units, dtype=dtype)
    where = tuple(torch.from_numpy(a) for a in (row[keep], step, u[keep]))
    spikes.index_put_(where, torch.ones(len(step), dtype=dtype), accumulate=True)
    return spikes, torch.from_numpy(labels[index])


def shd_dataset(
    data_dir: str | Path,
    seed: int,
    steps: int = 100,
    max_time: float = 1.4,
    valid_fraction: float = 0.1,
    units: int = 700,
    dtype: torch.dtype = torch.float32,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """SHD from ``data_dir`` binned into ``steps`` bins over [0, ``max_time``) seconds (see the module docstring).

    Returns ``{"train"|"valid"|"test": (spikes, labels)}``: spikes (samples, steps, units) spike counts in ``dtype``,
    labels (samples,) int64 in 0..19. The validation split is a seeded ``valid_fraction`` of ``shd_train.h5`` (see
    :func:`sgtheory.tasks.digits.holdout_split`), the test split ``shd_test.h5``; every split is shuffled.
    """
    if steps < 1 or not max_time > 0 or units < 1:
        raise ValueError(f"need steps >= 1, max_time > 0 and units >= 1, got {steps!r}, {max_time!r}, {units!r}")
    data_dir = Path(data_dir)
    files = {part: _read_shd(data_dir / f"shd_{part}.h5", units) for part in ("train", "test")}
    rng = np.random.default_rng(stream_seed(seed, "shd"))
    index = holdout_split(len(files["train"][3]), len(files["test"][3]), valid_fraction, rng)
    return {
        name: _bin(files["test" if name == "test" else "train"], i, steps, max_time, units, dtype)
        for name, i in index.items()
    }
