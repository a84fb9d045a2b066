"""``sgtheory conservative-check``: its config and help; the run is
:func:`sgtheory.experiments.conservative.conservative_check`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sgtheory.config import check_choice, check_counts, check_positive
from sgtheory.errors import ConfigError
from sgtheory.experiments.configs.network import MODELS, TASKS, TRAINING_STATES, NetworkConfig
from sgtheory.experiments.configs.sigmoid_bias import LOOP_DIRECTIONS
from sgtheory.memory import ROW_BYTES

CHUNK = 100  # loop points of a recurrent network evaluated together (as realizations)


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
        check_choice("directions", self.directions, LOOP_DIRECTIONS)
        check_choice("task", self.task, TASKS)
        check_positive("beta", self.beta)
        check_positive("radius", self.radius)
        if self.points < 8:
            raise ConfigError(f"points={self.points} must be >= 8")
        if self.landscape_points < 0 or self.landscape_points == 1:
            raise ConfigError(f"landscape_points={self.landscape_points} must be 0 (none) or >= 2")
        check_counts(self, positive=("batch", "T", "delay"))
        if self.delay >= self.T:
            raise ConfigError(f"delay={self.delay} must be smaller than the sequence length T={self.T}")
        if self.task == "xor" and self.delay % 2:
            raise ConfigError(f"delay={self.delay} is odd; the XOR task needs an even d")

    @property
    def base_point(self) -> tuple[float, ...]:
        return (self.w, self.v1, self.v2, self.u1, self.u2)

    @classmethod
    def task_bytes(cls, configs: Sequence[ConservativeConfig]) -> float:
        """The runs compute one after the other and keep their rows. Sigmoid: 4 rows per loop point and 2 per
        landscape point, with 20 numbers per point. Recurrent networks: the loop's points, tangents and gradients
        (points × the weight count), and CHUNK networks (their weights and the training graph, see TrainConfig)."""
        c, R = configs[0], len(configs)
        if c.model == "sigmoid":
            points = c.points + c.landscape_points**2
            return ROW_BYTES * R * (4 * c.points + 2 * c.landscape_points**2) + c.itemsize * 20 * points
        weights = c.N * (c.N + 3) + 1
        chunk = min(CHUNK, c.points) * (4 * weights + c.T * c.batch * c.state_dim * TRAINING_STATES)
        return ROW_BYTES * R * 2 * c.points + c.itemsize * (3 * c.points * weights + chunk)


CONSERVATIVE_CHECK_HELP = """Line integral of the SG field around a closed loop in a plane of parameter space.

    A gradient field integrates to zero around every loop; a non-zero integral shows that the SGs are
    not the gradient of any loss. --model sigmoid loops the five-parameter network (forward steepness
    --beta) in the plane of --directions around (--w ... --u2), next to the exact gradient of the
    smoothed network (β = --slope); --model tanh, binary or lif loops the task loss of one fixed batch of
    that recurrent network in a random plane of its weights (seeded; tanh has exact gradients).
    Writes quantity = output, integrated_sg (running integral, per loop step and angle), for sigmoid
    also smoothed_output, integrated_exact and the landscapes, and per run loop_integral, loop_sum
    (without ds, as the paper), exact_loop_integral and relative_loop_integral (loop integral / ∮|t·SG|ds).

    Example: sgtheory conservative-check --model lif --surrogate fast_sigmoid --slope 1 --seeds 0-4
"""  # the CLI help of `sgtheory conservative-check`
