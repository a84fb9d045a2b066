"""Random-matrix references of the discrete-time spectra (sparseprop_balanced spec §3.1, §3.5): Newman's spectrum of
products of i.i.d. Gaussian matrices against the QR machinery of ``rate-spectrum`` and against E ln|det G|; the
Gaussian product with the φ' diagonal against a direct simulation of that annealed product; the ``rate-discrete``
figure and report end to end."""

import math

import numpy as np
import pytest
import torch
from scipy.special import digamma, polygamma

from sgtheory.figures.rate_spectra import (
    discrete_diagonal_rmt_spectrum,
    discrete_mean_field_lambda_max,
    discrete_mean_field_variance,
    discrete_rmt_spectrum,
    gaussian_product_spectrum,
)
from sgtheory.functional import rate
from sgtheory.functional.lyapunov import lyapunov_spectrum, orthonormal_system

F64 = torch.float64


def gen(seed):
    return torch.Generator().manual_seed(seed)


def _product_spectrum(N, steps, R, matrix):
    """Exponents (R, N) and per-step local exponents (steps, R, N) of the product of ``matrix(t)`` (R, N, N), with the
    tangent map and QR that ``rate-spectrum`` uses (``rate.euler_tangent`` of a linear map with dt = 1, i.e. D = J,
    and ``lyapunov_spectrum``), a QR every step, no transient (the matrices are rotation invariant)."""
    Q0 = orthonormal_system((R, N, N), gen(99))
    # the "state" after step t is the matrix of step t itself, so the tangent map reads it from new_state
    spec = lyapunov_spectrum(lambda J, _state: J,
                             lambda _state, J, Q: rate.euler_tangent(torch.zeros(R, N, dtype=F64), Q,
                                                                     rate.RateNetwork(J, "linear", 1.0)),
                             None, (matrix(t) for t in range(steps)), Q0, 0)
    running = spec.trace * torch.arange(1, steps + 1, dtype=F64)[:, None, None]
    local = torch.diff(running, dim=0, prepend=torch.zeros_like(running[:1]))
    return spec.exponents, local


def test_gaussian_product_spectrum_reproduced_by_the_qr_code():
    """Product of i.i.d. N(0, σ²/N) matrices, N = 60: every exponent within 5 standard errors of Newman's λ_i. The
    standard error is exact: the per-step ln|R_ii| are independent with variance ¼ ψ'((N − i + 1)/2) (Bartlett), so
    s.e._i = √(ψ'((N − i + 1)/2) / (4 T R)) for T steps of R realizations (≈ 0.006 at the top, 0.03 at the bottom).
    The same data reject the formula with the digamma argument shifted by ½ (an off-by-one in the χ² degrees)."""
    N, sigma, steps, R = 60, 1.5, 1200, 2
    g = gen(0)
    exponents, local = _product_spectrum(
        N, steps, R, lambda _t: torch.randn(R, N, N, generator=g, dtype=F64) * (sigma / math.sqrt(N)))
    measured = exponents.mean(0).numpy()
    i = np.arange(1, N + 1)
    se = np.sqrt(polygamma(1, (N - i + 1) / 2) / (4 * steps * R))
    z = (measured - gaussian_product_spectrum(N, sigma)) / se
    assert np.abs(z).max() < 5
    assert 0.5 < np.mean(z**2) < 1.6  # Σz² ~ χ²_60: a noise-sized scatter, neither too large nor suspiciously small
    # the measured per-step variance is the exact one (checks the noise model behind the tolerance)
    var = local.var(dim=0).mean(0).numpy()
    assert np.allclose(var, polygamma(1, (N - i + 1) / 2) / 4, rtol=0.25)
    wrong = math.log(sigma) + 0.5 * (math.log(2 / N) + digamma((N - i) / 2 + 1))
    assert np.abs((measured - wrong) / se).max() > 10


def test_gaussian_product_spectrum_sum_is_expected_log_det():
    """Σ_i λ_i = E ln|det G| for G with entries N(0, σ²/N): a Monte-Carlo mean of slogdet over 3000 matrices (N = 50)
    within 4 standard errors (Var ln|det G| = ¼ Σ_k ψ'(k/2), exact); λ_1 → ln σ and λ_i → ln σ + ½ ln(1 − i/N) for
    large N."""
    N, sigma, M = 50, 0.7, 3000
    G = torch.randn(M, N, N, generator=gen(1), dtype=F64) * (sigma / math.sqrt(N))
    logdet = torch.linalg.slogdet(G).logabsdet.numpy()
    se = math.sqrt(0.25 * polygamma(1, np.arange(1, N + 1) / 2).sum() / M)
    total = gaussian_product_spectrum(N, sigma).sum()
    assert abs(logdet.mean() - total) < 4 * se
    assert abs(logdet.std() / math.sqrt(M) - se) < 0.2 * se
    big = gaussian_product_spectrum(100_000, sigma)
    assert big[0] == pytest.approx(math.log(sigma), abs=1e-4)
    assert np.all(np.diff(big) <= 0)
    assert big[49_999] == pytest.approx(math.log(sigma) + 0.5 * math.log(0.5), abs=1e-4)


def test_naive_rmt_top_is_the_mean_field_lambda_max():
    for g in (2.0, 5.0):
        assert discrete_rmt_spectrum(g, 10_000)[0] == pytest.approx(discrete_mean_field_lambda_max(g), abs=1e-3)


def test_diagonal_rmt_against_the_annealed_product():
    """D_t = G_t diag(sech²(√Δ0 z_t)) with fresh G_t (entries N(0, g²/N)) and z_t each step, N = 40, g = 3: the QR
    spectrum of the product equals :func:`discrete_diagonal_rmt_spectrum` within 5 standard errors per exponent (the
    steps are independent, so the error is the per-step spread over √T, combined with the reference's Monte-Carlo
    error); the naive formula (σ² = g²⟨φ'²⟩) is far outside."""
    N, g, steps, R, samples = 40, 3.0, 1500, 2, 400
    root = math.sqrt(discrete_mean_field_variance(g))
    gen_ = gen(2)

    def matrix(_t):
        G = torch.randn(R, N, N, generator=gen_, dtype=F64) * (g / math.sqrt(N))
        z = torch.randn(R, 1, N, generator=gen_, dtype=F64)
        return G * (1.0 - torch.tanh(root * z) ** 2)

    exponents, local = _product_spectrum(N, steps, R, matrix)
    measured = exponents.mean(0).numpy()
    spread = local.reshape(-1, N).std(dim=0).numpy()
    reference = discrete_diagonal_rmt_spectrum(g, N, samples=samples, seed=3)
    se = spread * math.sqrt(1 / (steps * R) + 1 / samples)  # the reference's frames scatter no more than the steps
    assert np.abs((measured - reference) / se).max() < 5
    assert np.abs((measured - discrete_rmt_spectrum(g, N)) / se).max() > 20


def test_rate_discrete_figure_and_report(tmp_path, run_cli):
    import pandas as pd

    from sgtheory.figures import render

    out = tmp_path / "discrete.parquet"
    code, _, err = run_cli("rate-spectrum", "--N", "16", "--dt", "1", "--set", "gain=[2.0, 5.0]", "--t-sim", "40",
                           "--t-warm", "10", "--seeds", "0-1", "--executor", "inline", "--out", str(out))
    assert code in (0, None), err
    assert set(pd.read_parquet(out)["dt"]) == {1.0}
    written = render("rate-discrete", out, tmp_path / "discrete.png")
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    section = (tmp_path / "discrete.md").read_text()
    assert "approximates the whole discrete-time spectrum" in section
    assert "**holds**" in section or "**fails**" in section
