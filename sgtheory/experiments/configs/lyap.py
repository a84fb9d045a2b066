"""``sgtheory lyap``: its config and help; the run is :func:`sgtheory.experiments.lyapunov.lyap`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sgtheory.config import check_counts
from sgtheory.errors import ConfigError
from sgtheory.experiments.configs.network import NetworkConfig, gf_transient


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
        check_counts(self, positive=("steps", "ons_interval", "trace_every", "damage_trials"))
        check_counts(self, non_negative=("damage_horizon", "damage_after", "derrida_points"))
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

    @classmethod
    def task_bytes(cls, configs: Sequence[LyapConfig]) -> float:
        """R realizations, no backprop: J (R·N², and its initial copy), the drive and the running λ of every step
        (R·steps·(N + k)), the tangent space with its product and QR factors (4·R·k·D) and the damage trials (their
        drive and the two trajectories' states, R·trials·(damage_after + horizon)·N each; the Derrida masks)."""
        c, R = configs[0], len(configs)
        weights = 2 * R * c.N**2
        trajectory = R * c.steps * (c.N + c.k) + 4 * R * c.k * c.state_dim
        damage = 0
        if c.damage_horizon or c.derrida_points:
            damage = R * c.damage_trials * c.N * (3 * (c.damage_after + max(c.damage_horizon, 1)) + c.derrida_points)
        return c.itemsize * (weights + max(trajectory, damage))


LYAP_HELP = """Lyapunov spectrum of a tanh, binary (surrogate) or LIF (surrogate, 2N-dimensional) RNN.

    The network is driven by random input bits (--input-rate, --input-amplitude) from its relaxed
    initial state; --nle exponents are computed by tangent propagation with a QR every
    --ons-interval steps, discarding --transient steps (default 10 + steps/10), in 1/step.
    Writes rows quantity=exponent (index, value) and quantity=lambda1 (the running estimate of
    λ_1 at each recorded step), each with the Kaplan-Yorke dimension and the entropy rate.
    Binary and LIF networks also give damage spreading of their binary outputs: --damage-horizon t
    writes rows quantity=damage (value = mean Hamming distance, in units, step = 1..t steps after
    one unit's output is flipped), --derrida-points P rows quantity=derrida (value = h1, the
    normalised distance one step after flipping a fraction h0 = k/P of the outputs), each over
    --damage-trials trials that run --damage-after driven steps before the flip.

    Example: sgtheory lyap --model binary --slope 0.5 --nle 80 --seeds 0-8
"""  # the CLI help of `sgtheory lyap`
