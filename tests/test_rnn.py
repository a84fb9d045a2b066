"""Step functions and the batched RNN module: hand-computed trajectories, Jacobians, initialisation."""

import math

import pytest
import torch

from sgtheory.config import TrainConfig
from sgtheory.functional.neurons import RateParams, binary_phi, lif_params, lif_step, rate_step
from sgtheory.functional.surrogate import make_surrogate
from sgtheory.models.rnn import RNN, init_recurrent, init_weights

F64 = torch.float64
FAST = make_surrogate("fast_sigmoid", 1.0)


def test_rate_step_is_J_phi_x_plus_drive():
    g = torch.Generator().manual_seed(0)
    J, x, drive = (torch.randn(s, generator=g, dtype=F64) for s in ((5, 5), (3, 5), (3, 5)))
    out, new = rate_step(drive, x, RateParams(J, torch.tanh))
    expected = torch.stack([J @ torch.tanh(row) for row in x]) + drive
    torch.testing.assert_close(new, expected, rtol=0, atol=1e-14)
    assert out is new


def test_binary_phi_is_a_step_with_the_surrogate_gradient():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0], dtype=F64, requires_grad=True)
    y = binary_phi(make_surrogate("fast_sigmoid", 2.0))(x)
    assert y.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    y.sum().backward()
    torch.testing.assert_close(x.grad, 1 / (2 * x.detach().abs() + 1) ** 2)


def test_lif_constants():
    p = lif_params(torch.zeros(2, 2), FAST)
    assert p.alpha == pytest.approx(math.exp(-1 / 5)) and p.beta == pytest.approx(math.exp(-1 / 10))
    assert p.threshold == 1.0


def test_lif_golden_trajectory():
    """Two neurons driven by constant currents; the recursion written out with python floats."""
    V = [[0.0, 0.5], [-0.3, 0.0]]
    drive = [12.0, 3.0]
    alpha, beta = math.exp(-1 / 5), math.exp(-1 / 10)
    v, cur = [0.0, 0.0], [0.0, 0.0]
    expected, spikes = [], 0
    for _ in range(8):
        s = [1.0 if vi > 1.0 else 0.0 for vi in v]
        spikes += sum(s)
        cur = [alpha * cur[i] + sum(V[i][j] * s[j] for j in range(2)) + drive[i] for i in range(2)]
        v = [(beta * v[i] + (1 - beta) * cur[i]) * (1 - s[i]) for i in range(2)]
        expected.append(list(v))
    assert spikes >= 2  # the trajectory exercises spikes and resets

    p = lif_params(torch.tensor(V, dtype=F64), FAST)
    state = (torch.zeros(2, dtype=F64), torch.zeros(2, dtype=F64))
    got = []
    for _ in range(8):
        out, state = lif_step(torch.tensor(drive, dtype=F64), state, p)
        got.append(out.tolist())
    torch.testing.assert_close(torch.tensor(got), torch.tensor(expected), rtol=0, atol=1e-12)
    # first step by hand: I1 = 12, v1 = (1 - e^-0.1) * 12
    assert got[0][0] == pytest.approx((1 - math.exp(-0.1)) * 12.0, abs=1e-12)


def test_lif_reset_is_detached_in_the_jacobian():
    """dv'_i/dv_j = (1 - s_i) [β δ_ij + (1 - β) V_ij h(v_j - θ)]: no term through the reset factor."""
    g = torch.Generator().manual_seed(3)
    V = torch.randn(4, 4, generator=g, dtype=F64)
    v = torch.tensor([0.3, 1.4, 0.9, 2.0], dtype=F64)
    current = torch.randn(4, generator=g, dtype=F64)
    drive = torch.randn(4, generator=g, dtype=F64)
    p = lif_params(V, FAST)
    jac = torch.autograd.functional.jacobian(lambda vv: lif_step(drive, (vv, current), p)[0], v)
    s = (v > 1).to(F64)
    h = 1 / ((v - 1).abs() + 1) ** 2
    expected = (1 - s)[:, None] * (p.beta * torch.eye(4, dtype=F64) + (1 - p.beta) * V * h[None, :])
    torch.testing.assert_close(jac, expected, rtol=0, atol=1e-12)


def test_gaussian_and_orthogonal_initialisation():
    g = torch.Generator().manual_seed(0)
    J = init_recurrent(400, 1.5, 2.0, "gaussian", False, g, F64)
    assert J.std().item() == pytest.approx(1.5 / 20, rel=0.02)
    assert J.mean().item() == pytest.approx(2.0 / 400, abs=3 * 1.5 / 20 / 400)
    Q = init_recurrent(30, 0.8, 0.0, "orthogonal", False, g, F64)
    torch.testing.assert_close(Q @ Q.T, 0.64 * torch.eye(30, dtype=F64), rtol=0, atol=1e-12)
    C = init_recurrent(30, 1.0, 0.0, "gaussian", True, g, F64)
    torch.testing.assert_close(C.sum(dim=1), torch.zeros(30, dtype=F64), rtol=0, atol=1e-12)


def test_weights_follow_the_config_scales():
    cfg = TrainConfig(N=500, input_scale=2.0, input_mean=1.0, readout_scale=0.5, bias_mean=0.2, bias_scale=0.3)
    w = init_weights(cfg, torch.Generator().manual_seed(1), F64)
    assert w["w_in"].std().item() == pytest.approx(2.0, rel=0.1)
    assert w["w_in"].mean().item() == pytest.approx(1.0, abs=0.3)
    assert w["w_out"].std().item() == pytest.approx(0.5, rel=0.1)
    assert 0.2 <= w["b"].min().item() and w["b"].max().item() < 0.5
    assert w["c"].item() == pytest.approx(0.001)


def make_rnn(model, R=3, N=6, B=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    D = 2 * N if model == "lif" else N
    weights = {"J": torch.randn(R, N, N, generator=g, dtype=F64) / N**0.5,
               "w_in": torch.randn(R, N, 1, generator=g, dtype=F64),
               "w_out": torch.randn(R, N, 1, generator=g, dtype=F64),
               "b": torch.rand(R, N, generator=g, dtype=F64),
               "c": torch.zeros(R, 1, dtype=F64)}
    return RNN(model, weights, torch.randn(R, B, D, generator=g, dtype=F64), FAST)


@pytest.mark.parametrize("model", ["tanh", "binary", "lif"])
def test_realizations_are_independent(model):
    net = make_rnn(model)
    inputs = torch.randint(0, 2, (7, 3, 2, 1), generator=torch.Generator().manual_seed(2)).to(F64)
    out = net(inputs)
    assert out.shape == (7, 3, 2)
    with torch.no_grad():
        net.J[1].mul_(-3.0)
        net.x0[2].add_(1.0)
    changed = net(inputs)
    torch.testing.assert_close(changed[:, 0], out[:, 0], rtol=0, atol=0)
    assert not torch.equal(changed[:, 1], out[:, 1])


def test_relax_iterates_the_input_free_step():
    net = make_rnn("tanh")
    assert torch.equal(net.relax(net.x0, 0), net.x0)
    x = net.x0.detach()
    for _ in range(5):
        x = torch.tanh(x) @ net.J.detach().transpose(1, 2) + net.b.detach()[:, None, :]
    torch.testing.assert_close(net.relax(net.x0, 5), x, rtol=0, atol=1e-13)


def test_readout_reads_the_local_field():
    net = make_rnn("binary", R=1)
    inputs = torch.zeros(4, 1, 2, 1, dtype=F64)
    drive = net.b.detach()[:, None, :].expand(4, 1, 2, -1)
    outs, _ = net.run(drive, net.x0.detach())
    expected = (outs @ net.w_out.detach()).squeeze(-1) + net.c.detach()
    torch.testing.assert_close(net(inputs).detach(), expected, rtol=0, atol=1e-13)


def test_lif_differentiable_reset_adds_the_reset_term():
    """With diff_reset: dv'_i/dv_j gains -(β v_i + (1-β) I'_i) h(v_i - θ) δ_ij (Zenke & Vogels' "DR")."""
    g = torch.Generator().manual_seed(4)
    V = torch.randn(4, 4, generator=g, dtype=F64)
    v = torch.tensor([0.3, 1.4, 0.9, 2.0], dtype=F64)
    current, drive = torch.randn(4, generator=g, dtype=F64), torch.randn(4, generator=g, dtype=F64)
    p = lif_params(V, FAST, diff_reset=True)
    jac = torch.autograd.functional.jacobian(lambda vv: lif_step(drive, (vv, current), p)[0], v)
    s = (v > 1).to(F64)
    h = 1 / ((v - 1).abs() + 1) ** 2
    new_current = p.alpha * current + V @ s + drive
    detached = (1 - s)[:, None] * (p.beta * torch.eye(4, dtype=F64) + (1 - p.beta) * V * h[None, :])
    expected = detached - torch.diag((p.beta * v + (1 - p.beta) * new_current) * h)
    torch.testing.assert_close(jac, expected, rtol=0, atol=1e-12)
