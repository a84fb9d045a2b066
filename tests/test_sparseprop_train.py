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
