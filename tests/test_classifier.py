"""LIF classifier of Zenke & Vogels (robustness spec §3–§5, tests of §9c): hand traces, the explicit backward pass
against autograd and finite differences, the readout, the regularisers, Adam invariance and batching."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from sgtheory.errors import ConfigError
from sgtheory.experiments.classify import CellData, ClassifyConfig, build_classifier, classify, loss_terms
from sgtheory.functional.lif import LIFZenkeVogelsLayer, lif_zenke_vogels_forward
from sgtheory.functional.losses import lower_bound_loss, upper_bound_loss
from sgtheory.functional.surrogate import make_surrogate, spike
from sgtheory.models.classifier import readout_kernel
from sgtheory.optim import Adam

B_MEM, B_SYN = math.exp(-0.1), math.exp(-0.2)
SUPERSPIKE = make_surrogate("fast_sigmoid", 10.0)


def layer(**kw) -> LIFZenkeVogelsLayer:
    return LIFZenkeVogelsLayer(SUPERSPIKE.derivative, B_MEM, B_SYN, **kw)


def reference_layer(drive, V, lay: LIFZenkeVogelsLayer, frozen_reset=None, smooth=None):
    """The equations of spec §3.1 step by step with autograd (time loop over (G, B, H) tensors)."""
    G, B, T, H = drive.shape
    U = drive.new_zeros(G, B, H)
    current = drive.new_zeros(G, B, H)
    out = []
    for n in range(T):
        x = U - lay.threshold
        S = smooth(x) if smooth is not None else spike(x, make_surrogate("fast_sigmoid", 10.0))
        out.append(S)
        if frozen_reset is not None:
            reset = frozen_reset[:, :, n]
        else:
            reset = S if lay.diff_reset else S.detach()
        U = (lay.decay_mem * U + (1 - lay.decay_mem) * current) * (1 - reset)
        current = lay.decay_syn * current + drive[:, :, n]
        if V is not None:
            S_rec = S if lay.recurrent_grad else S.detach()
            current = current + S_rec @ V.transpose(-1, -2)
    return torch.stack(out, dim=2)


# --------------------------------------------------------------------------- forward


def test_single_input_spike_gives_the_hand_computed_trace():
    drive = torch.zeros(1, 1, 6, 1, dtype=torch.float64)
    drive[0, 0, 0, 0] = 10.0  # one input spike of weight 10 at step 0
    Us, spikes, _ = lif_zenke_vogels_forward(drive, None, layer())
    assert Us[1, 0, 0, 0] == 0.0  # the input reaches I at step 1 and U at step 2
    assert Us[2, 0, 0, 0].item() == pytest.approx((1 - B_MEM) * 10.0, rel=1e-12)
    assert Us[2, 0, 0, 0].item() == pytest.approx(0.951626, abs=1e-6)
    assert spikes[:3].sum() == 0  # 0.95 < ϑ = 1 (the still-charged current makes it cross at step 3)


def test_membrane_is_exactly_zero_after_a_spike_and_threshold_is_strict():
    drive = torch.zeros(1, 1, 6, 1, dtype=torch.float64)
    drive[0, 0, 0, 0] = 30.0
    Us, spikes, _ = lif_zenke_vogels_forward(drive, None, layer())
    first = int(torch.nonzero(spikes[:, 0, 0, 0])[0])
    assert Us[first, 0, 0, 0] > 1 and Us[first + 1, 0, 0, 0] == 0.0
    exactly = torch.zeros(1, 1, 4, 1, dtype=torch.float64)
    Us, spikes, _ = lif_zenke_vogels_forward(exactly, None, layer(threshold=0.0))
    assert spikes.sum() == 0  # U = 0 = ϑ does not spike: Θ(0) = 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_forward_equals_the_torch_loop_bit_for_bit_without_recurrence(dtype):
    """The step-threshold forward runs as a compiled loop; with the step given as ``smooth`` the same layer runs the
    torch loop. Without a recurrent product (whose event sum adds in another order than a GEMM) both do the same
    float operations (the membrane update as one FMA, like torch's add_ with alpha), so every trace is equal."""
    drive = torch.randn(2, 3, 60, 40, generator=torch.Generator().manual_seed(3), dtype=dtype) * 0.6
    layer = LIFZenkeVogelsLayer(derivative=lambda x: x, decay_mem=math.exp(-0.1), decay_syn=math.exp(-0.2))
    as_smooth = dataclasses.replace(layer, smooth=lambda x: (x > 0).to(x.dtype))
    U, S, _ = lif_zenke_vogels_forward(drive, None, layer)
    U_ref, S_ref, _ = lif_zenke_vogels_forward(drive, None, as_smooth)
    assert 0 < S.mean() < 0.5
    assert torch.equal(S, S_ref) and torch.equal(U, U_ref)


def test_readout_kernel_matches_the_recursion():
    T = 12
    kernel = readout_kernel(T, B_SYN, math.exp(-0.05), torch.float64)
    d = torch.randn(T, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    current = u = 0.0
    expected = []
    for n in range(T):
        expected.append(u)
        u = math.exp(-0.05) * u + (1 - math.exp(-0.05)) * current
        current = B_SYN * current + d[n].item()
    assert torch.allclose(kernel @ d, torch.tensor(expected, dtype=torch.float64), atol=1e-12)
    assert kernel[1, 0] == 0 and kernel[2, 0] > 0  # a spike at step m first moves U_o at m + 2


def test_zero_readout_weights_give_zero_logits_and_chance_loss():
    cfg = ClassifyConfig(samples_per_class=10, hidden=8, dtype="float64")
    data = CellData([cfg], torch.float64)
    model = build_classifier([cfg], data.units, data.classes)
    with torch.no_grad():
        model.weights[-1].zero_()
    x, y = data.batch("train", torch.arange(16)[None])
    logits, _ = model(x)
    assert torch.equal(logits, torch.zeros_like(logits))
    assert F.cross_entropy(logits[0], y[0]).item() == pytest.approx(math.log(10), rel=1e-12)


# --------------------------------------------------------------------------- backward


def _spiking_drive(G=2, B=3, T=25, H=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(G, B, T, H, generator=g, dtype=torch.float64) * 1.2).requires_grad_()


@pytest.mark.parametrize(
    ("diff_reset", "recurrent", "recurrent_grad"),
    [(False, False, True), (True, False, True), (False, True, True), (False, True, False), (True, True, True)],
    ids=["detached", "diff-reset", "recurrent-prop", "recurrent-ctl", "prop-and-dr"],
)
def test_explicit_backward_equals_autograd_of_the_equations(diff_reset, recurrent, recurrent_grad):
    lay = layer(diff_reset=diff_reset, recurrent_grad=recurrent_grad)
    drive = _spiking_drive()
    G, _, _, H = drive.shape
    V = (0.3 * torch.randn(G, H, H, dtype=torch.float64, generator=torch.Generator().manual_seed(1))).requires_grad_() \
        if recurrent else None
    weights = torch.randn(drive.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    ours = lay(drive, V)
    ref = reference_layer(drive, V, lay)
    assert torch.equal(ours, ref) and 0 < ours.sum() < ours.numel()
    inputs = [drive] + ([V] if recurrent else [])
    grads = torch.autograd.grad((ours * weights).sum(), inputs)
    ref_grads = torch.autograd.grad((ref * weights).sum(), inputs)
    for got, want in zip(grads, ref_grads, strict=True):
        assert want.abs().max() > 0
        assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("recurrent", [False, True], ids=["feed-forward", "recurrent"])
def test_backward_does_not_depend_on_the_chunk_length(monkeypatch, recurrent):
    """The backward pass evaluates h and the reset factors for CHUNK_ELEMENTS elements at a time: chunks of 1, 7
    (not dividing T = 25) and all steps give bit-identical gradients, equal to autograd of the equations."""
    import sgtheory.functional.lif as lif

    lay = layer(diff_reset=True)
    drive = _spiking_drive()
    G, B, T, H = drive.shape
    V = (0.3 * torch.randn(G, H, H, dtype=torch.float64, generator=torch.Generator().manual_seed(1))).requires_grad_() \
        if recurrent else None
    inputs = [drive] + ([V] if recurrent else [])
    weights = torch.randn(drive.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    ref_grads = torch.autograd.grad((reference_layer(drive, V, lay) * weights).sum(), inputs)
    results = []
    for steps in (1, 7, T):
        monkeypatch.setattr(lif, "CHUNK_ELEMENTS", steps * G * B * H)
        results.append(torch.autograd.grad((lay(drive, V) * weights).sum(), inputs))
    for grads in results:
        for got, first, want in zip(grads, results[0], ref_grads, strict=True):
            assert torch.equal(got, first)
            assert torch.allclose(got, want, rtol=1e-10, atol=1e-12) and want.abs().max() > 0


def test_recurrent_classifier_gradients_equal_a_step_by_step_reference():
    """The whole recurrent classifier (input layer, recurrent LIF layer, readout, max over time, cross-entropy and
    the lower-bound regulariser) against autograd through the equations step by step, in float64."""
    cfg = ClassifyConfig(**SMALL, recurrent=True, dtype="float64", weight_scale=6.0, lower_strength=100.0,
                         lower_threshold=0.05)
    data = CellData([cfg], torch.float64)
    model = build_classifier([cfg], data.units, data.classes)
    x, y = data.batch("train", torch.arange(12)[None])
    loss, _, hidden = loss_terms(model, [cfg], x, y)
    grads = torch.autograd.grad(loss.sum(), model.parameters)

    W_in, W_out, V = (p.detach().clone().requires_grad_() for p in model.parameters)
    lay = layer()  # SuperSpike of slope 10, as the config's normalized fast sigmoid
    spikes = reference_layer(x @ W_in.mT, V, lay)  # (1, B, T, H)
    drive = spikes @ W_out.mT
    current = u = torch.zeros_like(drive[:, :, 0])
    potentials = []
    b_out = math.exp(-cfg.dt / cfg.tau_readout)
    for n in range(cfg.steps):
        potentials.append(u)
        u = b_out * u + (1 - b_out) * current
        current = B_SYN * current + drive[:, :, n]
    logits = torch.stack(potentials, dim=2).amax(dim=2)
    one = torch.ones(1, dtype=torch.float64)
    ref = F.cross_entropy(logits[0], y[0]) + lower_bound_loss(spikes.sum(2), 100 * one, 0.05 * one)[0]
    ref_grads = torch.autograd.grad(ref, [W_in, W_out, V])
    assert torch.equal(hidden[0], spikes.detach()) and hidden[0].sum() > 0
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    for got, want in zip(grads, ref_grads, strict=True):
        assert want.abs().max() > 0
        assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)


def _smooth_pair(beta=3.0):
    def derivative(x):
        s = torch.sigmoid(beta * x)
        return beta * s * (1 - s)

    return (lambda x: torch.sigmoid(beta * x)), derivative


@pytest.mark.parametrize("diff_reset", [True, False])
def test_backward_matches_finite_differences_of_a_smooth_stand_in(diff_reset):
    """Θ replaced by σ(3x) and h by σ'(3x)·3: with a differentiable reset the backward pass is the exact gradient of
    the smooth network; with a detached reset it is the gradient of that network with the reset signal frozen."""
    smooth, derivative = _smooth_pair()
    lay = LIFZenkeVogelsLayer(derivative, B_MEM, B_SYN, diff_reset=diff_reset, smooth=smooth)
    drive = (_spiking_drive(G=1, B=2, T=15, H=3) * 2).detach().requires_grad_()
    weights = torch.randn(drive.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    (grad,) = torch.autograd.grad((lay(drive) * weights).sum(), drive)
    with torch.no_grad():
        frozen = None if diff_reset else lif_zenke_vogels_forward(drive, None, lay)[1].permute(1, 2, 0, 3)

        def loss(d):
            return (reference_layer(d, None, lay, frozen_reset=frozen, smooth=smooth) * weights).sum()

        direction = torch.randn(drive.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
        eps = 1e-6
        fd = (loss(drive + eps * direction) - loss(drive - eps * direction)) / (2 * eps)
    assert (grad * direction).sum().item() == pytest.approx(fd.item(), rel=1e-6)
    other = LIFZenkeVogelsLayer(derivative, B_MEM, B_SYN, diff_reset=not diff_reset, smooth=smooth)
    (grad_other,) = torch.autograd.grad((other(drive) * weights).sum(), drive)
    assert (grad_other * direction).sum().item() != pytest.approx(fd.item(), rel=1e-3)


# --------------------------------------------------------------------------- regularisers


def test_lower_bound_is_zero_when_every_neuron_spikes_and_penalises_silence():
    counts = torch.tensor([[[1.0, 2.0], [3.0, 1.0]]])  # (G=1, B=2, N=2)
    one = torch.ones(1)
    assert lower_bound_loss(counts, 100 * one, 1e-3 * one).item() == 0.0
    silent = torch.tensor([[[0.0, 2.0], [3.0, 1.0]]])
    assert lower_bound_loss(silent, 100 * one, 1e-3 * one).item() == pytest.approx(100 * 1e-6 / 4)


def test_upper_bound_acts_on_the_layer_mean_count_with_exponent_L():
    counts = torch.tensor([[[1.0, 3.0], [0.0, 1.0]]])  # layer means 2 and 0.5
    one = torch.ones(1)
    assert upper_bound_loss(counts, one, 2.0 * one, 2 * one).item() == 0.0
    assert upper_bound_loss(counts, one, 1.0 * one, 2 * one).item() == pytest.approx((1.0**2 + 0.0) / 2)
    assert upper_bound_loss(counts, 3 * one, 0.5 * one, one).item() == pytest.approx(3 * 1.5 / 2)


# --------------------------------------------------------------------------- training

SMALL = dict(samples_per_class=20, hidden=16, steps=40, step_frac=0.5, batch=40, classes=4, units=10, epochs=2,
             raster_samples=1)


def _train_steps(cfgs, steps=6):
    """A few Adam steps on the first training minibatch; returns the final weights."""
    data = CellData(cfgs, torch.float64)
    model = build_classifier(cfgs, data.units, data.classes)
    opt = Adam(model.parameters, torch.tensor([c.lr for c in cfgs], dtype=torch.float64), eps=cfgs[0].adam_eps)
    x, y = data.batch("train", torch.arange(40).expand(len(cfgs), -1))
    for _ in range(steps):
        loss, _, _ = loss_terms(model, cfgs, x, y)
        for p in model.parameters:
            p.grad = None
        loss.sum().backward()
        opt.step(torch.ones(len(cfgs), dtype=torch.bool))
    return [p.detach().clone() for p in model.parameters]


def test_adam_makes_asymptotic_and_normalized_identical_without_reset_or_recurrent_gradients():
    base = ClassifyConfig(**SMALL, adam_eps=1e-30, slope=10.0, dtype="float64", weight_scale=3.0)
    norm = _train_steps([base])
    asym = _train_steps([dataclasses.replace(base, scale="asymptotic")])
    assert any(not torch.equal(w, w0) for w, w0 in zip(norm, _train_steps([base], steps=0), strict=True))
    for a, b in zip(norm, asym, strict=True):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)
    dr = dataclasses.replace(base, diff_reset=True)
    norm_dr, asym_dr = _train_steps([dr]), _train_steps([dataclasses.replace(dr, scale="asymptotic")])
    assert not torch.allclose(norm_dr[0], asym_dr[0], rtol=1e-6, atol=1e-9)


def test_true_gradient_never_changes_the_hidden_weights():
    cfg = ClassifyConfig(**SMALL, surrogate="zero", dtype="float64", weight_scale=10.0)  # some hidden spikes
    before, after = _train_steps([cfg], steps=0), _train_steps([cfg])
    assert torch.equal(before[0], after[0])  # hidden weights
    assert not torch.equal(before[1], after[1])  # the readout still learns


@pytest.mark.parametrize("seeds", [(0, 1), (0, 0)], ids=["own-data", "shared-data"])
def test_cells_trained_together_follow_their_own_trajectories(seeds):
    cfgs = [ClassifyConfig(**SMALL, slope=s, lr=lr, seed=seed, weight_scale=8.0)
            for s, lr, seed in zip((5.0, 10.0), (0.05, 0.01), seeds, strict=True)]
    together = classify(cfgs)
    alone = [classify([c])[0] for c in cfgs]
    for t, a in zip(together, alone, strict=True):
        rows_t = [r for r in t.rows if r["kind"] == "epoch"]
        rows_a = [r for r in a.rows if r["kind"] == "epoch"]
        assert len(rows_t) == SMALL["epochs"] + 1 and rows_t[-1]["hidden_spikes"] > 0
        for rt, ra in zip(rows_t, rows_a, strict=True):
            assert rt["valid_accuracy"] == ra["valid_accuracy"]
            assert rt["hidden_spikes"] == pytest.approx(ra["hidden_spikes"], rel=1e-4)
            assert rt["loss"] == pytest.approx(ra["loss"], rel=1e-4, nan_ok=True)
    last_losses = [[r["loss"] for r in t.rows if r["kind"] == "epoch"][-1] for t in together]
    assert last_losses[0] != last_losses[1]  # the cells differ


def test_rows_carry_best_validation_summary_and_rasters():
    (result,) = classify([ClassifyConfig(**SMALL)])
    epochs = [r for r in result.rows if r["kind"] == "epoch"]
    trained = [r for r in epochs if r["epoch"] > 0]
    best = max(trained, key=lambda r: (r["valid_accuracy"], -r["epoch"]))
    assert all(r["best_epoch"] == best["epoch"] and r["best_test_accuracy"] == best["test_accuracy"] for r in epochs)
    assert epochs[0]["final_test_accuracy"] == epochs[-1]["test_accuracy"]
    spikes = [r for r in result.rows if r["kind"] == "spike"]
    inputs = [r for r in spikes if r["layer"] == "input"]
    assert len(inputs) == SMALL["units"]  # randman: one spike per input unit, one raster sample
    assert {r["layer"] for r in spikes} <= {"input", "hidden1"}


def test_non_finite_training_is_reported_not_written():
    cfg = ClassifyConfig(**SMALL, weight_scale=1e38, lr=1e30)
    (result,) = classify([cfg])
    assert result.error is not None and "non-finite" in result.error


# --------------------------------------------------------------------------- config and CLI


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"task": "cifar"}, "task='cifar'"), ({"readout": "last"}, "readout='last'"), ({"upper_power": 3}, "upper_power"),
     ({"task": "mnist"}, "--data-dir"), ({"surrogate": "zero", "scale": "asymptotic"}, None),
     ({"layers": 0}, "layers=0")],
)
def test_config_rejects_bad_values(kwargs, fragment):
    if fragment is None:
        ClassifyConfig(**kwargs)  # the true gradient has no scale to check
        return
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        ClassifyConfig(**kwargs)


def test_classify_cli_runs_a_sweep_and_train_is_its_alias(run_cli, tmp_path):
    args = ("--task", "randman", "--samples-per-class", "10", "--hidden", "8", "--steps", "30", "--epochs", "1",
            "--batch", "20", "--set", "slope=[2,20]")
    code, _, err = run_cli("classify", *args, "--out", str(tmp_path / "c.parquet"))
    assert code == 0, err
    code, _, err = run_cli("train", *args, "--out", str(tmp_path / "alias.parquet"))
    assert code == 0 and "sgtheory classify" in err
    import pandas as pd

    table = pd.read_parquet(tmp_path / "c.parquet")
    assert set(table["experiment"]) == {"classify"} and set(table["slope"]) == {2.0, 20.0}
    pd.testing.assert_frame_equal(table, pd.read_parquet(tmp_path / "alias.parquet"))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(("train", "--task", "xor", "--hidden", "5"), "No such option '--hidden'"),
     (("classify", "--task", "randman", "--floss", "pre"), "No such option '--floss'"),
     (("train", "--set", "task=[xor,randman]"), "task='randman'")],
)
def test_each_command_rejects_options_of_the_other(run_cli, tmp_path, args, fragment):
    code, _, err = run_cli(*args, "--out", str(tmp_path / "x.parquet"))
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, err


def test_missing_user_data_is_one_line_not_a_traceback(run_cli, tmp_path):
    out = str(tmp_path / "m.parquet")
    code, _, err = run_cli("train", "--task", "mnist", "--data-dir", str(tmp_path), "--out", out)
    errors = [line for line in err.replace("\r", "\n").splitlines() if "sgtheory: error" in line]
    assert code == 2 and "Traceback" not in err
    assert len(errors) == 1 and "train-images-idx3-ubyte" in errors[0]
