"""``sgtheory balanced``: its config and help; the run is :func:`sgtheory.experiments.balanced.balanced`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from sgtheory.choices import DTYPES, ITEMSIZE
from sgtheory.config import RunConfig, check_choice, check_counts, check_positive, stable_hash
from sgtheory.errors import ConfigError
from sgtheory.memory import ROW_BYTES

METHODS = ("simulation", "dmft")
INPUT_TYPES = ("common", "independent")
LAG_STEP = 0.25  # τ between the lags of the simulated autocovariance


@dataclasses.dataclass(frozen=True)
class BalancedConfig(RunConfig):
    """The balanced ReLU rate network driven by a sinusoid (balanced spec §2.2; τ = 1, times in τ, rates in 1/τ):
    dh_i/dt = −h_i + Σ_j J_ij relu(h_j) + √K·I0 + I1·sin(2πft + θ_i), J_ij ~ N(−√K·J0/N, gain²/N), θ_i = 0 (common
    input) or i.i.d. uniform on [0, 2π) (independent input, decision D6). Simulated (Euler, dt) or by the DMFT of the
    same Euler recursion (:mod:`sgtheory.functional.dmft`)."""

    method: str = "simulation"  # simulation | dmft
    input_type: str = "common"  # common (θ_i = 0) | independent (θ_i uniform, drawn from the seed)
    N: int = 500  # units (the DMFT uses N only through √K)
    K: int = 0  # tightness of balance: drive √K·I0, mean coupling −√K·J0/N (0: K = N, fully connected)
    gain: float = 2.0  # g: std of the couplings is gain/√N
    J0: float = 1.0  # mean-coupling strength
    I0: float = 1.0  # constant drive per √K
    I1: float = 0.0  # amplitude of the sinusoidal input
    f: float = 0.2  # its frequency (1/τ)
    dt: float = 0.0625  # Euler step (τ), the DMFT's too (decision D10)
    transient: float = 50.0  # τ simulated before anything is measured
    duration: float = 150.0  # τ over which λ, rates and autocorrelations are measured
    t_ons: float = 0.5  # τ between re-orthonormalisations (the local exponent's interval)
    nle: int = 1  # Lyapunov exponents (simulation)
    record_every: float = 0.5  # τ between recorded rate / local-exponent / unit samples (0: no time series)
    units: int = 3  # units whose rates relu(h_i) are recorded
    max_lag: float = 10.0  # τ: autocorrelation lags 0..max_lag (0: none)
    dmft_steps: int = 2048  # DMFT: Euler steps (λ1 from the second half)
    dmft_band: int = 256  # DMFT: lags kept in the two-time band
    dtype: str = "float64"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("method", self.method, METHODS)
        check_choice("input_type", self.input_type, INPUT_TYPES)
        check_choice("dtype", self.dtype, DTYPES)
        check_counts(self, positive=("N", "nle", "dmft_steps", "dmft_band"), non_negative=("K", "units"))
        for name in ("gain", "J0", "I0", "dt", "duration", "t_ons"):
            check_positive(name, getattr(self, name))
        for name in ("I1", "f", "transient", "record_every", "max_lag"):
            check_positive(name, getattr(self, name), strict=False)
        if self.dt >= 1:
            raise ConfigError(f"dt={self.dt} must be below 1 (τ)")
        if self.nle > self.N:
            raise ConfigError(f"nle={self.nle} exceeds N={self.N}")
        if self.units > self.N:
            raise ConfigError(f"units={self.units} exceeds N={self.N}")
        if self.t_ons > self.duration:
            raise ConfigError(f"t_ons={self.t_ons} exceeds duration={self.duration}")
        if self.method == "dmft" and self.gain <= 1:
            raise ConfigError(f"gain={self.gain}: the DMFT's initial condition needs gain > 1")

    @property
    def sqrt_K(self) -> float:
        return math.sqrt(self.K or self.N)

    def batch_key(self) -> str:
        """Simulations of one seed that differ only by I1 and input type run as one batch: the seed's couplings step
        all of them in one GEMM, and its λ1(I1) curves share their network. Seeds are separate tasks (parallel
        workers); every DMFT run is its own task."""
        if self.method == "dmft":
            return self.run_id()
        d = self.to_dict()
        for key in ("I1", "input_type"):
            d.pop(key)
        return stable_hash(d)

    @classmethod
    def task_bytes(cls, configs: Sequence[BalancedConfig]) -> float:
        """Simulation: the couplings of each seed (N² each), the states, tangents and their products (4·R·nle·N), the
        autocorrelation ring buffer (R·N·lags) and the rows; DMFT: its time series and band (a few MB)."""
        c, R = configs[0], len(configs)
        if c.method == "dmft":
            return 8 * 20 * (c.dmft_steps + c.dmft_band)
        seeds = len({cfg.seed for cfg in configs})
        lags = int(c.max_lag / LAG_STEP) + 1 if c.max_lag else 0
        samples = int(c.duration / c.record_every) if c.record_every else 0
        rows = R * (samples * (2 + c.units) + lags + c.nle) * ROW_BYTES
        return ITEMSIZE[c.dtype] * (seeds * c.N * c.N + R * (4 * c.nle * c.N + c.N * (lags + 4))) + rows


BALANCED_HELP = """Chaos in the balanced ReLU rate network with common or independent sinusoidal input.

    dh/dt = −h + J relu(h) + √K·I0 + I1·sin(2πft + θ_i); J_ij ~ N(−√K·J0/N, gain²/N);
    --input-type common (θ_i = 0) or independent (θ_i uniform). --method simulation (Euler dt,
    --nle exponents by QR every --t-ons τ after --transient τ, in 1/τ; the I1 values and input
    types of a seed are batched on its network) or dmft (the non-stationary mean-field theory of
    the same Euler recursion, --dmft-steps, --dmft-band). Rows: quantity=lambda1 (index i, value
    λ_i), local_lambda (time, the local exponent of an ONS interval), rate (time, population rate
    ν, and drive: the external input of a unit with θ = 0), unit_rate (index, time), autocorr
    (lag, the autocovariance of h − ⟨h⟩ averaged over units), dmft_u (DMFT: time, ½ ln K(t, t));
    every row carries rate_mean, h_mean, h_var.

    Example: sgtheory balanced --set I1=[0,5,10,15,20] --input-type common --seeds 0-1
"""  # the CLI help of `sgtheory balanced`
