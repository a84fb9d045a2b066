"""``sgtheory sigmoid-bias``: its config and help; the run is :func:`sgtheory.experiments.sigmoid.sigmoid_bias`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sgtheory.choices import DTYPES, ITEMSIZE, SIGMOID_PARAMETERS, SURROGATES, surrogate_scale
from sgtheory.config import RunConfig, check_choice, check_positive, parse_scale
from sgtheory.errors import ConfigError
from sgtheory.memory import ROW_BYTES

if TYPE_CHECKING:
    from sgtheory.functional.surrogate import Surrogate

SIGMOID_PANELS = ("scan", "landscape")
LOOP_DIRECTIONS = ("published", "scipy", "random")


def parameter_names(name: str, value: str, count: int) -> tuple[str, ...]:
    """``"v1,v2"`` -> ("v1", "v2"): ``count`` distinct names of the sigmoid network's parameters."""
    names = tuple(part.strip() for part in value.split(","))
    if len(names) != count or len(set(names)) != count or not set(names) <= set(SIGMOID_PARAMETERS):
        raise ConfigError(f"{name}={value!r} must name {count} different parameters of {', '.join(SIGMOID_PARAMETERS)}")
    return names


@dataclasses.dataclass(frozen=True)
class SigmoidNetConfig(RunConfig):
    """The five-parameter sigmoid network x → g → (h1, h2) → y at a base point (sgtheory spec §3.1)."""

    beta: float = 100.0  # forward steepness β of every unit σ_β(z) = 1/(1 + exp(-βz)) (1/unit of z)
    surrogate: str = "sigmoid"  # shape of the surrogate derivative ψ of every unit
    slope: float = 15.0  # surrogate slope β_SG (inverse width, 1/unit of z)
    scale: str | None = None  # surrogate scale: normalized | asymptotic | a peak value; default: the shape's own
    x: float = 1.0  # network input
    w: float = 1.0  # base point θ = (w, v1, v2, u1, u2)
    v1: float = 0.05
    v2: float = 0.1
    u1: float = 1.0
    u2: float = -1.0
    dtype: str = "float64"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("surrogate", self.surrogate, tuple(SURROGATES))
        check_choice("dtype", self.dtype, DTYPES)
        check_positive("beta", self.beta)
        try:
            resolved = surrogate_scale(self.surrogate, self.slope, parse_scale(self.scale))
        except ValueError as err:
            raise ConfigError(str(err)) from None
        object.__setattr__(self, "scale", str(resolved))

    def spike_surrogate(self) -> Surrogate:
        from sgtheory.functional.surrogate import make_surrogate

        return make_surrogate(self.surrogate, self.slope, parse_scale(self.scale))

    @property
    def base_point(self) -> tuple[float, ...]:
        return (self.w, self.v1, self.v2, self.u1, self.u2)


@dataclasses.dataclass(frozen=True)
class SigmoidBiasConfig(SigmoidNetConfig):
    """SG bias in the sigmoid network (spec §3.2): a 1-D scan of one parameter or a 2-D landscape."""

    panel: str = "scan"  # scan: output and derivatives along one parameter; landscape: integrated SG on a plane
    scan: str = "w"  # the scanned parameter
    scan_min: float = -0.2
    scan_max: float = 0.2
    scan_points: int = 10001
    plane: str = "v1,v2"  # the two parameters spanning the landscape
    grid_min: float = -2.0  # both plane parameters run from grid_min to grid_max
    grid_max: float = 2.0
    grid_points: int = 301  # points per plane axis (the paper: 1021 x 1031)
    arrow_1: float = 1.7  # point of the landscape where the descent arrow -SG is drawn
    arrow_2: float = -1.3

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("panel", self.panel, SIGMOID_PANELS)
        parameter_names("scan", self.scan, 1)
        parameter_names("plane", self.plane, 2)
        for lo, hi, n in (("scan_min", "scan_max", "scan_points"), ("grid_min", "grid_max", "grid_points")):
            if not getattr(self, lo) < getattr(self, hi):
                raise ConfigError(f"{lo}={getattr(self, lo)} must be smaller than {hi}={getattr(self, hi)}")
            if getattr(self, n) < 3:
                raise ConfigError(f"{n}={getattr(self, n)} must be >= 3")

    @property
    def plane_parameters(self) -> tuple[str, str]:
        return parameter_names("plane", self.plane, 2)

    @classmethod
    def task_bytes(cls, configs: Sequence[SigmoidBiasConfig]) -> float:
        """The runs compute one after the other and keep their rows (6 per scan point, 3 per landscape point); one
        run's grid of parameter points with the outputs and gradients of three networks (40 numbers a point)."""
        c = configs[0]
        points = c.scan_points if c.panel == "scan" else c.grid_points**2
        rows = len(configs) * points * (6 if c.panel == "scan" else 3)
        return ROW_BYTES * rows + ITEMSIZE[c.dtype] * 40 * points


SIGMOID_BIAS_HELP = """Surrogate gradients vs true gradients in the five-parameter sigmoid network (Gygax & Zenke).

    The network x → g → (h1, h2) → y has sigmoid units of forward steepness --beta; the SG replaces
    each unit's derivative by the --surrogate shape at --slope (β_SG). --panel scan varies one
    parameter (--scan) and writes quantity = output, smoothed_output (the network with β = β_SG),
    integrated_sg (y at the first point + ∫ SG), true_gradient, smoothed_gradient and sg, with the
    summary columns argmin_output, argmin_smoothed_output, argmin_integrated_sg and sign_disagreement
    (fraction of points where SG and true gradient differ in sign). --panel landscape writes the output
    and the integrated-SG landscape over --plane in both integration orders (integrated_sg_1: along the
    first parameter first), with the SG at (--arrow-1, --arrow-2) and path_dependence (max difference of
    the two orders over the landscape's range).

    Example: sgtheory sigmoid-bias --beta 100 --set slope=[15,30]
"""  # the CLI help of `sgtheory sigmoid-bias`
