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
- EIF, τ dV/dt = −V + ΔT·e^{(V − V_T)/ΔT} + I_ext (V_T = 1, reset 0, spike at V = ∞), I_ext = 1 + I_bal: no closed
  form; its PTC is tabulated from the ODE (:func:`tabulate_ptc`, model code 2, ``c`` is then the table).

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
import numba.extending
import numpy as np

MODELS = ("lif", "qif")  # model code = index here (0: LIF, 1: QIF)
TABULATED_MODELS = ("eif",)  # model code 2: a PTC tabulated from the neuron's ODE (:func:`tabulate_ptc`)
TABLE = 2  # the model code of a tabulated PTC
ARITY = 8  # children per heap node: 8 (key, id) records of 16 bytes fill two adjacent cache lines


class PhaseModel(NamedTuple):
    """A neuron model in phase representation with the balanced network's coupling (spec §1.3)."""

    code: int  # 0: LIF, 1: QIF (the index in MODELS), 2: tabulated PTC (EIF, or LIF/QIF by :func:`tabulated`)
    omega: float  # phase velocity (phases per τ)
    c: float | np.ndarray  # PTC parameter (one fixed coupling J = −J0/√K); code 2: the table of :func:`tabulate_ptc`
    phi_th: float  # threshold phase
    phi_reset: float  # reset phase
    I_ext: float  # external drive (dimensionless)


def phase_model(model: str, K: int, J0: float, rate: float, tau: float, delta_T: float = 0.1) -> PhaseModel:
    """ω, c, φ_th, φ_reset of ``model`` ('lif', 'qif' or 'eif', the latter with slope factor ``delta_T``) in the
    balanced network: K synapses per neuron, coupling strength J0 > 0 (inhibitory, J = −J0/√K), target rate ``rate``
    (Hz) and membrane time constant ``tau`` (s)."""
    if J0 <= 0:
        raise ValueError(f"J0={J0} must be > 0: only inhibitory coupling is supported (decision D3)")
    I_bal = tau * math.sqrt(K) * J0 * rate
    if model == "eif":
        trajectory = eif_trajectory(1.0 + I_bal, delta_T)
        return PhaseModel(TABLE, trajectory.omega, tabulate_ptc(trajectory, -J0 / math.sqrt(K)), 1.0, 0.0,
                          1.0 + I_bal)
    if model == "lif":
        I_ext = 1.0 + I_bal
        return PhaseModel(0, 1.0 / math.log1p(1.0 / I_bal), J0 / (math.sqrt(K) * I_ext), 1.0, 0.0, I_ext)
    if model == "qif":
        omega = 2.0 * math.sqrt(I_bal)
        return PhaseModel(1, omega, -(J0 / math.sqrt(K)) * (2.0 / omega), math.pi, -math.pi, I_bal)
    raise ValueError(f"model={model!r}; allowed: {', '.join(MODELS)}")


def voltage(m: PhaseModel, phi: np.ndarray | float) -> np.ndarray | float:
    """V(φ): LIF I_ext·(1 − e^{−φ/ω}); QIF √I_ext·tan(θ/2) (a tabulated model: :meth:`FreeTrajectory.voltage`)."""
    if m.code == TABLE:
        raise ValueError("a tabulated model's V(φ) is FreeTrajectory.voltage(1 − φ)")
    if m.code == 0:
        return m.I_ext * (1.0 - np.exp(-np.asarray(phi) / m.omega))
    return math.sqrt(m.I_ext) * np.tan(np.asarray(phi) / 2.0)


def phase(m: PhaseModel, V: np.ndarray | float) -> np.ndarray | float:
    """φ(V), the inverse of :func:`voltage`."""
    if m.code == TABLE:
        raise ValueError("a tabulated model's φ(V) is 1 − FreeTrajectory.remaining(V)")
    if m.code == 0:
        return -m.omega * np.log1p(-np.asarray(V) / m.I_ext)
    return 2.0 * np.arctan(np.asarray(V) / math.sqrt(m.I_ext))


@numba.njit(cache=True, inline="always")
def _analytic_ptc(code: int, phi: float, omega: float, c: float) -> float:
    if code == 0:
        return -omega * math.log(math.exp(-phi / omega) + c)
    if phi <= -math.pi:
        return phi
    return 2.0 * math.atan(math.tan(0.5 * phi) + c)


@numba.njit(cache=True, inline="always")
def _table_ptc(phi: float, omega: float, table: np.ndarray) -> float:
    """g(φ) from the table of :func:`tabulate_ptc`: with r = 1 − φ and z = −ln r, g = 1 − r·e^{G(z)}, G a cubic
    Hermite interpolant on the uniform z grid; below the grid (V < V_low, where f(V) = I − V) the leak's closed form
    g = φ_lo − ω·ln(e^{(φ_lo − φ)/ω} + q); at φ_th itself g = table[3]."""
    r = 1.0 - phi
    if r <= 0.0:
        return table[3]
    z = -math.log(r)
    if z < table[0]:
        lo = -math.expm1(-table[0])
        return lo - omega * math.log(math.exp((lo - phi) / omega) + table[2])
    u = (z - table[0]) * table[1]
    k = min(int(u), (table.shape[0] - TABLE_HEADER) // 2 - 2)
    s = u - k
    b = TABLE_HEADER + 2 * k
    g0, d0, g1, d1 = table[b], table[b + 1], table[b + 2], table[b + 3]
    dg = g1 - g0
    return 1.0 - r * math.exp(g0 + s * (d0 + s * ((3.0 * dg - 2.0 * d0 - d1) + s * (d0 + d1 - 2.0 * dg))))


def ptc(code: int, phi: float, omega: float, c: float | np.ndarray) -> float:
    """The phase transition curve g(φ) of one input spike (LIF: code 0; QIF: code 1; a tabulated PTC, code 2, when
    ``c`` is its table). QIF at or below the reset phase −π (where tan(θ/2) flips sign; reachable by round-off right
    after a reset) stays put: g(−π) = −π. In compiled loops the type of ``c`` picks the branch at compile time (the
    overload below), so an analytic model's loop carries no table code."""
    if isinstance(c, np.ndarray):
        return _table_ptc(phi, omega, c)
    return _analytic_ptc(code, phi, omega, c)


@numba.extending.overload(ptc, inline="always")
def _ptc_overload(code, phi, omega, c):
    if isinstance(c, numba.types.Array):
        return lambda code, phi, omega, c: _table_ptc(phi, omega, c)
    return lambda code, phi, omega, c: _analytic_ptc(code, phi, omega, c)


def ptc_numpy(m: PhaseModel, phi: np.ndarray) -> np.ndarray:
    """:func:`ptc` on an array (the vectorised baseline)."""
    if m.code == TABLE:
        return _table_ptc_array(np.asarray(phi, dtype=np.float64), m.omega, m.c)
    if m.code == 0:
        return -m.omega * np.log(np.exp(-phi / m.omega) + m.c)
    return np.where(phi <= -math.pi, phi, 2.0 * np.arctan(np.tan(0.5 * phi) + m.c))


# ---- tabulated PTCs (EIF; spec §1.3 and §1.9 item 4) ---------------------------------------------------------------

GL_NODES, GL_WEIGHTS = np.polynomial.legendre.leggauss(16)  # Gauss–Legendre on [−1, 1]
TABLE_HEADER = 4  # z_lo, 1/h, q, g(φ_th); then (G_k, h·G'_k) for k = 0…n
TABLE_STEP = 2.0 ** -9  # grid step in z = −ln(1 − φ): interpolation error ≲ 1e−13 in φ (tests/test_sparseprop_eif.py)
Z_MAX = 37.0  # the grid ends here: 1 − φ ≥ 2^−53 > e^{−37} for every double φ < 1
EIF_TAIL = 40.0  # the EIF's grid runs from V_T − 40·ΔT (e^{(V − V_T)/ΔT} < e^{−40}: pure leak below) to V_T + 40·ΔT


class FreeTrajectory:
    """The free trajectory of a 1-D neuron τ dV/dt = f(V) (f > 0 above V_low; f(V) = I_ext − V, a pure leak, below
    it), reset V_reset, spike at V_cut plus ``tail`` (the time from V_cut to the spike, in τ). Its phase runs from 0 at
    reset to 1 at the spike with ω = 1/(reset-to-spike time in τ); what is computed is the phase still to go,
    1 − φ(V) = ω·∫_V^{spike} dV'/f(V'), by 16-point Gauss–Legendre on panels of width ≤ ``panel`` (machine precision
    for an f smooth on that scale), and in closed form below V_low: ω·(R(V_low) + ln((I − V)/(I − V_low)))."""

    def __init__(self, f, I_ext: float, V_reset: float, V_low: float, V_cut: float, tail: float, panel: float):
        self.f, self.I_ext, self.V_low, self.V_cut = f, I_ext, V_low, V_cut
        self.edges = np.linspace(V_low, V_cut, math.ceil((V_cut - V_low) / panel) + 1)
        pieces = self._integral(self.edges[:-1], self.edges[1:])
        self.rest = np.concatenate((np.cumsum(pieces[::-1])[::-1], [0.0])) + tail  # ∫ from each edge to the spike
        self.omega = 1.0
        self.omega = 1.0 / float(self.remaining(V_reset)[0])

    def _integral(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        half = 0.5 * (b - a)
        return half * (GL_WEIGHTS / self.f(a[..., None] + half[..., None] * (1.0 + GL_NODES))).sum(-1)

    def remaining(self, V) -> np.ndarray:
        """1 − φ(V) (V ≤ V_cut)."""
        V = np.atleast_1d(np.asarray(V, dtype=np.float64))
        k = np.clip(np.searchsorted(self.edges, V, side="right"), 1, len(self.edges) - 1)
        inside = self.rest[k] + self._integral(np.clip(V, self.V_low, self.V_cut), self.edges[k])
        below = self.rest[0] + np.log((self.I_ext - np.minimum(V, self.V_low)) / (self.I_ext - self.V_low))
        return self.omega * np.where(V < self.V_low, below, inside)

    def voltage(self, r) -> np.ndarray:
        """V with 1 − φ(V) = r: Newton in ln r, d ln r/dV = −ω/(f·r), kept below V_cut by halving, to a few ulp."""
        r = np.asarray(r, dtype=np.float64)
        V = np.interp(-np.log(r), -np.log(self.remaining(self.edges[:-1])), self.edges[:-1])
        for _ in range(100):
            rv = self.remaining(V)
            new = V + (np.log(np.maximum(rv, 1e-300)) - np.log(r)) * rv * self.f(V) / self.omega
            new = np.where(new < self.V_cut, new, 0.5 * (V + self.V_cut))
            if np.all(np.abs(new - V) <= 4e-15 * (1.0 + np.abs(V))):  # a few ulp: round-off oscillation
                return new
            V = new
        raise ArithmeticError("FreeTrajectory.voltage: Newton did not converge")


def eif_trajectory(I_ext: float, delta_T: float) -> FreeTrajectory:
    """The EIF, f(V) = −V + ΔT·e^{(V − V_T)/ΔT} + I_ext with V_T = 1 and reset 0 (the reference's dimensionless units,
    shifted by +1 so that its leak matches the LIF's): spike at V = ∞, reached e^{−40}·τ after V_T + 40·ΔT (to first
    order in e^{−40}); pure leak below V_T − 40·ΔT (the exponential is < e^{−40}·ΔT there)."""
    if not delta_T > 0:
        raise ValueError(f"delta_T={delta_T} must be > 0")
    if I_ext <= 1.0 - delta_T:
        raise ValueError(f"I_ext={I_ext} must exceed the EIF's rheobase 1 − ΔT = {1.0 - delta_T}")

    def f(V):
        return -V + delta_T * np.exp((V - 1.0) / delta_T) + I_ext

    return FreeTrajectory(f, I_ext, 0.0, min(-1.0, 1.0 - EIF_TAIL * delta_T), 1.0 + EIF_TAIL * delta_T,
                          math.exp(-EIF_TAIL), delta_T / 4)


def lif_trajectory(I_ext: float) -> FreeTrajectory:
    """The LIF, f(V) = I_ext − V, threshold 1, reset 0, on the EIF's grid for ΔT = 0.1 (the exactness check of
    spec §1.9 item 4: the analytic LIF PTC against one tabulated the same way)."""
    return FreeTrajectory(lambda V: I_ext - V, I_ext, 0.0, 1.0 - EIF_TAIL * 0.1, 1.0, 0.0, 0.025)


def tabulate_ptc(trajectory: FreeTrajectory, J: float, step: float = TABLE_STEP) -> np.ndarray:
    """The PTC of a kick V → V + J (J < 0) as a table for :func:`ptc` (model code 2): g(φ) = φ(V(φ) + J), tabulated
    as G(z) = ln((1 − g)/(1 − φ)) on a uniform grid of z = −ln(1 − φ) from the bottom of the trajectory's grid to
    Z_MAX, with its exact slope G'(z) = 1 − g'(φ)·(1 − φ)/(1 − g), g'(φ) = f(V)/f(V + J), for cubic Hermite
    interpolation. In z, G is smooth up to the spike, also for the EIF, whose g(φ) has a (1 − φ)²·ln(1 − φ) term
    there that a grid in φ resolves only to O(h²)."""
    if not J < 0:
        raise ValueError(f"J={J} must be < 0: only inhibitory coupling is supported (decision D3)")
    z_lo = -math.log(float(trajectory.remaining(trajectory.V_low)[0]))
    z = z_lo + step * np.arange(math.ceil((Z_MAX - z_lo) / step) + 1)
    r = np.exp(-z)
    V = trajectory.voltage(r)
    r_kicked = trajectory.remaining(V + J)
    slope = 1.0 - trajectory.f(V) / trajectory.f(V + J) * r / r_kicked
    header = [z_lo, 1.0 / step, -J / (trajectory.I_ext - V[0]), 1.0 - float(trajectory.remaining(
        trajectory.V_cut + J)[0])]
    return np.concatenate((header, np.column_stack((np.log(r_kicked) + z, step * slope)).ravel()))


def tabulated(m: PhaseModel, K: int, J0: float) -> PhaseModel:
    """The LIF model ``m`` with its PTC tabulated from its ODE by :func:`tabulate_ptc` (and its ω from the same
    quadrature) instead of the closed form."""
    if m.code != 0:
        raise ValueError("only the LIF has both an analytic and a tabulated PTC here")
    trajectory = lif_trajectory(m.I_ext)
    return m._replace(code=TABLE, omega=trajectory.omega, c=tabulate_ptc(trajectory, -J0 / math.sqrt(K)))


@numba.njit(cache=True)
def _table_ptc_array(phi, omega, table):
    out = np.empty_like(phi)
    for i in range(phi.shape[0]):
        out[i] = _table_ptc(phi[i], omega, table)
    return out


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

# The indexed d-ary min-heap: one (n, 2) float64 array of records (key, neuron id) per slot, so that a slot's key and
# id, and the keys and ids of its ARITY children, arrive in the same cache lines (ids < 2^53 are exact in float64), and
# the position map pos (neuron -> slot, int32). The records start ARITY − 1 slots into a 64-byte aligned buffer, so
# every block of children (slots d·p+1 … d·p+d) starts on a cache line.

@numba.njit(cache=True, inline="always")
def _sift_down(heap, pos, p):
    n = heap.shape[0]
    k, i = heap[p, 0], heap[p, 1]
    while True:
        first = ARITY * p + 1
        if first >= n:
            break
        best, best_key = first, heap[first, 0]
        for q in range(first + 1, min(first + ARITY, n)):
            if heap[q, 0] < best_key:
                best, best_key = q, heap[q, 0]
        if best_key >= k:
            break
        heap[p, 0] = best_key
        heap[p, 1] = heap[best, 1]
        pos[np.int64(heap[p, 1])] = p
        p = best
    heap[p, 0] = k
    heap[p, 1] = i
    pos[np.int64(i)] = p


@numba.njit(cache=True)
def _heapify(heap, pos):
    for p in range((heap.shape[0] - 2) // ARITY, -1, -1):
        _sift_down(heap, pos, p)


def build_heap(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(heap, pos): the indexed d-ary min-heap of ``keys`` (heap[slot] = (key, neuron), pos[neuron] = slot), in O(N)."""
    n = len(keys)
    raw = np.empty(2 * (n + ARITY) + 8)
    start = (-raw.ctypes.data % 64) // 8 + 2 * (ARITY - 1)
    heap = raw[start: start + 2 * n].reshape(n, 2)
    heap[:, 0] = keys
    heap[:, 1] = np.arange(n)
    pos = np.arange(n, dtype=np.int32)
    _heapify(heap, pos)
    return heap, pos


@numba.njit(cache=True)
def _sparseprop_loop(heap, pos, indptr, indices, code, omega, c, phi_th, phi_reset, n_spikes, offset, index, pre):
    """The heap loop; when ``pre`` has rows (training) it also keeps each target's absolute phase before its kick
    (``pre[s, q]`` for the q-th target of spike s): all the backward pass needs besides (Φ_s, j_s)."""
    record = pre.shape[0] > 0
    period = phi_th - phi_reset
    n = heap.shape[0]
    width = 0
    for j in range(n):
        width = max(width, indptr[j + 1] - indptr[j])
    slot = np.empty(width, dtype=np.int64)
    new = np.empty(width)
    touched = 0.0
    for s in range(n_spikes):
        j = np.int64(heap[0, 1])
        Phi = heap[0, 0]
        offset[s] = Phi
        index[s] = j
        lo, hi = indptr[j], indptr[j + 1]
        # gather first: the K slots, then the K keys and their children, as independent loads that the memory system
        # serves in parallel; the updates below then find them in the cache
        for q in range(lo, hi):
            slot[q - lo] = pos[indices[q]]
        for q in range(hi - lo):  # loads only (no PTC between them), so that many are in flight
            p = slot[q]
            new[q] = heap[p, 0]
            touched += heap[min(ARITY * p + 1, n - 1), 0]
        for q in range(hi - lo):  # the PTCs, on cached values
            x = phi_th - (new[q] - Phi)
            if record:
                pre[s, q] = x
            new[q] = Phi + (phi_th - ptc(code, x, omega, c))
        for q in range(lo, hi):  # a sift may have moved a later target: read its slot again (cached now)
            p = pos[indices[q]]
            heap[p, 0] = new[q - lo]
            _sift_down(heap, pos, p)  # inhibition: the neuron fires later
        p = pos[j]
        heap[p, 0] = Phi + period
        _sift_down(heap, pos, p)
    return touched


def sparseprop(m: PhaseModel, phases: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
               n_spikes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SparseProp: (Φ_s (S,), j_s (S,) int32, final phases (N,)) of ``n_spikes`` network spikes from the absolute
    ``phases`` at t = 0 (Φ = 0). Spike times are Φ_s·τ/ω. The CSR rows (``indptr``, ``indices``) must not repeat a
    target or contain the source itself (:func:`connectivity` guarantees both): the K new keys of a spike are
    computed from the old ones before any is written."""
    heap, pos = build_heap(m.phi_th - np.asarray(phases, dtype=np.float64))
    offset = np.empty(n_spikes)
    index = np.empty(n_spikes, dtype=np.int32)
    _sparseprop_loop(heap, pos, indptr, indices, m.code, m.omega, m.c, m.phi_th, m.phi_reset, n_spikes, offset,
                     index, np.empty((0, 0)))
    Phi = offset[-1] if n_spikes else 0.0
    final = np.empty(len(heap))
    final[heap[:, 1].astype(np.int64)] = m.phi_th - (heap[:, 0] - Phi)
    return offset, index, final


@numba.njit(cache=True)
def _lazy_loop(true_key, heap, pos, indptr, indices, code, omega, c, phi_th, phi_reset, n_spikes, offset, index):
    period = phi_th - phi_reset
    width = 0
    for j in range(true_key.shape[0]):
        width = max(width, indptr[j + 1] - indptr[j])
    new = np.empty(width)
    fixes = 0
    for s in range(n_spikes):
        while True:  # the root's stored key is a lower bound of its true key: fix it until the root is exact
            j = np.int64(heap[0, 1])
            if heap[0, 0] == true_key[j]:
                break
            heap[0, 0] = true_key[j]
            _sift_down(heap, pos, 0)
            fixes += 1
        Phi = heap[0, 0]
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
        heap[0, 0] = true_key[j]
        _sift_down(heap, pos, 0)
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
    heap, pos = build_heap(true_key)  # the position map is kept up to date but not needed here
    offset = np.empty(n_spikes)
    index = np.empty(n_spikes, dtype=np.int32)
    _lazy_loop(true_key, heap, pos, indptr, indices, m.code, m.omega, m.c, m.phi_th, m.phi_reset, n_spikes, offset,
               index)
    Phi = offset[-1] if n_spikes else 0.0
    return offset, index, m.phi_th - (true_key - Phi)


@numba.njit(cache=True)
def _time_loop(heap, pos, indptr, indices, code, omega, c, phi_th, phi_reset, n_spikes, times, index, pre):
    """The time-heap loop; when ``pre`` has rows (training) it keeps each target's phase before its kick."""
    record = pre.shape[0] > 0
    for s in range(n_spikes):
        j = np.int64(heap[0, 1])
        t = heap[0, 0]
        times[s] = t
        index[s] = j
        for q in range(indptr[j], indptr[j + 1]):
            i = indices[q]
            p = pos[i]
            w = omega[i]
            x = phi_th - (heap[p, 0] - t) * w
            if record:
                pre[s, q - indptr[j]] = x
            heap[p, 0] = t + (phi_th - ptc(code, x, w, c[i])) / w
            _sift_down(heap, pos, p)  # inhibition: the neuron fires later
        p = pos[j]
        heap[p, 0] = t + (phi_th - phi_reset) / omega[j]
        _sift_down(heap, pos, p)


def time_heap(code: int, omega: np.ndarray, c: np.ndarray, phi_th: float, phi_reset: float, phases: np.ndarray,
              indptr: np.ndarray, indices: np.ndarray, n_spikes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The time-based variant of SparseProp (spec §1.6) for neurons with their own phase velocity ``omega[i]`` and
    PTC parameter ``c[i]`` (e.g. heterogeneous drives; phases then no longer move in lockstep and no global offset
    exists): each neuron's key is its next spike time T_i (in units of τ) in the indexed d-ary min-heap; a kick at
    time t maps the target's phase φ_th − (T_i − t)·ω_i through its PTC and sets T_i = t + (φ_th − φ')/ω_i; the
    spiker's next spike is a period 1/ω_j·(φ_th − φ_reset) later. Returns (t_s in units of τ, j_s, final phases)."""
    omega = np.ascontiguousarray(omega, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.float64)
    heap, pos = build_heap((phi_th - np.asarray(phases, dtype=np.float64)) / omega)
    times = np.empty(n_spikes)
    index = np.empty(n_spikes, dtype=np.int32)
    _time_loop(heap, pos, indptr, indices, code, omega, c, phi_th, phi_reset, n_spikes, times, index,
               np.empty((0, 0)))
    t = times[-1] if n_spikes else 0.0
    ids = heap[:, 1].astype(np.int64)
    final = np.empty(len(heap))
    final[ids] = phi_th - (heap[:, 0] - t) * omega[ids]
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
    heap, pos = build_heap(m.phi_th - np.asarray(phases, dtype=np.float64))
    width = int(np.diff(indptr).max()) if len(indptr) > 1 else 0
    offset = np.empty(n_spikes)
    index = np.empty(n_spikes, dtype=np.int32)
    pre = np.empty((n_spikes, width))
    _sparseprop_loop(heap, pos, indptr, indices, m.code, m.omega, m.c, m.phi_th, m.phi_reset, n_spikes, offset,
                     index, pre)
    return offset, index, pre


@numba.njit(cache=True, inline="always")
def _ptc_derivatives(code, x, omega, c):
    """(g(x), ∂g/∂x, ∂g/∂c, ∂g/∂ω) of the analytic PTCs (LIF: code 0, QIF: code 1)."""
    if code == 0:  # LIF: g = −ω ln(u), u = e^{−x/ω} + c
        e = math.exp(-x / omega)
        u = e + c
        gp = e / u
        return -omega * math.log(u), gp, -omega / u, -math.log(u) - (x / omega) * gp
    if x <= -math.pi:  # QIF at its reset: g(x) = x
        return x, 1.0, 0.0, 0.0
    tn = math.tan(0.5 * x)  # QIF: g = 2 atan(tan(x/2) + c)
    y = tn + c
    return 2.0 * math.atan(y), (1.0 + tn * tn) / (1.0 + y * y), 2.0 / (1.0 + y * y), 0.0


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
            _, gp, dgc, dgw = _ptc_derivatives(code, pre[s, q - lo], omega, c)
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


def drive_derivatives(code: int, I, omega, c):
    """(dω/dI_ext, dc/dI_ext) of :func:`drive_model` (scalars or per-neuron arrays): LIF ω = 1/ln(I/(I−1)),
    c = J0/(√K·I); QIF ω = 2√I, c = −J0/(√K·√I)."""
    if code == 0:
        return omega ** 2 / (I * (I - 1.0)), -c / I
    return 1.0 / np.sqrt(I), -0.5 * c / I


def drive_gradients(m: PhaseModel, K: int, J0: float, grad_c: float, grad_omega: float) -> tuple[float, float]:
    """(∂L/∂I_ext, ∂L/∂J0) from (∂L/∂c, ∂L/∂ω) through :func:`drive_model`'s ω(I_ext) and c(I_ext, J0)."""
    d_omega, d_c = drive_derivatives(m.code, m.I_ext, m.omega, m.c)
    return float(grad_omega * d_omega + grad_c * d_c), grad_c * m.c / J0


def drive_arrays(model: str, K: int, J0: float, I_ext: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ω_i, c_i) of neurons with their own drive I_ext,i (per-neuron :func:`drive_model`), for :func:`time_heap`."""
    I_ext = np.asarray(I_ext, dtype=np.float64)
    if model == "lif":
        if not (I_ext > 1).all():
            raise ValueError("every I_ext,i must be > 1 (a LIF neuron below rheobase never fires)")
        return 1.0 / np.log1p(1.0 / (I_ext - 1.0)), J0 / (math.sqrt(K) * I_ext)
    if model == "qif":
        if not (I_ext > 0).all():
            raise ValueError("every I_ext,i must be > 0 (a QIF neuron below rheobase never fires)")
        omega = 2.0 * np.sqrt(I_ext)
        return omega, -(J0 / math.sqrt(K)) * (2.0 / omega)
    raise ValueError(f"model={model!r}; allowed: {', '.join(MODELS)}")


def time_heap_record(code: int, omega: np.ndarray, c: np.ndarray, phi_th: float, phi_reset: float,
                     phases: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                     n_spikes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`time_heap`'s forward pass for training: (t_s in τ, j_s, pre (S, K_max)), its spikes and every target's
    phase just before its kick."""
    omega = np.ascontiguousarray(omega, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.float64)
    heap, pos = build_heap((phi_th - np.asarray(phases, dtype=np.float64)) / omega)
    times = np.empty(n_spikes)
    index = np.empty(n_spikes, dtype=np.int32)
    pre = np.empty((n_spikes, int(np.diff(indptr).max()) if len(indptr) > 1 else 0))
    _time_loop(heap, pos, indptr, indices, code, omega, c, phi_th, phi_reset, n_spikes, times, index, pre)
    return times, index, pre


@numba.njit(cache=True)
def _time_adjoint_loop(times, index, pre, indptr, indices, code, omega, c, phi_th, phi_reset, dL_dt, b, grad_omega,
                       grad_c):
    for s in range(times.shape[0] - 1, -1, -1):
        j = index[s]
        bar = dL_dt[s]  # ∂L/∂t_s, t_s = T_j (the spiker's key)
        lo = indptr[j]
        for q in range(lo, indptr[j + 1]):
            i = indices[q]
            x = pre[s, q - lo]
            w = omega[i]
            g, gp, dgc, dgw = _ptc_derivatives(code, x, w, c[i])
            bi = b[i]  # T_i' = t + (φ_th − g(x))/ω_i, x = φ_th − (T_i − t)·ω_i
            bar += bi * (1.0 - gp)
            grad_omega[i] += bi * ((gp * (phi_th - x) / w - dgw) / w - (phi_th - g) / (w * w))
            grad_c[i] -= bi * dgc / w
            b[i] = bi * gp
        bj = b[j]  # T_j' = t + (φ_th − φ_reset)/ω_j
        grad_omega[j] -= bj * (phi_th - phi_reset) / (omega[j] * omega[j])
        b[j] = bar + bj


def time_adjoint(code: int, omega: np.ndarray, c: np.ndarray, phi_th: float, phi_reset: float, phases: np.ndarray,
                 times: np.ndarray, index: np.ndarray, pre: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                 dL_dt: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reverse sweep through the time heap (neurons with their own ω_i, c_i) for a loss L(t_1…t_S) of the
    spike times τ·t_s of :func:`time_heap_record`: (∂L/∂ω_i, ∂L/∂c_i, ∂L/∂φ_i(0)). One adjoint b_i = ∂L/∂T_i per
    neuron's next spike time; a spike of j at t = T_j with targets i (pre-kick phase x_i, g' = g'(x_i)) maps

        b̄_t = ∂L/∂t_s + Σ_i b_i·(1 − g') + b_j,   b_i ← b_i·g',   b_j ← b̄_t,
        ∂L/∂ω_i += b_i·[(g'·(φ_th − x_i)/ω_i − ∂g/∂ω)/ω_i − (φ_th − g)/ω_i²],   ∂L/∂c_i += −b_i·(∂g/∂c)/ω_i,
        ∂L/∂ω_j += −b_j·(φ_th − φ_reset)/ω_j²,

    and at t = 0, T_i = (φ_th − φ_i(0))/ω_i. O(K) per spike, no heap; exact for the fixed spike order."""
    omega = np.ascontiguousarray(omega, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.float64)
    b = np.zeros(len(omega))
    grad_omega = np.zeros(len(omega))
    grad_c = np.zeros(len(omega))
    _time_adjoint_loop(times, index, pre, indptr, indices, code, omega, c, phi_th, phi_reset,
                       tau * np.asarray(dL_dt, dtype=np.float64), b, grad_omega, grad_c)
    grad_omega -= b * (phi_th - np.asarray(phases, dtype=np.float64)) / omega ** 2
    return grad_omega, grad_c, -b / omega


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
    m = phase_model("lif", 2, 1.0, 1.0, 0.01)
    m = m._replace(code=TABLE, c=tabulate_ptc(lif_trajectory(m.I_ext), -0.5, step=1.0))  # a coarse table compiles
    for algorithm in ("sparseprop", "sparseprop_lazy", "conventional_numba", "conventional_numpy"):
        ALGORITHMS[algorithm](m, initial_phases(m, 8, rng), indptr, indices, 4)
    for model in MODELS:  # per-neuron drives: the recording time heap and its adjoint
        m = phase_model(model, 2, 1.0, 1.0, 0.01)
        omega, c = np.full(8, m.omega), np.full(8, m.c)
        phases = initial_phases(m, 8, rng)
        record = time_heap_record(m.code, omega, c, m.phi_th, m.phi_reset, phases, indptr, indices, 4)
        time_adjoint(m.code, omega, c, m.phi_th, m.phi_reset, phases, *record, indptr, indices, np.ones(4), 0.01)
    return time.perf_counter() - start
