"""Tests for sgtheory.experiments.train (flossing spec §6.2, D5, D8).

The central claims: realizations batched together follow exactly the trajectories they follow alone;
the recorded loss/accuracy/|dL/dh0| are those of the parameters *before* the epoch's update (checked
against an independent implementation of the tanh network); BPTT gradients match finite differences;
clipping and non-finite handling act per realization.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from sgtheory.experiments import expand
from sgtheory.experiments.network import build_model
from sgtheory.experiments.train import clip_per_realization, draw_batch, finite_per_realization, train
from sgtheory.seeding import stream
from sgtheory.tasks.delayed import delayed_task

F64 = torch.float64
TINY = dict(N=8, batch=4, T=20, delay=4, epochs=6, record_every=1, dtype="float64")
MODELS = ["tanh", "binary", "lif"]
MEASURES = ("loss", "accuracy", "grad_h0_norm")


def _configs(**kw):
    return expand("train", {**TINY, **kw})


def _assert_rows_close(a, b, rel=1e-10):
    assert [r["epoch"] for r in a] == [r["epoch"] for r in b]
    for ra, rb in zip(a, b, strict=True):
        for key in MEASURES:
            assert ra[key] == pytest.approx(rb[key], rel=rel, abs=1e-300), (ra["epoch"], key)


def _all_finite(rows):
    return all(math.isfinite(r[k]) for r in rows for k in MEASURES)


# ------------------------------------------------------------------------------ (a) batched == sequential


@pytest.mark.parametrize("model", MODELS)
def test_batched_equals_sequential(model):
    batched = train(_configs(model=model, seeds="0-2"))
    assert len(batched) == 3
    for seed, res in zip(range(3), batched, strict=True):
        assert res.config.seed == seed and res.error is None
        (alone,) = train(_configs(model=model, seeds=seed))
        assert alone.error is None
        assert [r["epoch"] for r in res.rows] == list(range(1, 7))
        _assert_rows_close(res.rows, alone.rows)
        assert _all_finite(res.rows)
    # the runs are genuinely different, so equality above is not trivial
    assert batched[0].rows[0]["loss"] != batched[1].rows[0]["loss"]


def test_batched_equals_sequential_for_nonconsecutive_seeds():
    batched = train(_configs(model="tanh", seeds=[7, 2]))
    for res in batched:
        (alone,) = train(_configs(model="tanh", seeds=res.config.seed))
        _assert_rows_close(res.rows, alone.rows)


# ---------------------------------------------------------------------------------- (b) reproducibility


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_identical_different_seed_differs(model):
    a = train(_configs(model=model, seeds=3))[0].rows
    b = train(_configs(model=model, seeds=3))[0].rows
    c = train(_configs(model=model, seeds=4))[0].rows
    assert a == b  # bit-identical, not just close
    assert [r["loss"] for r in a] != [r["loss"] for r in c]
    assert [r["grad_h0_norm"] for r in a] != [r["grad_h0_norm"] for r in c]


def test_build_model_is_deterministic_per_seed():
    m1 = build_model(_configs(seeds="0-1"), TINY["batch"])
    m2 = build_model(_configs(seeds="0-1"), TINY["batch"])
    m3 = build_model(_configs(seeds="1"), TINY["batch"])
    for (name, p1), p2 in zip(m1.named_parameters(), m2.parameters(), strict=True):
        assert torch.equal(p1, p2), name
    # realization 1 of the pair is exactly the single-seed model of seed 1
    for (name, p1), p3 in zip(m1.named_parameters(), m3.parameters(), strict=True):
        assert torch.equal(p1[1], p3[0]), name
    assert not torch.equal(m1.J[0], m1.J[1])


def test_build_model_relaxes_x0():
    """x0 is relax_steps input-free steps from a standard normal draw of the 'ic' stream."""
    (cfg,) = _configs(relax_steps=3, model="tanh")
    model = build_model([cfg], cfg.batch)
    x = torch.randn(cfg.batch, cfg.N, generator=stream(cfg.seed, "ic"), dtype=F64)
    J, b = model.J.detach()[0], model.b.detach()[0]
    for _ in range(3):
        x = torch.tanh(x) @ J.T + b
    torch.testing.assert_close(model.x0.detach()[0], x, rtol=1e-13, atol=1e-13)


def test_draw_batch_streams():
    cfgs = _configs(seeds="0-1", input_amplitude=2.0)
    inputs, targets, scored = draw_batch(cfgs, 5)
    assert inputs.shape == (20, 2, 4, 1) and targets.shape == (20, 2, 4)
    for r, c in enumerate(cfgs):
        x, y, s = delayed_task(c.task, c.delay, c.T, c.batch, stream(c.seed, "input", 5), 2.0, F64)
        assert torch.equal(inputs[:, r], x) and torch.equal(targets[:, r], y[..., 0])
        assert torch.equal(scored, s)
    assert not torch.equal(draw_batch(cfgs, 6)[0], inputs)


# -------------------------------------------------------------------------------- (c) gradient check


def _task_loss(model, inputs, targets, scored):
    """Per-realization task loss exactly as in train()."""
    logits = model(inputs)[scored]
    return F.binary_cross_entropy_with_logits(logits, targets[scored], reduction="none").mean(dim=(0, 2))


def test_grad_x0_matches_finite_differences():
    cfgs = _configs(model="tanh", seeds="0-1", gain=1.5)
    model = build_model(cfgs, cfgs[0].batch)
    inputs, targets, scored = draw_batch(cfgs, 1)
    model.zero_grad()
    _task_loss(model, inputs, targets, scored).sum().backward()
    grad = model.x0.grad.clone()
    assert grad.abs().max().item() > 1e-8  # not vanishing, so the comparison means something

    h = 1e-6
    fd = torch.zeros_like(grad)
    with torch.no_grad():
        x0 = model.x0.detach().clone()
        for idx in torch.cartesian_prod(*(torch.arange(n) for n in x0.shape)).tolist():
            idx = tuple(idx)
            for sign in (1.0, -1.0):
                model.x0.copy_(x0)
                model.x0[idx] += sign * h
                fd[idx] += sign * _task_loss(model, inputs, targets, scored).sum() / (2 * h)
        model.x0.copy_(x0)
    torch.testing.assert_close(grad, fd, rtol=1e-6, atol=1e-8 * grad.abs().max().item())


def test_grad_recurrent_weights_match_finite_differences():
    cfgs = _configs(model="tanh", seeds="0-1")
    model = build_model(cfgs, cfgs[0].batch)
    inputs, targets, scored = draw_batch(cfgs, 2)
    model.zero_grad()
    _task_loss(model, inputs, targets, scored).sum().backward()
    h = 1e-6
    with torch.no_grad():
        for name, idx in [("J", (0, 1, 2)), ("J", (1, 5, 0)), ("w_in", (1, 3, 0)), ("b", (0, 4)),
                          ("w_out", (1, 2, 0)), ("c", (0, 0))]:
            p = getattr(model, name)
            old = p[idx].item()
            p[idx] = old + h
            up = _task_loss(model, inputs, targets, scored).sum().item()
            p[idx] = old - h
            down = _task_loss(model, inputs, targets, scored).sum().item()
            p[idx] = old
            assert p.grad[idx].item() == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-10), name


def _fast_sigmoid_step(x, slope):
    """H(x) forward; backward 1/(slope|x|+1)² via the primitive x/(slope|x|+1) (straight-through form)."""
    prim = x / (slope * x.abs() + 1.0)
    return (x > 0).to(x.dtype) + prim - prim.detach()


def _independent_loss(params, cfgs, inputs, targets, scored):
    """Summed per-realization task loss of the tanh / binary / LIF network, written out step by step."""
    cfg = cfgs[0]
    J, w_in, w_out, b, c, x0 = (params[k] for k in ("J", "w_in", "w_out", "b", "c", "x0"))
    N = cfg.N
    alpha, beta = math.exp(-cfg.dt / cfg.tau_syn), math.exp(-cfg.dt / cfg.tau_mem)
    total = 0.0
    for r in range(len(cfgs)):
        state = x0[r]
        logits = []
        for t in range(cfg.T):
            drive = inputs[t, r] @ w_in[r].T + b[r]
            if cfg.model == "lif":
                v, cur = state[:, :N], state[:, N:]
                s = _fast_sigmoid_step(v - cfg.threshold, cfg.slope)
                cur = alpha * cur + s @ J[r].T + drive
                v = (beta * v + (1 - beta) * cur) * (1 - (s if cfg.diff_reset else s.detach()))
                state, read = torch.cat([v, cur], dim=1), v
            else:
                phi = torch.tanh(state) if cfg.model == "tanh" else _fast_sigmoid_step(state, cfg.slope)
                state = phi @ J[r].T + drive
                read = state
            logits.append((read @ w_out[r])[:, 0] + c[r, 0])
        logit = torch.stack(logits)[scored]
        y = targets[scored][:, r]
        total = total + (F.softplus(logit) - y * logit).mean()
    return total


@pytest.mark.parametrize("model,diff_reset", [("tanh", False), ("binary", False), ("lif", False), ("lif", True)])
def test_surrogate_gradients_match_independent_implementation(model, diff_reset):
    """All parameter gradients of the task loss, including the surrogate BPTT of binary and LIF."""
    cfgs = _configs(model=model, seeds="0-1", slope=2.0, gain=2.0, diff_reset=diff_reset)
    net = build_model(cfgs, cfgs[0].batch)
    inputs, targets, scored = draw_batch(cfgs, 3)
    net.zero_grad()
    loss = _task_loss(net, inputs, targets, scored).sum()
    loss.backward()
    params = {n: p.detach().clone().requires_grad_(True) for n, p in net.named_parameters()}
    mine = _independent_loss(params, cfgs, inputs, targets, scored)
    assert mine.item() == pytest.approx(loss.item(), rel=1e-12)
    mine.backward()
    for name, p in net.named_parameters():
        assert params[name].grad.abs().max().item() > 0.0, name
        torch.testing.assert_close(p.grad, params[name].grad, rtol=1e-9, atol=1e-14)
    if model == "lif":  # the LIF neurons do fire and reset here, so the reset path is exercised
        with torch.no_grad():
            drive = inputs @ net.w_in.transpose(-1, -2) + net.b[:, None, :]
            v = net.run(drive, net.x0)[0]
        assert (v == 0).sum().item() >= 10


# ------------------------------------------------------------------------------------------- (d) clipping


def test_clip_per_realization():
    thr = 0.5
    g = torch.Generator().manual_seed(0)
    big = torch.randn(2, 3, generator=g, dtype=F64)
    big *= 5.0 / big.norm()  # norm 5 > thr
    small = torch.randn(2, 3, generator=g, dtype=F64)
    small *= 0.2 / small.norm()  # norm 0.2 < thr
    exact = torch.randn(2, 3, generator=g, dtype=F64)
    exact *= thr / exact.norm()
    p1 = torch.zeros(4, 2, 3, dtype=F64, requires_grad=True)
    p1.grad = torch.stack([big, small, torch.zeros(2, 3, dtype=F64), exact])
    # a second array: realization 0 small, realization 1 big (clipping is per array, not global)
    p2 = torch.zeros(4, 1, dtype=F64, requires_grad=True)
    p2.grad = torch.tensor([[0.1], [-3.0], [0.0], [0.5]], dtype=F64)
    g1, g2 = p1.grad.clone(), p2.grad.clone()

    clip_per_realization([p1, p2], thr)

    assert p1.grad[0].norm().item() == pytest.approx(thr, rel=1e-14)
    torch.testing.assert_close(p1.grad[0], g1[0] * thr / 5.0, rtol=1e-14, atol=0)  # direction kept
    assert torch.equal(p1.grad[1], g1[1])  # under threshold: untouched
    assert torch.equal(p1.grad[2], g1[2])  # zero gradient stays zero (no 0/0)
    torch.testing.assert_close(p1.grad[3], g1[3], rtol=1e-15, atol=0)
    assert p2.grad[0].item() == g2[0].item()
    assert p2.grad[1].item() == pytest.approx(-thr, rel=1e-14)
    assert p2.grad[2].item() == 0.0
    assert torch.isfinite(p1.grad).all() and torch.isfinite(p2.grad).all()


def test_finite_per_realization():
    p = torch.zeros(3, 2, requires_grad=True)
    p.grad = torch.tensor([[1.0, 2.0], [float("nan"), 0.0], [0.0, 0.0]])
    loss = torch.tensor([0.5, 0.5, float("inf")])
    assert finite_per_realization(loss, [p]).tolist() == [True, False, False]


# ------------------------------------------------------------------------------------ (e) non-finite runs


def _sabotage(realizations, at_epoch):
    def hook(model, epoch):
        if epoch == at_epoch:
            with torch.no_grad():
                for r in realizations:
                    model.J[r] = float("nan")

    return hook


@pytest.mark.parametrize("model", MODELS)
def test_nonfinite_realization_stops_others_unaffected(model):
    cfgs = _configs(model=model, seeds="0-2")
    clean = train(cfgs)
    broken = train(cfgs, before_epoch=_sabotage([1], 3))

    assert broken[1].error is not None and "epoch 3" in broken[1].error
    assert [r["epoch"] for r in broken[1].rows] == [1, 2]
    assert _all_finite(broken[1].rows)
    assert broken[1].rows == clean[1].rows[:2]  # identical up to the sabotage
    for r in (0, 2):
        assert broken[r].error is None
        assert [row["epoch"] for row in broken[r].rows] == list(range(1, 7))
        assert _all_finite(broken[r].rows)
        assert broken[r].rows == clean[r].rows


def test_all_realizations_nonfinite_stops_training():
    calls = []
    results = train(_configs(model="tanh", seeds="0-1"), progress=lambda e, m: calls.append(e),
                    before_epoch=_sabotage([0, 1], 2))
    for res in results:
        assert "epoch 2" in res.error
        assert [r["epoch"] for r in res.rows] == [1]
    assert calls == [1]


def test_progress_is_called_every_epoch():
    calls = []
    train(_configs(model="tanh", seeds="0-1"), progress=lambda e, m: calls.append((e, sorted(m))))
    assert calls == [(e, ["acc", "loss"]) for e in range(1, 7)]


def test_configs_must_differ_only_in_seed():
    a = _configs(model="tanh", seeds=0)[0]
    b = _configs(model="tanh", seeds=1, lr=0.01)[0]
    with pytest.raises(ValueError, match="seed"):
        train([a, b])


# ---------------------------------------------------------------- (f) measures are taken before the update


def _hand_measures(params, cfgs, epoch):
    """Loss, accuracy and |dL/dh0| of a tanh network written out independently of RNN/train."""
    J, w_in, w_out, b, c = (params[k] for k in ("J", "w_in", "w_out", "b", "c"))
    x0 = params["x0"].clone().requires_grad_(True)
    out = []
    losses = []
    for r, cfg in enumerate(cfgs):
        inputs, targets, _ = delayed_task(cfg.task, cfg.delay, cfg.T, cfg.batch,
                                          stream(cfg.seed, "input", epoch), cfg.input_amplitude, F64)
        x = x0[r]  # (B, N)
        logits = []
        for t in range(cfg.T):
            x = torch.tanh(x) @ J[r].T + inputs[t] @ w_in[r].T + b[r]
            logits.append((x @ w_out[r])[:, 0] + c[r, 0])
        logit = torch.stack(logits)[cfg.delay:]  # scored steps t >= d (D8)
        y = targets[cfg.delay:, :, 0]
        loss = (F.softplus(logit) - y * logit).mean()  # logit binary cross-entropy
        acc = ((logit >= 0).to(F64) == y).to(F64).mean().item()
        losses.append(loss)
        out.append({"loss": loss.item(), "accuracy": acc})
    (grad,) = torch.autograd.grad(torch.stack(losses).sum(), x0)
    for r, row in enumerate(out):
        row["grad_h0_norm"] = math.sqrt((grad[r] ** 2).sum().item())  # Frobenius over N×B (D5)
    return out


def test_measures_are_those_of_the_parameters_before_the_update():
    cfgs = _configs(model="tanh", seeds="0-1", epochs=5, lr=0.01)
    snapshots = {}

    def hook(model, epoch):
        snapshots[epoch] = {n: p.detach().clone() for n, p in model.named_parameters()}

    results = train(cfgs, before_epoch=hook)
    assert sorted(snapshots) == [1, 2, 3, 4, 5]
    initial = build_model(cfgs, cfgs[0].batch)
    for name, p in initial.named_parameters():
        assert torch.equal(snapshots[1][name], p.detach()), name
    for epoch in range(1, 6):
        hand = _hand_measures(snapshots[epoch], cfgs, epoch)
        for r in range(2):
            row = results[r].rows[epoch - 1]
            assert row["epoch"] == epoch
            for key in MEASURES:
                assert row[key] == pytest.approx(hand[r][key], rel=1e-10), (epoch, r, key)
        if epoch < 5:
            # the parameters after the update would give a measurably different loss
            after = _hand_measures(snapshots[epoch + 1], cfgs, epoch)
            for r in range(2):
                assert abs(after[r]["loss"] - results[r].rows[epoch - 1]["loss"]) > 1e-8


@pytest.mark.parametrize("model", MODELS)
def test_first_epoch_accuracy_is_that_of_the_untrained_model(model):
    cfgs = _configs(model=model, seeds="0-1", lr=1e-9)
    results = train(cfgs)
    net = build_model(cfgs, cfgs[0].batch)
    inputs, targets, scored = draw_batch(cfgs, 1)
    with torch.no_grad():
        logits = net(inputs)[scored]
    y = targets[scored]
    for r in range(2):
        n_scored = (cfgs[0].T - cfgs[0].delay) * cfgs[0].batch
        correct = sum(
            int((logits[t, r, k].item() >= 0) == (y[t, r, k].item() == 1.0))
            for t in range(logits.shape[0])
            for k in range(logits.shape[2])
        )
        assert results[r].rows[0]["accuracy"] == correct / n_scored


def test_first_update_is_clipped_adam_step():
    """Epoch-2 parameters = p - lr·ĝ/(|ĝ| + 1e-8) with ĝ the per-realization, per-array clipped gradient.

    A tiny clip makes |ĝ| ≪ ε, so the update is ≈ lr·ĝ/ε and depends on the clipping itself.
    """
    clip, lr = 1e-9, 1e-3
    cfgs = _configs(model="tanh", seeds="0-1", epochs=2, lr=lr, clip=clip)
    snapshots = {}
    train(cfgs, before_epoch=lambda m, e: snapshots.__setitem__(e, {n: p.detach().clone()
                                                                     for n, p in m.named_parameters()}))
    model = build_model(cfgs, cfgs[0].batch)
    inputs, targets, scored = draw_batch(cfgs, 1)
    _task_loss(model, inputs, targets, scored).sum().backward()
    for name, p in model.named_parameters():
        grad = p.grad
        norms = grad.flatten(1).norm(dim=1)
        clipped = grad * torch.clamp(clip / norms, max=1.0).view(-1, *[1] * (grad.dim() - 1))
        expected = p.detach() - lr * clipped / (clipped.abs() + 1e-8)
        torch.testing.assert_close(snapshots[2][name], expected, rtol=0, atol=1e-15)
        unclipped = p.detach() - lr * grad / (grad.abs() + 1e-8)
        assert (unclipped - expected).abs().max().item() > 1e-6, name  # the guard: clipping mattered


# ------------------------------------------------------------------------------------ (g) recorded epochs


@pytest.mark.parametrize(
    "epochs,every,expected",
    [(7, 3, [1, 4, 7]), (8, 3, [1, 4, 7, 8]), (5, 10, [1, 5]), (1, 1, [1]), (4, 1, [1, 2, 3, 4])],
)
def test_recorded_epochs(epochs, every, expected):
    (res,) = train(_configs(model="tanh", T=10, delay=2, epochs=epochs, record_every=every))
    assert [r["epoch"] for r in res.rows] == expected
    assert all(set(r) == {"epoch", *MEASURES} for r in res.rows)


def test_training_learns_a_short_copy_task():
    """An invariant of the whole procedure: the tanh RNN learns copy with d = 1 within 300 epochs."""
    config = expand("train", {"model": "tanh", "task": "copy", "delay": 1, "N": 16, "batch": 8, "T": 20,
                              "epochs": 300, "lr": 0.01, "record_every": 50})
    rows = train(config)[0].rows
    assert rows[0]["accuracy"] < 0.75 and rows[-1]["accuracy"] > 0.95
