"""Tests for sgtheory.models.rnn (flossing spec §2.1–2.4).

Statistics of the initialisers are checked against their analytic values with tolerances of several
standard errors; the dynamics against the step equations written out by hand.
"""

import math

import pytest
import torch

from sgtheory.experiments.configs.train import TrainConfig
from sgtheory.functional.surrogate import make_surrogate
from sgtheory.models.rnn import RNN, init_recurrent, init_weights

F64 = torch.float64
SUR = make_surrogate("fast_sigmoid", 1.0)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------------------ init


@pytest.mark.parametrize("gain,gbar", [(1.0, 0.0), (1.5, 3.0), (0.5, -2.0)])
def test_gaussian_init_std_and_mean(gain, gbar):
    N = 400
    J = init_recurrent(N, gain, gbar, "gaussian", False, _gen(0), F64)
    assert J.shape == (N, N) and J.dtype == F64
    n = N * N
    # sample std: relative standard error ≈ 1/sqrt(2n) ≈ 0.18 %; allow 5 of them
    assert J.std().item() == pytest.approx(gain / math.sqrt(N), rel=5 / math.sqrt(2 * n))
    # sample mean: standard error gain/sqrt(N)/sqrt(n)
    assert abs(J.mean().item() - gbar / N) < 5 * gain / math.sqrt(N) / math.sqrt(n)


def test_gaussian_init_is_gain_times_z_over_sqrt_n_plus_gbar_over_n():
    """Exactly the affine map of the same standard normal draws (same generator state)."""
    N, gain, gbar = 7, 1.3, 0.4
    z = torch.randn(N, N, generator=_gen(9), dtype=F64)
    J = init_recurrent(N, gain, gbar, "gaussian", False, _gen(9), F64)
    torch.testing.assert_close(J, gain * z / math.sqrt(N) + gbar / N, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("gain", [1.0, 0.7, 2.0])
def test_orthogonal_init(gain):
    N = 30
    J = init_recurrent(N, gain, 0.0, "orthogonal", False, _gen(1), F64)
    torch.testing.assert_close(J @ J.T, gain**2 * torch.eye(N, dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(J.T @ J, gain**2 * torch.eye(N, dtype=F64), rtol=0, atol=1e-12)
    # not a trivial (diagonal or signed permutation) matrix
    assert (J.abs() > 1e-3).sum().item() > N * N // 2


def test_orthogonal_init_is_deterministic_and_seed_dependent():
    a = init_recurrent(10, 1.0, 0.0, "orthogonal", False, _gen(3), F64)
    b = init_recurrent(10, 1.0, 0.0, "orthogonal", False, _gen(3), F64)
    c = init_recurrent(10, 1.0, 0.0, "orthogonal", False, _gen(4), F64)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("gbar", [0.0, 2.0])
def test_centered_rows(gbar):
    N = 50
    J = init_recurrent(N, 1.0, gbar, "gaussian", True, _gen(2), F64)
    torch.testing.assert_close(J.mean(dim=1), torch.full((N,), gbar / N, dtype=F64), rtol=0, atol=1e-14)
    # the uncentred draw has clearly non-zero row means (so the check above can fail)
    U = init_recurrent(N, 1.0, gbar, "gaussian", False, _gen(2), F64)
    assert (U.mean(dim=1) - gbar / N).abs().max().item() > 1e-3


def test_init_weights_centres_rows_only_for_lif():
    for model, centred in [("lif", True), ("tanh", False), ("binary", False)]:
        cfg = TrainConfig(model=model, N=40, T=20, delay=4)
        J = init_weights(cfg.rnn_init(), _gen(0), F64)["J"]
        row_mean_max = J.mean(dim=1).abs().max().item()
        assert (row_mean_max < 1e-14) == centred, model


def test_init_weights_shapes_and_bias_range():
    N = 1000
    cfg = TrainConfig(N=N, T=20, delay=4, bias_mean=-0.3, bias_scale=0.2, readout_offset=0.25)
    w = init_weights(cfg.rnn_init(), _gen(5), F64)
    assert w["J"].shape == (N, N)
    assert w["w_in"].shape == (N, 1) and w["w_out"].shape == (N, 1)
    assert w["b"].shape == (N,) and w["c"].shape == (1,)
    assert all(t.dtype == F64 for t in w.values())
    b = w["b"]
    assert b.min().item() >= -0.3 and b.max().item() < -0.1
    # uniform on the whole interval: extremes near the ends, mean at the centre
    assert b.min().item() < -0.295 and b.max().item() > -0.105
    assert abs(b.mean().item() - (-0.2)) < 5 * 0.2 / math.sqrt(12 * N)
    assert w["c"].item() == 0.25


def test_init_weights_input_and_readout_statistics():
    N = 1000
    cfg = TrainConfig(N=N, T=20, delay=4, input_scale=2.0, input_mean=0.5, readout_scale=0.3, readout_mean=-1.0)
    w = init_weights(cfg.rnn_init(), _gen(6), F64)
    se = 5 / math.sqrt(N)
    assert abs(w["w_in"].mean().item() - 0.5) < 2.0 * se
    assert w["w_in"].std().item() == pytest.approx(2.0, rel=5 / math.sqrt(2 * N))
    assert abs(w["w_out"].mean().item() + 1.0) < 0.3 * se
    assert w["w_out"].std().item() == pytest.approx(0.3, rel=5 / math.sqrt(2 * N))


# --------------------------------------------------------------------------------------------- network


def _random_rnn(model: str, R=3, B=2, N=4, seed=0, dtype=F64) -> RNN:
    g = _gen(seed)
    weights = {
        "J": torch.randn(R, N, N, generator=g, dtype=dtype) / math.sqrt(N) * 1.5,
        "w_in": torch.randn(R, N, 1, generator=g, dtype=dtype),
        "w_out": torch.randn(R, N, 1, generator=g, dtype=dtype),
        "b": 0.5 * torch.rand(R, N, generator=g, dtype=dtype),
        "c": torch.randn(R, 1, generator=g, dtype=dtype),
    }
    D = 2 * N if model == "lif" else N
    x0 = 1.5 * torch.randn(R, B, D, generator=g, dtype=dtype)
    return RNN(model, weights, x0, SUR)


@pytest.mark.parametrize("model", ["tanh", "binary", "lif"])
def test_forward_shapes(model):
    R, B, N, T = 3, 2, 4, 5
    net = _random_rnn(model, R, B, N)
    inputs = torch.rand(T, R, B, 1, generator=_gen(1), dtype=F64)
    out = net(inputs)
    assert out.shape == (T, R, B) and out.dtype == F64
    assert torch.isfinite(out).all()
    assert net.x0.shape == (R, B, 2 * N if model == "lif" else N)
    assert net.N == N


def _hand_forward(net: RNN, inputs: torch.Tensor) -> torch.Tensor:
    """Readout r_t = w_out·x_{t+1} + c with the step equations written per realization."""
    T, R, B, _ = inputs.shape
    N = net.N
    J, w_in, w_out, b, c = (p.detach() for p in (net.J, net.w_in, net.w_out, net.b, net.c))
    alpha, beta = math.exp(-1 / 5), math.exp(-1 / 10)
    out = torch.empty(T, R, B, dtype=inputs.dtype)
    for r in range(R):
        for k in range(B):
            state = net.x0.detach()[r, k].clone()
            for t in range(T):
                drive = w_in[r, :, 0] * inputs[t, r, k, 0] + b[r]
                if net.model == "lif":
                    v, cur = state[:N], state[N:]
                    s = (v > 1.0).to(v.dtype)
                    cur = alpha * cur + J[r] @ s + drive
                    v = (beta * v + (1 - beta) * cur) * (1 - s)
                    state = torch.cat([v, cur])
                    read = v
                else:
                    phi = torch.tanh(state) if net.model == "tanh" else (state > 0).to(state.dtype)
                    state = J[r] @ phi + drive
                    read = state
                out[t, r, k] = w_out[r, :, 0] @ read + c[r, 0]
    return out


@pytest.mark.parametrize("model", ["tanh", "binary", "lif"])
def test_forward_equals_hand_iteration(model):
    T, R, B = 6, 2, 3
    net = _random_rnn(model, R, B, 4, seed=3)
    inputs = 2.0 * torch.randint(0, 2, (T, R, B, 1), generator=_gen(4)).to(F64)
    torch.testing.assert_close(net(inputs), _hand_forward(net, inputs), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", ["tanh", "binary", "lif"])
def test_relax_zero_steps_is_identity(model):
    net = _random_rnn(model)
    state = torch.randn_like(net.x0)
    assert torch.equal(net.relax(state, 0), state)


def _hand_relax(net: RNN, state: torch.Tensor, steps: int) -> torch.Tensor:
    """Input-free iteration (drive = bias) written out for every realization and batch element."""
    R, B, _ = state.shape
    N = net.N
    J, b = net.J.detach(), net.b.detach()
    alpha, beta = math.exp(-1 / 5), math.exp(-1 / 10)
    out = state.clone()
    for r in range(R):
        for k in range(B):
            x = state[r, k].clone()
            for _ in range(steps):
                if net.model == "lif":
                    v, cur = x[:N], x[N:]
                    s = (v > 1.0).to(v.dtype)
                    cur = alpha * cur + J[r] @ s + b[r]
                    v = (beta * v + (1 - beta) * cur) * (1 - s)
                    x = torch.cat([v, cur])
                elif net.model == "tanh":
                    x = J[r] @ torch.tanh(x) + b[r]
                else:
                    x = J[r] @ (x > 0).to(x.dtype) + b[r]
            out[r, k] = x
    return out


@pytest.mark.parametrize("model", ["tanh", "binary", "lif"])
@pytest.mark.parametrize("steps", [1, 7])
def test_relax_equals_iterating_the_step(model, steps):
    net = _random_rnn(model, seed=5)
    state = 1.5 * torch.randn(net.x0.shape, generator=_gen(6), dtype=F64)
    relaxed = net.relax(state, steps)
    assert not relaxed.requires_grad
    torch.testing.assert_close(relaxed, _hand_relax(net, state, steps), rtol=1e-12, atol=1e-12)
    assert not torch.allclose(relaxed, state)


@pytest.mark.parametrize("model", ["tanh", "binary", "lif"])
def test_realizations_are_independent(model):
    T, R, B = 8, 3, 2
    net = _random_rnn(model, R, B, 5, seed=7)
    inputs = torch.randint(0, 2, (T, R, B, 1), generator=_gen(8)).to(F64)
    before = net(inputs).detach()
    with torch.no_grad():
        net.J[1] = 3.0 * torch.randn(5, 5, generator=_gen(9), dtype=F64)
        net.w_in[1] *= -2.0
        net.b[1] += 1.0
        net.w_out[1] *= 0.5
        net.c[1] += 1.0
        net.x0[1] += 0.7
        inputs[:, 1] = 1.0 - inputs[:, 1]
    after = net(inputs).detach()
    assert torch.equal(after[:, 0], before[:, 0])
    assert torch.equal(after[:, 2], before[:, 2])
    assert not torch.allclose(after[:, 1], before[:, 1])


@pytest.mark.parametrize("model", ["tanh", "binary", "lif"])
def test_batched_realization_equals_single_realization_network(model):
    T, R, B = 8, 3, 2
    net = _random_rnn(model, R, B, 5, seed=10)
    inputs = torch.randint(0, 2, (T, R, B, 1), generator=_gen(11)).to(F64)
    full = net(inputs).detach()
    for r in range(R):
        weights = {k: getattr(net, k).detach()[r : r + 1] for k in ("J", "w_in", "w_out", "b", "c")}
        single = RNN(model, weights, net.x0.detach()[r : r + 1], SUR)
        torch.testing.assert_close(single(inputs[:, r : r + 1]).detach()[:, 0], full[:, r], rtol=1e-13, atol=1e-13)


def test_gradients_do_not_mix_between_realizations():
    """The loss of realization 0 has zero gradient with respect to every parameter of realization 1."""
    net = _random_rnn("tanh", 2, 2, 4, seed=12)
    inputs = torch.rand(5, 2, 2, 1, generator=_gen(13), dtype=F64)
    net(inputs)[:, 0].sum().backward()
    for name, p in net.named_parameters():
        assert p.grad[1].abs().max().item() == 0.0, name
        assert p.grad[0].abs().max().item() > 0.0, name


def test_parameters_are_trainable_copies():
    net = _random_rnn("tanh")
    names = {n for n, _ in net.named_parameters()}
    assert names == {"J", "w_in", "w_out", "b", "c", "x0"}
    J = torch.zeros(1, 2, 2, dtype=F64)
    w = {"J": J, "w_in": torch.zeros(1, 2, 1, dtype=F64), "w_out": torch.zeros(1, 2, 1, dtype=F64),
         "b": torch.zeros(1, 2, dtype=F64), "c": torch.zeros(1, 1, dtype=F64)}
    net2 = RNN("tanh", w, torch.zeros(1, 1, 2, dtype=F64), SUR)
    with torch.no_grad():
        net2.J += 1.0
    assert J.abs().max().item() == 0.0  # the caller's tensor is not aliased
