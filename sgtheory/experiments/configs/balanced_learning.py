"""``sgtheory balanced-learning``: its config and help; the run is
:func:`sgtheory.experiments.balanced_learning.balanced_learning`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from sgtheory.config import RunConfig, check_choice, check_counts, check_positive, stable_hash
from sgtheory.errors import ConfigError
from sgtheory.experiments.configs.balanced import INPUT_TYPES
from sgtheory.memory import ROW_BYTES


@dataclasses.dataclass(frozen=True)
class BalancedLearningConfig(RunConfig):
    """Teacher–student learning with the balanced ReLU network (Engelken et al. 2022, Fig. 7; balanced spec §2.7,
    decision D7; τ = 1, times in τ, rates in 1/τ). The teacher is the network of ``sgtheory balanced`` (K = N):
    dh_i/dt = −h_i + Σ_j J_ij relu(h_j) + √N·I0 + I1·sin(2πft + θ_i), J_ij ~ N(−√N·J0/N, gain²/N), θ_i = 0 (common) or
    i.i.d. uniform (independent). The student has the same architecture (its own couplings drawn from the same law,
    the drive √N·I0) but no sinusoid; full-FORCE trains its couplings by RLS so that its recurrent input matches the
    teacher's recurrent + sinusoidal input, and a linear readout z = w·relu(h^S) to the target A·sin(2πft)
    (:mod:`sgtheory.functional.force`). Test: the student runs autonomously for ``test_periods`` periods; error =
    mean((z − target)²)/var(target). Training runs in epochs of ``train_periods`` periods and stops once the test
    error is below ``stop_error`` or after ``max_epochs``.

    From the paper (caption): N = 500, g = 2, I0 = J0 = 1, f = 0.2/τ for the input and the target, ReLU in both
    networks, stop at 10⁻². Inferred / chosen here (D7): the method (full-FORCE with RLS), the target (a sinusoid of the
    input's frequency, amplitude 1, phase 0), α = 1, an update every 2 Euler steps (0.125 τ), dt = 1/16 (as
    ``balanced``), epochs of 4 periods (20 τ) and tests of 10 periods (50 τ, long against 1/λ1 of a weakly chaotic
    student), at most 20 epochs, a 30 τ teacher transient, the student starting in the teacher's state with couplings
    from the same law and a zero readout, and the teacher's λ1 over 100 τ (QR every 0.5 τ) by ``sgtheory balanced``'s
    simulation on the same network."""

    input_type: str = "common"  # common (θ_i = 0) | independent (θ_i uniform, drawn from the seed as in balanced)
    N: int = 500  # units of teacher and student
    gain: float = 2.0  # g: std of the couplings is gain/√N
    J0: float = 1.0  # mean-coupling strength (mean −√N·J0/N)
    I0: float = 1.0  # constant drive per √N
    I1: float = 0.0  # amplitude of the teacher's sinusoidal input
    f: float = 0.2  # frequency of the input and of the target (1/τ)
    dt: float = 0.0625  # Euler step (τ)
    transient: float = 30.0  # τ the teacher relaxes before training (and before its λ1 is measured)
    lambda_duration: float = 100.0  # τ over which the teacher's λ1 is measured (0: not measured)
    t_ons: float = 0.5  # τ between re-orthonormalisations for λ1
    alpha: float = 1.0  # RLS regulariser: P_0 = 1/α
    rls_every: int = 2  # Euler steps between RLS updates
    train_periods: int = 4  # input periods per training epoch
    test_periods: int = 10  # input periods of each autonomous test (50 τ at f = 0.2)
    max_epochs: int = 20  # training epochs at most
    stop_error: float = 0.01  # training stops once the test error is below this (caption: 10⁻²)
    target_amplitude: float = 1.0  # A of the target A·sin(2πft)
    record_every: float = 0.125  # τ between trace samples of the last test (0: no traces)
    units: int = 2  # units whose teacher and student rates are traced (the most active teacher units at the start)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("input_type", self.input_type, INPUT_TYPES)
        check_counts(self, positive=("N", "rls_every", "train_periods", "test_periods", "max_epochs"),
                     non_negative=("units",))
        for name in ("gain", "J0", "I0", "f", "dt", "t_ons", "alpha", "stop_error", "target_amplitude"):
            check_positive(name, getattr(self, name))
        for name in ("I1", "transient", "lambda_duration", "record_every"):
            check_positive(name, getattr(self, name), strict=False)
        if self.dt >= 1:
            raise ConfigError(f"dt={self.dt} must be below 1 (τ)")
        if self.units > self.N:
            raise ConfigError(f"units={self.units} exceeds N={self.N}")
        if self.f * self.dt > 0.25:
            raise ConfigError(f"f={self.f} with dt={self.dt}: fewer than 4 Euler steps per period; lower f or dt")
        if self.lambda_duration and self.t_ons > self.lambda_duration:
            raise ConfigError(f"t_ons={self.t_ons} exceeds lambda_duration={self.lambda_duration}")

    @property
    def sqrt_K(self) -> float:
        """√N: the fully connected balanced network (``balanced``'s K = N), so that its coupling helpers apply."""
        return math.sqrt(self.N)

    @property
    def period_steps(self) -> int:
        """Euler steps per input period 1/f (rounded)."""
        return max(1, round(1.0 / (self.f * self.dt)))

    def batch_key(self) -> str:
        """The runs of one seed that differ only by I1 and input type form one task: the teacher's λ1 of all of them
        is one batched ``balanced`` simulation on the seed's network; the training runs one after the other."""
        d = self.to_dict()
        for key in ("I1", "input_type"):
            d.pop(key)
        return stable_hash(d)

    @classmethod
    def task_bytes(cls, configs: Sequence[BalancedLearningConfig]) -> float:
        """The teacher's couplings, the student's couplings, readout and P (≈ 3 N² float64 live, twice during an
        update), the batched λ1 simulation (N² + R·8·N) and the rows (epochs, traces)."""
        c, R = configs[0], len(configs)
        samples = int(c.test_periods / (c.f * c.record_every)) if c.record_every else 0
        rows = R * (2 * c.max_epochs + 1 + samples * (2 + 2 * c.units)) * ROW_BYTES
        return 8 * (6 * c.N * c.N + R * 8 * c.N) + rows


BALANCED_LEARNING_HELP = """Teacher–student learning in balanced ReLU rate networks (full-FORCE/RLS).

    Teacher: dh/dt = −h + J relu(h) + √N·I0 + I1·sin(2πft + θ_i), --input-type common (θ_i = 0)
    or independent (θ_i uniform), the network of `sgtheory balanced`. Student: the same
    architecture without the sinusoid; RLS (P_0 = 1/--alpha, every --rls-every steps) trains its
    couplings so that its recurrent input matches the teacher's recurrent + sinusoidal input, and a
    readout z = w·relu(h) to --target-amplitude·sin(2πft). Epochs of --train-periods periods, each
    followed by an autonomous test of --test-periods periods (error mean((z − target)²)/var(target));
    stop below --stop-error or after --max-epochs. Rows: quantity=lambda1 (the teacher's, 1/τ),
    test_error and train_error (epoch), target, output, teacher_rate, student_rate (index: unit,
    time: the last test); every row carries teacher_lambda1 (and its standard error
    teacher_lambda1_se, from 10 τ blocks), final_error, epochs_trained.

    Example: sgtheory balanced-learning --N 200 --set "I1=[0,5,15]" --input-type common --seeds 0
"""  # the CLI help of `sgtheory balanced-learning`
