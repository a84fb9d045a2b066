"""Spike-train matching task (Gygax & Zenke 2025; sgtheory spec §4.1): frozen Poisson input, image target.

The target is a binary raster z[t, n] read from an image: time t = image column (left to right), output
neuron n = image row (top to bottom), a spike wherever the first colour channel is darker than 0.85.
The default target is generated here (a dithered picture of a domed building, 200 rows × 189 columns,
27 % dark like the paper's Radcliffe Camera image); ``--target-image PATH`` reads any PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sgtheory.errors import TargetError

DARK_BELOW = 0.85  # a pixel is a target spike when its first channel is below this (spec §4.1)
DEFAULT_SHAPE = (200, 189)  # rows (output neurons) x columns (time steps), as the paper's image
DEFAULT_DENSITY = 0.274  # fraction of dark pixels of the paper's image (10,367 of 37,800)



def _building(rows: int, cols: int) -> np.ndarray:
    """Grey picture (1 = white) of a domed rotunda on a drum with columns, over a base, in a light sky."""
    r, c = np.mgrid[0:rows, 0:cols].astype(float)
    r, c = r / rows, c / cols  # unit coordinates, origin top left
    grey = 0.93 + 0.07 * r  # sky, darker towards the top
    base = r > 0.78
    grey[base] = 0.5 + 0.15 * np.sin(40 * c[base]) ** 2
    drum = (r > 0.5) & (r <= 0.78) & (np.abs(c - 0.5) < 0.32)
    grey[drum] = 0.62
    columns = drum & (np.mod(c * 16, 1.0) < 0.3)
    grey[columns] = 0.15
    dome = (((r - 0.5) / 0.3) ** 2 + ((c - 0.5) / 0.3) ** 2 < 1) & (r <= 0.5)
    grey[dome] = 0.25 + 0.55 * np.clip((c[dome] - 0.2) / 0.6, 0, 1)  # lit from the right
    lantern = (r > 0.12) & (r <= 0.22) & (np.abs(c - 0.5) < 0.04)
    grey[lantern] = 0.3
    return grey


def _dither(grey: np.ndarray) -> np.ndarray:
    """Floyd–Steinberg error diffusion: boolean raster, True = dark, with mean darkness ≈ 1 − mean(grey)."""
    g = grey.copy()
    rows, cols = g.shape
    dark = np.zeros_like(g, dtype=bool)
    for i in range(rows):
        for j in range(cols):
            new = 0.0 if g[i, j] < 0.5 else 1.0
            dark[i, j] = new == 0.0
            err = g[i, j] - new
            if j + 1 < cols:
                g[i, j + 1] += err * 7 / 16
            if i + 1 < rows:
                if j > 0:
                    g[i + 1, j - 1] += err * 3 / 16
                g[i + 1, j] += err * 5 / 16
                if j + 1 < cols:
                    g[i + 1, j + 1] += err * 1 / 16
    return dark


def default_target() -> np.ndarray:
    """The generated default target (neurons, time) = (200, 189), bool, ≈ 27 % spikes."""
    grey = _building(*DEFAULT_SHAPE)
    lo, hi = -1.0, 1.0  # shift the grey levels so that the mean darkness is DEFAULT_DENSITY
    for _ in range(50):
        mid = (lo + hi) / 2
        if 1 - np.clip(grey + mid, 0, 1).mean() > DEFAULT_DENSITY:
            lo = mid
        else:
            hi = mid
    return _dither(np.clip(grey + (lo + hi) / 2, 0, 1))


def read_target(path: str | Path) -> np.ndarray:
    """Target raster (neurons, time) of an image: rows are neurons, columns time, dark (< 0.85) = spike."""
    import matplotlib.image

    path = Path(path)
    if not path.is_file():
        raise TargetError(f"target image '{path}' does not exist")
    try:
        image = np.asarray(matplotlib.image.imread(path), dtype=float)
    except (OSError, ValueError, SyntaxError) as err:
        raise TargetError(f"target image '{path}' is not a readable image ({err})") from None
    if image.dtype.kind == "f" and image.max() > 1.0:  # 8/16-bit data read as integers scaled by the reader
        image = image / image.max()
    channel = image[..., 0] if image.ndim == 3 else image
    if channel.ndim != 2 or min(channel.shape) < 2:
        raise TargetError(f"target image '{path}' must be a 2-D picture of at least 2 x 2 pixels")
    target = channel < DARK_BELOW
    if not target.any():
        raise TargetError(f"target image '{path}' has no dark pixel (< {DARK_BELOW}), so no target spike")
    return target


def frozen_poisson(n_input: int, steps: int, rate_hz: float, dt_s: float, generator: torch.Generator,
                   dtype: torch.dtype) -> torch.Tensor:
    """Frozen Poisson input (steps, n_input): each bin spikes with probability rate·dt."""
    return (torch.rand(steps, n_input, generator=generator, dtype=dtype) < rate_hz * dt_s).to(dtype)
