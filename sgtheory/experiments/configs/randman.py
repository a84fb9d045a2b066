"""``sgtheory randman``: its config and help; the run is
:func:`sgtheory.experiments.randman_illustration.randman_illustration`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from sgtheory.config import RunConfig, check_choice, check_counts, check_positive
from sgtheory.errors import ConfigError
from sgtheory.memory import ROW_BYTES


def _number_list(name: str, value: str, kind: type) -> tuple:
    """``"3,2,1,0.5"`` -> (3.0, 2.0, 1.0, 0.5): a non-empty list of positive finite numbers of type ``kind``."""
    try:
        numbers = tuple(kind(part) for part in value.split(","))
    except (TypeError, ValueError):
        numbers = ()
    if not numbers or not all(math.isfinite(n) and n > 0 for n in numbers):
        raise ConfigError(f"{name}={value!r} must be a comma-separated list of positive "
                          f"{'integers' if kind is int else 'numbers'}, e.g. {'1,2' if kind is int else '3,2,1,0.5'}")
    return numbers


@dataclasses.dataclass(frozen=True)
class RandmanConfig(RunConfig):
    """Illustrations of the random-manifold (Randman) data (Zenke & Vogels 2021; robustness spec §2.3): manifolds
    of several smoothness values, overlaid manifolds of dimension D, and spike rasters of a small data set. The
    manifolds are seeded by ``manifold_seed`` (manifold i by manifold_seed + i); the raster data set by ``seed``."""

    spectrum: str = "code"  # code (the authors' released generator) | paper (k^-α as printed)
    embed: int = 3  # embedding dimension M of the illustrated manifolds (the figure draws the first three)
    samples: int = 1000  # points x ~ U([0,1]^D) per illustrated manifold
    alphas: str = "3,2,1,0.5"  # smoothness panel: one D = 1 manifold per α (comma-separated)
    manifold_seed: int = 13  # seed of the first manifold; overlaid manifold i uses manifold_seed + i
    overlay_alpha: float = 3.0  # dimension panel: smoothness α of the overlaid manifolds
    dims: str = "1,2"  # dimension panel: intrinsic dimensions D (one row each, comma-separated)
    manifolds: int = 4  # dimension panel: n = 1..manifolds overlaid manifolds
    raster_classes: int = 2  # rasters: classes of the example data set
    raster_units: int = 30  # rasters: input units
    raster_dim: int = 1  # rasters: manifold dimension D
    raster_alpha: float = 1.0  # rasters: smoothness α (the paper's task value)
    raster_samples: int = 1000  # rasters: samples per class (the per-class min-max standardisation runs over them)
    raster_examples: int = 5  # rasters: examples stored per class
    steps: int = 100  # time steps T of an input (Δt = 1 ms)
    step_frac: float = 0.5  # spikes fall in the first step_frac·T ms

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("spectrum", self.spectrum, ("code", "paper"))
        object.__setattr__(self, "alphas", ",".join(f"{a:g}" for a in _number_list("alphas", self.alphas, float)))
        object.__setattr__(self, "dims", ",".join(str(d) for d in _number_list("dims", self.dims, int)))
        if self.embed < 3:
            raise ConfigError(f"embed={self.embed} must be >= 3 (the figure draws three embedding coordinates)")
        for name in ("samples", "manifolds", "raster_classes", "raster_units", "raster_dim", "raster_samples",
                     "raster_examples", "steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        check_counts(self, non_negative=("manifold_seed",))
        for name in ("overlay_alpha", "raster_alpha"):
            check_positive(name, getattr(self, name))
        if self.raster_examples > self.raster_samples:
            raise ConfigError(f"raster_examples={self.raster_examples} exceeds raster_samples={self.raster_samples}")
        if not (0 < self.step_frac <= 1 and self.steps * self.step_frac >= 1):
            raise ConfigError(f"step_frac={self.step_frac} must lie in (0, 1] with steps·step_frac >= 1")

    @property
    def alpha_values(self) -> tuple[float, ...]:
        return _number_list("alphas", self.alphas, float)

    @property
    def dim_values(self) -> tuple[int, ...]:
        return _number_list("dims", self.dims, int)

    @classmethod
    def task_bytes(cls, configs: Sequence[RandmanConfig]) -> float:
        """The runs compute one after the other and keep their rows (the manifold points, one spike per example and
        unit); one run's raster data set (float32 spike counts, samples × steps × units)."""
        c = configs[0]
        manifolds = len(c.alpha_values) + c.manifolds * len(c.dim_values)
        rows = c.samples * manifolds + c.raster_classes * c.raster_examples * c.raster_units
        return ROW_BYTES * len(configs) * rows + 4 * c.raster_classes * c.raster_samples * c.steps * c.raster_units


RANDMAN_HELP = """Illustrations of the random-manifold (Randman) data of Zenke & Vogels 2021 (nothing is trained).

    Rows kind=manifold (panel, alpha, dim, manifold, sample, y0, y1, y2, ...: points of random manifolds in an
    --embed-dimensional space): panel=smoothness has one D = 1 manifold per α of --alphas; panel=dimension has
    --manifolds manifolds of smoothness --overlay-alpha for each D of --dims (manifold i seeded by
    --manifold-seed + i). Rows kind=spike (example, label, time in ms, unit): --raster-examples examples per
    class of a --raster-classes-class, --raster-units-unit spike-latency data set drawn with the run seed; every
    unit fires once per example, within the first step_frac·steps ms.

    Example: sgtheory randman --seeds 42 --out results/randman.parquet
"""  # the CLI help of `sgtheory randman`
