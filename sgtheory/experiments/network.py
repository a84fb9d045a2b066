"""Batched RNNs on the delayed tasks (flossing spec §2, §4): building them from their configs, drawing task batches
and input bits, and their Lyapunov spectra and long-term Jacobians. Shared by ``train``, ``lyap``, ``floss``,
``conservative-check`` and the flossing schedules."""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence

import torch

from sgtheory.config import RunConfig, check_choice, check_counts, check_positive, parse_scale
from sgtheory.errors import ConfigError
from sgtheory.experiments.base import DTYPES
from sgtheory.functional.lyapunov import Spectrum, long_term_singular_values, lyapunov_spectrum, orthonormal_system
from sgtheory.functional.surrogate import SHAPES, Surrogate, make_surrogate
from sgtheory.models.rnn import RNN, RNNInit, init_weights
from sgtheory.seeding import stream

TASKS = ("xor", "copy")
MODELS = ("tanh", "binary", "lif")
INITS = ("gaussian", "orthogonal")
FLOSS_SCHEDULES = ("none", "pre", "pre+inter", "adaptive")


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
        check_choice("surrogate", self.surrogate, tuple(SHAPES))
        try:
            resolved = self.spike_surrogate().resolved_scale
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

    def rnn_init(self) -> RNNInit:
        """The distributions of the initial parameters (the LIF model centres the rows of J, spec §2.3)."""
        return RNNInit(self.N, self.gain, self.gbar, self.init, self.model == "lif", self.input_scale,
                       self.input_mean, self.readout_scale, self.readout_mean, self.bias_mean, self.bias_scale,
                       self.readout_offset)

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
        check_positive("floss_lr", self.floss_lr)
        check_positive("floss_slope", self.floss_slope, strict=False)
        if self.floss_T <= gf_transient(self.floss_T):
            raise ConfigError(f"floss_T={self.floss_T} leaves no step after its transient of 10 + ceil(floss_T/10)")


def build_model(configs: Sequence[NetworkConfig], batch: int) -> RNN:
    """Initialise one realization per config (their seeds) and stack them into one batched RNN whose
    relaxed initial state has ``batch`` columns."""
    cfg = configs[0]
    dtype = DTYPES[cfg.dtype]
    per_run = [init_weights(c.rnn_init(), stream(c.seed, "net"), dtype) for c in configs]
    weights = {k: torch.stack([w[k] for w in per_run]) for k in per_run[0]}
    x0 = torch.stack([torch.randn(batch, cfg.state_dim, generator=stream(c.seed, "ic"), dtype=dtype)
                      for c in configs])
    lif_options = dict(tau_mem=cfg.tau_mem, tau_syn=cfg.tau_syn, dt=cfg.dt, threshold=cfg.threshold,
                       diff_reset=cfg.diff_reset)
    model = RNN(cfg.model, weights, x0, cfg.spike_surrogate(), **lif_options)
    with torch.no_grad():
        model.x0.copy_(model.relax(model.x0, cfg.relax_steps))
    return model


def input_bits(configs: Sequence[NetworkConfig], purpose: str, index: int, T: int, rate: float = 0.5) -> torch.Tensor:
    """Input sequences (T, R, 1, 1): bits ~ Bernoulli(rate) times the input amplitude, one stream per run."""
    dtype = DTYPES[configs[0].dtype]
    seqs = [(torch.rand(T, 1, 1, generator=stream(c.seed, purpose, index), dtype=dtype) < rate).to(dtype)
            * c.input_amplitude for c in configs]
    return torch.stack(seqs, dim=1)


def initial_tangents(configs: Sequence[NetworkConfig], k: int) -> torch.Tensor:
    """Orthonormal system Q0 (R, k, D) of every run from its ``ons`` stream (the reference sONS seed)."""
    dtype = DTYPES[configs[0].dtype]
    return torch.stack([orthonormal_system((k, c.state_dim), stream(c.seed, "ons"), dtype) for c in configs])


def network_spectrum(model: RNN, inputs: torch.Tensor, Q0: torch.Tensor, transient: int,
                     ons_interval: int = 1, jacobian_surrogate=None) -> Spectrum:
    """Exponents of ``model`` (R realizations) along the trajectory driven by ``inputs`` (T, R, 1, S),
    starting from the first column of the relaxed initial state (detached: it is not flossed); the Jacobian
    uses ``jacobian_surrogate`` where given (default: the model's)."""
    step, tangent, unpack = model.dynamics(jacobian_surrogate)
    state0 = unpack(model.x0[:, :1].detach())
    return lyapunov_spectrum(step, tangent, state0, model.drive(inputs), Q0, transient, ons_interval)


@torch.no_grad()
def network_jacobian(model: RNN, inputs: torch.Tensor, jacobian_surrogate=None) -> torch.Tensor:
    """log σ_i(t) (natural log; (T + 1, R, D)) of the measured long-term Jacobian D_t⋯D_1 of ``model`` along the
    trajectory driven by ``inputs`` (T, R, 1, S) from the first column of the initial state, computed in float64
    whatever the model's dtype (the surrogate Jacobian for binary and LIF units, with ``jacobian_surrogate`` where
    given)."""
    model64 = copy.deepcopy(model).double()
    step, tangent, unpack = model64.dynamics(jacobian_surrogate)
    state0 = unpack(model64.x0[:, :1])
    dim = model64.x0.shape[-1]
    return long_term_singular_values(step, tangent, state0, model64.drive(inputs.double()), dim)
