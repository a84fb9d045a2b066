"""Exact event-based simulation of sparse pulse-coupled networks in phase representation (SparseProp, Engelken,
NeurIPS 2023; spec ``sparseprop_balanced.md`` §1), compiled with numba (decision D1).

Model (spec §1.2–1.4). N inhibitory neurons; each neuron j sends δ-pulses of size J = −J0/√K to exactly K targets
(fixed out-degree, drawn without replacement from the other N − 1 neurons, no autapses; stored as CSR, decision D4).
The external drive follows the balance equation, I_bal = τ·√K·J0·ν̄. Time is measured in units of τ; every neuron's
phase φ grows at the constant rate ω/τ between input spikes, fires at φ_th and resets to φ_reset; an input spike maps
the phase through the phase transition curve (PTC) φ → g(φ). The per-model code is (ω, c, φ_th, φ_reset, g):

- LIF, τ dV/dt = −V + I_ext, I_ext = 1 + I_bal, threshold 1, reset 0: ω = 1/ln(1 + 1/I_bal), φ ∈ [0, 1),
  V(φ) = I_ext·(1 − e^{−φ/ω}), g(φ) = −ω·ln(e^{−φ/ω} + c) with c = J0/(√K·I_ext) (the kick V → V + J exactly).
- QIF (theta neuron), τ dV/dt = V² + I_ext, I_ext = I_bal, V = √I_ext·tan(θ/2): ω = 2√I_ext, θ ∈ (−π, π],
  g(θ) = 2·arctan(tan(θ/2) + c) with c = −(J0/√K)·(2/ω).

Only inhibition (J0 > 0) is supported (decision D3): an excitatory LIF kick can push V past threshold, which needs a
same-time event queue for the resulting cascades, and the reference code never meets that case.

Algorithms (each returns the global phase offset Φ_s and the index j_s of every network spike s; the spike time is
t_s = Φ_s·τ/ω):

- :func:`sparseprop`: the phase-heap algorithm (spec §1.5–1.6). Each neuron's key is the value of the global phase
  offset Φ at which it fires next, key_i = φ_th − ψ_i with ψ_i = φ_i − Φ its phase relative to the offset; the keys sit
  in an indexed d-ary min-heap (:data:`ARITY` children per node) with a position map. Free evolution is "Φ grows",
  so between spikes nothing is computed: the root is the next spiker, Φ ← key_root; each target's key changes to
  Φ + φ_th − g(φ_th − key_i + Φ) and sifts down (inhibition delays it); the spiker's key becomes Φ + φ_th − φ_reset.
  Cost O(K log N) per spike. Before its updates the loop gathers the K targets' slots, then their keys and first
  children, as independent loads with no computation between them (the memory system fetches them in parallel
  instead of one DRAM latency after another), then computes the K new keys; the sifts run on cached data.
- :func:`conventional_numba`: the O(N)-per-spike event-based baseline (spec §1.6, decision D2) as a scalar compiled
  loop over absolute phases: argmax scan, advance all N phases by Δ = φ_th − φ_max, apply g to the K targets, reset.
- :func:`conventional_numpy`: the same algorithm vectorised with numpy (one Python iteration per spike).

All three apply the same PTC (:func:`ptc`) and give the same spike sequence up to round-off (tests/test_sparseprop.py).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

MODELS = ("lif", "qif")  # model code = index here (0: LIF, 1: QIF)
ARITY = 4  # children per heap node: a 4-ary heap has half the levels of a binary one and its children share a line


class PhaseModel(NamedTuple):
    """A neuron model in phase representation with the balanced network's coupling (spec §1.3)."""

    code: int  # 0: LIF, 1: QIF (the index in MODELS)
    omega: float  # phase velocity (phases per τ)
    c: float  # PTC parameter (one fixed coupling J = −J0/√K)
    phi_th: float  # threshold phase
    phi_reset: float  # reset phase
    I_ext: float  # external drive (dimensionless)


def phase_model(model: str, K: int, J0: float, rate: float, tau: float) -> PhaseModel:
    """ω, c, φ_th, φ_reset of ``model`` ('lif' or 'qif') in the balanced network: K synapses per neuron, coupling
    strength J0 > 0 (inhibitory, J = −J0/√K), target rate ``rate`` (Hz) and membrane time constant ``tau`` (s)."""
    if J0 <= 0:
        raise ValueError(f"J0={J0} must be > 0: only inhibitory coupling is supported (decision D3)")
    I_bal = tau * math.sqrt(K) * J0 * rate
    if model == "lif":
        I_ext = 1.0 + I_bal
        return PhaseModel(0, 1.0 / math.log1p(1.0 / I_bal), J0 / (math.sqrt(K) * I_ext), 1.0, 0.0, I_ext)
    if model == "qif":
        omega = 2.0 * math.sqrt(I_bal)
        return PhaseModel(1, omega, -(J0 / math.sqrt(K)) * (2.0 / omega), math.pi, -math.pi, I_bal)
    raise ValueError(f"model={model!r}; allowed: {', '.join(MODELS)}")


def voltage(m: PhaseModel, phi: np.ndarray | float) -> np.ndarray | float:
    """V(φ): LIF I_ext·(1 − e^{−φ/ω}); QIF √I_ext·tan(θ/2)."""
    if m.code == 0:
        return m.I_ext * (1.0 - np.exp(-np.asarray(phi) / m.omega))
    return math.sqrt(m.I_ext) * np.tan(np.asarray(phi) / 2.0)


def phase(m: PhaseModel, V: np.ndarray | float) -> np.ndarray | float:
    """φ(V), the inverse of :func:`voltage`."""
    if m.code == 0:
        return -m.omega * np.log1p(-np.asarray(V) / m.I_ext)
    return 2.0 * np.arctan(np.asarray(V) / math.sqrt(m.I_ext))


@numba.njit(cache=True, inline="always")
def ptc(code: int, phi: float, omega: float, c: float) -> float:
    """The phase transition curve g(φ) of one input spike (LIF: code 0; QIF: code 1). QIF at or below the reset
    phase −π (where tan(θ/2) flips sign; reachable by round-off right after a reset) stays put: g(−π) = −π."""
    if code == 0:
        return -omega * math.log(math.exp(-phi / omega) + c)
    if phi <= -math.pi:
        return phi
    return 2.0 * math.atan(math.tan(0.5 * phi) + c)


def ptc_numpy(m: PhaseModel, phi: np.ndarray) -> np.ndarray:
    """:func:`ptc` on an array (the vectorised baseline)."""
    if m.code == 0:
        return -m.omega * np.log(np.exp(-phi / m.omega) + m.c)
    return np.where(phi <= -math.pi, phi, 2.0 * np.arctan(np.tan(0.5 * phi) + m.c))


# ---- connectivity -------------------------------------------------------------------------------------------------

def connectivity(N: int, K: int, rng: np.random.Generator, chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr (N+1,) int64, indices (N·K,) int32) of the fixed-out-degree graph (decision D4): row j holds the K
    targets of neuron j, drawn uniformly without replacement from the N − 1 other neurons (no autapses) and sorted.
    Rows are drawn ``chunk`` at a time: K values in {0…N−2} per row, a row with a repeated value is redrawn with
    ``rng.choice(..., replace=False)``, then values ≥ j shift up by one."""
    if not 1 <= K < N:
        raise ValueError(f"K={K} must be in 1..N-1={N - 1}")
    indices = np.empty(N * K, dtype=np.int32)
    for lo in range(0, N, chunk):
        hi = min(N, lo + chunk)
        rows = np.sort(rng.integers(0, N - 1, size=(hi - lo, K)), axis=1)
        for r in np.flatnonzero((rows[:, 1:] == rows[:, :-1]).any(axis=1)):
            rows[r] = np.sort(rng.choice(N - 1, size=K, replace=False))
        rows += rows >= np.arange(lo, hi)[:, None]
        indices[lo * K: hi * K] = rows.ravel()
    return np.arange(0, N * K + 1, K, dtype=np.int64), indices


def initial_phases(m: PhaseModel, N: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform phases in [φ_reset, φ_th) (LIF [0, 1); QIF [−π, π)), as in the reference scripts."""
    return m.phi_reset + (m.phi_th - m.phi_reset) * rng.random(N)


# ---- the heap -----------------------------------------------------------------------------------------------------

@numba.njit(cache=True, inline="always")
def _sift_up(key, ids, pos, p):
    k, i = key[p], ids[p]
    while p > 0:
        parent = (p - 1) // ARITY
        if key[parent] <= k:
            break
        key[p] = key[parent]
        ids[p] = ids[parent]
        pos[ids[p]] = p
        p = parent
    key[p] = k
    ids[p] = i
    pos[i] = p


@numba.njit(cache=True, inline="always")
def _sift_down(key, ids, pos, p):
    n = key.shape[0]
    k, i = key[p], ids[p]
    while True:
        first = ARITY * p + 1
        if first >= n:
            break
        best, best_key = first, key[first]
        last = min(first + ARITY, n)
        for q in range(first + 1, last):
            if key[q] < best_key:
                best, best_key = q, key[q]
        if best_key >= k:
            break
        key[p] = best_key
        ids[p] = ids[best]
        pos[ids[p]] = p
        p = best
    key[p] = k
    ids[p] = i
    pos[i] = p


@numba.njit(cache=True)
def build_heap(keys):
    """(key, ids, pos): the d-ary min-heap of ``keys`` (slot -> key, slot -> neuron, neuron -> slot), built in O(N)."""
    n = keys.shape[0]
    key = keys.copy()
    ids = np.arange(n).astype(np.int32)
    pos = np.arange(n).astype(np.int32)
    for p in range((n - 2) // ARITY, -1, -1):
        _sift_down(key, ids, pos, p)
    return key, ids, pos


@numba.njit(cache=True)
def _sparseprop_loop(key, ids, pos, indptr, indices, code, omega, c, phi_th, phi_reset, n_spikes, offset, index, pre):
    """The heap loop; when ``pre`` has rows (training) it also keeps each target's absolute phase before its kick
    (``pre[s, q]`` for the q-th target of spike s): all the backward pass needs besides (Φ_s, j_s)."""
    record = pre.shape[0] > 0
    period = phi_th - phi_reset
    n = key.shape[0]
    width = 0
    for j in range(n):
        width = max(width, indptr[j + 1] - indptr[j])
    slot = np.empty(width, dtype=np.int64)
    new = np.empty(width)
    touched = 0.0
    for s in range(n_spikes):
        j = ids[0]
        Phi = key[0]
        offset[s] = Phi
        index[s] = j
        lo, hi = indptr[j], indptr[j + 1]
        # gather first: the K slots, then the K keys and their children, as independent loads that the memory system
        # serves in parallel; the updates below then find them in the cache
        for q in range(lo, hi):
            slot[q - lo] = pos[indices[q]]
        for q in range(hi - lo):  # loads only (no PTC between them), so that many are in flight
            p = slot[q]
            new[q] = key[p]
            touched += key[min(ARITY * p + 1, n - 1)]
        for q in range(hi - lo):  # the PTCs, on cached values
            x = phi_th - (new[q] - Phi)
            if record:
                pre[s, q] = x
            new[q] = Phi + (phi_th - ptc(code, x, omega, c))
        for q in range(lo, hi):  # a sift may have moved a later target: read its slot again (cached now)
            p = pos[indices[q]]
            key[p] = new[q - lo]
            _sift_down(key, ids, pos, p)  # inhibition: the neuron fires later
        key[pos[j]] = Phi + period
        _sift_down(key, ids, pos, pos[j])
    return touched


def sparseprop(m: PhaseModel, phases: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
               n_spikes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SparseProp: (Φ_s (S,), j_s (S,) int32, final phases (N,)) of ``n_spikes`` network spikes from the absolute
    ``phases`` at t = 0 (Φ = 0). Spike times are Φ_s·τ/ω. The CSR rows (``indptr``, ``indices``) must not repeat a
    target or contain the source itself (:func:`connectivity` guarantees both): the K new keys of a spike are
    computed from the old ones before any is written."""
    key, ids, pos = build_heap(m.phi_th - np.asarray(phases, dtype=np.float64))
    offset = np.empty(n_spikes)
    index = np.empty(n_spikes, dtype=np.int32)
    _sparseprop_loop(key, ids, pos, indptr, indices, m.code, m.omega, m.c, m.phi_th, m.phi_reset, n_spikes, offset,
                     index, np.empty((0, 0)))
    Phi = offset[-1] if n_spikes else 0.0
    final = np.empty_like(key)
    final[ids] = m.phi_th - (key - Phi)
    return offset, index, final


@numba.njit(cache=True)
def _lazy_loop(true_key, key, ids, pos, indptr, indices, code, omega, c, phi_th, phi_reset, n_spikes, offset, index):
    period = phi_th - phi_reset
    width = 0
    for j in range(true_key.shape[0]):
        width = max(width, indptr[j + 1] - indptr[j])
    new = np.empty(width)
    fixes = 0
    for s in range(n_spikes):
        while True:  # the root's stored key is a lower bound of its true key: fix it until the root is exact
            j = ids[0]
            if key[0] == true_key[j]:
                break
            key[0] = true_key[j]
            _sift_down(key, ids, pos, 0)
            fixes += 1
        Phi = key[0]
        offset[s] = Phi
        index[s] = j
        lo, hi = indptr[j], indptr[j + 1]
        for q in range(lo, hi):  # O(1) each, no sift: gather (independent loads), PTCs, scatter
            new[q - lo] = true_key[indices[q]]
        for q in range(hi - lo):
            new[q] = Phi + (phi_th - ptc(code, phi_th - (new[q] - Phi), omega, c))
        for q in range(lo, hi):
            true_key[indices[q]] = new[q - lo]
        true_key[j] = Phi + period
        key[0] = true_key[j]
        _sift_down(key, ids, pos, 0)
    return fixes


def sparseprop_lazy(m: PhaseModel, phases: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                    n_spikes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SparseProp with a lazy heap: (Φ_s, j_s, final phases) as :func:`sparseprop`, the same spike sequence.

    With inhibition only (decision D3) every key change is an increase (a kick delays the target's next spike, a reset
    moves the spiker a full period ahead). The heap may then hold a stale, smaller key for a neuron: a lower bound
    of its true key, kept per neuron in ``true_key``. A kick only rewrites the target's true key, O(1) with no heap
    work; when a neuron reaches the root with a stale key, its entry takes the true key and sifts down, and the root
    is popped only once it is exact. So the K target updates of a spike are independent memory accesses (in flight
    together), and the heap work is a few root sift-downs per spike, whose upper levels stay in the cache."""
    true_key = m.phi_th - np.asarray(phases, dtype=np.float64)
    key, ids, pos = build_heap(true_key)  # the position map is kept up to date but not needed here
    offset = np.empty(n_spikes)
    index = np.empty(n_spikes, dtype=np.int32)
    _lazy_loop(true_key, key, ids, pos, indptr, indices, m.code, m.omega, m.c, m.phi_th, m.phi_reset, n_spikes, offset,
               index)
    Phi = offset[-1] if n_spikes else 0.0
    return offset, index, m.phi_th - (true_key - Phi)


@numba.njit(cache=True)
def _time_loop(key, ids, pos, indptr, indices, code, omega, c, phi_th, phi_reset, n_spikes, times, index):
    for s in range(n_spikes):
        j = ids[0]
        t = key[0]
        times[s] = t
        index[s] = j
        for q in range(indptr[j], indptr[j + 1]):
            i = indices[q]
            p = pos[i]
            w = omega[i]
            key[p] = t + (phi_th - ptc(code, phi_th - (key[p] - t) * w, w, c[i])) / w
            _sift_down(key, ids, pos, p)  # inhibition: the neuron fires later
        key[pos[j]] = t + (phi_th - phi_reset) / omega[j]
        _sift_down(key, ids, pos, pos[j])


def time_heap(code: int, omega: np.ndarray, c: np.ndarray, phi_th: float, phi_reset: float, phases: np.ndarray,
              indptr: np.ndarray, indices: np.ndarray, n_spikes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The time-based variant of SparseProp (spec §1.6) for neurons with their own phase velocity ``omega[i]`` and
    PTC parameter ``c[i]`` (e.g. heterogeneous drives; phases then no longer move in lockstep and no global offset
    exists): each neuron's key is its next spike time T_i (in units of τ) in the indexed 4-ary min-heap; a kick at
    time t maps the target's phase φ_th − (T_i − t)·ω_i through its PTC and sets T_i = t + (φ_th − φ')/ω_i; the
    spiker's next spike is a period 1/ω_j·(φ_th − φ_reset) later. Returns (t_s in units of τ, j_s, final phases)."""
    omega = np.ascontiguousarray(omega, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.float64)
    key, ids, pos = build_heap((phi_th - np.asarray(phases, dtype=np.float64)) / omega)
    times = np.empty(n_spikes)
    index = np.empty(n_spikes, dtype=np.int32)
    _time_loop(key, ids, pos, indptr, indices, code, omega, c, phi_th, phi_reset, n_spikes, times, index)
    t = times[-1] if n_spikes else 0.0
    final = np.empty_like(key)
    final[ids] = phi_th - (key - t) * omega[ids]
    return times, index, final


def heterogeneous(model: str, K: int, J0: float, rate: float, tau: float, eta: float,
                  N: int) -> tuple[np.ndarray, np.ndarray]:
    """(ω_i, c_i) of neurons with their own drive, I_bal,i = τ·√K·J0·ν̄·(1 + η·sin(2i/N)) (the inhomogeneous example
    of the reference, η = 0.4 there; spec §1.6), for :func:`time_heap`; |η| < 1 keeps every neuron above rheobase."""
    if not abs(eta) < 1:
        raise ValueError(f"eta={eta} must lie in (-1, 1): a neuron with I_bal,i <= 0 never fires")
    base = phase_model(model, K, J0, rate, tau)
    I_bal = tau * math.sqrt(K) * J0 * rate * (1.0 + eta * np.sin(2.0 * np.arange(N) / N))
    if base.code == 0:
        return 1.0 / np.log1p(1.0 / I_bal), J0 / (math.sqrt(K) * (1.0 + I_bal))
    omega = 2.0 * np.sqrt(I_bal)
    return omega, -(J0 / math.sqrt(K)) * (2.0 / omega)


def sparseprop_time(m: PhaseModel, phases: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                    n_spikes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`time_heap` for the homogeneous network of ``m``: (Φ_s = ω·t_s, j_s, final phases) as :func:`sparseprop`,
    the same spike sequence (the tests compare the phase heap with this time heap)."""
    n = len(phases)
    times, index, final = time_heap(m.code, np.full(n, m.omega), np.full(n, m.c), m.phi_th, m.phi_reset, phases,
                                    indptr, indices, n_spikes)
    return times * m.omega, index, final


# ---- conventional O(N) baselines ----------------------------------------------------------------------------------

@numba.njit(cache=True)
def _conventional_loop(phi, indptr, indices, code, omega, c, phi_th, phi_reset, n_spikes, offset, index):
    n = phi.shape[0]
    Phi = 0.0
    for s in range(n_spikes):
        j, top = 0, phi[0]
        for i in range(1, n):  # the next spiker: O(N)
            if phi[i] > top:
                j, top = i, phi[i]
        delta = phi_th - top
        for i in range(n):  # advance every neuron to the spike: O(N)
            phi[i] += delta
        Phi += delta
        offset[s] = Phi
        index[s] = j
        for q in range(indptr[j], indptr[j + 1]):
            i = indices[q]
            phi[i] = ptc(code, phi[i], omega, c)
        phi[j] = phi_reset


def conventional_numba(m: PhaseModel, phases: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                       n_spikes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The conventional event-based algorithm, scalar and compiled: (Φ_s, j_s, final phases) as :func:`sparseprop`."""
    phi = np.array(phases, dtype=np.float64)
    offset = np.empty(n_spikes)
    index = np.empty(n_spikes, dtype=np.int32)
    _conventional_loop(phi, indptr, indices, m.code, m.omega, m.c, m.phi_th, m.phi_reset, n_spikes, offset, index)
    return offset, index, phi


def conventional_numpy(m: PhaseModel, phases: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                       n_spikes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The conventional event-based algorithm vectorised with numpy: (Φ_s, j_s, final phases) as :func:`sparseprop`."""
    phi = np.array(phases, dtype=np.float64)
    offset = np.empty(n_spikes)
    index = np.empty(n_spikes, dtype=np.int32)
    Phi = 0.0
    for s in range(n_spikes):
        j = int(phi.argmax())
        delta = m.phi_th - phi[j]
        phi += delta
        Phi += delta
        offset[s], index[s] = Phi, j
        targets = indices[indptr[j]: indptr[j + 1]]
        phi[targets] = ptc_numpy(m, phi[targets])
        phi[j] = m.phi_reset
    return offset, index, phi


# ---- the adjoint (spec §1.8; decision D5) --------------------------------------------------------------------------

def drive_model(model: str, K: int, J0: float, I_ext: float) -> PhaseModel:
    """The :class:`PhaseModel` of ``model`` for a given external drive ``I_ext`` (dimensionless; LIF: > 1, QIF: > 0)
    and coupling J0 > 0, instead of the balance equation of :func:`phase_model` (the parameters of training)."""
    if J0 <= 0:
        raise ValueError(f"J0={J0} must be > 0: only inhibitory coupling is supported (decision D3)")
    if model == "lif":
        if I_ext <= 1:
            raise ValueError(f"I_ext={I_ext} must be > 1 (a LIF neuron below rheobase never fires)")
        return PhaseModel(0, 1.0 / math.log1p(1.0 / (I_ext - 1.0)), J0 / (math.sqrt(K) * I_ext), 1.0, 0.0, I_ext)
    if model == "qif":
        if I_ext <= 0:
            raise ValueError(f"I_ext={I_ext} must be > 0 (a QIF neuron below rheobase never fires)")
        omega = 2.0 * math.sqrt(I_ext)
        return PhaseModel(1, omega, -(J0 / math.sqrt(K)) * (2.0 / omega), math.pi, -math.pi, I_ext)
    raise ValueError(f"model={model!r}; allowed: {', '.join(MODELS)}")


def sparseprop_record(m: PhaseModel, phases: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                      n_spikes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SparseProp's forward pass for training: (Φ_s (S,), j_s (S,), pre (S, K_max)), the spikes of :func:`sparseprop`
    and every target's absolute phase just before its kick (8 bytes per synaptic event)."""
    key, ids, pos = build_heap(m.phi_th - np.asarray(phases, dtype=np.float64))
    width = int(np.diff(indptr).max()) if len(indptr) > 1 else 0
    offset = np.empty(n_spikes)
    index = np.empty(n_spikes, dtype=np.int32)
    pre = np.empty((n_spikes, width))
    _sparseprop_loop(key, ids, pos, indptr, indices, m.code, m.omega, m.c, m.phi_th, m.phi_reset, n_spikes, offset,
                     index, pre)
    return offset, index, pre


@numba.njit(cache=True)
def _adjoint_loop(offset, index, pre, indptr, indices, code, omega, c, dL_dt, scale, a):
    grad_c = 0.0
    grad_omega = 0.0
    for s in range(offset.shape[0] - 1, -1, -1):
        j = index[s]
        Phi = offset[s]
        bar = dL_dt[s] * scale  # ∂L/∂Φ_s through t_s = Φ_s·τ/ω
        grad_omega -= dL_dt[s] * Phi * scale / omega
        lo = indptr[j]
        for q in range(lo, indptr[j + 1]):
            i = indices[q]
            x = pre[s, q - lo]
            if code == 0:  # LIF: g = −ω ln(u), u = e^{−x/ω} + c
                e = math.exp(-x / omega)
                u = e + c
                gp = e / u
                dgc = -omega / u
                dgw = -math.log(u) - (x / omega) * gp
            elif x <= -math.pi:  # QIF at its reset: g(x) = x
                gp, dgc, dgw = 1.0, 0.0, 0.0
            else:  # QIF: g = 2 atan(tan(x/2) + c)
                tn = math.tan(0.5 * x)
                y = tn + c
                gp = (1.0 + tn * tn) / (1.0 + y * y)
                dgc = 2.0 / (1.0 + y * y)
                dgw = 0.0
            ai = a[i]
            bar += ai * (gp - 1.0)  # ψ_i' = g(ψ_i + Φ) − Φ
            grad_c += ai * dgc
            grad_omega += ai * dgw
            a[i] = ai * gp
        bar -= a[j]  # ψ_j' = φ_reset − Φ
        a[j] = -bar  # Φ_s = φ_th − ψ_j
    return grad_c, grad_omega


def adjoint(m: PhaseModel, offset: np.ndarray, index: np.ndarray, pre: np.ndarray, indptr: np.ndarray,
            indices: np.ndarray, dL_dt: np.ndarray, tau: float) -> tuple[float, float, np.ndarray]:
    """The reverse sweep of spec §1.8 (decision D5) for a loss L(t_1…t_S) of the spike times t_s = Φ_s·τ/ω of
    :func:`sparseprop_record`: (∂L/∂c, ∂L/∂ω, ∂L/∂φ_i(0)) at fixed initial phases. It replays the recorded spike
    order backwards with one adjoint a_i = ∂L/∂ψ_i per neuron in the relative-phase frame, where the Jacobian of a
    spike is the identity except for the K targets and the spiker, so each spike costs O(K) and needs no heap:

        ā_Φ = ∂L/∂t_s·τ/ω + Σ_{i∈T_s} a_i·(g'(x_i) − 1) − a_j,   a_i ← a_i·g'(x_i),   a_j ← −ā_Φ,
        ∂L/∂θ += Σ_{i∈T_s} a_i·∂g/∂θ(x_i)   (θ = c, ω),   ∂L/∂ω += −∂L/∂t_s·Φ_s·τ/ω²,

    with x_i the target's absolute phase before the kick. Exact for the fixed spike order of the forward pass, which
    holds almost everywhere in parameter space (a gradient is undefined where two spikes swap)."""
    a = np.zeros(len(indptr) - 1)
    scale = tau / m.omega
    grad_c, grad_omega = _adjoint_loop(offset, index, pre, indptr, indices, m.code, m.omega, m.c,
                                       np.asarray(dL_dt, dtype=np.float64), scale, a)
    return grad_c, grad_omega, a


def drive_gradients(m: PhaseModel, K: int, J0: float, grad_c: float, grad_omega: float) -> tuple[float, float]:
    """(∂L/∂I_ext, ∂L/∂J0) from (∂L/∂c, ∂L/∂ω) through :func:`drive_model`'s ω(I_ext) and c(I_ext, J0)."""
    I = m.I_ext
    if m.code == 0:  # ω = 1/ln(I/(I−1)), c = J0/(√K·I)
        d_omega, d_c = m.omega ** 2 / (I * (I - 1.0)), -m.c / I
    else:  # ω = 2√I, c = −J0/(√K·√I)
        d_omega, d_c = 1.0 / math.sqrt(I), -0.5 * m.c / I
    return grad_omega * d_omega + grad_c * d_c, grad_c * m.c / J0


ALGORITHMS = {"sparseprop": sparseprop, "sparseprop_lazy": sparseprop_lazy, "sparseprop_time": sparseprop_time,
              "conventional_numba": conventional_numba, "conventional_numpy": conventional_numpy}


def warm_up() -> float:
    """Compile (or load from numba's cache) every loop on a tiny network; returns the seconds it took."""
    import time

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    indptr, indices = connectivity(8, 2, rng)
    for model in MODELS:
        m = phase_model(model, 2, 1.0, 1.0, 0.01)
        for algorithm in ("sparseprop", "sparseprop_lazy", "sparseprop_time", "conventional_numba"):
            ALGORITHMS[algorithm](m, initial_phases(m, 8, rng), indptr, indices, 4)
        offset, index, pre = sparseprop_record(m, initial_phases(m, 8, rng), indptr, indices, 4)
        adjoint(m, offset, index, pre, indptr, indices, np.ones(4), 0.01)
    return time.perf_counter() - start
