"""Lyapunov engine: analytic oracles (linear maps, det identity, mean-field λ1), gradients, tangent maps."""

import math

import numpy as np
import pytest
import torch

from sgtheory.functional.lif import lif_engelken_abbott_params, lif_engelken_abbott_step
from sgtheory.functional.lyapunov import (
    entropy_rate,
    flossing_loss,
    kaplan_yorke_dimension,
    long_term_singular_values,
    lyapunov_spectrum,
    orthonormal_system,
)
from sgtheory.functional.neurons import binary_params, rate_step, rate_tangent, tanh_params
from sgtheory.functional.surrogate import make_surrogate

F64 = torch.float64


def gen(seed):
    return torch.Generator().manual_seed(seed)


def rate_spectrum(params, x0, drive, k, transient, seed=0):
    Q0 = orthonormal_system(params.J.shape[:-2] + (k, params.J.shape[-1]), gen(seed), params.J.dtype)
    return lyapunov_spectrum(lambda d, x: rate_step(d, x, params)[1],
                             lambda x, x_new, Q: rate_tangent(x, x_new, Q, params), x0, drive, Q0, transient)


@pytest.mark.parametrize("ons_interval", [1, 3])
def test_linear_map_has_log_eigenvalue_exponents(ons_interval):
    rho = torch.tensor([1.6, 1.1, 0.9, 0.5, 0.2], dtype=F64)
    U = torch.linalg.qr(torch.randn(5, 5, generator=gen(1), dtype=F64)).Q
    A = U @ torch.diag(rho) @ U.T
    spec = lyapunov_spectrum(lambda d, x: x @ A.T, lambda x, xn, Q: Q @ A.T, torch.ones(5, dtype=F64),
                             [None] * 300, orthonormal_system((5, 5), gen(2)), transient=60,
                             ons_interval=ons_interval)
    torch.testing.assert_close(spec.exponents, torch.log(rho), rtol=0, atol=1e-10)
    assert spec.steps == 240


def test_long_term_singular_values_of_a_linear_map_are_those_of_its_powers():
    """A constant non-normal map: log σ_i(A^t) from the rescaled propagation equals the SVD of the matrix power
    (for the singular values that float64 resolves, σ_i > 1e-8 σ_1)."""
    A = torch.randn(6, 6, generator=gen(7), dtype=F64) / 6**0.5 + 0.8 * torch.eye(6, dtype=F64)
    logs = long_term_singular_values(lambda d, x: x @ A.T, lambda x, xn, Q: Q @ A.T, torch.ones(1, 6, dtype=F64),
                                     [None] * 40, 6)
    assert logs.shape == (41, 6) and torch.equal(logs[0], torch.zeros(6, dtype=F64))
    for t in (1, 7, 40):
        exact = torch.log(torch.linalg.svdvals(torch.linalg.matrix_power(A, t)))
        resolved = exact > exact[0] - math.log(1e8)
        assert resolved.sum() >= 3
        torch.testing.assert_close(logs[t][resolved], exact[resolved], rtol=0, atol=1e-9)


def test_long_term_singular_values_follow_the_tanh_trajectory():
    """The measured product D_t⋯D_1 with D_t = diag(1 - tanh²(x_t)) J along a driven tanh trajectory, batched."""
    N, T = 7, 10
    J = 2.0 * torch.randn(2, N, N, generator=gen(8), dtype=F64) / N**0.5
    drive = 0.3 * torch.randn(T, 2, 1, N, generator=gen(9), dtype=F64)
    x0 = torch.randn(2, 1, N, generator=gen(10), dtype=F64)
    params = tanh_params(J)
    logs = long_term_singular_values(lambda d, x: rate_step(d, x, params)[1],
                                     lambda x, xn, Q: rate_tangent(x, xn, Q, params), x0, drive, N)
    for r in range(2):
        x, product = x0[r, 0], torch.eye(N, dtype=F64)
        for t in range(T):
            x = J[r] @ torch.tanh(x) + drive[t, r, 0]
            product = torch.diag(1 - torch.tanh(x) ** 2) @ J[r] @ product
        exact = torch.log(torch.linalg.svdvals(product))
        resolved = exact > exact[0] - math.log(1e8)
        assert resolved.sum() >= 3
        torch.testing.assert_close(logs[T, r][resolved], exact[resolved], rtol=0, atol=1e-9)


def test_sum_of_all_exponents_is_the_mean_log_abs_det():
    """Σ_i λ_i = mean_t log|det D_t| exactly (tanh and binary-surrogate RNNs, all N exponents)."""
    N, T, transient = 8, 120, 20
    J = 1.5 * torch.randn(N, N, generator=gen(3), dtype=F64) / N**0.5
    drive = 0.5 * torch.randn(T, N, generator=gen(4), dtype=F64)
    x0 = torch.randn(N, generator=gen(5), dtype=F64)
    for params in (tanh_params(J), binary_params(J, make_surrogate("fast_sigmoid", 0.5))):
        spec = rate_spectrum(params, x0, drive, N, transient)
        x, logdets = x0, []
        for t in range(T):
            x = rate_step(drive[t], x, params)[1]
            if t >= transient:
                logdets.append(torch.linalg.slogdet(torch.diag(params.dphi(x)) @ J).logabsdet)
        assert spec.exponents.sum().item() == pytest.approx(torch.stack(logdets).mean().item(), abs=1e-10)


def test_contracting_network_has_negative_exponents():
    N = 50
    J = 0.5 * torch.randn(N, N, generator=gen(6), dtype=F64) / N**0.5
    spec = rate_spectrum(tanh_params(J), torch.randn(N, generator=gen(7), dtype=F64), torch.zeros(400, N, dtype=F64),
                         N, transient=100)
    assert (spec.exponents < 0).all()


def mean_field_lambda1(gain: float) -> float:
    """λ1 = ½ ln(g² E[sech⁴(√Δ z)]) with Δ = g² E[tanh²(√Δ z)], z ~ N(0, 1) (Gauss-Hermite quadrature)."""
    z, w = np.polynomial.hermite_e.hermegauss(101)
    w = w / w.sum()
    delta = 1.0
    for _ in range(500):
        delta = gain**2 * np.sum(w * np.tanh(np.sqrt(delta) * z) ** 2)
    return 0.5 * math.log(gain**2 * np.sum(w / np.cosh(np.sqrt(delta) * z) ** 4))


def test_chaotic_tanh_network_matches_mean_field_lambda1():
    N, gain = 1000, 2.0
    J = gain * torch.randn(N, N, generator=gen(8), dtype=F64) / N**0.5
    spec = rate_spectrum(tanh_params(J), torch.randn(N, generator=gen(9), dtype=F64),
                         torch.zeros(1200, N, dtype=F64), 1, transient=200)
    expected = mean_field_lambda1(gain)
    assert expected > 0.1
    assert spec.exponents.item() == pytest.approx(expected, abs=0.04)


def test_flossing_loss_gradient_matches_finite_differences():
    N, T, k = 6, 40, 2
    J = (1.2 * torch.randn(N, N, generator=gen(10), dtype=F64) / N**0.5).requires_grad_()
    drive = 0.3 * torch.randn(T, N, generator=gen(11), dtype=F64)
    x0 = torch.randn(N, generator=gen(12), dtype=F64)

    def loss(weights):
        return flossing_loss(rate_spectrum(tanh_params(weights), x0, drive, k, transient=10).exponents, k)

    loss(J).backward()
    eps = 1e-6
    for i, j in [(0, 0), (2, 5), (4, 1)]:
        bump = torch.zeros(N, N, dtype=F64)
        bump[i, j] = eps
        numeric = (loss(J.detach() + bump) - loss(J.detach() - bump)).item() / (2 * eps)
        assert J.grad[i, j].item() == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_realizations_are_batched_independently():
    N, R = 10, 3
    J = torch.randn(R, N, N, generator=gen(13), dtype=F64) / N**0.5
    drive = torch.randn(50, R, 1, N, generator=gen(14), dtype=F64)  # states (R, B=1, N)
    x0 = torch.randn(R, 1, N, generator=gen(15), dtype=F64)
    Q0 = orthonormal_system((R, 4, N), gen(16))
    params = tanh_params(J)
    together = lyapunov_spectrum(lambda d, x: rate_step(d, x, params)[1],
                                 lambda x, xn, Q: rate_tangent(x, xn, Q, params), x0, drive, Q0, 10).exponents
    for r in range(R):
        alone_params = tanh_params(J[r])
        alone = lyapunov_spectrum(lambda d, x, p=alone_params: rate_step(d, x, p)[1],
                                  lambda x, xn, Q, p=alone_params: rate_tangent(x, xn, Q, p),
                                  x0[r], drive[:, r], Q0[r], 10).exponents
        torch.testing.assert_close(together[r], alone, rtol=1e-12, atol=1e-12)


def test_rate_tangent_is_the_jacobian_of_the_rates():
    N = 5
    J = torch.randn(N, N, generator=gen(17), dtype=F64)
    drive = torch.randn(N, generator=gen(18), dtype=F64)
    x = torch.randn(N, generator=gen(19), dtype=F64)
    params = tanh_params(J)
    x_new = rate_step(drive, x, params)[1]
    jac = torch.autograd.functional.jacobian(lambda r: torch.tanh(J @ r + drive), torch.tanh(x))
    # rows of the result are D e_j, i.e. the columns of the Jacobian
    torch.testing.assert_close(rate_tangent(x, x_new, torch.eye(N, dtype=F64), params), jac.T)


def test_lif_tangent_is_the_jacobian_without_reset():
    """Below threshold (no spike, so no reset) the tangent map equals the autograd Jacobian of the step."""
    from sgtheory.functional.lif import lif_engelken_abbott_tangent

    N = 4
    V = torch.randn(N, N, generator=gen(20), dtype=F64)
    p = lif_engelken_abbott_params(V, make_surrogate("fast_sigmoid", 5.0))
    v = torch.tensor([0.2, 0.9, -0.4, 0.6], dtype=F64)
    current = torch.randn(N, generator=gen(21), dtype=F64)
    drive = torch.randn(N, generator=gen(22), dtype=F64)

    def step(state):
        _, (v_new, i_new) = lif_engelken_abbott_step(drive, (state[:N], state[N:]), p)
        return torch.cat([v_new, i_new])

    jac = torch.autograd.functional.jacobian(step, torch.cat([v, current]))
    got = lif_engelken_abbott_tangent((v, current), None, torch.eye(2 * N, dtype=F64), p)
    torch.testing.assert_close(got, jac.T, rtol=0, atol=1e-12)


def test_summaries():
    lam = torch.tensor([[0.5, 0.2, -0.3, -1.0], [-0.1, -0.2, -0.3, -0.4], [0.3, 0.2, 0.1, 0.0]], dtype=F64)
    torch.testing.assert_close(kaplan_yorke_dimension(lam), torch.tensor([3.4, 0.0, 4.0], dtype=F64))
    torch.testing.assert_close(entropy_rate(lam), torch.tensor([0.7, 0.0, 0.6], dtype=F64))
    assert flossing_loss(torch.tensor([[0.1, -0.3, 5.0]]), k=2).item() == pytest.approx((0.01 + 0.09) / 2)


def test_float32_spectrum_agrees_with_float64():
    N, T = 30, 400
    J = 0.9 * torch.randn(N, N, generator=gen(23), dtype=F64) / N**0.5
    drive = torch.randn(T, N, generator=gen(24), dtype=F64)
    x0 = torch.randn(N, generator=gen(25), dtype=F64)
    Q0 = orthonormal_system((N, N), gen(26))

    def spectrum(dtype):
        params = tanh_params(J.to(dtype))
        return lyapunov_spectrum(lambda d, x: rate_step(d, x, params)[1],
                                 lambda x, x_new, Q: rate_tangent(x, x_new, Q, params),
                                 x0.to(dtype), drive.to(dtype), Q0.to(dtype), transient=50).exponents

    exact, single = spectrum(F64), spectrum(torch.float32)
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.double(), exact, rtol=0, atol=1e-4)
