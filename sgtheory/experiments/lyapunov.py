"""The ``lyap`` and ``floss`` experiments (flossing spec §4-§5; figure R1).

- :func:`lyap`: the spectrum, convergence of λ_1, Kaplan-Yorke dimension, entropy rate; damage spreading and the
  Derrida map of binary and LIF networks.
- :func:`floss`: flossing epochs (:class:`sgtheory.experiments.flossing.Flosser`) with the spectra, long-term
  Jacobians and damage curves before and after.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch

from sgtheory.config import check_counts
from sgtheory.errors import ConfigError
from sgtheory.experiments.base import RunResult, stop_failed
from sgtheory.experiments.damage import damage_curve, damage_draws, network_damage
from sgtheory.experiments.flossing import Flosser
from sgtheory.experiments.network import (
    FlossingConfig,
    NetworkConfig,
    build_model,
    gf_transient,
    initial_tangents,
    input_bits,
    network_jacobian,
    network_spectrum,
)
from sgtheory.functional.damage import derrida_map
from sgtheory.functional.lyapunov import (
    entropy_rate,
    kaplan_yorke_dimension,
)
from sgtheory.models.rnn import RNN


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


FLOSS_HELP = """Flossing: push the first --nle Lyapunov exponents towards --floss-target.

    Each flossing epoch draws a fresh input sequence of --floss-T steps, estimates λ_1..λ_k and takes
    one Adam step (--floss-lr) on (1/k) Σ (λ_i - λ*)² over the recurrent weights, input weights and
    bias. Writes rows phase=floss (λ_i per epoch; epoch 0 = before flossing) and phase=before/after
    (--spectrum-nle exponents over --spectrum-T steps, the same input for both); with --jacobian-T t,
    also phase=jacobian_before/jacobian_after: log10 σ_i (index i, step 0..t) of the measured long-term
    Jacobian D_t⋯D_1 along the first t steps of that input (float64).

    Example: sgtheory floss --slope 0.5 --nle 1 --epochs 150 --seeds 0-8
"""  # the CLI help of `sgtheory floss`

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


@torch.no_grad()
def damage_rows(model: RNN, configs: Sequence[LyapConfig]) -> list[list[dict]]:
    """Each run's rows ``quantity = damage`` (``value`` = mean d_t over the trials at ``step`` t = 1..damage_horizon,
    ``index`` = 1 flipped unit) and ``quantity = derrida`` (``value`` = mean h1 at ``step`` 1 after flipping
    ``index`` = m = round(k N / derrida_points) units, ``h0`` = m/N), from the trials of :func:`damage_draws`
    after ``damage_after`` driven steps; no rows when both are off."""
    cfg = configs[0]
    if not (cfg.damage_horizon or cfg.derrida_points):
        return [[] for _ in configs]
    state0, bits, ranks = damage_draws(configs, cfg.damage_trials, cfg.damage_after + max(cfg.damage_horizon, 1),
                                       cfg.input_rate)
    if cfg.damage_after:
        state0 = model.run(model.drive(bits[: cfg.damage_after]), state0)[1]
    bits = bits[cfg.damage_after :]
    damage = network_damage(model, bits[: cfg.damage_horizon], state0, ranks == 0).double().mean(-1)
    counts = torch.tensor([round(k * cfg.N / cfg.derrida_points) for k in range(1, cfg.derrida_points + 1)])
    step, _, unpack = model.dynamics()
    masks = ranks < counts[:, None, None, None]
    h1 = derrida_map(step, unpack(state0), model.drive(bits[0]), masks, model.threshold).mean(-1)
    rows = [[{"quantity": "damage", "index": 1, "step": t, "value": d}
             for t, d in enumerate(damage[1:, r].tolist(), start=1)] for r in range(len(configs))]
    for r, run_rows in enumerate(rows):
        run_rows += [{"quantity": "derrida", "index": m, "step": 1, "h0": m / cfg.N, "value": h}
                     for m, h in zip(counts.tolist(), h1[:, r].tolist(), strict=True)]
    return rows


def _check_finite(results: list[RunResult], exponents: torch.Tensor, what: str) -> torch.Tensor:
    ok = torch.isfinite(exponents).all(dim=-1)
    for r in torch.nonzero(~ok).flatten().tolist():
        results[r].error = results[r].error or f"non-finite Lyapunov exponents in {what}"
    return ok


def lyap(configs: Sequence[LyapConfig], progress=None) -> list[RunResult]:
    """``sgtheory lyap``: rows ``quantity = exponent`` (index i, value λ_i), ``quantity = lambda1``
    (running λ_1 after ``step`` accumulated steps), and when asked ``quantity = damage`` (mean Hamming distance
    ``value`` in units ``step`` = t steps after one flipped output, t = 1..damage_horizon) and ``quantity =
    derrida`` (``value`` = h1 one step after flipping a fraction ``h0`` of the outputs), means over the damage
    trials; every row carries ky_dimension and entropy_rate."""
    cfg = configs[0]
    model = build_model(configs, 1)
    inputs = input_bits(configs, "lyap", 0, cfg.steps, cfg.input_rate)
    with torch.no_grad():
        spec = network_spectrum(model, inputs, initial_tangents(configs, cfg.k), cfg.effective_transient,
                                cfg.ons_interval)
    damage = damage_rows(model, configs)
    results = [RunResult(c, []) for c in configs]
    ok = _check_finite(results, spec.exponents, "the spectrum")
    ky, entropy = kaplan_yorke_dimension(spec.exponents), entropy_rate(spec.exponents)
    for r, result in enumerate(results):
        if not ok[r]:
            continue
        summary = {"ky_dimension": ky[r].item(), "entropy_rate": entropy[r].item(), "steps_accumulated": spec.steps}
        result.rows += [{"quantity": "exponent", "index": i + 1, "step": spec.steps, "value": lam, **summary}
                        for i, lam in enumerate(spec.exponents[r].tolist())]
        for j in range(cfg.trace_every - 1, len(spec.trace), cfg.trace_every):
            result.rows.append({"quantity": "lambda1", "index": 1, "step": (j + 1) * cfg.ons_interval,
                                "value": spec.trace[j, r, 0].item(), **summary})
        result.rows += [{**row, **summary} for row in damage[r]]
    if progress is not None:
        progress(1, {})
    return results


def floss(configs: Sequence[FlossConfig], progress=None) -> list[RunResult]:
    """``sgtheory floss``: rows ``phase = floss`` (epoch e, index i, λ_i estimated before update e+1;
    epoch 0 is the unflossed network), ``phase = before | after`` (the spectrum over ``spectrum_T``
    steps, the same input sequence for both), ``phase = jacobian_before | jacobian_after`` (log10 σ_i of the
    measured long-term Jacobian at ``step`` t ≤ ``jacobian_T``) and, for binary and LIF networks, ``phase =
    damage`` (mean Hamming distance ``step`` t = 1..40 steps after one flipped output, before flossing, halfway and
    after: ``epoch`` 0, epochs // 2, epochs)."""
    cfg = configs[0]
    model = build_model(configs, 1)
    results = [RunResult(c, []) for c in configs]
    spectrum_inputs = input_bits(configs, "spectrum", 0, cfg.spectrum_T)
    spectrum_Q0 = initial_tangents(configs, cfg.spectrum_k)

    def spectrum(phase: str) -> torch.Tensor:
        with torch.no_grad():
            spec = network_spectrum(model, spectrum_inputs, spectrum_Q0, gf_transient(cfg.spectrum_T),
                                    jacobian_surrogate=cfg.floss_surrogate())
        _check_finite(results, spec.exponents, f"the spectrum {phase} flossing")
        for r, result in enumerate(results):
            result.rows += [{"phase": phase, "epoch": 0 if phase == "before" else cfg.epochs, "index": i + 1,
                             "value": lam} for i, lam in enumerate(spec.exponents[r].tolist())]
        return spec.exponents

    def jacobian(phase: str) -> None:
        if cfg.jacobian_T == 0:
            return
        log_sigma = network_jacobian(model, spectrum_inputs[: cfg.jacobian_T], cfg.floss_surrogate()) / math.log(10)
        for r, result in enumerate(results):
            result.rows += [{"phase": f"jacobian_{phase}", "epoch": 0 if phase == "before" else cfg.epochs,
                             "step": t, "index": i + 1, "value": value}
                            for t, values in enumerate(log_sigma[:, r].tolist()) for i, value in enumerate(values)]

    def damage(epoch: int) -> None:
        if cfg.model == "tanh" or epoch not in (0, cfg.epochs // 2, cfg.epochs):
            return
        curve = damage_curve(model, configs, epoch)
        for r, result in enumerate(results):
            result.rows += [{"phase": "damage", "epoch": epoch, "step": t, "value": d}
                            for t, d in enumerate(curve[1:, r].tolist(), start=1)]

    spectrum("before")
    jacobian("before")
    flosser = Flosser(model, configs)
    alive = torch.ones(len(configs), dtype=torch.bool)
    for epoch in range(cfg.epochs + 1):
        damage(epoch)
        exponents, finite = flosser.step(alive, update=epoch < cfg.epochs)
        alive = stop_failed(results, alive, finite, f"non-finite flossing loss or gradient at flossing epoch {epoch}; "
                            "the run stopped there")
        for r in torch.nonzero(alive).flatten().tolist():
            results[r].rows += [{"phase": "floss", "epoch": epoch, "index": i + 1, "value": lam}
                                for i, lam in enumerate(exponents[r].tolist())]
        if progress is not None and epoch > 0:
            progress(epoch, {"lambda1": exponents[alive, 0].mean().item() if alive.any() else float("nan")})
    spectrum("after")
    jacobian("after")
    return results


