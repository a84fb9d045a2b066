"""Dynamic mean-field theory of the balanced ReLU rate network (balanced spec §2.3-§2.5), in numpy.

The network (τ = 1): dh_i/dt = −h_i + Σ_j J_ij relu(h_j) + √K·I0 + I_i(t), J_ij Gaussian with mean −√K·J0/N and
variance g²/N. Split h_i = m(t) + h̃_i(t). The theory is the exact covariance recursion of the Euler-discretised network
(step ``dt``, decision D10), so it is compared with simulations at the same dt:

- mean: dm/dt = −m − √K·J0·ν + √K·I0 + I1·sin(2πft) (common input), one backward-Euler step per step with C(t, t)
  frozen (the m-equation is stiff: it relaxes at 1 + √K·J0·Φ(m/√C));
- fluctuations: h̃_{n+1} = (1−dt)·h̃_n + dt·ξ_n with ⟨ξ_n ξ_k⟩ = g²·Q(n, k) (+ the input's covariance for independent
  input), Q = ⟨relu(h_n) relu(h_k)⟩ over the Gaussian pair; C_{n,k} = ⟨h̃_n h̃_k⟩ and R_{n,k} = ⟨ξ_n h̃_k⟩ on a band of
  ``band`` lags (R = 0 at the band's edge);
- largest Lyapunov exponent: a replica separation δh with K_{n,k} = ⟨δh_n δh_k⟩ follows the same recursion with
  g²·Q'(n, k)·K_{n,k}, Q' = ⟨Θ(h_n) Θ(h_k)⟩, started with K = 1 at the middle step; λ1 is the slope of ½·ln K(t, t)
  over the last quarter (through its local maxima when it oscillates).

**Independent input** (decision D6, ours): I_i = I1·sin(2πft + θ_i) with θ_i i.i.d. uniform has zero population mean,
so m feels nothing, and over the phases it is a stationary process with covariance (I1²/2)·cos(2πf(t−s)). We add that
covariance to the effective noise (the Gaussian closure that the theory already makes for the recurrent input, in the
spirit of Rajan, Abbott & Sompolinsky 2010) and run the same two-time solver; the mean then stays stationary.

Q and Q' are one-dimensional integrals over z ~ N(0, 1) for the pair's second member, evaluated by Gauss-Legendre
quadrature on the half-line where relu/Θ of it is non-zero, vectorised over the band.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq
from scipy.signal import lfilter
from scipy.special import ndtr

SQRT_2PI = math.sqrt(2 * math.pi)
Z_MAX = 8.0  # the Gaussian integrals are cut at 8 standard deviations (weight < 1e-15)


def density(x):
    return np.exp(-0.5 * np.square(x)) / SQRT_2PI


def F1(x):
    """E[relu(x + z)], z ~ N(0, 1)."""
    return x * ndtr(x) + density(x)


def F2(x):
    """E[relu(x + z)²], z ~ N(0, 1)."""
    return x * density(x) + (1 + np.square(x)) * ndtr(x)


def rate(m: float, C: float):
    """Population rate ν = E[relu(h)] of h ~ N(m, C)."""
    s = np.sqrt(C)
    return s * F1(m / s)


def fixed_point_x(g: float) -> float:
    """x with g²·F2(x) = 1 (the stationary fixed-point approximation; needs g > 1)."""
    if g <= 1:
        raise ValueError(f"g={g} must exceed 1 for the fixed-point approximation")
    return brentq(lambda x: g * g * F2(x) - 1.0, -20.0, 20.0)


def _pair_moments(a1, a2, rho, nodes, weights):
    """Q/(σ1σ2) = E[relu(a1 + u) relu(a2 + v)] and Q' = P(a1 + u > 0, a2 + v > 0) for standard normals (u, v) with
    correlation ``rho`` (arrays of one shape, broadcast against the quadrature ``nodes`` on [−1, 1])."""
    lo = np.maximum(-a2, -Z_MAX)[..., None]
    hi = np.maximum(lo, Z_MAX)
    half = 0.5 * (hi - lo)
    z = lo + half * (nodes + 1.0)  # the z > −a2 where relu(a2 + z) > 0
    w = half * weights * density(z)
    rho = rho[..., None]
    s = np.sqrt(np.maximum(1.0 - np.square(rho), 1e-24))
    mu = a1[..., None] + rho * z
    x = mu / s
    cdf = ndtr(x)
    G = mu * cdf + s * density(x)  # E[relu(mu + s·ξ)]
    Q = np.sum(w * (a2[..., None] + z) * G, axis=-1)
    Qp = np.sum(w * cdf, axis=-1)
    return Q, Qp


def _response(noise: np.ndarray, dt: float) -> np.ndarray:
    """S[k] = Σ_{j > k} (1−dt)^(j−k−1)·dt·noise[j] (S[last] = 0): the correlation of the noise at lag 0 with the Euler
    state at lag k, given the noise covariances ``noise[j]`` at lags j (zero beyond the band)."""
    padded = np.concatenate([[0.0], noise[::-1]])
    return lfilter([dt], [1.0, -(1.0 - dt)], padded)[:-1][::-1]


class DMFTResult(NamedTuple):
    t: np.ndarray  # (steps + 1,) times
    m: np.ndarray  # population mean of h
    C0: np.ndarray  # equal-time variance C(t, t)
    rate: np.ndarray  # population rate ν(t)
    lags: np.ndarray  # (band + 1,) lags k·dt of the autocovariance
    C_lag: np.ndarray  # C(t, t − lag) averaged over the second half of the steps (stationary: the last step's)
    u: np.ndarray  # ½·ln K(t, t) from the middle step on (NaN before)
    lambda1: float  # the DMFT λ1 (1/τ)


def lyapunov_slope(t: np.ndarray, u: np.ndarray, period: float | None = None) -> float:
    """λ1 from u(t) = ½·ln K(t, t): least-squares slope over the last quarter, through the local maxima of u there
    when it oscillates (at least 2 maxima). Slow periodic drive (``period`` given) whose last quarter holds fewer than
    2 maxima but whose series spans a whole period: the mean slope over the whole periods of the last three quarters
    (at least one), (u(end) − u(end − k·period))/(k·period), the period average that a partial period would bias."""
    n = len(t)
    tq, uq = t[n - n // 4:], u[n - n // 4:]
    peaks = np.flatnonzero((uq[1:-1] > uq[:-2]) & (uq[1:-1] >= uq[2:])) + 1
    if len(peaks) >= 2:
        tq, uq = tq[peaks], uq[peaks]
    elif period and t[-1] - t[0] >= period:
        k = max(1, int(0.75 * (t[-1] - t[0]) / period))
        return float((u[-1] - np.interp(t[-1] - k * period, t, u)) / (k * period))
    return float(np.polyfit(tq, uq, 1)[0])


def balanced_dmft(g: float = 2.0, N: float = 5000, K: float | None = None, J0: float = 1.0, I0: float = 1.0,
                  I1: float = 0.0, f: float = 0.2, input: str = "common", dt: float = 1 / 16, steps: int = 2**11,
                  band: int = 2**8, order: int = 24, lyapunov: bool = True) -> DMFTResult:
    """The non-stationary DMFT of the balanced ReLU network (module docstring); ``K`` defaults to ``N`` (only √K
    enters). ``input`` = common | independent; I1 = 0 gives the stationary DMFT. ``order`` Gauss–Legendre points for
    Q and Q' (24: λ1 within 3·10⁻⁵ of 40 points at g = 2, N = 500–5000, K = 5, common and independent input)."""
    if input not in ("common", "independent"):
        raise ValueError(f"input={input!r}; allowed: common, independent")
    sK = math.sqrt(N if K is None else K)
    g2 = g * g
    nodes, weights = np.polynomial.legendre.leggauss(order)
    x = fixed_point_x(g)
    q0 = (sK * I0 / (x + sK * J0 * F1(x))) ** 2
    common = I1 if input == "common" else 0.0
    noise_in = 0.5 * I1 * I1 if input == "independent" else 0.0  # independent input's covariance amplitude (D6)
    lag_cos = np.cos(2 * math.pi * f * dt * np.arange(band + 1))  # cos(2πf·k·dt), k = lag

    m = np.empty(steps + 1)
    C0 = np.empty(steps + 1)
    m[0], C0[0] = x * math.sqrt(q0), q0
    # Band rows: Cb[k] = C(n, n − k), Kb[k] = K(n, n − k), k = 0..band (entries before t = 0 or the replica's start
    # are 0: the band edge).
    Cb = np.zeros(band + 1)
    Cb[0] = q0
    Kb = np.zeros(band + 1)
    logK = np.full(steps + 1, np.nan)
    start = steps // 2
    log_scale = 0.0
    C_sum = np.zeros(band + 1)
    for n in range(steps):
        width = min(n, band) + 1  # valid lags 0..n
        c = Cb[:width]
        s0 = math.sqrt(C0[n])
        s_k = np.sqrt(C0[n - np.arange(width)])
        a1 = np.full(width, m[n] / s0)
        a2 = m[n - np.arange(width)] / s_k
        rho = np.clip(c / (s0 * s_k), -1.0, 1.0)
        Qn, Qpn = _pair_moments(a1, a2, rho, nodes, weights)
        noise = g2 * Qn * s0 * s_k + noise_in * lag_cos[:width]  # ⟨ξ_n ξ_{n−k}⟩
        # R(n, n−k) = ⟨ξ_n h̃_{n−k}⟩ = Σ_{j > k} (1−dt)^{j−k−1}·dt·noise_j, from the band edge (R = 0) inwards.
        Rb = _response(noise, dt)
        C_next = np.empty(min(n + 1, band) + 1)
        C_next[1:] = (1 - dt) * c[: len(C_next) - 1] + dt * Rb[: len(C_next) - 1]
        C_next[0] = (1 - dt) ** 2 * C0[n] + 2 * (1 - dt) * dt * Rb[0] + dt * dt * noise[0]
        Cb = np.zeros(band + 1)
        Cb[: len(C_next)] = C_next
        C0[n + 1] = C_next[0]
        if n + 1 > steps - steps // 2:
            C_sum += Cb
        # m: backward Euler with C(t_n, t_n) frozen; Newton on F(m') = m' − m − dt·drift(m').
        drive = sK * I0 + common * math.sin(2 * math.pi * f * (n + 1) * dt)
        mn = m[n]
        for _ in range(50):
            xm = mn / s0
            Fv = mn - m[n] - dt * (-mn - sK * J0 * s0 * F1(xm) + drive)
            step = Fv / (1 + dt * (1 + sK * J0 * ndtr(xm)))
            mn -= step
            if abs(step) < 1e-13 * (1 + abs(mn)):
                break
        m[n + 1] = mn
        if lyapunov and n >= start:
            if n == start:
                Kb[:] = 0.0
                Kb[0] = 1.0
            kw = min(n - start, band) + 1
            knoise = g2 * Qpn[:kw] * Kb[:kw]
            Lb = _response(knoise, dt)
            K_next = np.zeros(band + 1)
            kn = min(n + 1 - start, band) + 1
            K_next[1:kn] = (1 - dt) * Kb[: kn - 1] + dt * Lb[: kn - 1]
            K_next[0] = (1 - dt) ** 2 * Kb[0] + 2 * (1 - dt) * dt * Lb[0] + dt * dt * knoise[0]
            scale = K_next[0]
            Kb = K_next / scale
            log_scale += math.log(scale)
            logK[n + 1] = log_scale
    if lyapunov:
        logK[start] = 0.0
    t = dt * np.arange(steps + 1)
    u = 0.5 * logK
    period = 1.0 / f if common and f > 0 else None  # the common drive's period (u oscillates with it)
    lam = lyapunov_slope(t[start:], u[start:], period) if lyapunov else float("nan")
    lags = dt * np.arange(band + 1)
    return DMFTResult(t, m, C0, rate(m, C0), lags, C_sum / (steps // 2), u, lam)


def quasi_static_lambda1(I1, lambda0: float, I0: float = 1.0, sqrt_K: float = math.sqrt(5000),
                         silent: float = -1.0):
    """Quasi-static λ1 for slow common input (spec §2.3): the network is silent (local λ = ``silent``) while
    √K·I0 + I1·sin < 0, a fraction p = arccos(√K·I0/I1)/π of the period, and chaotic at λ0 otherwise."""
    I1 = np.asarray(I1, dtype=float)
    a = np.divide(sqrt_K * I0, I1, out=np.full_like(I1, np.inf), where=I1 > 0)
    p = np.where(a < 1, np.arccos(np.clip(a, -1, 1)) / math.pi, 0.0)
    return (1 - p) * lambda0 + p * silent


def quasi_static_I1_crit(lambda0: float, I0: float = 1.0, sqrt_K: float = math.sqrt(5000),
                         silent: float = -1.0) -> float:
    """The zero of :func:`quasi_static_lambda1`: √K·I0 / cos(π·p*) with p* = λ0/(λ0 − silent)."""
    return sqrt_K * I0 / math.cos(math.pi * lambda0 / (lambda0 - silent))


def zero_crossing(x, y) -> float:
    """The last downward zero crossing of y(x) (x ascending: the amplitude beyond which λ1 stays negative), linear
    between the bracketing points; NaN if y never changes sign from positive to non-positive."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    order = np.argsort(x)
    x, y = x[order], y[order]
    for i in reversed(range(len(x) - 1)):
        if y[i] > 0 >= y[i + 1]:
            return float(x[i] + (x[i + 1] - x[i]) * y[i] / (y[i] - y[i + 1]))
    return float("nan")
