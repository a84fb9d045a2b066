"""The ``lyap`` and ``floss`` experiments (flossing spec §4-§5; figure R1).

- :func:`lyap`: the spectrum, convergence of λ_1, Kaplan-Yorke dimension, entropy rate; damage spreading and the
  Derrida map of binary and LIF networks.
- :func:`floss`: flossing epochs (:class:`sgtheory.experiments.flossing.Flosser`) with the spectra, long-term
  Jacobians and damage curves before and after.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from sgtheory.experiments.base import Checkpoint, RunResult, restore_results, results_state, stop_failed
from sgtheory.experiments.configs.floss import FlossConfig
from sgtheory.experiments.configs.lyap import LyapConfig
from sgtheory.experiments.configs.network import gf_transient
from sgtheory.experiments.damage import damage_curve, damage_draws, network_damage
from sgtheory.experiments.flossing import Flosser
from sgtheory.experiments.network import (
    build_model,
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


def floss(configs: Sequence[FlossConfig], progress=None, checkpoint: Checkpoint | None = None) -> list[RunResult]:
    """``sgtheory floss``: rows ``phase = floss`` (epoch e, index i, λ_i estimated before update e+1;
    epoch 0 is the unflossed network), ``phase = before | after`` (the spectrum over ``spectrum_T``
    steps, the same input sequence for both), ``phase = jacobian_before | jacobian_after`` (log10 σ_i of the
    measured long-term Jacobian at ``step`` t ≤ ``jacobian_T``) and, for binary and LIF networks, ``phase =
    damage`` (mean Hamming distance ``step`` t = 1..40 steps after one flipped output, before flossing, halfway and
    after: ``epoch`` 0, epochs // 2, epochs). With a ``checkpoint``, flossing resumes from its saved state (network,
    flossing Adam and input index, the rows so far, the epoch) and saves one after an epoch whenever it is due."""
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

    flosser = Flosser(model, configs)
    alive = torch.ones(len(configs), dtype=torch.bool)
    saved = None if checkpoint is None else checkpoint.restore()
    if saved is None:
        first = 0
        spectrum("before")
        jacobian("before")
    else:
        first, alive = saved["epoch"] + 1, saved["alive"]
        model.load_state_dict(saved["model"])
        flosser.load_state_dict(saved["flosser"])
        restore_results(results, saved["results"])
    for epoch in range(first, cfg.epochs + 1):
        damage(epoch)
        exponents, finite = flosser.step(alive, update=epoch < cfg.epochs)
        alive = stop_failed(results, alive, finite, f"non-finite flossing loss or gradient at flossing epoch {epoch}; "
                            "the run stopped there")
        for r in torch.nonzero(alive).flatten().tolist():
            results[r].rows += [{"phase": "floss", "epoch": epoch, "index": i + 1, "value": lam}
                                for i, lam in enumerate(exponents[r].tolist())]
        if checkpoint is not None and checkpoint.due():
            checkpoint.save({"epoch": epoch, "model": model.state_dict(), "flosser": flosser.state_dict(),
                             "alive": alive.clone(), "results": results_state(results)})
        if progress is not None and epoch > 0:
            progress(epoch, {"lambda1": exponents[alive, 0].mean().item() if alive.any() else float("nan")})
    spectrum("after")
    jacobian("after")
    return results


