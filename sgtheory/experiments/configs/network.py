"""Settings of the batched recurrent networks on the delayed tasks (flossing spec §2, §4, §5), shared by ``train``,
``lyap``, ``floss`` and ``conservative-check``; the networks themselves are built in
:mod:`sgtheory.experiments.network`."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from sgtheory.choices import DTYPES, ITEMSIZE, SURROGATES, surrogate_scale
from sgtheory.config import RunConfig, check_choice, check_counts, check_positive, parse_scale
from sgtheory.errors import ConfigError

if TYPE_CHECKING:
    from sgtheory.functional.surrogate import Surrogate
    from sgtheory.models.rnn import RNNInit

TASKS = ("xor", "copy")
MODELS = ("tanh", "binary", "lif")
INITS = ("gaussian", "orthogonal")
FLOSS_SCHEDULES = ("none", "pre", "pre+inter", "adaptive")

# Memory estimates (``task_bytes``), calibrated against peak RSS (README, Memory): tensors of size R·batch·D that
# backprop through a training epoch keeps per step (drive, state, local field, surrogate input, outputs, ...), of size
# R·k·D that backprop through a flossing step keeps per step (tangent space, its product, the QR factors), and copies
# of J while training (parameter, gradient, Adam's moments and update, clipping, the initialisation's copies).
TRAINING_STATES = 6
FLOSSING_SPACES = 8
WEIGHT_COPIES = 9


def gf_transient(steps: int) -> int:
    """Steps discarded before exponents accumulate: 10 + ⌈steps/10⌉ (Engelken's GF convention, decision D3)."""
    return 10 + math.ceil(steps / 10)


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
        check_choice("model", self.model, self.MODELS)
        check_choice("init", self.init, INITS)
        check_choice("dtype", self.dtype, DTYPES)
        check_choice("surrogate", self.surrogate, tuple(SURROGATES))
        try:
            resolved = surrogate_scale(self.surrogate, self.slope, parse_scale(self.scale))
        except ValueError as err:
            raise ConfigError(str(err)) from None
        object.__setattr__(self, "scale", str(resolved))  # so equal surrogates get equal run ids
        check_counts(self, positive=("N",))
        check_counts(self, non_negative=("relax_steps",))
        for name in ("tau_mem", "tau_syn", "dt"):
            check_positive(name, getattr(self, name))
        for name in ("input_scale", "readout_scale", "bias_scale", "gain"):
            check_positive(name, getattr(self, name), strict=False)

    @property
    def state_dim(self) -> int:
        """Dimension of the dynamical state (tangent space): N, or 2N for the LIF state (v, I)."""
        return 2 * self.N if self.model == "lif" else self.N

    @property
    def itemsize(self) -> int:
        return ITEMSIZE[self.dtype]

    def rnn_init(self) -> RNNInit:
        """The distributions of the initial parameters (the LIF model centres the rows of J, spec §2.3)."""
        from sgtheory.models.rnn import RNNInit

        return RNNInit(self.N, self.gain, self.gbar, self.init, self.model == "lif", self.input_scale,
                       self.input_mean, self.readout_scale, self.readout_mean, self.bias_mean, self.bias_scale,
                       self.readout_offset)

    def spike_surrogate(self) -> Surrogate:
        """The surrogate of the binary/LIF spike function."""
        from sgtheory.functional.surrogate import make_surrogate

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
        from sgtheory.functional.surrogate import make_surrogate

        return make_surrogate(self.surrogate, self.floss_slope or self.slope, parse_scale(self.scale))

    def flossing_elements(self, runs: int) -> int:
        """Elements that backprop through one flossing step of ``runs`` realizations keeps."""
        return runs * self.floss_T * self.nle * self.state_dim * FLOSSING_SPACES

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.flosses and not 1 <= self.nle <= self.state_dim:
            raise ConfigError(f"nle={self.nle} must be between 1 and the state dimension {self.state_dim}")
        check_positive("floss_lr", self.floss_lr)
        check_positive("floss_slope", self.floss_slope, strict=False)
        if self.floss_T <= gf_transient(self.floss_T):
            raise ConfigError(f"floss_T={self.floss_T} leaves no step after its transient of 10 + ceil(floss_T/10)")
