"""Full-FORCE / RLS teacher–student learning (balanced spec §2.7, decision D7): RLS against exact solutions, learning
from a non-chaotic teacher and not from a chaotic one, the config's checks and the Fig. 7 figure on a tiny table."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from sgtheory.errors import ConfigError
from sgtheory.experiments.balanced_learning import balanced_learning
from sgtheory.experiments.configs.balanced_learning import BalancedLearningConfig
from sgtheory.functional.force import FullForce, full_force_test, full_force_train, rls_init, rls_step
from sgtheory.functional.rate import couplings


def _summary(result) -> dict:
    return next(row for row in result.rows if row["quantity"] == "lambda1")


def test_rls_recovers_a_linear_map():
    """y = W* r for random r: after 300 samples RLS (ridge α = 10⁻², shared P) gives W* to the ridge bias α/300."""
    g = torch.Generator().manual_seed(0)
    W_true = torch.randn(31, 30, generator=g, dtype=torch.float64)
    state = rls_init(torch.zeros(31, 30, dtype=torch.float64), alpha=1e-2)
    for _ in range(300):
        r = torch.randn(30, generator=g, dtype=torch.float64)
        state, e = rls_step(state, r, W_true @ r)
    assert torch.linalg.norm(state.W - W_true) / torch.linalg.norm(W_true) < 1e-3
    assert e.abs().max() < 1e-3  # the a-priori error of the last sample
    assert torch.allclose(state.P, state.P.T, atol=1e-12)  # P stays symmetric positive definite
    assert torch.linalg.eigvalsh(state.P).min() > 0


def test_full_force_student_learns_the_teacher_couplings():
    """Teacher without input (u = J^T relu(h^T)), student started in the teacher's state from other couplings: the
    exact solution J^S = J^T on the active units. After training, the student's currents match the teacher's (train
    error < 10⁻⁸) and the autonomous student stays on the teacher's trajectory."""
    N, dt = 60, 0.0625
    g = torch.Generator().manual_seed(1)
    JT = couplings(N, 2.0, g, mean=-math.sqrt(N) / N, zero_diagonal=False)
    JS = couplings(N, 2.0, g, mean=-math.sqrt(N) / N, zero_diagonal=False)
    h = torch.randn(N, generator=g, dtype=torch.float64)
    zero = torch.zeros(N, dtype=torch.float64)
    state = FullForce(h, h.clone(), rls_init(torch.cat([JS, zero[None]]), alpha=1e-4), 0)
    bias = math.sqrt(N)
    state, first = full_force_train(state, JT, bias, lambda n: zero, lambda n: 0.0, 400, dt, every=1)
    state, later = full_force_train(state, JT, bias, lambda n: zero, lambda n: 0.0, 400, dt, every=1)
    assert first > later
    assert later < 1e-6
    test = full_force_test(state, JT, bias, lambda n: zero, lambda n: math.sin(n), 200, dt, torch.arange(N))
    assert torch.allclose(test.student, test.teacher, rtol=1e-3, atol=1e-3)


def test_non_chaotic_teacher_is_learned_and_chaotic_one_is_not():
    """Strong common input (N = 100, I1 = 10) suppresses the teacher's chaos (λ1 < 0) and the autonomous student
    reaches the caption's test error 10⁻²; an undriven chaotic teacher (N = 200, seed 0: λ1 > 0) is not learned."""
    kw = dict(transient=20.0, lambda_duration=40.0, record_every=0.0)
    good, bad = balanced_learning([BalancedLearningConfig(N=100, I1=10.0, max_epochs=6, **kw)])[0], \
        balanced_learning([BalancedLearningConfig(N=200, I1=0.0, max_epochs=2, **kw)])[0]
    g, b = _summary(good), _summary(bad)
    assert g["teacher_lambda1"] < 0
    assert g["final_error"] < 1e-2
    assert g["epochs_trained"] < 6  # stopped at the threshold
    assert b["teacher_lambda1"] > 0
    assert b["final_error"] > 0.1
    assert b["epochs_trained"] == 2
    errors = [row["value"] for row in good.rows if row["quantity"] == "test_error"]
    assert len(errors) == g["epochs_trained"] and errors[-1] == g["final_error"]


@pytest.mark.parametrize("bad, match", [
    (dict(input_type="both"), "input_type"),
    (dict(N=0), "N"),
    (dict(alpha=0.0), "alpha"),
    (dict(I1=-1.0), "I1"),
    (dict(f=5.0), "Euler steps per period"),
    (dict(units=3, N=2), "units"),
    (dict(max_epochs=0), "max_epochs"),
    (dict(t_ons=200.0), "t_ons"),
])
def test_config_rejects_bad_values(bad, match):
    with pytest.raises(ConfigError, match=match):
        BalancedLearningConfig(**bad)


def test_batch_key_groups_a_seed():
    a = BalancedLearningConfig(I1=0.0, input_type="common")
    assert a.batch_key() == BalancedLearningConfig(I1=5.0, input_type="independent").batch_key()
    assert a.batch_key() != BalancedLearningConfig(I1=0.0, seed=1).batch_key()
    assert a.period_steps == 80


def test_figure_draws_from_a_tiny_table():
    import matplotlib.pyplot as plt

    from sgtheory.figures import FIGURES
    from sgtheory.figures.style import RC, layout_problems

    kw = dict(N=30, transient=2.0, lambda_duration=20.0, max_epochs=1, train_periods=1, test_periods=1,
              record_every=0.5)
    configs = [BalancedLearningConfig(I1=i, input_type=k, seed=s, **kw) for s in (0, 1)
               for k in ("common", "independent") for i in (0.0, 5.0, 15.0)]
    rows = []
    for result in balanced_learning(configs):
        rows += [{**result.config.to_dict(), "experiment": "balanced-learning", "run_id": result.config.run_id(),
                  "config_hash": result.config.condition_hash(), **r} for r in result.rows]
    frame = pd.DataFrame(rows)
    assert {"target", "output", "teacher_rate", "student_rate", "test_error", "train_error"} <= set(frame["quantity"])
    with plt.rc_context(RC):
        fig = FIGURES["balanced-learning"].draw(frame)
        assert layout_problems(fig) == []
        plt.close(fig)
    report = FIGURES["balanced-learning"].report(frame)
    assert "λ1" in report and report.count("**") >= 4  # two claims, each with a verdict
