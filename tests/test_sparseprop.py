"""SparseProp (spec sparseprop_balanced.md §1.9): single-neuron period and kick against the analytic solutions of the
LIF and QIF equations, the phase heap against the conventional O(N) algorithms (identical spike sequences), the
compiled heap loop against a pure-Python reference of it, the connectivity (decision D4) and the experiment."""

import heapq
import math

import numpy as np
import pytest

from sgtheory.errors import ConfigError
from sgtheory.experiments.configs import sparseprop as configs
from sgtheory.experiments.configs.sparseprop import SparsePropConfig
from sgtheory.experiments.sparseprop import network, sparseprop
from sgtheory.functional import sparseprop as sp

TAU = 0.01


def reference_sparseprop(m: sp.PhaseModel, phases, indptr, indices, n_spikes):
    """The phase-heap algorithm in plain Python (decision D1: the reference lives only in the tests). Each neuron's key
    is the global phase offset Φ at which it fires next, φ_th − ψ_i with ψ_i = φ_i − Φ; the keys sit in a min-heap
    (heapq with lazily invalidated entries) and the next spike sets Φ to the smallest key."""
    key = [m.phi_th - float(p) for p in phases]
    heap = [(k, i) for i, k in enumerate(key)]
    heapq.heapify(heap)
    offsets, index = [], []
    for _ in range(n_spikes):
        while True:
            Phi, j = heapq.heappop(heap)
            if Phi == key[j]:
                break
        offsets.append(Phi)
        index.append(j)
        for i in indices[indptr[j]: indptr[j + 1]].tolist():
            phi = m.phi_th - (key[i] - Phi)  # absolute phase
            g = -m.omega * math.log(math.exp(-phi / m.omega) + m.c) if m.code == 0 else (
                phi if phi <= -math.pi else 2 * math.atan(math.tan(0.5 * phi) + m.c))
            key[i] = Phi + (m.phi_th - g)
            heapq.heappush(heap, (key[i], i))
        key[j] = Phi + (m.phi_th - m.phi_reset)
        heapq.heappush(heap, (key[j], j))
    return np.array(offsets), np.array(index)


def balanced(model: str, N: int, K: int, seed: int = 1):
    m = sp.phase_model(model, K, 1.0, 1.0, TAU)
    rng = np.random.default_rng(seed)
    indptr, indices = sp.connectivity(N, K, rng)
    return m, indptr, indices, sp.initial_phases(m, N, rng)


def no_targets(N: int):
    return np.zeros(N + 1, dtype=np.int64), np.zeros(0, dtype=np.int32)


@pytest.mark.parametrize("algorithm", list(sp.ALGORITHMS))
@pytest.mark.parametrize("model", sp.MODELS)
def test_a_free_neuron_fires_at_the_analytic_times(model, algorithm):
    m = sp.phase_model(model, 100, 1.0, 1.0, TAU)
    I = m.I_ext
    V0 = 0.3 * (1 if model == "lif" else -1)
    offset, index, _ = sp.ALGORITHMS[algorithm](m, np.array([sp.phase(m, V0)]), *no_targets(1), 5)
    t = offset * TAU / m.omega
    if model == "lif":  # τ dV/dt = −V + I: V(t) = I + (V0 − I)e^{−t/τ} reaches 1 at τ ln((I − V0)/(I − 1))
        first, period = TAU * math.log((I - V0) / (I - 1)), TAU * math.log(I / (I - 1))
    else:  # τ dV/dt = V² + I: V = √I tan(√I t/τ + atan(V0/√I)) blows up when the argument reaches π/2
        first, period = TAU * (math.pi / 2 - math.atan(V0 / math.sqrt(I))) / math.sqrt(I), TAU * math.pi / math.sqrt(I)
    np.testing.assert_allclose(t, first + period * np.arange(5), rtol=1e-14, atol=0)
    assert index.tolist() == [0] * 5


@pytest.mark.parametrize("algorithm", list(sp.ALGORITHMS))
@pytest.mark.parametrize("model", sp.MODELS)
def test_one_kick_is_the_voltage_jump_J(model, algorithm):
    """Neuron 0 fires first and kicks neuron 1 by J = −J0/√K; neuron 1 then fires when the kicked voltage trajectory
    reaches threshold (both solved analytically)."""
    K, J0 = 100, 1.0
    m = sp.phase_model(model, K, J0, 1.0, TAU)
    I, J = m.I_ext, -J0 / math.sqrt(K)
    V0, V1 = (0.9, 0.2) if model == "lif" else (2.0, -0.5)
    indptr, indices = np.array([0, 1, 2]), np.array([1, 0], dtype=np.int32)
    offset, index, final = sp.ALGORITHMS[algorithm](m, np.array([sp.phase(m, V0), sp.phase(m, V1)]), indptr, indices,
                                                    2)
    t = offset * TAU / m.omega
    assert index.tolist() == [0, 1]
    if model == "lif":
        t0 = TAU * math.log((I - V0) / (I - 1))
        kicked = I + (V1 - I) * math.exp(-t0 / TAU) + J
        t1 = t0 + TAU * math.log((I - kicked) / (I - 1))
    else:
        s = math.sqrt(I)
        t0 = TAU * (math.pi / 2 - math.atan(V0 / s)) / s
        kicked = s * math.tan(s * t0 / TAU + math.atan(V1 / s)) + J
        t1 = t0 + TAU * (math.pi / 2 - math.atan(kicked / s)) / s
    np.testing.assert_allclose(t, [t0, t1], rtol=1e-13, atol=0)
    # after the second spike neuron 1 is at reset and neuron 0 got one kick at t1 from its free trajectory after reset
    if model == "lif":
        V_0 = I * (1 - math.exp(-(t1 - t0) / TAU)) + J
    else:
        V_0 = s * math.tan(s * (t1 - t0) / TAU - math.pi / 2) + J
    np.testing.assert_allclose(sp.voltage(m, final[0]), V_0, rtol=1e-12)
    np.testing.assert_allclose(final[1], m.phi_reset, atol=1e-12)


@pytest.mark.parametrize("model", sp.MODELS)
def test_voltage_and_phase_are_inverse(model):
    m = sp.phase_model(model, 100, 1.0, 1.0, TAU)
    phi = np.linspace(m.phi_reset + 1e-3, m.phi_th - 1e-3, 101)
    np.testing.assert_allclose(sp.phase(m, sp.voltage(m, phi)), phi, rtol=1e-12, atol=1e-12)
    # the PTC is the kick V → V + J in phase coordinates
    g = np.array([sp.ptc(m.code, p, m.omega, m.c) for p in phi])
    np.testing.assert_allclose(sp.voltage(m, g), sp.voltage(m, phi) - 1 / math.sqrt(100), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(sp.ptc_numpy(m, phi), g, rtol=1e-15, atol=1e-15)  # numpy's SIMD exp/log: 1 ulp


def test_lif_heap_and_conventional_give_identical_spike_sequences():
    """The issue's check: LIF, N = 2000, K = 50, 4·10⁴ spikes; identical neuron indices, |Δt| ≤ 1e−12 s."""
    m, indptr, indices, phases = balanced("lif", 2000, 50)
    S = 40_000
    heap_offset, heap_index, heap_final = sp.sparseprop(m, phases, indptr, indices, S)
    for algorithm in ("sparseprop_lazy", "sparseprop_time", "conventional_numba", "conventional_numpy"):
        offset, index, final = sp.ALGORITHMS[algorithm](m, phases, indptr, indices, S)
        np.testing.assert_array_equal(index, heap_index)
        assert np.abs(offset - heap_offset).max() * TAU / m.omega <= 1e-12, algorithm
        np.testing.assert_allclose(final, heap_final, atol=1e-9)
    rate = S / (2000 * heap_offset[-1] * TAU / m.omega)
    assert 3 < rate < 6  # spec §1.2: ≈ 4.4 Hz at this small K (the balance equation's 1 Hz is only leading order)


def test_qif_heap_and_conventional_agree_over_a_short_horizon():
    """QIF networks are chaotic (spec §1.9): round-off grows, so compare 1000 spikes only."""
    m, indptr, indices, phases = balanced("qif", 2000, 50)
    heap_offset, heap_index, _ = sp.sparseprop(m, phases, indptr, indices, 1000)
    for algorithm in ("sparseprop_lazy", "sparseprop_time", "conventional_numba", "conventional_numpy"):
        offset, index, _ = sp.ALGORITHMS[algorithm](m, phases, indptr, indices, 1000)
        np.testing.assert_array_equal(index, heap_index)
        assert np.abs(offset - heap_offset).max() * TAU / m.omega <= 1e-11, algorithm


@pytest.mark.parametrize("model", sp.MODELS)
def test_compiled_heap_loops_equal_the_python_reference(model):
    m, indptr, indices, phases = balanced(model, 200, 20, seed=3)
    ref_offset, ref_index = reference_sparseprop(m, phases, indptr, indices, 2000)
    for algorithm in ("sparseprop", "sparseprop_lazy", "sparseprop_time"):
        offset, index, _ = sp.ALGORITHMS[algorithm](m, phases, indptr, indices, 2000)
        # the time heap rounds differently, and a QIF network is chaotic: compare it over a short horizon
        n = 100 if algorithm == "sparseprop_time" and model == "qif" else 2000
        np.testing.assert_array_equal(index[:n], ref_index[:n])
        assert np.abs(offset[:n] - ref_offset[:n]).max() * TAU / m.omega <= 1e-12, algorithm


def test_connectivity_has_out_degree_K_without_replacement_or_autapses():
    N, K = 300, 40
    indptr, indices = sp.connectivity(N, K, np.random.default_rng(5), chunk=64)
    rows = indices.reshape(N, K)
    assert indptr.tolist() == list(range(0, N * K + 1, K))
    assert all(len(set(r)) == K for r in rows.tolist())
    assert not (rows == np.arange(N)[:, None]).any() and rows.min() >= 0 and rows.max() < N
    assert (np.diff(rows, axis=1) > 0).all()  # sorted per source
    assert abs(np.bincount(indices, minlength=N).mean() - K) < 1e-12
    again = sp.connectivity(N, K, np.random.default_rng(5), chunk=64)[1]
    np.testing.assert_array_equal(again, indices)
    assert not np.array_equal(sp.connectivity(N, K, np.random.default_rng(6), chunk=64)[1], indices)


def test_heap_invariant_after_a_run():
    m, indptr, indices, phases = balanced("lif", 500, 30)
    heap, pos = sp.build_heap(m.phi_th - phases)
    sp._sparseprop_loop(heap, pos, indptr, indices, m.code, m.omega, m.c, m.phi_th, m.phi_reset, 3000,
                        np.empty(3000), np.empty(3000, dtype=np.int32), np.empty((0, 0)))
    key, ids = heap[:, 0], heap[:, 1].astype(np.int64)
    assert ((heap.ctypes.data + 16 * np.arange(1, len(key), sp.ARITY)) % 64 == 0).all()  # children start a line
    children = np.arange(1, len(key))
    assert (key[(children - 1) // sp.ARITY] <= key[children]).all()
    np.testing.assert_array_equal(pos[ids], np.arange(len(key)))


def test_the_config_names_the_functional_choices():
    assert configs.MODELS == sp.MODELS and configs.ALGORITHMS == tuple(sp.ALGORITHMS)


def test_excitatory_coupling_is_refused():
    with pytest.raises(ValueError, match="D3"):
        sp.phase_model("lif", 100, -1.0, 1.0, TAU)
    with pytest.raises(ConfigError, match="J0=-1.0"):
        SparsePropConfig(J0=-1.0)
    with pytest.raises(ConfigError, match="K=10"):
        SparsePropConfig(N=10, K=10)
    with pytest.raises(ConfigError, match="algorithm"):
        SparsePropConfig(algorithm="brian2")


def test_the_experiment_records_spikes_and_summaries_for_every_algorithm():
    configs = [SparsePropConfig(N=300, K=20, spikes=500, record=50, algorithm=a, seed=2) for a in sp.ALGORITHMS]
    results = sparseprop(configs)
    spikes = [[(r["index"], r["time"]) for r in res.rows if r["quantity"] == "spike"] for res in results]
    assert len(spikes[0]) == 50 and spikes[0][0][1] > 0
    for other in spikes[1:]:
        assert [j for j, _ in other] == [j for j, _ in spikes[0]]
        np.testing.assert_allclose([t for _, t in other], [t for _, t in spikes[0]], rtol=1e-12)
    summary = {r["quantity"]: r["value"] for r in results[0].rows if r["quantity"] != "spike"}
    assert summary["spikes"] == 500 and summary["cpu_per_spike"] > 0
    assert summary["mean_rate"] == pytest.approx(500 / (300 * summary["t_end"]))
    m, _, _, phases = network(configs[0])
    assert phases.shape == (300,) and (phases >= 0).all() and (phases < 1).all()
    assert SparsePropConfig.task_bytes(configs) > 0


def test_the_time_heap_handles_neurons_with_their_own_drive():
    """The inhomogeneous QIF network of the reference (I_i = I_bal·(1 + η·sin(2i/N)), η = 0.4): without coupling each
    neuron fires at its own analytic period; with coupling the time heap equals a brute-force event loop."""
    N, K, eta = 300, 20, 0.4
    base = sp.phase_model("qif", K, 1.0, 1.0, TAU)
    drive = base.I_ext * (1 + eta * np.sin(2 * np.arange(N) / N))
    omega = 2 * np.sqrt(drive)
    c = -(1.0 / math.sqrt(K)) * 2 / omega
    phases = sp.initial_phases(base, N, np.random.default_rng(4))
    times, index, _ = sp.time_heap(1, omega, c, math.pi, -math.pi, phases, *no_targets(N), 3 * N)
    for i in (0, 150, 299):
        mine = times[index == i]
        np.testing.assert_allclose(np.diff(mine), 2 * math.pi / omega[i], rtol=1e-12)
        assert mine[0] == pytest.approx((math.pi - phases[i]) / omega[i], rel=1e-13)
    indptr, indices = sp.connectivity(N, K, np.random.default_rng(5))
    S = 200  # a QIF network is chaotic: round-off differences grow, so a short horizon
    times, index, _ = sp.time_heap(1, omega, c, math.pi, -math.pi, phases, indptr, indices, S)
    phi, t, ref = phases.astype(float).copy(), 0.0, []  # brute force: every neuron's time to threshold, O(N)
    for _ in range(S):
        wait = (math.pi - phi) / omega
        j = int(np.argmin(wait))
        phi += wait[j] * omega
        t += wait[j]
        ref.append((t, j))
        for i in indices[indptr[j]: indptr[j + 1]]:
            phi[i] = sp.ptc(1, phi[i], omega[i], c[i])
        phi[j] = -math.pi
    np.testing.assert_array_equal(index, [j for _, j in ref])
    np.testing.assert_allclose(times, [t for t, _ in ref], rtol=1e-11)


def test_the_experiment_runs_the_inhomogeneous_network_with_the_time_heap():
    kw = dict(model="qif", N=400, K=20, spikes=4000, record=4000, algorithm="sparseprop_time")
    rows = sparseprop([SparsePropConfig(eta=0.4, **kw)])[0].rows
    counts = np.bincount([r["index"] for r in rows if r["quantity"] == "spike"], minlength=400)
    drive = np.sin(2 * np.arange(400) / 400)
    assert np.corrcoef(counts, drive)[0, 1] > 0.2  # neurons with a larger drive fire more (in-degrees vary too)
    flat = sparseprop([SparsePropConfig(**kw), SparsePropConfig(**(kw | {"algorithm": "sparseprop"}))])
    first = [[r["index"] for r in res.rows if r["quantity"] == "spike"][:500] for res in flat]
    assert first[0] == first[1]  # eta = 0: the time heap is the phase heap
    with pytest.raises(ConfigError, match="sparseprop_time"):
        SparsePropConfig(eta=0.4)
    with pytest.raises(ConfigError, match="eta=1.0"):
        SparsePropConfig(eta=1.0, algorithm="sparseprop_time")


def test_the_config_names_the_tabulated_models():
    assert configs.TABULATED_MODELS == sp.TABULATED_MODELS
