"""Tests for sgtheory.functional.neurons (flossing spec §2.1–2.3, D1).

Oracles are written out with python floats: the rate step J·φ(x) + drive, the Heaviside step with the
fast-sigmoid surrogate 1/(slope|x|+1)², and the current-based LIF recursion with a detached reset.
"""

import math

import pytest
import torch

from sgtheory.functional.lif import LIFEngelkenAbbottParams, lif_engelken_abbott_params, lif_engelken_abbott_step
from sgtheory.functional.neurons import binary_params, rate_step, recurrent, tanh_params
from sgtheory.functional.surrogate import make_surrogate

F64 = torch.float64


def _fast_sigmoid(x: float, slope: float, peak: float = 1.0) -> float:
    return peak / (slope * abs(x) + 1.0) ** 2


# ---------------------------------------------------------------------------------------------- rate step


def test_recurrent_batched_is_matrix_vector_product_per_realization():
    g = torch.Generator().manual_seed(0)
    R, B, N = 3, 2, 4
    J = torch.randn(R, N, N, generator=g, dtype=F64)
    r = torch.randn(R, B, N, generator=g, dtype=F64)
    out = recurrent(r, J)
    for k in range(R):
        for b in range(B):
            for i in range(N):
                expected = sum(J[k, i, j].item() * r[k, b, j].item() for j in range(N))
                assert out[k, b, i].item() == pytest.approx(expected, rel=1e-13, abs=1e-14)


def test_rate_step_tanh_by_hand():
    g = torch.Generator().manual_seed(1)
    R, B, N = 2, 3, 4
    J = torch.randn(R, N, N, generator=g, dtype=F64)
    x = 2.0 * torch.randn(R, B, N, generator=g, dtype=F64)
    drive = torch.randn(R, B, N, generator=g, dtype=F64)
    out, new_state = rate_step(drive, x, tanh_params(J))
    assert out.shape == (R, B, N) and out.dtype == F64
    assert torch.equal(out, new_state)
    for k in range(R):
        for b in range(B):
            for i in range(N):
                field = sum(J[k, i, j].item() * math.tanh(x[k, b, j].item()) for j in range(N))
                expected = field + drive[k, b, i].item()
                assert out[k, b, i].item() == pytest.approx(expected, rel=1e-12, abs=1e-13)


def test_rate_step_gradient_is_J_diag_sech2():
    """dx'/dx = J diag(sech²(x)) for one realization and one batch element (spec §2.1 Jacobian)."""
    g = torch.Generator().manual_seed(2)
    N = 5
    J = torch.randn(1, N, N, generator=g, dtype=F64)
    x = torch.randn(1, 1, N, generator=g, dtype=F64)
    drive = torch.randn(1, 1, N, generator=g, dtype=F64)
    jac = torch.autograd.functional.jacobian(
        lambda z: rate_step(drive, z.view(1, 1, N), tanh_params(J))[0].flatten(), x.flatten()
    )
    expected = J[0] * (1.0 / torch.cosh(x[0, 0]) ** 2)[None, :]
    torch.testing.assert_close(jac, expected, rtol=1e-12, atol=1e-14)


# -------------------------------------------------------------------------------------------- binary phi


@pytest.mark.parametrize("slope", [0.5, 1.0, 4.0])
def test_binary_phi_forward_is_heaviside_with_threshold_zero(slope):
    phi = binary_params(torch.eye(1), make_surrogate("fast_sigmoid", slope)).phi
    x = torch.tensor([-3.0, -0.2, -1e-12, 0.0, 1e-12, 0.7, 5.0], dtype=F64)
    assert phi(x).tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    assert phi(x).dtype == F64


@pytest.mark.parametrize("slope", [0.5, 1.0, 4.0])
@pytest.mark.parametrize("scale", ["normalized", "asymptotic", 2.0])
def test_binary_phi_gradient_is_fast_sigmoid(slope, scale):
    peak = {"normalized": 1.0, "asymptotic": slope, 2.0: 2.0}[scale]
    phi = binary_params(torch.eye(1), make_surrogate("fast_sigmoid", slope, scale)).phi
    xs = [-3.0, -0.2, 0.0, 0.7, 5.0]
    x = torch.tensor(xs, dtype=F64, requires_grad=True)
    weights = torch.tensor([1.0, -2.0, 0.5, 3.0, 1.5], dtype=F64)
    (phi(x) * weights).sum().backward()
    expected = [w * _fast_sigmoid(v, slope, peak) for v, w in zip(xs, weights.tolist(), strict=True)]
    assert x.grad.tolist() == pytest.approx(expected, rel=1e-13)


def test_binary_rate_step_by_hand():
    """x' = J H(x) + drive: only the columns of J whose unit is above 0 contribute."""
    J = torch.tensor([[[0.5, -1.0, 2.0], [3.0, 0.25, -0.75], [1.5, 1.0, 1.0]]], dtype=F64)
    x = torch.tensor([[[0.3, -0.1, 2.0]]], dtype=F64)
    drive = torch.tensor([[[0.1, 0.2, 0.3]]], dtype=F64)
    out, _ = rate_step(drive, x, binary_params(J, make_surrogate("fast_sigmoid", 1.0)))
    # H(x) = (1, 0, 1)
    assert out[0, 0].tolist() == pytest.approx([0.5 + 2.0 + 0.1, 3.0 - 0.75 + 0.2, 1.5 + 1.0 + 0.3])


# --------------------------------------------------------------------------------------------------- LIF


def test_lif_params_defaults():
    p = lif_engelken_abbott_params(None, None)
    assert p.alpha == pytest.approx(math.exp(-1 / 5), rel=1e-15)
    assert p.beta == pytest.approx(math.exp(-1 / 10), rel=1e-15)
    assert p.alpha == pytest.approx(0.8187307530779818)
    assert p.beta == pytest.approx(0.9048374180359595)
    assert p.threshold == 1.0


def test_lif_params_from_time_constants():
    p = lif_engelken_abbott_params(None, None, tau_mem=20.0, tau_syn=2.0, dt=0.5, threshold=0.3)
    assert p.alpha == pytest.approx(math.exp(-0.5 / 2.0), rel=1e-15)
    assert p.beta == pytest.approx(math.exp(-0.5 / 20.0), rel=1e-15)
    assert p.threshold == 0.3


# Golden trajectory of a 2-neuron LIF.
LIF_V = [[0.3, -0.6], [1.5, 0.2]]
LIF_DRIVE = [[0.9, 0.1], [0.7, 0.2], [1.1, -0.1], [0.9, 0.1], [0.8, 0.3], [1.0, 0.0], [0.9, 0.1]]
LIF_V0 = [1.3, 0.4]
LIF_I0 = [0.5, 1.5]


def _lif_by_hand(V, drives, v, current, alpha, beta, theta):
    """The LIF recursion with python floats; returns the (s, v', I') of every step."""
    traj = []
    n = len(v)
    for drive in drives:
        s = [1.0 if v[i] - theta > 0 else 0.0 for i in range(n)]
        current = [alpha * current[i] + sum(V[i][j] * s[j] for j in range(n)) + drive[i] for i in range(n)]
        v = [(beta * v[i] + (1.0 - beta) * current[i]) * (1.0 - s[i]) for i in range(n)]
        traj.append((s, v, current))
    return traj


def test_lif_golden_trajectory():
    alpha, beta, theta = math.exp(-1 / 5), math.exp(-1 / 10), 1.0
    expected = _lif_by_hand(LIF_V, LIF_DRIVE, LIF_V0, LIF_I0, alpha, beta, theta)
    spikes = [s for s, _, _ in expected]
    # the trajectory must exercise spikes and resets of both neurons, else the test proves little
    assert spikes[0] == [1.0, 0.0]
    assert sum(s[1] for s in spikes) >= 1 and sum(s[0] for s in spikes) >= 2

    p = lif_engelken_abbott_params(torch.tensor([LIF_V], dtype=F64), make_surrogate("fast_sigmoid", 5.0))
    v = torch.tensor([[LIF_V0]], dtype=F64)
    current = torch.tensor([[LIF_I0]], dtype=F64)
    for t, drive in enumerate(LIF_DRIVE):
        out, (v, current) = lif_engelken_abbott_step(torch.tensor([[drive]], dtype=F64), (v, current), p)
        _, v_exp, i_exp = expected[t]
        assert torch.equal(out, v)
        assert v[0, 0].tolist() == pytest.approx(v_exp, rel=1e-13, abs=1e-15), t
        assert current[0, 0].tolist() == pytest.approx(i_exp, rel=1e-13, abs=1e-15), t
        for i, s in enumerate(expected[t][0]):
            if s == 1.0:
                assert v[0, 0, i].item() == 0.0  # reset to exactly 0


def test_lif_first_steps_numerically():
    """Two steps spelled out with numbers, independent of the helper above."""
    a, b = math.exp(-0.2), math.exp(-0.1)
    # step 1: s = (1, 0) since v0 = (1.3, 0.4)
    i1 = [a * 0.5 + 0.3 + 0.9, a * 1.5 + 1.5 + 0.1]
    v1 = [0.0, b * 0.4 + (1 - b) * i1[1]]
    # step 2: s = (0, 0) (v1[1] ≈ 0.63 < 1)
    i2 = [a * i1[0] + 0.7, a * i1[1] + 0.2]
    v2 = [b * v1[0] + (1 - b) * i2[0], b * v1[1] + (1 - b) * i2[1]]
    p = lif_engelken_abbott_params(torch.tensor([LIF_V], dtype=F64), make_surrogate("fast_sigmoid", 5.0))
    state = (torch.tensor([[LIF_V0]], dtype=F64), torch.tensor([[LIF_I0]], dtype=F64))
    _, state = lif_engelken_abbott_step(torch.tensor([[LIF_DRIVE[0]]], dtype=F64), state, p)
    assert state[0][0, 0].tolist() == pytest.approx(v1, rel=1e-14)
    assert state[1][0, 0].tolist() == pytest.approx(i1, rel=1e-14)
    _, state = lif_engelken_abbott_step(torch.tensor([[LIF_DRIVE[1]]], dtype=F64), state, p)
    assert state[0][0, 0].tolist() == pytest.approx(v2, rel=1e-14)
    assert state[1][0, 0].tolist() == pytest.approx(i2, rel=1e-14)


@pytest.mark.parametrize("slope", [1.0, 5.0])
def test_lif_jacobian_has_detached_reset(slope):
    """Autograd Jacobian of (v, I) -> (v', I'), with P = diag(h(v - θ)) and s the spikes:

    ∂I'/∂v = V P,   ∂I'/∂I = α 1,
    ∂v'/∂v = diag(1 - s) (β 1 + (1 - β) V P),   ∂v'/∂I = diag(1 - s) (1 - β) α.

    A differentiable reset would add -diag((β v + (1-β) I') h(v - θ)) to ∂v'/∂v; the detached reset
    (SpyTorch convention) must not. Neuron 0 is above threshold, neuron 1 below; V[1, 0] ≠ 0.
    """
    sur = make_surrogate("fast_sigmoid", slope)
    alpha, beta, theta = math.exp(-0.2), math.exp(-0.1), 1.0
    V = [[0.3, -0.6], [1.5, 0.2]]
    v0, i0, drive = [1.2, 0.7], [0.4, -0.3], [0.25, 0.5]
    p = LIFEngelkenAbbottParams(torch.tensor([V], dtype=F64), sur, alpha, beta, theta)
    d = torch.tensor([[drive]], dtype=F64)

    def f(z):
        v, current = z[:2].view(1, 1, 2), z[2:].view(1, 1, 2)
        _, (v_new, i_new) = lif_engelken_abbott_step(d, (v, current), p)
        return torch.cat([v_new.flatten(), i_new.flatten()])

    jac = torch.autograd.functional.jacobian(f, torch.tensor(v0 + i0, dtype=F64))

    s = [1.0 if x > theta else 0.0 for x in v0]
    assert s == [1.0, 0.0]
    h = [_fast_sigmoid(x - theta, slope) for x in v0]
    expected = [[0.0] * 4 for _ in range(4)]
    for i in range(2):
        for j in range(2):
            delta = 1.0 if i == j else 0.0
            expected[i][j] = (1 - s[i]) * (beta * delta + (1 - beta) * V[i][j] * h[j])
            expected[i][2 + j] = (1 - s[i]) * (1 - beta) * alpha * delta
            expected[2 + i][j] = V[i][j] * h[j]
            expected[2 + i][2 + j] = alpha * delta
    torch.testing.assert_close(jac, torch.tensor(expected, dtype=F64), rtol=1e-13, atol=1e-15)
    # the spiking neuron's row is exactly zero: nothing flows through the reset
    assert jac[0].abs().max().item() == 0.0
    # and the surrogate term did flow from the spiking neuron into neuron 1
    assert jac[1, 0].item() != 0.0


def test_lif_differentiable_reset_adds_the_reset_term():
    """With diff_reset the reset factor (1 - s) is differentiated too, adding -(β v_i + (1-β) I'_i) h(v_i - θ)
    to ∂v'_i/∂v_i of every neuron (the spiking neuron 0 keeps no other entry in its row); ∂I' is unchanged."""
    sur = make_surrogate("fast_sigmoid", 2.0)
    alpha, beta, theta = math.exp(-0.2), math.exp(-0.1), 1.0
    V = [[0.3, -0.6], [1.5, 0.2]]
    v0, i0, drive = [1.2, 0.7], [0.4, -0.3], [0.25, 0.5]
    d = torch.tensor([[drive]], dtype=F64)

    def jac(diff_reset):
        p = lif_engelken_abbott_params(torch.tensor([V], dtype=F64), sur, diff_reset=diff_reset)

        def f(z):
            _, (v_new, i_new) = lif_engelken_abbott_step(d, (z[:2].view(1, 1, 2), z[2:].view(1, 1, 2)), p)
            return torch.cat([v_new.flatten(), i_new.flatten()])

        return torch.autograd.functional.jacobian(f, torch.tensor(v0 + i0, dtype=F64))

    detached, differentiable = jac(False), jac(True)
    s = [1.0, 0.0]  # v0 = (1.2, 0.7), θ = 1
    expected = detached.clone()
    for i in range(2):
        i_new = alpha * i0[i] + V[i][0] * s[0] + V[i][1] * s[1] + drive[i]
        expected[i, i] -= (beta * v0[i] + (1 - beta) * i_new) * _fast_sigmoid(v0[i] - theta, 2.0)
    assert detached[0].abs().max().item() == 0.0
    torch.testing.assert_close(differentiable, expected, rtol=1e-13, atol=1e-15)
    assert differentiable[0, 0].item() != 0.0


def test_lif_shapes_batched_over_realizations():
    g = torch.Generator().manual_seed(4)
    R, B, N = 3, 2, 5
    p = lif_engelken_abbott_params(torch.randn(R, N, N, generator=g, dtype=F64), make_surrogate("fast_sigmoid", 1.0))
    v = torch.randn(R, B, N, generator=g, dtype=F64)
    current = torch.randn(R, B, N, generator=g, dtype=F64)
    out, (v2, i2) = lif_engelken_abbott_step(torch.zeros(R, B, N, dtype=F64), (v, current), p)
    assert out.shape == v2.shape == i2.shape == (R, B, N)
