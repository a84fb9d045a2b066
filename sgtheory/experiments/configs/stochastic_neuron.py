"""``sgtheory stochastic-neuron``: its config and help; the run is
:func:`sgtheory.experiments.stochastic.stochastic_neuron`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from sgtheory.choices import ESCAPES
from sgtheory.config import RunConfig, check_choice, check_positive
from sgtheory.errors import ConfigError
from sgtheory.experiments.configs.sigmoid_bias import parameter_names
from sgtheory.memory import ROW_BYTES


@dataclasses.dataclass(frozen=True)
class StochasticNeuronConfig(RunConfig):
    """Escape-noise neurons (sgtheory spec §1.2-1.4): one neuron S ~ Bernoulli(f(u - θ)) and the five-parameter
    network x → g → (h1, h2) → y with Bernoulli units, exact ∇E[y] by enumeration vs the SG with ψ = f′.

    Default network point: v1 = 1, v2 = -1 send g's spike to h1 and h2 with opposite signs and u1 = 0.5,
    u2 = 1.5 weigh them unequally, so the linearised SG (dominated by u2·v2 < 0 at g = 0) and the finite
    jump of E[y] when g flips (> 0) disagree in sign around w = 0: the gap is as large as the gradient.
    """

    escape: str = "sigmoid"  # escape-noise function f: sigmoid σ(βx) | exponential min(1, p0·exp(βx)), p0 = 2/3
    slope: float = 5.0  # escape steepness β (1/unit of u); every SG here uses ψ = f′ of the same β
    threshold: float = 1.0  # single neuron: firing threshold θ (unit of u)
    neuron_input: float = 2.0  # single neuron: its input x, so u = w·x and dE[S]/dw = f′(u - θ)·x
    u_min: float = -1.0  # single neuron: lowest membrane potential u - θ of the axis (unit of u)
    u_max: float = 1.0  # single neuron: highest membrane potential u - θ of the axis (unit of u)
    u_points: int = 201  # single neuron: points of the E[S] and SG curves
    raster_points: int = 41  # single neuron: raster columns (membrane potentials) over [u_min, u_max]
    trials: int = 50  # single neuron: trials (raster rows, and SG samples per curve point)
    x: float = 1.0  # network: input x
    w: float = 0.0  # network: weight x → g; base point θ = (w, v1, v2, u1, u2), see the class docstring
    v1: float = 1.0  # network: weight g → h1
    v2: float = -1.0  # network: weight g → h2
    u1: float = 0.5  # network: weight h1 → y
    u2: float = 1.5  # network: weight h2 → y
    scan: str = "w"  # network: the scanned parameter (w | v1 | v2 | u1 | u2)
    scan_min: float = -2.0  # network: first value of the scanned parameter
    scan_max: float = 2.0  # network: last value of the scanned parameter
    scan_points: int = 81  # network: points of the scan
    samples: int = 2000  # network: Monte-Carlo samples per scan point for the averaged SG (and its SEM)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("escape", self.escape, tuple(ESCAPES))
        check_positive("slope", self.slope)
        parameter_names("scan", self.scan, 1)
        for name in ("threshold", "x", "w", "v1", "v2", "u1", "u2"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a finite number")
        if not (math.isfinite(self.neuron_input) and self.neuron_input != 0):
            raise ConfigError(f"neuron_input={self.neuron_input!r} must be a finite non-zero number (u = w·x)")
        for lo, hi, n, least in (("u_min", "u_max", "u_points", 3), ("u_min", "u_max", "raster_points", 2),
                                 ("scan_min", "scan_max", "scan_points", 3)):
            if not (math.isfinite(getattr(self, lo)) and math.isfinite(getattr(self, hi))
                    and getattr(self, lo) < getattr(self, hi)):
                raise ConfigError(f"{lo}={getattr(self, lo)} must be smaller than {hi}={getattr(self, hi)} "
                                  "(both finite)")
            if getattr(self, n) < least:
                raise ConfigError(f"{n}={getattr(self, n)} must be >= {least}")
        if self.trials < 1:
            raise ConfigError(f"trials={self.trials} must be >= 1")
        if self.samples < 2:
            raise ConfigError(f"samples={self.samples} must be >= 2 (the SEM needs two samples)")

    @classmethod
    def task_bytes(cls, configs: Sequence[StochasticNeuronConfig]) -> float:
        """The runs compute one after the other and keep their rows (the raster, 8 curves of the neuron, 10 of the
        network); one run's Monte-Carlo samples (40 float64 numbers per sample and scan point)."""
        c = configs[0]
        rows = c.trials * c.raster_points + 8 * c.u_points + 10 * c.scan_points
        return ROW_BYTES * len(configs) * rows + 8 * 40 * c.samples * c.scan_points


STOCHASTIC_NEURON_HELP = """Escape-noise neurons: SGs as derivatives of expected outputs, and where that fails.

    Single neuron (panel=neuron, position = u - θ): a raster of --trials Bernoulli(f(u - θ)) spikes, E[S],
    its derivatives and the SG of the deterministic neuron; with ψ = f' the SG equals d/dw E[S] exactly
    (single_neuron_max_error). Five-parameter network with Bernoulli hidden units (panel=network,
    position = the --scan parameter): the exact ∇E[y] by enumerating the 2³ hidden states, the exact
    expectation of the SG (expected_sg) and its mean over --samples samples (mean_sg, mean_sg_sem);
    network_max_gap, network_relative_gap and network_sign_disagreement measure where they differ.

    Example: sgtheory stochastic-neuron --escape sigmoid --slope 5 --samples 2000
"""  # the CLI help of `sgtheory stochastic-neuron`
