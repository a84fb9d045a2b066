"""SparseProp with a tabulated phase transition curve (spec sparseprop_balanced.md §1.3, §1.9 item 4): the EIF's free
period against an independent RK4 integration of its ODE, the table against the closed-form LIF PTC and against a
finer quadrature of the EIF, and networks: tabulated vs analytic LIF PTC (the same spike sequence, |Δt| ≤ 1e−12 s),
heap vs conventional loop for the EIF, and the config's refusals."""

import math

import numpy as np
import pytest

from sgtheory.errors import ConfigError
from sgtheory.experiments.configs.sparseprop import SparsePropConfig
from sgtheory.experiments.sparseprop import sparseprop
from sgtheory.functional import sparseprop as sp

TAU = 0.01


def rk4_eif_period(I: float, delta_T: float, dt: float = 5e-5) -> float:
    """Reset (V = 0) to spike (V = ∞) of τ dV/dt = −V + ΔT·e^{(V−1)/ΔT} + I in units of τ: RK4 in V up to V = 1.5,
    then RK4 in u = e^{−(V−1)/ΔT}, du/dt = −(1 + u·(I − V)/ΔT) with V = 1 − ΔT·ln u, down to u = 0."""
    def f(V):
        return -V + delta_T * math.exp((V - 1.0) / delta_T) + I

    t, V = 0.0, 0.0
    while True:
        k1 = f(V)
        k2 = f(V + 0.5 * dt * k1)
        k3 = f(V + 0.5 * dt * k2)
        k4 = f(V + dt * k3)
        new = V + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if new >= 1.5:
            break
        t, V = t + dt, new
    h = dt * (1.5 - V) / (new - V)  # the partial step to V = 1.5, by the same RK4
    for _ in range(3):
        k1 = f(V)
        k2 = f(V + 0.5 * h * k1)
        k3 = f(V + 0.5 * h * k2)
        k4 = f(V + h * k3)
        end = V + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        h *= (1.5 - V) / (end - V)
    t += h

    def g(u):
        return -(1.0 + u * (I - (1.0 - delta_T * math.log(u))) / delta_T) if u > 0 else -1.0

    u, step = math.exp(-0.5 / delta_T), dt / 10
    while True:
        k1 = g(u)
        k2 = g(max(u + 0.5 * step * k1, 0.0))
        k3 = g(max(u + 0.5 * step * k2, 0.0))
        k4 = g(max(u + step * k3, 0.0))
        new = u + step / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if new <= 0:
            return t + step * u / (u - new)  # du/dt → −1 at the spike: the crossing is linear to O(step·u·ln u)
        t, u = t + step, new


@pytest.mark.parametrize("delta_T", [0.1, 0.3])
def test_the_eif_period_matches_an_rk4_integration_of_its_ode(delta_T):
    m = sp.phase_model("eif", 100, 1.0, 1.0, TAU, delta_T)
    assert m.code == sp.TABLE
    period = rk4_eif_period(m.I_ext, delta_T)
    assert 1.0 / m.omega == pytest.approx(period, rel=1e-9)
    # a free neuron in the heap fires at the same period
    offset, index, _ = sp.sparseprop(m, np.array([0.0]), np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int32), 4)
    np.testing.assert_allclose(offset * TAU / m.omega, TAU * period * np.arange(1, 5), rtol=1e-9)


def test_the_lif_table_matches_the_closed_form_ptc():
    m = sp.phase_model("lif", 50, 1.0, 1.0, TAU)
    t = sp.tabulated(m, 50, 1.0)
    assert t.omega == pytest.approx(m.omega, rel=1e-14)
    phi = np.concatenate([np.linspace(-6.0, 1.0, 20001), 1.0 - np.logspace(-16, -1, 60)])  # also below the table
    err = np.abs(sp.ptc_numpy(t, phi) - sp.ptc_numpy(m, phi))
    assert err.max() <= 1e-13
    g = np.array([sp.ptc(t.code, p, t.omega, t.c) for p in phi[::500]])  # the Python entry = the compiled one
    np.testing.assert_array_equal(g, sp.ptc_numpy(t, phi[::500]))


def test_the_eif_table_matches_a_finer_quadrature():
    """g(φ) = φ(V(φ) + J) computed directly by a trajectory with 4× finer panels, against the interpolated table."""
    m = sp.phase_model("eif", 100, 1.0, 1.0, TAU)
    fine = sp.eif_trajectory(m.I_ext, 0.1)
    fine = sp.FreeTrajectory(fine.f, m.I_ext, 0.0, fine.V_low, fine.V_cut, math.exp(-sp.EIF_TAIL), 0.1 / 16)
    assert fine.omega == pytest.approx(m.omega, rel=1e-14)
    phi = np.concatenate([np.random.default_rng(0).uniform(-0.5, 1.0, 3000), 1.0 - np.logspace(-15, -1, 100)])
    direct = 1.0 - fine.remaining(fine.voltage(1.0 - phi) - 0.1)
    assert np.abs(sp.ptc_numpy(m, phi) - direct).max() <= 1e-12
    assert (sp.ptc_numpy(m, phi) < phi).all()  # inhibition delays


def test_tabulated_and_analytic_lif_ptcs_give_the_same_spike_sequence():
    """Spec §1.9 item 4 (the reference: ≤ ≈ 4·10⁻¹³ s, no index change): LIF, N = 2000, K = 50, 4·10⁴ spikes."""
    m = sp.phase_model("lif", 50, 1.0, 1.0, TAU)
    rng = np.random.default_rng(1)
    indptr, indices = sp.connectivity(2000, 50, rng)
    phases = sp.initial_phases(m, 2000, rng)
    t = sp.tabulated(m, 50, 1.0)
    off_a, idx_a, _ = sp.sparseprop(m, phases, indptr, indices, 40_000)
    off_t, idx_t, _ = sp.sparseprop(t, phases, indptr, indices, 40_000)
    np.testing.assert_array_equal(idx_t, idx_a)
    assert np.abs(off_t * TAU / t.omega - off_a * TAU / m.omega).max() <= 1e-12


def test_eif_heaps_and_conventional_loops_agree_over_a_short_horizon():
    """Round-off grows in this EIF network as in the QIF's (here two spikes swap after ≈ 2200 spikes): 1000 spikes."""
    m = sp.phase_model("eif", 20, 1.0, 1.0, TAU)
    rng = np.random.default_rng(2)
    indptr, indices = sp.connectivity(500, 20, rng)
    phases = sp.initial_phases(m, 500, rng)
    offset, index, _ = sp.sparseprop(m, phases, indptr, indices, 1000)
    for algorithm in ("sparseprop_lazy", "conventional_numba", "conventional_numpy"):
        o, i, _ = sp.ALGORITHMS[algorithm](m, phases, indptr, indices, 1000)
        np.testing.assert_array_equal(i, index)
        assert np.abs(o - offset).max() * TAU / m.omega <= 1e-11, algorithm


def test_the_exactness_mode_compares_tabulated_with_analytic_ptcs():
    cfg = SparsePropConfig(mode="exactness", model="lif", ptc="table", algorithm="sparseprop",
                           reference="sparseprop", N=300, K=20, spikes=2000, record=10)
    rows = {r["quantity"]: r["value"] for r in sparseprop([cfg])[0].rows if r["index"] == 0}
    assert rows["index_mismatches"] == 0 and 0 < rows["max_time_error"] <= 1e-12  # > 0: the two PTCs differ
    eif = SparsePropConfig(model="eif", ptc="table", N=300, K=20, spikes=2000, record=0)
    rows = {r["quantity"]: r["value"] for r in sparseprop([eif])[0].rows}
    assert 0.5 < rows["mean_rate"] < 50


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"model": "eif"}, "--ptc table"),
    ({"model": "qif", "ptc": "table"}, "not the QIF"),
    ({"model": "eif", "ptc": "table", "algorithm": "sparseprop_time"}, "sparseprop_time"),
    ({"model": "lif", "ptc": "table", "mode": "train"}, "mode=train"),
    ({"model": "eif", "ptc": "table", "delta_T": 0.0}, "delta_T"),
])
def test_the_config_refuses_what_a_table_cannot_do(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SparsePropConfig(**kwargs)


def test_an_eif_below_rheobase_and_excitatory_tables_are_refused():
    with pytest.raises(ValueError, match="rheobase"):
        sp.eif_trajectory(0.8, 0.1)
    with pytest.raises(ValueError, match="D3"):
        sp.tabulate_ptc(sp.lif_trajectory(1.5), 0.1)
