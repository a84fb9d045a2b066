"""Lyapunov spectra of the task networks, flossing runs and flossing schedules (flossing spec §4-§6).

- :func:`network_spectrum`: the first k exponents of a batched RNN driven by random input bits.
- :func:`lyap`: the ``sgtheory lyap`` experiment (spectrum, convergence of λ_1, Kaplan-Yorke
  dimension, entropy rate; damage spreading and the Derrida map of binary and LIF networks).
- :class:`Flosser`: one flossing step = a fresh input sequence (B = 1, ``floss_T`` steps, starting
  from the first column of the relaxed initial state), λ_1..λ_k over it (transient 10 + ⌈Tp/10⌉),
  L = (1/k) Σ (λ_i - λ*)², and one Adam step on J, the input weights and the bias only (spec §5).
- :func:`floss`: the ``sgtheory floss`` experiment (figure R1).
- :class:`FlossingSchedule`: the ``train --floss`` schedules, called before each training epoch.

Realizations (seeds) run batched; the flossing Adam keeps a step count per realization, so a
realization that skips a step (adaptive schedule, or a non-finite loss) is left exactly as it was.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch

from sgtheory.config import FlossConfig, FlossingConfig, LyapConfig, NetworkConfig, TrainConfig, gf_transient
from sgtheory.experiments.damage import damage_curve, damage_draws, network_damage
from sgtheory.experiments.train import DTYPES, RunResult, build_model
from sgtheory.functional.damage import derrida_map
from sgtheory.functional.lyapunov import (
    Spectrum,
    entropy_rate,
    flossing_loss,
    kaplan_yorke_dimension,
    long_term_singular_values,
    lyapunov_spectrum,
    orthonormal_system,
)
from sgtheory.models.rnn import RNN
from sgtheory.optim import Adam, finite_per_realization
from sgtheory.seeding import stream


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


class Flosser:
    """Flossing steps of a batched RNN: its own Adam over (J, w_in, b), persistent across phases (spec §5)."""

    def __init__(self, model: RNN, configs: Sequence[FlossingConfig]):
        cfg = configs[0]
        self.model, self.configs, self.cfg = model, list(configs), cfg
        self.adam = Adam([model.J, model.w_in, model.b], cfg.floss_lr)
        self.Q0 = initial_tangents(configs, cfg.nle)
        self.index = 0  # flossing steps taken so far: each draws its own input sequence

    def estimate(self) -> Spectrum:
        """λ_1..λ_k on a fresh input sequence of ``floss_T`` steps (differentiable)."""
        self.index += 1
        inputs = input_bits(self.configs, "floss", self.index, self.cfg.floss_T)
        return network_spectrum(self.model, inputs, self.Q0, gf_transient(self.cfg.floss_T),
                                jacobian_surrogate=self.cfg.floss_surrogate())

    def step(self, active: torch.Tensor | None = None, update: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Estimate the exponents and (if ``update``) take one Adam step on the flossing loss for the
        realizations in ``active`` (default: all). Returns the exponents (R, k) and the (R,) mask of
        realizations whose loss and gradients were finite."""
        R = len(self.configs)
        active = torch.ones(R, dtype=torch.bool) if active is None else active
        if not update:
            with torch.no_grad():
                exponents = self.estimate().exponents
            return exponents, torch.isfinite(exponents).all(dim=-1)
        self.adam.zero_grad()
        exponents = self.estimate().exponents
        flossing_loss(exponents, self.cfg.nle, self.cfg.floss_target).backward()
        finite = finite_per_realization(torch.isfinite(exponents.detach()).all(dim=-1), self.adam.params)
        self.adam.step(active & finite)
        return exponents.detach(), finite


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
        for r in torch.nonzero(alive & ~finite).flatten().tolist():
            results[r].error = f"non-finite flossing loss or gradient at flossing epoch {epoch}; the run stopped there"
        alive &= finite
        for r in torch.nonzero(alive).flatten().tolist():
            results[r].rows += [{"phase": "floss", "epoch": epoch, "index": i + 1, "value": lam}
                                for i, lam in enumerate(exponents[r].tolist())]
        if progress is not None and epoch > 0:
            progress(epoch, {"lambda1": exponents[alive, 0].mean().item() if alive.any() else float("nan")})
    spectrum("after")
    jacobian("after")
    return results


class FlossingSchedule:
    """The ``train --floss`` schedules (decision D6), as a ``before_epoch(model, epoch)`` hook:

    - ``pre``: ``floss_pre`` flossing steps before epoch 1;
    - ``pre+inter``: plus ``floss_steps`` steps at every epoch that is a multiple of ``floss_every``,
      for at most ``floss_phases`` phases;
    - ``adaptive``: as ``pre+inter``, but in an inter-flossing phase a realization takes a step only while
      max_i |λ_i - λ*| over its flossed exponents exceeds ``floss_tol``; a phase counts for a realization
      only if it took a step.

    Returns the (R,) mask of realizations whose flossing stayed finite; ``steps_taken`` and ``lambda1``
    (the latest estimate of λ_1, NaN before any) are recorded with the training rows as
    ``floss_steps_taken`` and ``floss_lambda1``.
    """

    def __init__(self, model: RNN, configs: Sequence[TrainConfig]):
        self.cfg = configs[0]
        self.flosser = Flosser(model, configs)
        R = len(configs)
        self.steps_taken = torch.zeros(R, dtype=torch.long)
        self.phases = torch.zeros(R, dtype=torch.long)
        self.lambda1 = torch.full((R,), float("nan"))

    def _phase(self, steps: int, eligible: torch.Tensor, tolerance: float | None = None) -> tuple[torch.Tensor,
                                                                                                    torch.Tensor]:
        """Up to ``steps`` flossing steps for the ``eligible`` realizations; with a ``tolerance``, a realization
        stops once its latest estimate has every flossed exponent within it. Returns (finite, took a step)."""
        finite = torch.ones_like(eligible)
        took = torch.zeros_like(eligible)
        deviation = None
        if tolerance is not None:
            with torch.no_grad():
                deviation = (self.flosser.estimate().exponents - self.cfg.floss_target).abs().amax(dim=-1)
        for _ in range(steps):
            active = eligible & finite
            if deviation is not None:
                active &= deviation > tolerance
            if not active.any():
                break
            exponents, ok = self.flosser.step(active)
            finite &= ok
            took |= active & ok
            self.steps_taken += (active & ok).long()
            self.lambda1 = torch.where(active & ok, exponents[:, 0].to(self.lambda1.dtype), self.lambda1)
            if deviation is not None:
                new = (exponents - self.cfg.floss_target).abs().amax(dim=-1).to(deviation.dtype)
                deviation = torch.where(active, new, deviation)
        return finite, took

    def __call__(self, model: RNN, epoch: int) -> torch.Tensor:
        cfg = self.cfg
        everyone = torch.ones_like(self.steps_taken, dtype=torch.bool)
        if epoch == 1 and cfg.floss_pre > 0:
            return self._phase(cfg.floss_pre, everyone)[0]
        if cfg.floss in ("pre+inter", "adaptive") and epoch % cfg.floss_every == 0:
            eligible = self.phases < cfg.floss_phases
            if eligible.any():
                tolerance = cfg.floss_tol if cfg.floss == "adaptive" else None
                finite, took = self._phase(cfg.floss_steps, eligible, tolerance)
                self.phases += took.long()
                return finite
        return everyone
