"""The names that settings choose from, and the surrogate settings' check, without torch.

The config classes (``sgtheory.experiments.configs``) validate against these names and the CLI lists them, so that
parsing, ``--help`` and validation never import torch. The torch-side registries keep their objects under the same
names (``experiments.base.DTYPES``, ``functional.surrogate.SHAPES`` and ``ESCAPES``); ``tests/test_choices.py``
checks that the names agree.
"""

from __future__ import annotations

import math
import numbers

ITEMSIZE = {"float32": 4, "float64": 8}  # bytes per element of each dtype
DTYPES = tuple(ITEMSIZE)
EXECUTORS = ("inline", "processes", "dask")  # where a sweep runs (sgtheory.executors)
FORMATS = ("parquet", "csv")  # result table formats (sgtheory.results)

SURROGATES = {  # surrogate shape -> its default scale (docs/surrogates.md)
    "fast_sigmoid": "normalized",
    "sigmoid": "asymptotic",
    "esser": "normalized",
    "exponential": "normalized",
    "boxcar": "normalized",
    "constant": "normalized",
    "sigmoid_unscaled": 0.25,
}
SLOPE_FREE = ("constant",)  # shapes that ignore the slope (h = 1 everywhere)
SCALE_NAMES = ("normalized", "asymptotic")
ESCAPES = ("sigmoid", "exponential")  # escape-noise functions of stochastic neurons
SIGMOID_PARAMETERS = ("w", "v1", "v2", "u1", "u2")  # the five-parameter sigmoid network x -> g -> (h1, h2) -> y


def is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_slope(slope, what: str) -> float:
    """``slope`` as a float; ValueError unless it is a finite number > 0."""
    if not (is_real(slope) and math.isfinite(slope) and slope > 0):
        raise ValueError(f"{what} slope must be a finite number > 0, got {slope!r}")
    return float(slope)


def check_surrogate(shape: str, slope, scale) -> tuple[float, str | float | None]:
    """The validated ``(slope, scale)`` of a surrogate (numbers as floats); ValueError naming the bad value and what
    is allowed. ``scale``: ``"normalized"``, ``"asymptotic"`` (not for slope-free shapes), a finite positive peak
    value or None (the shape's default)."""
    if shape not in SURROGATES:
        raise ValueError(f"unknown surrogate {shape!r}; allowed: {', '.join(SURROGATES)}")
    uses_slope = shape not in SLOPE_FREE
    if uses_slope:
        slope = check_slope(slope, f"surrogate {shape!r}")
    if isinstance(scale, str):
        allowed = SCALE_NAMES if uses_slope else ("normalized",)
        if scale not in allowed:
            names = ", ".join(repr(s) for s in allowed)
            raise ValueError(f"surrogate scale {scale!r} is not allowed for {shape!r}; allowed: {names}, "
                             "a finite positive number or None")
    elif scale is not None:
        if not (is_real(scale) and math.isfinite(scale) and scale > 0):
            raise ValueError(f"surrogate scale must be 'normalized', 'asymptotic', a finite positive number or None, "
                             f"got {scale!r}")
        scale = float(scale)
    return slope, scale


def surrogate_scale(shape: str, slope, scale) -> str | float:
    """The scale in effect of a valid surrogate: ``scale``, or the shape's default when it is None."""
    scale = check_surrogate(shape, slope, scale)[1]
    return SURROGATES[shape] if scale is None else scale
