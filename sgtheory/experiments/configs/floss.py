"""``sgtheory floss``: its config and help; the run is :func:`sgtheory.experiments.lyapunov.floss`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sgtheory.config import check_counts
from sgtheory.errors import ConfigError
from sgtheory.experiments.configs.network import FlossingConfig, gf_transient
from sgtheory.memory import ROW_BYTES


@dataclasses.dataclass(frozen=True)
class FlossConfig(FlossingConfig):
    """A flossing run (figure R1): λ_1..λ_k per flossing epoch and the spectrum before and after."""

    epochs: int = 150  # flossing epochs (one fresh input sequence and one Adam step each)
    spectrum_nle: int = 0  # exponents of the spectra before and after flossing (0: all, N or 2N for LIF)
    spectrum_T: int = 1000  # steps of the before/after spectra (transient 10 + ceil(T/10))
    jacobian_T: int = 0  # steps of the measured long-term Jacobian before and after flossing (0: not measured)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_counts(self, non_negative=("epochs",))
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

    @classmethod
    def task_bytes(cls, configs: Sequence[FlossConfig]) -> float:
        """R realizations: the parameters (J: R·N²) with their gradients and Adam moments and the rows (λ_i per epoch,
        the spectra, log σ_i per Jacobian step), plus the largest of a flossing step's backprop, the before/after
        spectrum (drive and running λ of every step, the tangent space with its product and QR factors) and the
        long-term Jacobian (in float64: a copy of the model, R·D² basis, its singular values and their history)."""
        c, R = configs[0], len(configs)
        D = c.state_dim
        weights = c.itemsize * 4 * R * c.N**2
        rows = R * ((c.epochs + 1) * c.nle + 2 * c.spectrum_k + 2 * (c.jacobian_T + 1) * D)
        spectrum = c.itemsize * (R * c.spectrum_T * (c.N + c.spectrum_k) + 4 * R * c.spectrum_k * D)
        jacobian = 8 * R * (c.N**2 + 3 * D**2 + (c.jacobian_T + 1) * D) if c.jacobian_T else 0
        return weights + ROW_BYTES * rows + max(c.itemsize * c.flossing_elements(R), spectrum, jacobian)


FLOSS_HELP = """Flossing: push the first --nle Lyapunov exponents towards --floss-target.

    Each flossing epoch draws a fresh input sequence of --floss-T steps, estimates λ_1..λ_k and takes
    one Adam step (--floss-lr) on (1/k) Σ (λ_i - λ*)² over the recurrent weights, input weights and
    bias. Writes rows phase=floss (λ_i per epoch; epoch 0 = before flossing) and phase=before/after
    (--spectrum-nle exponents over --spectrum-T steps, the same input for both); with --jacobian-T t,
    also phase=jacobian_before/jacobian_after: log10 σ_i (index i, step 0..t) of the measured long-term
    Jacobian D_t⋯D_1 along the first t steps of that input (float64).

    Example: sgtheory floss --slope 0.5 --nle 1 --epochs 150 --seeds 0-8
"""  # the CLI help of `sgtheory floss`
