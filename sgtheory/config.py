"""Experiment configurations: frozen dataclasses validated when built, loadable from YAML.

A config file is a YAML mapping of config keys (the same names as the CLI options and the result
columns), plus optional ``seeds`` (``"0-8"``, ``[0, 3]`` or ``4``) and ``profiles`` (named mappings
that override the top level, e.g. ``quick`` and ``paper``). Any key given a *list* becomes a grid
axis: ``delay: [10, 18]`` sweeps both delays. Precedence: dataclass defaults < file < profile <
CLI options < ``--set key=value``.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from sgtheory.errors import ConfigError, TargetError
from sgtheory.functional.surrogate import ESCAPES, SHAPES, Surrogate, make_surrogate


def parse_scale(value: Any) -> str | float | None:
    """A surrogate scale from YAML/CLI text: None, a number (peak value) or a name."""
    if value is None or isinstance(value, bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _choice(name: str, value: Any, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not allowed; choose one of: {', '.join(map(str, allowed))}")


def _positive(name: str, value: float, strict: bool = True) -> None:
    ok = math.isfinite(value) and (value > 0 if strict else value >= 0)
    if not ok:
        raise ConfigError(f"{name}={value!r} must be a {'positive' if strict else 'non-negative'} finite number")


TASKS = ("xor", "copy")
MODELS = ("tanh", "binary", "lif")
INITS = ("gaussian", "orthogonal")
DTYPES = ("float32", "float64")
FLOSS_SCHEDULES = ("none", "pre", "pre+inter", "adaptive")


def gf_transient(steps: int) -> int:
    """Steps discarded before exponents accumulate: 10 + ⌈steps/10⌉ (Engelken's GF convention, decision D3)."""
    return 10 + math.ceil(steps / 10)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """What every run config has: a seed, its fields as a dict and the two hashes of the result rows."""

    seed: int = 0

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ConfigError(f"seed={self.seed} must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def condition_hash(self) -> str:
        """Hash of everything but the seed: runs that differ only by seed share it."""
        d = self.to_dict()
        d.pop("seed")
        return stable_hash(d)

    def run_id(self) -> str:
        return stable_hash(self.to_dict())

    def batch_key(self) -> str:
        """Runs with equal keys train together as one batched computation (default: those differing by seed)."""
        return self.condition_hash()


@dataclasses.dataclass(frozen=True)
class NetworkConfig(RunConfig):
    """A tanh, binary or LIF recurrent network and its initialisation (flossing spec §2, §2.4)."""

    model: str = "binary"  # tanh | binary | lif
    surrogate: str = "fast_sigmoid"  # surrogate shape for binary/lif spikes
    slope: float = 1.0  # surrogate slope (inverse width, 1/unit of the local field)
    scale: str | None = None  # surrogate scale: normalized | asymptotic | a peak value; default: the shape's own
    N: int = 80  # recurrent units
    gain: float = 1.0  # recurrent gain: std of J entries is gain/sqrt(N)
    gbar: float = 0.0  # mean coupling added to every J entry as gbar/N
    init: str = "gaussian"  # gaussian | orthogonal (J = gain * Q)
    input_scale: float = 1.0  # std of input weights
    input_mean: float = 0.0  # mean of input weights
    readout_scale: float = 1.0  # std of readout weights
    readout_mean: float = 0.0  # mean of readout weights
    bias_mean: float = 0.0  # bias b = bias_mean + bias_scale * U[0, 1)
    bias_scale: float = 0.1
    input_amplitude: float = 1.0  # input bits are {0, input_amplitude}
    readout_offset: float = 0.001  # initial readout offset c
    relax_steps: int = 100  # steps of input-free dynamics that relax the initial state
    tau_mem: float = 10.0  # LIF membrane time constant (ms)
    tau_syn: float = 5.0  # LIF synaptic time constant (ms)
    dt: float = 1.0  # LIF time step (ms)
    threshold: float = 1.0  # LIF firing threshold
    diff_reset: bool = False  # LIF: back-propagate through the reset (default: reset detached)
    dtype: str = "float32"

    MODELS = MODELS  # class attribute, not a field: the allowed models (a subclass may add its own)

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice("model", self.model, self.MODELS)
        _choice("init", self.init, INITS)
        _choice("dtype", self.dtype, DTYPES)
        _choice("surrogate", self.surrogate, tuple(SHAPES))
        try:
            resolved = self.spike_surrogate().resolved_scale
        except ValueError as err:
            raise ConfigError(str(err)) from None
        object.__setattr__(self, "scale", str(resolved))  # so equal surrogates get equal run ids
        if self.N <= 0:
            raise ConfigError(f"N={self.N!r} must be a positive integer")
        if self.relax_steps < 0:
            raise ConfigError(f"relax_steps={self.relax_steps!r} must be >= 0")
        for name in ("tau_mem", "tau_syn", "dt"):
            _positive(name, getattr(self, name))
        for name in ("input_scale", "readout_scale", "bias_scale", "gain"):
            _positive(name, getattr(self, name), strict=False)

    @property
    def state_dim(self) -> int:
        """Dimension of the dynamical state (tangent space): N, or 2N for the LIF state (v, I)."""
        return 2 * self.N if self.model == "lif" else self.N

    def spike_surrogate(self) -> Surrogate:
        """The surrogate of the binary/LIF spike function."""
        return make_surrogate(self.surrogate, self.slope, parse_scale(self.scale))


@dataclasses.dataclass(frozen=True)
class FlossingConfig(NetworkConfig):
    """Flossing (spec §5): Adam steps on (1/k) Σ_{i≤k} (λ_i - λ*)² over J, input weights and bias."""

    nle: int = 75  # k: Lyapunov exponents estimated and flossed
    floss_target: float = 0.0  # target λ* of the flossed exponents (1/step)
    floss_lr: float = 1e-3  # learning rate of the flossing Adam
    floss_T: int = 55  # steps per exponent estimate (Tp; the first 10 + ceil(Tp/10) are a transient)
    floss_slope: float = 0.0  # slope of the surrogate in the Jacobian of the flossed exponents (0: the training slope)

    @property
    def flosses(self) -> bool:
        return True

    def floss_surrogate(self) -> Surrogate:
        """The surrogate of the flossed exponents' Jacobian: the spike surrogate, at ``floss_slope`` if set."""
        return make_surrogate(self.surrogate, self.floss_slope or self.slope, parse_scale(self.scale))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.flosses and not 1 <= self.nle <= self.state_dim:
            raise ConfigError(f"nle={self.nle} must be between 1 and the state dimension {self.state_dim}")
        _positive("floss_lr", self.floss_lr)
        _positive("floss_slope", self.floss_slope, strict=False)
        if self.floss_T <= gf_transient(self.floss_T):
            raise ConfigError(f"floss_T={self.floss_T} leaves no step after its transient of 10 + ceil(floss_T/10)")


@dataclasses.dataclass(frozen=True)
class TrainConfig(FlossingConfig):
    """One training run of an RNN on a delayed task (Engelken & Abbott; flossing spec §2, §6, §7)."""

    task: str = "xor"  # xor: y_t = s_{t-d/2} XOR s_{t-d}; copy: y_t = s_{t-d}
    delay: int = 10  # the paper's d (steps)
    batch: int = 16  # sequences per training epoch
    T: int = 300  # sequence length (steps)
    epochs: int = 3001  # training epochs (one fresh batch and one Adam step each)
    lr: float = 1e-3  # Adam learning rate
    clip: float = 0.03  # per-array gradient-norm clipping threshold
    record_every: int = 10  # record a row every this many epochs (plus the last epoch)
    floss: str = "none"  # flossing schedule: none | pre | pre+inter | adaptive (decision D6)
    floss_pre: int = 500  # Ep: flossing steps before training (pre, pre+inter, adaptive)
    floss_every: int = 100  # Ef: an inter-flossing phase may start when epoch % floss_every == 0
    floss_steps: int = 500  # Ei: flossing steps per inter-flossing phase
    floss_phases: int = 2  # Ni: most inter-flossing phases
    floss_tol: float = 0.05  # adaptive: floss only while max_i |λ_i - λ*| exceeds this (1/step)

    @property
    def flosses(self) -> bool:
        return self.floss != "none"

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice("task", self.task, TASKS)
        _choice("floss", self.floss, FLOSS_SCHEDULES)
        for name in ("batch", "T", "epochs", "record_every", "floss_every"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        for name in ("floss_pre", "floss_steps", "floss_phases"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be >= 0")
        for name in ("lr", "clip"):
            _positive(name, getattr(self, name))
        _positive("floss_tol", self.floss_tol, strict=False)
        if self.delay < 1:
            raise ConfigError(f"delay={self.delay} must be >= 1")
        if self.task == "xor" and self.delay % 2:
            raise ConfigError(f"delay={self.delay} is odd; the XOR task needs an even d (operands at t-d/2 and t-d)")
        if self.delay >= self.T:
            raise ConfigError(f"delay={self.delay} must be smaller than the sequence length T={self.T}")


@dataclasses.dataclass(frozen=True)
class FlossConfig(FlossingConfig):
    """A flossing run (figure R1): λ_1..λ_k per flossing epoch and the spectrum before and after."""

    epochs: int = 150  # flossing epochs (one fresh input sequence and one Adam step each)
    spectrum_nle: int = 0  # exponents of the spectra before and after flossing (0: all, N or 2N for LIF)
    spectrum_T: int = 1000  # steps of the before/after spectra (transient 10 + ceil(T/10))
    jacobian_T: int = 0  # steps of the measured long-term Jacobian before and after flossing (0: not measured)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.epochs < 0:
            raise ConfigError(f"epochs={self.epochs} must be >= 0")
        if not 0 <= self.spectrum_nle <= self.state_dim:
            raise ConfigError(f"spectrum_nle={self.spectrum_nle} must be between 0 (all) and the state dimension "
                              f"{self.state_dim}")
        if self.spectrum_T <= gf_transient(self.spectrum_T):
            raise ConfigError(f"spectrum_T={self.spectrum_T} leaves no step after its transient")
        if not 0 <= self.jacobian_T <= self.spectrum_T:
            raise ConfigError(f"jacobian_T={self.jacobian_T} must be between 0 (not measured) and spectrum_T="
                              f"{self.spectrum_T} (its steps are the first of the spectrum's input sequence)")

    @property
    def spectrum_k(self) -> int:
        """Exponents of the before/after spectra: ``spectrum_nle``, or all when it is 0."""
        return self.spectrum_nle or self.state_dim


@dataclasses.dataclass(frozen=True)
class LyapConfig(NetworkConfig):
    """The Lyapunov spectrum of a network driven by random input bits (flossing spec §4)."""

    nle: int = 0  # exponents to compute (0: all, the state dimension N, or 2N for LIF)
    steps: int = 1000  # steps of the trajectory
    transient: int = -1  # steps discarded before accumulating; -1: 10 + ceil(steps/10) (GF convention)
    ons_interval: int = 1  # steps between re-orthonormalisations
    input_rate: float = 0.5  # probability that an input bit is 1 (0: no input, bias only)
    trace_every: int = 10  # record the running λ_1 every this many accumulated steps
    damage_horizon: int = 0  # damage spreading: steps recorded after one unit's binary output is flipped (0: off)
    damage_after: int = 100  # damage/Derrida: driven steps from each trial's random initial state to the flip
    damage_trials: int = 100  # damage/Derrida: trials per run (own initial state, input bits and flipped units)
    derrida_points: int = 0  # Derrida map: flipped fractions h0 = k/derrida_points, k = 1..derrida_points (0: off)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.nle <= self.state_dim:
            raise ConfigError(f"nle={self.nle} must be between 0 (all) and the state dimension {self.state_dim}")
        for name in ("steps", "ons_interval", "trace_every", "damage_trials"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        for name in ("damage_horizon", "damage_after", "derrida_points"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be >= 0")
        for name in ("damage_horizon", "derrida_points"):
            if getattr(self, name) and self.model == "tanh":
                raise ConfigError(f"{name}={getattr(self, name)} needs binary outputs: model must be one of: "
                                  f"binary, lif (not tanh)")
        if self.derrida_points > self.N:
            raise ConfigError(f"derrida_points={self.derrida_points} exceeds N={self.N} (at most one point per "
                              f"number of flipped units)")
        if not 0.0 <= self.input_rate <= 1.0:
            raise ConfigError(f"input_rate={self.input_rate} must be a probability in [0, 1]")
        if self.transient < -1:
            raise ConfigError(f"transient={self.transient} must be >= 0 (or -1 for the GF convention)")
        if self.steps - self.effective_transient < self.ons_interval:
            raise ConfigError(f"steps={self.steps} leaves no re-orthonormalisation after the transient "
                              f"{self.effective_transient}")

    @property
    def k(self) -> int:
        """Exponents computed: ``nle``, or the whole spectrum when ``nle`` is 0."""
        return self.nle or self.state_dim

    @property
    def effective_transient(self) -> int:
        return gf_transient(self.steps) if self.transient == -1 else self.transient


SIGMOID_PANELS = ("scan", "landscape")
LOOP_DIRECTIONS = ("published", "scipy", "random")


def _parameter_names(name: str, value: str, count: int) -> tuple[str, ...]:
    """``"v1,v2"`` -> ("v1", "v2"): ``count`` distinct names of the sigmoid network's parameters."""
    from sgtheory.models.sigmoid_net import PARAMETERS

    names = tuple(part.strip() for part in value.split(","))
    if len(names) != count or len(set(names)) != count or not set(names) <= set(PARAMETERS):
        raise ConfigError(f"{name}={value!r} must name {count} different parameters of {', '.join(PARAMETERS)}")
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
        _choice("surrogate", self.surrogate, tuple(SHAPES))
        _choice("dtype", self.dtype, DTYPES)
        _positive("beta", self.beta)
        try:
            resolved = self.spike_surrogate().resolved_scale
        except ValueError as err:
            raise ConfigError(str(err)) from None
        object.__setattr__(self, "scale", str(resolved))

    def spike_surrogate(self) -> Surrogate:
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
        _choice("panel", self.panel, SIGMOID_PANELS)
        _parameter_names("scan", self.scan, 1)
        _parameter_names("plane", self.plane, 2)
        for lo, hi, n in (("scan_min", "scan_max", "scan_points"), ("grid_min", "grid_max", "grid_points")):
            if not getattr(self, lo) < getattr(self, hi):
                raise ConfigError(f"{lo}={getattr(self, lo)} must be smaller than {hi}={getattr(self, hi)}")
            if getattr(self, n) < 3:
                raise ConfigError(f"{n}={getattr(self, n)} must be >= 3")

    @property
    def plane_parameters(self) -> tuple[str, str]:
        return _parameter_names("plane", self.plane, 2)


@dataclasses.dataclass(frozen=True)
class ConservativeConfig(NetworkConfig):
    """Closed-loop line integral of the SG field in a plane of parameter space (spec §3.3).

    ``model=sigmoid`` is the five-parameter network (fields beta, x, w..u2, directions); tanh, binary and
    lif are the recurrent networks of the toolkit with the task loss of one fixed batch (task, delay,
    batch, T), looped in a random plane of all their parameters.
    """

    model: str = "sigmoid"  # sigmoid (five-parameter network) | tanh | binary | lif
    surrogate: str = "sigmoid"
    slope: float = 5.0
    dtype: str = "float64"
    beta: float = 1.0e4  # sigmoid: forward steepness (1e4: a binary network)
    x: float = 1.0  # sigmoid: network input
    w: float = 0.0  # sigmoid: loop centre θ0 = (w, v1, v2, u1, u2)
    v1: float = 0.0
    v2: float = 0.0
    u1: float = 0.0
    u2: float = 0.0
    directions: str = "published"  # sigmoid plane: published (the paper's figure) | scipy (its later notebook) | random
    radius: float = 1.8  # loop radius in the plane (parameter units)
    points: int = 1500  # points on the loop
    landscape_points: int = 200  # sigmoid: output landscape on a grid this wide per axis (0: none)
    task: str = "xor"  # RNN models: the loss is the task loss of one fixed batch
    delay: int = 4
    batch: int = 16
    T: int = 50

    MODELS = ("sigmoid", *MODELS)  # class attribute, not a field: the models NetworkConfig accepts

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice("directions", self.directions, LOOP_DIRECTIONS)
        _choice("task", self.task, TASKS)
        _positive("beta", self.beta)
        _positive("radius", self.radius)
        if self.points < 8:
            raise ConfigError(f"points={self.points} must be >= 8")
        if self.landscape_points < 0 or self.landscape_points == 1:
            raise ConfigError(f"landscape_points={self.landscape_points} must be 0 (none) or >= 2")
        for name in ("batch", "T", "delay"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        if self.delay >= self.T:
            raise ConfigError(f"delay={self.delay} must be smaller than the sequence length T={self.T}")
        if self.task == "xor" and self.delay % 2:
            raise ConfigError(f"delay={self.delay} is odd; the XOR task needs an even d")

    @property
    def base_point(self) -> tuple[float, ...]:
        return (self.w, self.v1, self.v2, self.u1, self.u2)


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
        _choice("escape", self.escape, tuple(ESCAPES))
        _positive("slope", self.slope)
        _parameter_names("scan", self.scan, 1)
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


CLASSIFY_TASKS = ("randman", "digits", "mnist", "shd")
TRUE_GRADIENT = "zero"  # surrogate name of the true derivative of the step: h ≡ 0 (the paper's "True")
READOUTS = ("max", "sum", "mean")


@dataclasses.dataclass(frozen=True)
class ClassifyConfig(RunConfig):
    """Spike-pattern classification with a feed-forward or recurrent LIF network (Zenke & Vogels 2021; robustness
    spec §2–§5). The seed draws the data set, the weights and the minibatch order (separate streams)."""

    task: str = "randman"  # randman (synthetic) | digits (scikit-learn 8x8, latency code) | mnist | shd (--data-dir)
    data_dir: str = ""  # mnist/shd: folder with the user's files (never downloaded)
    classes: int = 10  # randman: classes
    units: int = 20  # randman: input units
    manifold_dim: int = 1  # randman: manifold dimension D
    alpha: float = 1.0  # randman: smoothness α of the manifolds
    spectrum: str = "code"  # randman: code (the authors' released generator) | paper (k^-α as printed)
    samples_per_class: int = 1000  # randman: samples per class (split 80/10/10 into train/valid/test)
    spikes_per_unit: int = 1  # randman: spikes of every input unit per sample
    steps: int = 100  # time steps T (Δt = dt ms)
    step_frac: float = 0.5  # randman: spikes fall in the first step_frac·T steps
    hidden: int = 100  # neurons per hidden layer
    layers: int = 1  # hidden layers
    recurrent: bool = False  # all-to-all recurrent weights V in every hidden layer
    recurrent_grad: bool = True  # recurrent: gradients flow through V·S ("Prop"); off: detached ("Ctl")
    diff_reset: bool = False  # back-propagate through the reset ("DR"); default: reset detached
    readout: str = "max"  # logits = max | sum | mean over time of the readout potentials
    surrogate: str = "fast_sigmoid"  # surrogate shape (fast_sigmoid = SuperSpike); zero = the true gradient h ≡ 0
    slope: float = 10.0  # surrogate slope β (1/unit of U)
    scale: str | None = None  # normalized (peak 1) | asymptotic (peak β·k(0)) | a peak value; default: the shape's own
    lr: float = 0.05  # Adam learning rate η
    adam_eps: float = 1e-8  # Adam ε
    batch: int = 0  # minibatch size; 0: 250 for randman, 128 for the other tasks (DECISIONS)
    epochs: int = 50  # passes over the training set
    tau_mem: float = 10.0  # membrane time constant (ms)
    tau_syn: float = 5.0  # synaptic time constant (ms), hidden and readout
    tau_readout: float = 20.0  # readout membrane time constant (ms)
    dt: float = 1.0  # time step (ms)
    threshold: float = 1.0  # firing threshold ϑ
    weight_scale: float = 1.0  # multiplier of the default init U(-1/√fan_in, 1/√fan_in)
    lower_strength: float = 100.0  # λ_lower of the per-neuron lower bound on spikes per input
    lower_threshold: float = 1e-3  # ν_lower (spikes per neuron per input)
    upper_strength: float = 0.0  # λ_upper of the per-layer upper bound (0: off)
    upper_threshold: float = 0.0  # ν_upper (mean spikes per neuron per input)
    upper_power: int = 2  # exponent L of the upper bound (1 or 2)
    raster_samples: int = 3  # test samples whose spikes (input and hidden) are stored after training
    dtype: str = "float32"

    BATCHED = ("seed", "slope", "lr", "lower_strength", "lower_threshold", "upper_strength", "upper_threshold",
               "upper_power")
    """Fields that may differ between grid cells that train together as one batched computation."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice("task", self.task, CLASSIFY_TASKS)
        _choice("spectrum", self.spectrum, ("code", "paper"))
        _choice("readout", self.readout, READOUTS)
        _choice("surrogate", self.surrogate, (*SHAPES, TRUE_GRADIENT))
        _choice("upper_power", self.upper_power, (1, 2))
        _choice("dtype", self.dtype, DTYPES)
        if self.surrogate != TRUE_GRADIENT:
            try:
                object.__setattr__(self, "scale", str(self.spike_surrogate().resolved_scale))
            except ValueError as err:
                raise ConfigError(str(err)) from None
        if self.batch == 0:
            object.__setattr__(self, "batch", 250 if self.task == "randman" else 128)
        if self.task in ("mnist", "shd") and not self.data_dir:
            raise ConfigError(f"task={self.task} reads your own files: give --data-dir (nothing is downloaded)")
        for name in ("classes", "units", "manifold_dim", "samples_per_class", "spikes_per_unit", "steps", "hidden",
                     "layers", "batch", "epochs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        if self.classes < 2:
            raise ConfigError(f"classes={self.classes} must be >= 2")
        if self.raster_samples < 0:
            raise ConfigError(f"raster_samples={self.raster_samples} must be >= 0")
        for name in ("alpha", "lr", "adam_eps", "tau_mem", "tau_syn", "tau_readout", "dt", "threshold",
                     "weight_scale"):
            _positive(name, getattr(self, name))
        for name in ("lower_strength", "lower_threshold", "upper_strength", "upper_threshold"):
            _positive(name, getattr(self, name), strict=False)
        if not (0 < self.step_frac <= 1 and self.steps * self.step_frac >= 1):
            raise ConfigError(f"step_frac={self.step_frac} must lie in (0, 1] with steps·step_frac >= 1")

    def spike_surrogate(self) -> Surrogate:
        return make_surrogate(self.surrogate, self.slope, parse_scale(self.scale))

    def batch_key(self) -> str:
        """Runs with equal keys can train together (they differ only in ``BATCHED`` fields)."""
        d = self.to_dict()
        for name in self.BATCHED:
            d.pop(name)
        return stable_hash(d)


SPIKE_MATCH_METHODS = ("superspike", "stochastic", "multilayerspiker")
LEARNING_RULES = ("rule", "bptt")


@dataclasses.dataclass(frozen=True)
class SpikeMatchConfig(RunConfig):
    """Spike-train matching with a 2-layer LIF network (Gygax & Zenke; sgtheory spec §4).

    ``method``: superspike (deterministic spikes, SuperSpike surrogate in the hidden layer), stochastic
    (sigmoid escape noise, surrogate = its derivative) or multilayerspiker (escape noise, the hidden spike
    train in place of the surrogate; Gardner et al. 2015). ``learning``: rule (the spec's hand-derived
    updates, §4.4) or bptt (autograd through time with Adam on the van Rossum distance; deterministic
    spikes use --surrogate at --slope, stochastic ones ψ = f′). Zero-valued trials and learning rates
    mean "the method's default" and are resolved when the config is built.
    """

    method: str = "stochastic"  # superspike | stochastic | multilayerspiker
    learning: str = "rule"  # rule (spec §4.4) | bptt (autograd through time, Adam on the van Rossum distance)
    target_image: str = ""  # PNG read as the target (rows = neurons, columns = time steps); "": the generated one
    epochs: int = 1500  # epochs (each: `trials` forward passes, then one update with their mean)
    trials: int = 0  # forward passes per epoch; 0: 10 for stochastic methods, 1 for superspike
    n_input: int = 200  # input neurons (frozen Poisson)
    n_hidden: int = 200  # hidden LIF neurons
    input_rate: float = 50.0  # input rate (Hz)
    dt: float = 1.0  # time step (ms)
    tau_mem: float = 10.0  # membrane time constant (ms)
    tau_syn: float = 5.0  # synaptic time constant (ms)
    threshold: float = 1.0  # firing threshold θ
    beta_hidden: float = 10.0  # steepness of the hidden escape noise σ(β(U - θ)) and of its surrogates
    beta_output: float = 100.0  # steepness of the output escape noise
    du_output: float = 0.013  # Δu_o: the output error is (z - S_o)/Δu_o
    eps0: float = 0.2  # amplitude of the double-exponential kernel ε (error filter and van Rossum distance)
    sigma_u: float = 1.0  # σ_U of the initialisation σ_w = σ_U / sqrt(N · rate · τ_syn²/(2(τ_syn + τ_mem)))
    lr_hidden: float = 0.0  # learning rate of the hidden weights; 0: 1e-5 (rule), 1e-2 (bptt)
    lr_output: float = 0.0  # learning rate of the output weights; 0: 1e-4 for superspike else 1e-5 (rule), 1e-2 (bptt)
    surrogate: str = "fast_sigmoid"  # bptt: surrogate of deterministic spikes (the rule uses the method's own)
    slope: float = 10.0  # bptt: surrogate slope (1/unit of U)
    scale: str | None = None  # bptt: surrogate scale; default: the shape's own
    raster_trials: int = 1  # trials whose rasters are stored at the first and the last epoch
    dtype: str = "float64"

    @property
    def stochastic(self) -> bool:
        return self.method != "superspike"

    def spike_surrogate(self) -> Surrogate:
        return make_surrogate(self.surrogate, self.slope, parse_scale(self.scale))

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice("method", self.method, SPIKE_MATCH_METHODS)
        _choice("learning", self.learning, LEARNING_RULES)
        _choice("surrogate", self.surrogate, tuple(SHAPES))
        _choice("dtype", self.dtype, DTYPES)
        try:
            object.__setattr__(self, "scale", str(self.spike_surrogate().resolved_scale))
        except ValueError as err:
            raise ConfigError(str(err)) from None
        for name in ("epochs", "n_input", "n_hidden", "raster_trials"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        for name in ("input_rate", "dt", "tau_mem", "tau_syn", "threshold", "beta_hidden", "beta_output",
                     "du_output", "eps0", "sigma_u"):
            _positive(name, getattr(self, name))
        for name in ("trials", "lr_hidden", "lr_output"):
            _positive(name, getattr(self, name), strict=False)
        if self.input_rate * self.dt / 1000 > 1:
            raise ConfigError(f"input_rate={self.input_rate} Hz exceeds one spike per dt={self.dt} ms")
        if self.target_image:
            from sgtheory.tasks.spike_match import read_target

            try:
                read_target(self.target_image)
            except TargetError as err:
                raise ConfigError(str(err)) from None
        bptt = self.learning == "bptt"
        if bptt and self.method == "multilayerspiker":
            raise ConfigError("learning=bptt needs method superspike or stochastic (multilayerspiker is a rule)")
        # bptt: Adam 1e-2 beat 1e-3 in a 100-epoch pilot (van Rossum 0.13 vs 1.2, deterministic)
        defaults = {"trials": 10 if self.stochastic else 1, "lr_hidden": 1e-2 if bptt else 1e-5,
                    "lr_output": 1e-2 if bptt else (1e-4 if self.method == "superspike" else 1e-5)}
        for name, value in defaults.items():
            if getattr(self, name) == 0:
                object.__setattr__(self, name, type(getattr(self, name))(value))
        if self.raster_trials > self.trials:
            raise ConfigError(f"raster_trials={self.raster_trials} exceeds trials={self.trials}")


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
        _choice("spectrum", self.spectrum, ("code", "paper"))
        object.__setattr__(self, "alphas", ",".join(f"{a:g}" for a in _number_list("alphas", self.alphas, float)))
        object.__setattr__(self, "dims", ",".join(str(d) for d in _number_list("dims", self.dims, int)))
        if self.embed < 3:
            raise ConfigError(f"embed={self.embed} must be >= 3 (the figure draws three embedding coordinates)")
        for name in ("samples", "manifolds", "raster_classes", "raster_units", "raster_dim", "raster_samples",
                     "raster_examples", "steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        if self.manifold_seed < 0:
            raise ConfigError(f"manifold_seed={self.manifold_seed} must be >= 0")
        for name in ("overlay_alpha", "raster_alpha"):
            _positive(name, getattr(self, name))
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


RESERVED_KEYS = ("seeds", "profiles", "experiment")


def stable_hash(d: Mapping[str, Any]) -> str:
    """12-hex-digit SHA-1 of the canonical JSON of a mapping."""
    blob = json.dumps(d, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


def parse_seeds(value: Any) -> list[int]:
    """``"0-8"`` -> [0..8]; ``"0,2,5"``; ``[0, 2]``; ``3`` -> [3]."""
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            seeds = [value]
        elif isinstance(value, list | tuple):
            seeds = [int(v) for v in value]
        else:
            seeds = []
            for part in str(value).split(","):
                lo, sep, hi = part.strip().partition("-")
                seeds += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
    except (TypeError, ValueError):
        raise ConfigError(f"seeds={value!r} is not a seed list; use e.g. 0-8, 0,2,5 or 3") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds={value!r} must name distinct non-negative seeds, e.g. 0-8")
    return seeds


def _coerce(cls: type, key: str, value: Any) -> Any:
    """Convert a YAML/CLI value to the field's type, or raise a one-line ConfigError."""
    hint = get_type_hints(cls)[key]
    if key == "scale":
        return None if value is None else str(parse_scale(value))
    try:
        if hint is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if hint is bool:
            if not isinstance(value, bool):
                raise ValueError
            return value
        if hint is str:
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError):
        raise ConfigError(f"{key}={value!r} is not a valid {hint.__name__}") from None
    return value


def check_keys(cls: type, keys, where: str) -> None:
    allowed = [f.name for f in dataclasses.fields(cls) if f.name != "seed"]
    for key in keys:
        if key not in allowed and key not in RESERVED_KEYS:
            near = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise ConfigError(
                f"unknown config key '{key}' in {where}{hint}; allowed: seeds, {', '.join(allowed)}"
            )


def read_config_file(path: str | Path, profile: str | None, experiment: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a YAML config file: its top-level keys and those of ``profile`` (empty without one). The keys are checked
    against the experiment's config class by the caller (:func:`sgtheory.experiments.load_config_file`)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    if data.get("experiment", experiment) != experiment:
        raise ConfigError(f"config file {path} is for '{data['experiment']}', not '{experiment}'")
    profiles = data.pop("profiles", {}) or {}
    data.pop("experiment", None)
    if profile is None:
        return data, {}
    if profile not in profiles:
        names = ", ".join(profiles) or "none defined"
        raise ConfigError(f"profile '{profile}' is not in {path}; available: {names}")
    return data, profiles[profile] or {}


def parse_set(items: tuple[str, ...]) -> dict[str, Any]:
    """``("delay=18", "slope=[0.5,1]")`` -> {"delay": 18, "slope": [0.5, 1]} (values parsed as YAML)."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r} is not key=value")
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML") from None
    return out


def expand_grid(cls: type, overrides: Mapping[str, Any]) -> list:
    """Expand overrides (list values are grid axes, ``seeds`` a seed list) into validated run configs of ``cls``.

    Runs are ordered condition by condition, seeds innermost, so consecutive runs that share a
    condition can train together as one batched computation.
    """
    overrides = dict(overrides)
    check_keys(cls, overrides, "the configuration")
    seeds = parse_seeds(overrides.pop("seeds", 0))
    axes = {k: v if isinstance(v, list) else [v] for k, v in overrides.items()}
    for key, values in axes.items():
        if not values:
            raise ConfigError(f"{key}=[] is an empty grid axis")
    runs = []
    for combo in itertools.product(*axes.values()):
        fields = {k: _coerce(cls, k, v) for k, v in zip(axes, combo, strict=True)}
        for seed in seeds:
            runs.append(cls(**fields, seed=seed))
    return runs


def field_help(cls: type) -> dict[str, str]:
    """The inline comment of each field, used as CLI help (parsed from the source once)."""
    import inspect

    helps = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        for line in inspect.getsource(klass).splitlines():
            name, sep, rest = line.strip().partition(":")
            if sep and "#" in rest and name.isidentifier():
                helps[name] = rest.split("#", 1)[1].strip()
    return helps
