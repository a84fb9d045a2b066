"""The ``balanced-learning`` experiment (balanced spec §2.7, Engelken et al. 2022 Fig. 7; decision D7): full-FORCE
teacher–student training (:mod:`sgtheory.functional.force`) with the balanced ReLU network of ``balanced`` as the
teacher, and the teacher's λ1.

A task is one seed: its I1 values × input types. The teacher's λ1 of all of them is one batched ``balanced`` simulation
(:func:`sgtheory.experiments.balanced.balanced`, the same couplings ``stream(seed, "net")``, initial state ``"ic"``
and phases ``"phase"``), so λ1 is measured on exactly the network that teaches. Each run then relaxes the teacher for
``transient`` τ, starts the student in the teacher's state with its own couplings (``stream(seed, "student")``, the
same law) and a zero readout, and trains epoch by epoch; each epoch ends with an autonomous test that forks the
trajectory (training resumes from where it was, the teacher still driven).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from sgtheory.experiments.balanced import balanced, balanced_couplings, input_phases
from sgtheory.experiments.base import RunResult
from sgtheory.experiments.configs.balanced import BalancedConfig
from sgtheory.experiments.configs.balanced_learning import BalancedLearningConfig
from sgtheory.functional.force import FullForce, full_force_test, full_force_train, rls_init
from sgtheory.functional.rate import RateNetwork, couplings, simulate, steps_of
from sgtheory.seeding import stream

DTYPE = torch.float64


LAMBDA_BLOCK = 10.0  # τ: the local exponents are averaged in blocks this long for λ1's standard error


def teacher_lambda1(configs: Sequence[BalancedLearningConfig]) -> list[tuple[float, float]]:
    """(λ1, its standard error) in 1/τ of each run's teacher by ``balanced``'s simulation (one batch per seed); NaN
    where not measured. The error is that of the mean of the local exponents in blocks of ``LAMBDA_BLOCK`` τ (batch
    means: the local exponents of successive ONS intervals are correlated)."""
    if not configs[0].lambda_duration:
        return [(math.nan, math.nan)] * len(configs)
    bal = [BalancedConfig(method="simulation", input_type=c.input_type, N=c.N, gain=c.gain, J0=c.J0, I0=c.I0,
                          I1=c.I1, f=c.f, dt=c.dt, transient=c.transient, duration=c.lambda_duration, t_ons=c.t_ons,
                          nle=1, record_every=c.t_ons, units=0, max_lag=0.0, seed=c.seed) for c in configs]
    out = []
    for result in balanced(bal):
        lam = [row["value"] for row in result.rows if row["quantity"] == "lambda1" and row["index"] == 1]
        local = torch.tensor([row["value"] for row in result.rows if row["quantity"] == "local_lambda"])
        per_block = max(1, round(LAMBDA_BLOCK / configs[0].t_ons))
        blocks = local[: len(local) // per_block * per_block].reshape(-1, per_block).mean(-1)
        se = float(blocks.std() / math.sqrt(len(blocks))) if len(blocks) > 1 else math.nan
        out.append((lam[0] if lam else math.nan, se))
    return out


def _learn(cfg: BalancedLearningConfig, lambda1: tuple[float, float]) -> RunResult:
    JT = balanced_couplings(cfg, DTYPE)
    theta = input_phases(cfg, DTYPE)
    omega, bias = 2 * math.pi * cfg.f, cfg.sqrt_K * cfg.I0

    def inputs(n: int) -> torch.Tensor:
        return cfg.I1 * torch.sin(omega * n * cfg.dt + theta)

    def target(n: int) -> float:
        return cfg.target_amplitude * math.sin(omega * n * cfg.dt)

    warm = steps_of(cfg.transient, cfg.dt)
    h0 = torch.randn(cfg.N, generator=stream(cfg.seed, "ic"), dtype=DTYPE)
    hT, _ = simulate(h0, RateNetwork(JT, "relu", cfg.dt), warm, (bias + inputs(n) for n in range(warm)))
    JS = couplings(cfg.N, cfg.gain, stream(cfg.seed, "student"), mean=-cfg.sqrt_K * cfg.J0 / cfg.N,
                   zero_diagonal=False, dtype=DTYPE)
    W0 = torch.cat([JS, torch.zeros(1, cfg.N, dtype=DTYPE)])
    state = FullForce(hT, hT.clone(), rls_init(W0, cfg.alpha), warm)
    traced = torch.argsort(torch.relu(hT), descending=True)[: cfg.units]  # the most active teacher units at the start
    period = cfg.period_steps
    rows: list[dict] = []
    for epoch in range(1, cfg.max_epochs + 1):
        state, train_error = full_force_train(state, JT, bias, inputs, target, cfg.train_periods * period, cfg.dt,
                                              cfg.rls_every)
        test = full_force_test(state, JT, bias, inputs, target, cfg.test_periods * period, cfg.dt, traced)
        error = test.error if math.isfinite(test.error) else math.inf  # a diverged student: infinite error
        rows += [{"quantity": "train_error", "epoch": epoch, "value": train_error},
                 {"quantity": "test_error", "epoch": epoch, "value": error}]
        if error < cfg.stop_error or not bool(torch.isfinite(state.hS).all()):
            break
    rows.append({"quantity": "lambda1", "index": 1, "value": lambda1[0]})
    if cfg.record_every:
        stride = max(1, steps_of(cfg.record_every, cfg.dt))
        for j in range(0, len(test.z), stride):
            t = (state.n + j) * cfg.dt
            rows += [{"quantity": "target", "time": t, "value": float(test.target[j])},
                     {"quantity": "output", "time": t, "value": float(test.z[j])}]
            for i, unit in enumerate(traced.tolist()):
                rows += [{"quantity": "teacher_rate", "index": unit + 1, "time": t, "value": float(test.teacher[j, i])},
                         {"quantity": "student_rate", "index": unit + 1, "time": t, "value": float(test.student[j, i])}]
    summary = {"teacher_lambda1": lambda1[0], "teacher_lambda1_se": lambda1[1], "final_error": error,
               "epochs_trained": epoch}
    return RunResult(cfg, [{**row, **summary} for row in rows])


def balanced_learning(configs: Sequence[BalancedLearningConfig], progress=None) -> list[RunResult]:
    """``sgtheory balanced-learning`` (rows: see the command's help)."""
    with torch.no_grad():
        lambdas = teacher_lambda1(configs)
        results = [_learn(c, lam) for c, lam in zip(configs, lambdas, strict=True)]
    if progress is not None:
        progress(1, {})
    return results
