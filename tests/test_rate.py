"""Continuous-time rate networks and their spectra (sparseprop_balanced spec §3.4): sum rule, linear networks,
silent networks, discrete-time mean-field λ_max, continuous-time λ_max(g = 2), the brute-force control."""

import math

import numpy as np
import pytest
import torch

from sgtheory.figures.rate_spectra import discrete_mean_field_lambda_max
from sgtheory.functional import rate
from sgtheory.functional.lyapunov import lyapunov_spectrum, orthonormal_system

F64 = torch.float64


def gen(seed):
    return torch.Generator().manual_seed(seed)


def network(N, g, phi="tanh", dt=0.05, R=1, seed=0, dtype=F64, mean=0.0):
    return rate.RateNetwork(rate.couplings(N, g, gen(seed), R=R, mean=mean, dtype=dtype), phi, dt)


def test_step_and_tangent_match_the_explicit_jacobian():
    net = network(30, 2.0, R=2)
    h = torch.randn(2, 30, generator=gen(1), dtype=F64)
    Q = torch.randn(2, 4, 30, generator=gen(2), dtype=F64)
    D = rate.jacobian(h, net)
    torch.testing.assert_close(rate.euler_tangent(h, Q, net), Q @ D.mT, rtol=0, atol=1e-13)
    expected = 0.95 * h + 0.05 * (torch.tanh(h)[:, None, :] @ net.J.mT)[:, 0] + 0.05 * 0.3
    torch.testing.assert_close(rate.euler_step(h, net, 0.3), expected, rtol=0, atol=1e-13)
    # finite difference of the step along one direction
    v = Q[:, 0]
    fd = (rate.euler_step(h + 1e-6 * v, net) - rate.euler_step(h - 1e-6 * v, net)) / 2e-6
    torch.testing.assert_close(fd, (D @ v[..., None])[..., 0], rtol=0, atol=1e-8)


def test_couplings_statistics_and_diagonal():
    J = rate.couplings(400, 2.0, gen(0), R=2, mean=-0.01)
    assert J.shape == (2, 400, 400)
    assert torch.all(J.diagonal(dim1=-2, dim2=-1) == 0)
    off = J[~torch.eye(400, dtype=torch.bool).expand(2, -1, -1)]
    assert abs(off.mean().item() + 0.01) < 5e-4
    assert abs(off.std().item() - 2.0 / 20) < 5e-4
    assert rate.couplings(10, 1.0, gen(0), dtype=torch.float32).dtype == torch.float32


def test_batch_realizations_equal_single_runs():
    net = network(40, 2.0, R=3)
    h0 = torch.randn(3, 40, generator=gen(3), dtype=F64)
    batch, _ = rate.simulate(h0, net, 50)
    for r in range(3):
        alone, _ = rate.simulate(h0[r : r + 1], rate.RateNetwork(net.J[r : r + 1], "tanh", 0.05), 50)
        assert torch.equal(batch[r], alone[0])


def test_sum_rule_full_spectrum():
    """Σ_i λ_i = ⟨ln|det D_n|⟩/dt to round-off, and ≈ N ln(1 − dt)/dt (J_ii = 0) to ≤ 1e-3 relative at dt = 0.05."""
    N, dt, steps, transient = 200, 0.05, 300, 60
    net = network(N, 2.0, dt=dt)
    h0, _ = rate.simulate(torch.randn(1, N, generator=gen(1), dtype=F64), net, 400)
    Q0 = orthonormal_system((1, N, N), gen(2))
    spec = lyapunov_spectrum(lambda d, h: rate.euler_step(h, net, d), lambda h, _n, Q: rate.euler_tangent(h, Q, net),
                             h0, [None] * steps, Q0, transient)
    h, logdet = h0, []
    for n in range(1, steps + 1):
        if n > transient:
            logdet.append(torch.linalg.slogdet(rate.jacobian(h, net)).logabsdet)
        h = rate.euler_step(h, net)
    total = spec.exponents.sum() / dt
    det_average = torch.stack(logdet).mean() / dt
    assert abs(total - det_average) < 1e-9 * abs(det_average)
    ideal = N * math.log(1 - dt) / dt
    assert abs(total.item() - ideal) / abs(ideal) < 1e-3


@pytest.mark.parametrize("dt", [1.0, 0.2])
def test_linear_network_exponents_are_log_eigenvalue_moduli(dt):
    """φ(x) = x: D = (1 − dt) 1 + dt J is constant, λ_i = ln|eig_i(D)|/dt (sorted); for dt → 0 these tend to the
    real parts of eig(−1 + J)."""
    N = 12
    net = network(N, 0.6, phi="linear", dt=dt, seed=4)
    D = rate.jacobian(torch.zeros(1, N, dtype=F64), net)[0]
    expected = torch.sort(torch.log(torch.linalg.eigvals(D).abs()) / dt, descending=True).values
    spec = rate.rate_spectrum(torch.randn(1, N, generator=gen(5), dtype=F64), net, N, gen(6), duration=4000 * dt,
                              t_ons=dt, t_warm=0, ons_transient=400 * dt)
    torch.testing.assert_close(spec.exponents[0], expected, rtol=0, atol=2e-3)


def test_linear_network_continuous_time_limit():
    N, dt = 10, 0.01
    net = network(N, 0.5, phi="linear", dt=dt, seed=8)
    exact = torch.sort(torch.linalg.eigvals(net.J[0] - torch.eye(N, dtype=F64)).real, descending=True).values
    spec = rate.rate_spectrum(torch.randn(1, N, generator=gen(5), dtype=F64), net, N, gen(6), duration=200.0,
                              t_ons=0.5, t_warm=0, ons_transient=20.0)
    torch.testing.assert_close(spec.exponents[0], exact, rtol=0, atol=2e-2)


def test_silent_network_exponents_are_the_leak():
    """ReLU with a strongly negative drive: φ' ≡ 0, every exponent is ln(1 − dt)/dt."""
    dt = 0.05
    net = network(20, 2.0, phi="relu", dt=dt)
    spec = rate.rate_spectrum(-torch.ones(1, 20, dtype=F64), net, 20, gen(1), duration=20.0, t_warm=5.0,
                              drive=lambda n: (torch.full((1, 20), -10.0, dtype=F64) for _ in range(n)))
    torch.testing.assert_close(spec.exponents, torch.full((1, 20), math.log(1 - dt) / dt, dtype=F64),
                               rtol=0, atol=1e-12)


def test_discrete_mean_field_quadrature_known_limits():
    # g < 1: Δ0 = 0 and λ = ln g; g large: λ → ½ ln(g² E sech⁴) decreases
    assert discrete_mean_field_lambda_max(0.5) == pytest.approx(math.log(0.5), abs=1e-9)
    assert 0 < discrete_mean_field_lambda_max(2.0) < discrete_mean_field_lambda_max(5.0) + 1


@pytest.mark.parametrize("g", [2.0, 5.0])
def test_discrete_time_lambda_max_against_mean_field(g):
    """h_{n+1} = J tanh(h_n) (dt = 1), N = 400: λ_max within 10 % of the mean-field value (spec §3.4 item 5)."""
    net = network(400, g, dt=1.0, R=2, seed=11)
    spec = rate.rate_spectrum(torch.randn(2, 400, generator=gen(1), dtype=F64), net, 1, gen(2), duration=1500.0,
                              t_ons=1.0, t_warm=100.0)
    theory = discrete_mean_field_lambda_max(g)
    assert abs(spec.exponents[:, 0].mean().item() - theory) < 0.1 * theory


def test_continuous_lambda_max_g2_and_brute_force():
    """λ_max(g = 2, N = 1000, dt = 0.05) = 0.104 ± 0.01 (spec §3.4), the mean over 4 realizations of 250 τ, and the
    brute-force perturbation along the first Lyapunov vector of one of them agrees with its Jacobian estimate. The
    slowest test of the suite (≈ 30 s on one thread)."""
    net = network(1000, 2.0, dt=0.05, R=4, seed=0)
    spec = rate.rate_spectrum(torch.randn(4, 1000, generator=gen(1), dtype=F64), net, 1, gen(2), duration=250.0,
                              t_warm=25.0)
    assert abs(spec.exponents[:, 0].mean().item() - 0.104) < 0.01
    one = rate.RateNetwork(net.J[:1], "tanh", 0.05)
    brute = rate.brute_force_lambda_max(spec.state[:1], one, 40.0, direction=spec.vectors[:1, 0], ons_transient=0)
    jac = rate.rate_spectrum(spec.state[:1], one, 1, gen(4), duration=40.0, t_warm=0.0, ons_transient=0,
                             Q0=spec.vectors[:1])
    assert abs(brute.item() - jac.exponents[0, 0].item()) < 1e-3


def test_bootstrap_ci_covers_the_mean():
    local = torch.randn(400, 1, 3, generator=gen(0), dtype=F64) * 0.5 + 1.0
    lo, hi = rate.bootstrap_ci(local, gen(1))
    mean = local.mean(0)
    assert torch.all(lo < mean) and torch.all(mean < hi)
    assert torch.all(hi - lo < 0.2) and torch.all(hi - lo > 0.05)


def test_float32_runs():
    net = network(50, 2.0, dtype=torch.float32)
    spec = rate.rate_spectrum(torch.randn(1, 50, generator=gen(1), dtype=torch.float32), net, 5, gen(2),
                              duration=20.0, t_warm=5.0)
    assert spec.exponents.dtype == torch.float32 and np.isfinite(spec.exponents.numpy()).all()


def test_fused_step_and_tangent_equal_the_separate_ones():
    net = network(30, 2.0, R=2)
    h = torch.randn(2, 30, generator=gen(1), dtype=F64)
    Q = torch.randn(2, 3, 30, generator=gen(2), dtype=F64)
    h1, Q1 = rate.euler_step_and_tangent(h, Q, net, 0.2)
    torch.testing.assert_close(h1, rate.euler_step(h, net, 0.2), rtol=0, atol=1e-13)
    torch.testing.assert_close(Q1, rate.euler_tangent(h, Q, net), rtol=0, atol=1e-13)


def test_few_rows_product_is_the_matrix_product_and_batch_independent():
    """The compiled J·rows (J read once) equals the GEMM to round-off, for batched and shared J, and a realization's
    rows come out bit-identical alone and in a batch."""
    J = torch.randn(3, 40, 40, generator=gen(1), dtype=F64)
    rows = torch.randn(3, 2, 40, generator=gen(2), dtype=F64)
    out = rate.few_rows_product(rows, J)
    torch.testing.assert_close(out, rows @ J.mT, rtol=0, atol=1e-12)
    assert torch.equal(rate.few_rows_product(rows[1:2], J[1:2]), out[1:2])
    torch.testing.assert_close(rate.few_rows_product(rows, J[0]), rows @ J[0].mT, rtol=0, atol=1e-12)
    torch.testing.assert_close(rate.few_rows_product(rows[0], J[0]), rows[0] @ J[0].mT, rtol=0, atol=1e-12)
    assert torch.equal(rate.few_rows_product(rows[1], J[0]), rate.few_rows_product(rows, J[0])[1])
    with pytest.raises(ValueError, match="2 coupling matrices for 3 realizations"):
        rate.few_rows_product(rows, J[:2])


@pytest.mark.parametrize(("field", "value", "message"), [
    ("phi", "sigmoid", "phi='sigmoid' is not allowed"), ("nle", 300, "nle=300"), ("dt", 2.0, "dt=2.0"),
    ("t_ons", 0.01, "t_ons=0.01"), ("noise", -1.0, "noise=-1.0"), ("ons_transient", 5000.0, "ons_transient=5000.0"),
])
def test_rate_spectrum_config_rejects_bad_values(field, value, message):
    from sgtheory.errors import ConfigError
    from sgtheory.experiments.configs.rate_spectrum import RateSpectrumConfig

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        RateSpectrumConfig(**{field: value})
    c = RateSpectrumConfig()
    assert c.k == c.N and c.effective_ons_transient == c.t_sim / 10
    assert 0 < RateSpectrumConfig.task_bytes([c, c]) < 2**30
