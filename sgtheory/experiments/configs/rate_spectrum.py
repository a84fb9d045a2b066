"""``sgtheory rate-spectrum``: its config and help; the run is :func:`sgtheory.experiments.rate_spectrum.rate_spectrum`.

A command of its own rather than new fields of ``lyap``: LyapConfig describes discrete-time networks driven by input
bits (model, task input rate, damage spreading, steps), whose fields mean nothing for an autonomous continuous-time
network with Euler step dt, durations in τ and exponents in 1/τ; and any new field would change the run_id of every
existing ``lyap`` run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from sgtheory.choices import DTYPES, ITEMSIZE
from sgtheory.config import RunConfig, check_choice, check_counts, check_positive
from sgtheory.errors import ConfigError
from sgtheory.memory import ROW_BYTES

PHIS = ("tanh", "relu")


@dataclasses.dataclass(frozen=True)
class RateSpectrumConfig(RunConfig):
    """Lyapunov spectrum of τ dh/dt = −h + J φ(h) + σ ξ(t), J_ij ~ N(0, gain²/N), J_ii = 0 (Engelken, Wolf & Abbott
    2023; sparseprop_balanced spec §3.2). Times in τ, exponents in 1/τ; dt = 1 is the discrete-time network
    h_{t+1} = J φ(h_t) (exponents per step)."""

    N: int = 200  # units
    gain: float = 2.0  # coupling strength g: std of J_ij is gain/√N
    phi: str = "tanh"  # nonlinearity: tanh | relu
    dt: float = 0.05  # Euler step (τ); 1: the discrete-time map
    nle: int = 0  # exponents to compute (0: all N)
    t_sim: float = 1000.0  # duration of the spectrum estimate (τ), the ONS transient included
    t_ons: float = 1.0  # interval between re-orthonormalisations (τ)
    t_warm: float = 100.0  # network transient before the tangent vectors start (τ)
    ons_transient: float = -1.0  # first part of t_sim not accumulated (τ); -1: t_sim/10 (reference convention)
    noise: float = 0.0  # input white-noise intensity σ (the step adds σ √dt ξ, the same for trajectory and tangents)
    brute_force: float = 0.0  # duration (τ) of the brute-force λ_max control after the spectrum (0: off)
    bootstrap: int = 1000  # bootstrap resamples of the local exponents for 95 % CIs (0: off)
    trace_every: float = 10.0  # record the running λ_1, λ_k/2, λ_k every this many τ of accumulation
    dtype: str = "float64"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("phi", self.phi, PHIS)
        check_choice("dtype", self.dtype, DTYPES)
        check_counts(self, positive=("N",), non_negative=("nle", "bootstrap"))
        check_positive("dt", self.dt)
        for name in ("gain", "t_sim", "t_ons", "trace_every"):
            check_positive(name, getattr(self, name))
        if self.nle > self.N:
            raise ConfigError(f"nle={self.nle} must be between 0 (all) and N={self.N}")
        if self.dt > 1:
            raise ConfigError(f"dt={self.dt} must be <= 1 (τ; 1 is the discrete-time map)")
        if not self.dt <= self.t_ons <= self.t_sim:
            raise ConfigError(f"t_ons={self.t_ons} must lie between dt={self.dt} and t_sim={self.t_sim}")
        for name in ("t_warm", "noise", "brute_force"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name}={value!r} must be a finite number >= 0")
        if self.ons_transient != -1 and not 0 <= self.ons_transient <= self.t_sim - self.t_ons:
            raise ConfigError(f"ons_transient={self.ons_transient} must be -1 (t_sim/10) or between 0 and "
                              f"t_sim - t_ons = {self.t_sim - self.t_ons}")

    @property
    def k(self) -> int:
        return self.nle or self.N

    @property
    def effective_ons_transient(self) -> float:
        return self.t_sim / 10 if self.ons_transient == -1 else self.ons_transient

    @property
    def itemsize(self) -> int:
        return ITEMSIZE[self.dtype]

    @classmethod
    def task_bytes(cls, configs: Sequence[RateSpectrumConfig]) -> float:
        """R realizations batched: J (R·N²), the tangent space with its product and QR factors (4·R·k·N), the local
        exponents of every ONS interval (R·k·t_sim/t_ons) and the bootstrap means (resamples·R·k), and the rows."""
        c, R = configs[0], len(configs)
        intervals = c.t_sim / c.t_ons
        numbers = R * (c.N**2 + 4 * c.k * c.N + c.k * (intervals + c.bootstrap))
        rows = R * (c.k + 3 * c.t_sim / c.trace_every + 1)
        return c.itemsize * numbers + ROW_BYTES * rows


RATE_SPECTRUM_HELP = """Lyapunov spectrum of a chaotic continuous-time rate network (Engelken, Wolf & Abbott 2023).

    τ dh/dt = −h + J φ(h) + σ ξ(t), J_ij ~ N(0, gain²/N), J_ii = 0, Euler step --dt (τ; --dt 1 is the
    discrete-time map h ← J φ(h)). After --t-warm τ, --nle exponents (0: all N) are computed by tangent
    propagation with a QR every --t-ons τ over --t-sim τ, discarding the first --ons-transient τ
    (default t_sim/10); exponents in 1/τ. Writes rows quantity=exponent (index i, i_over_N, value λ_i,
    ci_low/ci_high: bootstrap 95 % CI), quantity=running (index i, time, value: running λ_i) and, with
    --brute-force T, quantity=brute_force (λ_max of a perturbed copy over T τ, with the Jacobian λ_1 of
    the same stretch). Every row carries ky_dimension, entropy_rate (Σ positive λ, nats/τ), lambda_sum
    and their per-N values.

    Example: sgtheory rate-spectrum --N 200 --gain 2 --seeds 0-2 --out spectrum.parquet
"""  # the CLI help of `sgtheory rate-spectrum`
