"""The fused sequence node (sgtheory.functional.fused_rnn) against the step functions iterated under autograd.

The reference is the step-by-step graph of rate_step / lif_engelken_abbott_step (the Lyapunov engine's steps): the
fused forward must give the same outputs and spikes up to the rounding of its GEMMs and event sums, and the loss and
every parameter gradient of a training epoch (drive, readout, BCE) must agree to round-off, for tanh, binary and LIF
(with and without a differentiable reset), R = 1 and R = 3, in float64. The LIF's event-by-event weight gradient
equals the GEMM at any firing rate, and the loops keep numpy's BLAS on torch's thread count.
"""

import pytest
import torch

from sgtheory.experiments.configs.train import TrainConfig
from sgtheory.functional.losses import task_bce
from sgtheory.functional.realizations import matmul
from sgtheory.functional.surrogate import make_surrogate
from sgtheory.models.rnn import RNN, init_weights

F64 = torch.float64
CASES = [("tanh", False), ("binary", False), ("lif", False), ("lif", True)]


def make_net(model: str, diff_reset: bool, R: int, N=11, B=4) -> RNN:
    """R realizations with weights strong enough that every unit switches during the sequence."""
    cfg = TrainConfig(model=model, N=N, gain=1.5 if model != "lif" else 3.0, input_scale=1.0 if model != "lif" else 3.0)
    per = [init_weights(cfg.rnn_init(), torch.Generator().manual_seed(s), F64) for s in range(R)]
    weights = {k: torch.stack([w[k] for w in per]) for k in per[0]}
    D = 2 * N if model == "lif" else N
    x0 = torch.randn(R, B, D, generator=torch.Generator().manual_seed(7), dtype=F64)
    return RNN(model, weights, x0, make_surrogate("fast_sigmoid", 2.0), diff_reset=diff_reset)


def stepwise_run(net: RNN, drive, state0):
    """The reference: the model's step function in a python loop (one autograd graph per step)."""
    step, params, unpack = net._step_fn()
    state, outs = unpack(state0), []
    for drive_t in drive:
        out, state = step(drive_t, state, params)
        outs.append(out)
    final = torch.cat(state, dim=-1) if isinstance(state, tuple) else state
    return torch.stack(outs), final


def epoch(net: RNN, inputs, target, run):
    """Loss (R,) and the gradients of the sum of the losses and of the final state's sum w.r.t. every parameter."""
    outs, final = run(net.drive(inputs), net.x0)
    ones = torch.ones(*outs.shape[:-1], 1, dtype=F64)
    logits = matmul(torch.cat([outs, ones], -1), torch.cat([net.w_out, net.c[..., None]], -2)).squeeze(-1)
    loss = task_bce(logits[3:], target[3:])
    grads = torch.autograd.grad(loss.sum() + 0.1 * final.sum(), list(net.parameters()))
    return outs.detach(), final.detach(), loss.detach(), grads


@pytest.mark.parametrize("R", [1, 3])
@pytest.mark.parametrize("model,diff_reset", CASES, ids=["tanh", "binary", "lif", "lif-diff-reset"])
def test_fused_sequence_equals_stepwise_autograd(model, diff_reset, R):
    net = make_net(model, diff_reset, R)
    T, B = 40, net.x0.shape[1]
    gen = torch.Generator().manual_seed(1)
    inputs = (torch.rand(T, R, B, 1, generator=gen, dtype=F64) < 0.5).to(F64)
    target = (torch.rand(T, R, B, generator=gen, dtype=F64) < 0.5).to(F64)
    fused = epoch(net, inputs, target, net.run)
    ref = epoch(net, inputs, target, lambda d, s: stepwise_run(net, d, s))
    for mine, theirs in zip(fused[:3], ref[:3], strict=True):  # the same arithmetic but the GEMMs' order of sums
        torch.testing.assert_close(mine, theirs, rtol=1e-13, atol=1e-13)
    spikes = fused[0] > (net.threshold if model != "tanh" else 0.0)
    assert torch.equal(spikes, ref[0] > (net.threshold if model != "tanh" else 0.0))
    assert 0.05 < spikes.double().mean() < 0.95  # the units switch: the surrogate path is exercised
    for name, g, g_ref in zip([n for n, _ in net.named_parameters()], fused[3], ref[3], strict=True):
        assert g_ref.abs().max() > 0, name
        torch.testing.assert_close(g, g_ref, rtol=1e-12, atol=1e-12 * g_ref.abs().max().item(), msg=name)


def test_diff_reset_changes_the_gradient():
    """The flag is honoured: with a differentiable reset the recurrent gradient differs (so the test above can fail)."""
    gens = []
    for diff_reset in (False, True):
        net = make_net("lif", diff_reset, 1)
        inputs = torch.ones(30, 1, net.x0.shape[1], 1, dtype=F64)
        target = torch.ones(30, 1, net.x0.shape[1], dtype=F64)
        gens.append(epoch(net, inputs, target, net.run)[3][0])
    assert not torch.allclose(gens[0], gens[1])


@pytest.mark.parametrize("N,B", [(13, 5), (16, 4)], ids=["padded", "aligned"])
@pytest.mark.parametrize("model", ["tanh", "binary", "lif"])
def test_realization_alone_equals_realization_in_a_batch(model, N, B):
    """Realization 1 of three gives, bit for bit, the outputs and gradients it gives alone, with steps of B·N
    numbers that are (16·4·8 bytes) or are not (13·5·8) a multiple of the 64-byte alignment."""
    net = make_net(model, False, 3, N=N, B=B)
    T = 23
    gen = torch.Generator().manual_seed(2)
    inputs = (torch.rand(T, 3, B, 1, generator=gen, dtype=F64) < 0.5).to(F64)
    target = (torch.rand(T, 3, B, generator=gen, dtype=F64) < 0.5).to(F64)
    both = epoch(net, inputs, target, net.run)
    alone_net = RNN(model, {n: getattr(net, n).detach()[1:2] for n in ("J", "w_in", "w_out", "b", "c")},
                    net.x0.detach()[1:2], net.surrogate)
    alone = epoch(alone_net, inputs[:, 1:2], target[:, 1:2], alone_net.run)
    assert torch.equal(both[0][:, 1:2], alone[0]) and torch.equal(both[2][1:2], alone[2])
    for g, g_alone in zip(both[3], alone[3], strict=True):
        assert torch.equal(g[1:2], g_alone)


@pytest.mark.parametrize("rate", [0.05, 0.5, 1.0])
def test_event_sums_equal_the_gemm(rate):
    """The LIF's weight gradient summed spike by spike equals the GEMM over all rows (round-off), at sparse, half and
    full activity, with spike counts per row that are and are not multiples of the four-row passes."""
    from sgtheory.functional.fused_rnn import _row_products, _spike_row_products, _steps

    gen = torch.Generator().manual_seed(3)
    R, T, B, N = 2, 7, 3, 13
    like = torch.zeros((), dtype=F64)
    a = _steps(R, T, B, N, like).copy_(torch.randn(R, T, B, N, generator=gen, dtype=F64))
    spikes = (torch.rand(R, T, B, N, generator=gen, dtype=F64) < rate).to(F64)
    events, dense = _spike_row_products(a, spikes), _row_products(a, _steps(R, T, B, N, like).copy_(spikes))
    torch.testing.assert_close(events, dense, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("threads", [1, 2])
def test_loops_run_numpy_blas_on_torch_threads(threads):
    """Inside the loops numpy's OpenBLAS (its wheels bundle it under numpy.libs) uses torch's number of threads, not
    every core."""
    from threadpoolctl import threadpool_info

    from sgtheory.functional.fused_rnn import _loop_context

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with _loop_context():
            blas = [lib["num_threads"] for lib in threadpool_info()
                    if lib["internal_api"] == "openblas" and "numpy" in lib["filepath"]]
    finally:
        torch.set_num_threads(before)
    if not blas:
        pytest.skip("numpy is not linked against OpenBLAS")
    assert set(blas) == {threads}
