"""``sgtheory spike-match``: its config and help; the run is :func:`sgtheory.experiments.spike_match.spike_match`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sgtheory.choices import DTYPES, ITEMSIZE, SURROGATES, surrogate_scale
from sgtheory.config import RunConfig, check_choice, check_positive, parse_scale
from sgtheory.errors import ConfigError, TargetError
from sgtheory.memory import ROW_BYTES

if TYPE_CHECKING:
    from sgtheory.functional.surrogate import Surrogate

SPIKE_MATCH_METHODS = ("superspike", "stochastic", "multilayerspiker")
LEARNING_RULES = ("rule", "bptt")
TARGET_SHAPE = (200, 189)  # output neurons × time steps of the generated target (tasks.spike_match.DEFAULT_SHAPE)


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
        from sgtheory.functional.surrogate import make_surrogate

        return make_surrogate(self.surrogate, self.slope, parse_scale(self.scale))

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("method", self.method, SPIKE_MATCH_METHODS)
        check_choice("learning", self.learning, LEARNING_RULES)
        check_choice("surrogate", self.surrogate, tuple(SURROGATES))
        check_choice("dtype", self.dtype, DTYPES)
        try:
            resolved = surrogate_scale(self.surrogate, self.slope, parse_scale(self.scale))
        except ValueError as err:
            raise ConfigError(str(err)) from None
        object.__setattr__(self, "scale", str(resolved))
        for name in ("epochs", "n_input", "n_hidden", "raster_trials"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        for name in ("input_rate", "dt", "tau_mem", "tau_syn", "threshold", "beta_hidden", "beta_output",
                     "du_output", "eps0", "sigma_u"):
            check_positive(name, getattr(self, name))
        for name in ("trials", "lr_hidden", "lr_output"):
            check_positive(name, getattr(self, name), strict=False)
        if self.input_rate * self.dt / 1000 > 1:
            raise ConfigError(f"input_rate={self.input_rate} Hz exceeds one spike per dt={self.dt} ms")
        if self.target_image:
            from sgtheory.tasks.spike_match import read_target  # reading an image needs numpy and torch

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

    @classmethod
    def task_bytes(cls, configs: Sequence[SpikeMatchConfig]) -> float:
        """The runs train one after the other and keep their rows (at most every spike of the target, the input and
        the first and last epochs' rasters); one run's weights with their updates and 10 traces per trial, neuron and
        step. Sized for the generated target (TARGET_SHAPE), not a ``target_image``."""
        c = configs[0]
        outputs, T = TARGET_SHAPE
        rows = c.epochs + T * (outputs + c.n_input + 2 * c.raster_trials * (c.n_hidden + outputs))
        weights = 4 * (c.n_input * c.n_hidden + c.n_hidden * outputs)
        traces = 10 * c.trials * T * (c.n_input + c.n_hidden + outputs)
        return ROW_BYTES * len(configs) * rows + ITEMSIZE[c.dtype] * (weights + traces)


SPIKE_MATCH_HELP = """Spike-train matching: a 200 → 200 → N LIF network learns to emit an image as its output raster.

    Frozen Poisson input (--n-input units at --input-rate Hz); the target is --target-image (rows =
    output neurons, columns = time steps, dark pixels = spikes) or the generated default (200 × 189,
    27 % spikes). --method superspike (deterministic), stochastic (escape noise, surrogate = its
    derivative) or multilayerspiker; --learning rule (the hand-derived updates of Gygax & Zenke) or bptt
    (autograd through time with Adam on the van Rossum distance; deterministic spikes use --surrogate).
    Rows kind=epoch: van_rossum, l2, rate_hidden, rate_output (Hz), bin_variability_hidden/_output and
    the *_valid measures of a pass with the other stochasticity; rows kind=spike: rasters (layer, trial,
    time in ms, neuron) of the target, the input and the first and last epoch.

    Example: sgtheory spike-match --method stochastic --epochs 1500 --seeds 17
"""  # the CLI help of `sgtheory spike-match`
