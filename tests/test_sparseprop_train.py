"""SparseProp training (spec sparseprop_balanced.md §1.8, decision D5): the adjoint against central finite
differences (issue 19: ≤ 1e−6 relative) for the drive, the coupling and the initial phases of LIF and QIF networks,
the recording forward pass against the plain one, the train mode and its figure."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from sgtheory.errors import ConfigError
from sgtheory.experiments.configs.sparseprop import SparsePropConfig
from sgtheory.experiments.sparseprop import sparseprop
from sgtheory.figures import FIGURES
from sgtheory.figures.style import RC, layout_problems
from sgtheory.functional import sparseprop as sp

TAU = 0.01


def setup(model: str, N: int = 200, K: int = 20, seed: int = 3):
    rng = np.random.default_rng(seed)
    indptr, indices = sp.connectivity(N, K, rng)
    start = sp.phase_model(model, K, 1.0, 1.0, TAU)
    return start.I_ext, indptr, indices, sp.initial_phases(start, N, rng)


def weighted_times(model, K, J0, I_ext, phases, indptr, indices, S, w):
    """L = Σ_s w_s·t_s and the spike order."""
    m = sp.drive_model(model, K, J0, I_ext)
    offset, index, _ = sp.sparseprop(m, phases, indptr, indices, S)
    return float(w @ (offset * TAU / m.omega)), index


@pytest.mark.parametrize(("model", "S", "h"), [("lif", 400, 1e-6), ("qif", 100, 1e-7)])
def test_the_adjoint_matches_central_finite_differences(model, S, h):
    """The spec's check (§1.8): a random linear loss of the spike times; QIF is chaotic, so fewer spikes."""
    K, J0 = 20, 1.0
    I_ext, indptr, indices, phases = setup(model)
    w = np.random.default_rng(0).standard_normal(S)
    m = sp.drive_model(model, K, J0, I_ext)
    offset, index, pre = sp.sparseprop_record(m, phases, indptr, indices, S)
    grad_c, grad_omega, a = sp.adjoint(m, offset, index, pre, indptr, indices, w, TAU)
    adjoint = np.array(sp.drive_gradients(m, K, J0, grad_c, grad_omega))
    fd = np.empty(2)
    for k in (0, 1):
        values = []
        for sign in (1, -1):
            step = sign * h * (I_ext if k == 0 else J0)
            L, idx = weighted_times(model, K, J0 + (step if k else 0), I_ext + (0 if k else step), phases, indptr,
                                    indices, S, w)
            np.testing.assert_array_equal(idx, index)  # the spike order is fixed: the gradient is defined
            values.append(L)
        fd[k] = (values[0] - values[1]) / (2 * h * (I_ext if k == 0 else J0))
    np.testing.assert_allclose(adjoint, fd, rtol=1e-6, atol=0)
    for i in np.argsort(-np.abs(a))[:3]:  # the initial phases with the largest gradients
        p, q = phases.copy(), phases.copy()
        p[i] += 1e-6
        q[i] -= 1e-6
        Lp, ip = weighted_times(model, K, J0, I_ext, p, indptr, indices, S, w)
        Lq, iq = weighted_times(model, K, J0, I_ext, q, indptr, indices, S, w)
        if np.array_equal(ip, index) and np.array_equal(iq, index):
            assert (Lp - Lq) / 2e-6 == pytest.approx(a[i], rel=1e-6)


@pytest.mark.parametrize("model", sp.MODELS)
def test_the_recording_forward_pass_is_sparseprop_and_keeps_the_kicked_phases(model):
    I_ext, indptr, indices, phases = setup(model)
    m = sp.drive_model(model, 20, 1.0, I_ext)
    offset, index, pre = sp.sparseprop_record(m, phases, indptr, indices, 300)
    ref_offset, ref_index, _ = sp.sparseprop(m, phases, indptr, indices, 300)
    np.testing.assert_array_equal(index, ref_index)
    np.testing.assert_allclose(offset, ref_offset, rtol=0, atol=1e-12)
    assert pre.shape == (300, 20) and (pre <= m.phi_th + 1e-12).all()  # inhibition may push LIF below reset


def test_drive_model_equals_the_balance_equation_model_and_refuses_subthreshold_drive():
    for model in sp.MODELS:
        m = sp.phase_model(model, 100, 1.0, 1.0, TAU)
        assert sp.drive_model(model, 100, 1.0, m.I_ext) == pytest.approx(m)
    with pytest.raises(ValueError, match="I_ext"):
        sp.drive_model("lif", 100, 1.0, 0.9)
    with pytest.raises(ConfigError, match="target_rate"):
        SparsePropConfig(mode="train", target_rate=0.0)


def test_train_mode_lowers_the_loss_and_its_figure_draws():
    cfg = SparsePropConfig(mode="train", N=300, K=20, spikes=1500, epochs=15, lr=0.1, target_rate=3.0)
    result = sparseprop([cfg])[0]
    rows = []
    rows += [{**cfg.to_dict(), "experiment": "sparseprop", "run_id": cfg.run_id(),
              "config_hash": cfg.condition_hash(), **r} for r in result.rows]
    frame = pd.DataFrame(rows)
    loss = frame[frame["quantity"] == "loss"].sort_values("index")["value"].to_numpy()
    assert len(loss) == 16 and loss[-1] < 0.2 * loss[0]
    q = frame.groupby("quantity")["value"].first()
    assert q["grad_rel_error"] <= 1e-6 and q["backward_over_forward"] > 0 and math.isfinite(q["grad_norm"])
    with plt.rc_context(RC):
        fig = FIGURES["sparseprop-train"].draw(frame)
        assert layout_problems(fig) == []
        plt.close(fig)
    report = FIGURES["sparseprop-train"].report(frame)
    assert report.count("**holds**") + report.count("**fails**") == 3
    assert "finite differences" in report and "**holds**" in report.split("\n- ")[1]


# ---- per-neuron input currents: the time heap's adjoint -------------------------------------------------------------

def currents_setup(model: str, N: int = 200, K: int = 20):
    """A network whose neurons have their own drives, ±30 % around the balance equation's suprathreshold part."""
    rng = np.random.default_rng(3)
    indptr, indices = sp.connectivity(N, K, rng)
    base = sp.phase_model(model, K, 1.0, 1.0, TAU)
    rheobase = 1.0 if model == "lif" else 0.0
    I = rheobase + (base.I_ext - rheobase) * (1 + 0.3 * np.random.default_rng(5).uniform(-1, 1, N))
    return base, I, indptr, indices, sp.initial_phases(base, N, rng)


def currents_loss(model, base, K, J0, I, phases, indptr, indices, S, w):
    omega, c = sp.drive_arrays(model, K, J0, I)
    times, index, _ = sp.time_heap(base.code, omega, c, base.phi_th, base.phi_reset, phases, indptr, indices, S)
    return float(w @ (times * TAU)), index


@pytest.mark.parametrize(("model", "S"), [("lif", 400), ("qif", 100)])
def test_the_time_heap_adjoint_gives_every_neurons_current_gradient(model, S):
    """∂L/∂I_ext,i for the five neurons with the largest gradients, ∂L/∂J0 and ∂L/∂φ_i(0) against central finite
    differences (≤ 1e−6 relative, issue 19), for L = Σ_s w_s·t_s; the spike order must stay fixed."""
    K, J0 = 20, 1.0
    base, I, indptr, indices, phases = currents_setup(model)
    w = np.random.default_rng(0).standard_normal(S)
    omega, c = sp.drive_arrays(model, K, J0, I)
    times, index, pre = sp.time_heap_record(base.code, omega, c, base.phi_th, base.phi_reset, phases, indptr,
                                            indices, S)
    plain, plain_index, _ = sp.time_heap(base.code, omega, c, base.phi_th, base.phi_reset, phases, indptr, indices, S)
    np.testing.assert_array_equal(times, plain)  # recording does not change the arithmetic
    np.testing.assert_array_equal(index, plain_index)
    grad_omega, grad_c, grad_phi = sp.time_adjoint(base.code, omega, c, base.phi_th, base.phi_reset, phases, times,
                                                   index, pre, indptr, indices, w, TAU)
    d_omega, d_c = sp.drive_derivatives(base.code, I, omega, c)
    grad_I = grad_omega * d_omega + grad_c * d_c
    checked = 0
    for i in np.argsort(-np.abs(grad_I))[:5]:
        h = 1e-6 * I[i]
        values = []
        for sign in (1, -1):
            J = I.copy()
            J[i] += sign * h
            L, idx = currents_loss(model, base, K, J0, J, phases, indptr, indices, S, w)
            np.testing.assert_array_equal(idx, index)
            values.append(L)
        assert (values[0] - values[1]) / (2 * h) == pytest.approx(grad_I[i], rel=1e-6)
        checked += 1
    assert checked == 5
    Lp, _ = currents_loss(model, base, K, J0 * (1 + 1e-6), I, phases, indptr, indices, S, w)
    Lm, _ = currents_loss(model, base, K, J0 * (1 - 1e-6), I, phases, indptr, indices, S, w)
    assert (Lp - Lm) / (2e-6 * J0) == pytest.approx(float((grad_c * c).sum() / J0), rel=1e-6)
    i = int(np.argmax(np.abs(grad_phi)))
    p, q = phases.copy(), phases.copy()
    p[i] += 1e-7
    q[i] -= 1e-7
    Lp, ip = currents_loss(model, base, K, J0, I, p, indptr, indices, S, w)
    Lq, iq = currents_loss(model, base, K, J0, I, q, indptr, indices, S, w)
    assert np.array_equal(ip, index) and np.array_equal(iq, index)
    assert (Lp - Lq) / 2e-7 == pytest.approx(grad_phi[i], rel=1e-6)


def test_equal_currents_give_the_phase_heap_adjoint():
    """With one drive for all, the time heap's per-neuron gradients sum to the phase heap's shared ones."""
    base, _, indptr, indices, phases = currents_setup("lif")
    m = sp.drive_model("lif", 20, 1.0, base.I_ext)
    w = np.random.default_rng(1).standard_normal(300)
    offset, index, pre = sp.sparseprop_record(m, phases, indptr, indices, 300)
    grad_c, grad_omega, a = sp.adjoint(m, offset, index, pre, indptr, indices, w, TAU)
    omega, c = np.full(200, m.omega), np.full(200, m.c)
    times, idx, tpre = sp.time_heap_record(0, omega, c, 1.0, 0.0, phases, indptr, indices, 300)
    np.testing.assert_array_equal(idx, index)
    g_omega, g_c, g_phi = sp.time_adjoint(0, omega, c, 1.0, 0.0, phases, times, idx, tpre, indptr, indices, w, TAU)
    assert g_c.sum() == pytest.approx(grad_c, rel=1e-9)
    assert g_omega.sum() == pytest.approx(grad_omega, rel=1e-9)
    np.testing.assert_allclose(g_phi, a, rtol=1e-9, atol=1e-12)


def test_train_currents_lowers_the_loss_and_its_figure_draws():
    cfg = SparsePropConfig(mode="train", train="currents", N=100, K=10, spikes=2000, epochs=12, lr=0.1, rate=10.0,
                           target_rate=15.0)
    result = sparseprop([cfg])[0]
    frame = pd.DataFrame([{**cfg.to_dict(), "experiment": "sparseprop", "run_id": cfg.run_id(),
                           "config_hash": cfg.condition_hash(), **r} for r in result.rows])
    loss = frame[frame["quantity"] == "loss"].sort_values("index")["value"].to_numpy()
    assert len(loss) == 13 and loss[-1] < 0.7 * loss[0]
    q = frame.groupby("quantity")["value"].first()
    assert q["grad_rel_error"] <= 1e-6
    assert (frame["quantity"] == "neuron_rate").sum() == 100 and (frame["quantity"] == "neuron_target").sum() == 100
    drive = SparsePropConfig(mode="train", N=300, K=20, spikes=1500, epochs=3, lr=0.1, target_rate=3.0)
    frame = pd.concat([frame, pd.DataFrame([{**drive.to_dict(), "experiment": "sparseprop", "run_id": drive.run_id(),
                                             "config_hash": drive.condition_hash(), **r}
                                            for r in sparseprop([drive])[0].rows])])
    with plt.rc_context(RC):
        fig = FIGURES["sparseprop-train"].draw(frame)
        assert layout_problems(fig) == []
        plt.close(fig)
    report = FIGURES["sparseprop-train"].report(frame)
    assert report.count("**holds**") + report.count("**fails**") == 5
    assert "every neuron's input current" in report
    with pytest.raises(ConfigError, match="target_spread"):
        SparsePropConfig(mode="train", train="currents", target_spread=1.0)
