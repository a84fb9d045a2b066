"""The deep convolutional SNN of Gygax & Zenke 2025 (sgtheory spec §5): geometry, fluctuation-driven init, the conv
operators, the gradient, the spike functions, the Fano factor, SMORMS3 and `classify --model conv` end to end
(randman and a tiny synthetic SHD written here)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from sgtheory.errors import ConfigError
from sgtheory.experiments.configs.classify import CONV_DEFAULTS, ClassifyConfig
from sgtheory.functional.conv_lif import conv_lif
from sgtheory.functional.lif import LIFZenkeVogelsLayer
from sgtheory.models.classifier import readout_kernel
from sgtheory.models.conv_snn import (
    ALPHA_FEEDFORWARD,
    ALPHA_RECURRENT,
    ConvRecurrence,
    SpikeFunction,
    build_conv_classifier,
    conv_positions,
    event_conv,
    event_conv_weight_grad,
    fano_window,
    feedforward_conv,
    fluctuation_sigma,
    library_conv_lif,
    lif_kernel_energy,
)
from sgtheory.optim import SMORMS3
from sgtheory.results import tidy

F64 = torch.float64


def test_shd_geometry_of_the_paper():
    positions = conv_positions(700, [21, 7, 7], [10, 3, 3])
    assert positions == [68, 21, 5]
    assert [c * p for c, p in zip([16, 32, 64], positions, strict=True)] == [1088, 672, 320]
    assert conv_positions(20, [11, 5, 5], [1, 1, 1]) == [10, 6, 2]
    with pytest.raises(ValueError, match="does not fit"):
        conv_positions(10, [11], [1])


def test_fluctuation_init_matches_the_recomputed_values_of_the_spec():
    epsilon = lif_kernel_energy(20.0, 10.0, 2.0) / 1000
    assert epsilon == pytest.approx(2.0356e-3, rel=1e-4)
    table = {(21, ALPHA_FEEDFORWARD): (1.154, 1.501), (80, ALPHA_RECURRENT): (0.197, 0.256),
             (112, ALPHA_FEEDFORWARD): (0.500, 0.650), (160, ALPHA_RECURRENT): (0.139, 0.181),
             (224, ALPHA_FEEDFORWARD): (0.353, 0.459), (320, ALPHA_RECURRENT): (0.0986, 0.128)}
    for (fan_in, share), expected in table.items():
        for sigma_u, want in zip((1.0, 1.3), expected, strict=True):
            assert fluctuation_sigma(sigma_u, fan_in, 15.8, epsilon, share) == pytest.approx(want, abs=1.5e-3)


def test_recurrent_convolution_and_its_adjoint_and_weight_gradient():
    """The recurrent convolution (padding k // 2) against F.conv1d and its autograd in float64: the event-driven
    kernels of the CPU layer (value, dL/dV over T = 2 steps) and ConvRecurrence of the other devices (apply, adjoint,
    dL/dV), for real-valued and for sparse 0/1 spikes."""
    g = torch.Generator().manual_seed(0)
    recurrence = ConvRecurrence(3, 23)
    for x in (torch.randn(2, 7, 3, 23, generator=g, dtype=F64),
              (torch.rand(2, 7, 3, 23, generator=g, dtype=F64) < 0.1).to(F64)):
        rec = torch.randn(1, 3, 3, 5, generator=g, dtype=F64, requires_grad=True)
        spikes = x.reshape(2, 1, 7, 69).clone().requires_grad_()
        want = F.conv1d(spikes.view(14, 3, 23), rec[0], padding=2)
        assert torch.allclose(event_conv(spikes.view(14, 3, 23), rec[0], 1, 2), want, rtol=1e-12, atol=1e-12)
        assert torch.allclose(recurrence.apply(spikes, rec).view(14, 3, 23), want, rtol=1e-12, atol=1e-12)
        lam = torch.randn(2, 1, 7, 69, generator=g, dtype=F64)
        want_adjoint, want_grad = torch.autograd.grad(want, (spikes, rec), lam.view(14, 3, 23))
        assert torch.allclose(recurrence.adjoint(lam, rec.detach()), want_adjoint)
        got_grad = event_conv_weight_grad(spikes.view(14, 3, 23), lam.view(14, 3, 23), rec.shape[1:], 1, 2)[None]
        assert got_grad.shape == rec.shape and torch.allclose(got_grad, want_grad, rtol=1e-12, atol=1e-12)
        got_grad = recurrence.weight_grad(lam, spikes.detach(), rec.detach())
        assert got_grad.shape == rec.shape and torch.allclose(got_grad, want_grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stochastic", [False, True])
@pytest.mark.parametrize(("recurrent", "diff_reset", "recurrent_grad"),
                         [(True, False, True), (True, True, True), (True, False, False), (False, True, True)])
def test_fused_conv_lif_layer_equals_the_library_layer(stochastic, recurrent, diff_reset, recurrent_grad):
    """conv_lif (compiled loops, event-driven recurrence) against library_conv_lif (the LIF layer of lif.py with
    ConvRecurrence, the path of other devices), float32 and float64, for every reset / recurrent-gradient option, with
    the step or escape noise (equal generators): the same spikes and the same gradients of drive and V to round-off
    (1e-12 of the largest entry in float64, 1e-5 in float32)."""
    h = lambda x: 1 / (10 * x.abs() + 1) ** 2  # noqa: E731
    spike = SpikeFunction(h, stochastic=stochastic, slope=5.0)
    for dtype in (torch.float32, F64):
        g = torch.Generator().manual_seed(1)
        T, B, C, P = 40, 3, 4, 9
        drive = (0.4 * torch.randn(T, B, C, P, generator=g, dtype=F64) + 0.15).to(dtype).requires_grad_()
        V = (0.5 * torch.randn(C, C, 5, generator=g, dtype=F64)).to(dtype).requires_grad_() if recurrent else None
        lam = torch.randn(T, B, C, P, generator=g, dtype=F64).to(dtype)
        results = []
        for run in (conv_lif, library_conv_lif):
            layer = LIFZenkeVogelsLayer(h, math.exp(-2 / 20), math.exp(-2 / 10), 1.0, diff_reset, recurrent_grad,
                                        smooth=spike.forward(torch.Generator().manual_seed(7)))
            S = run(drive, V, layer)
            inputs = (drive,) if V is None else (drive, V)
            results.append((S, torch.autograd.grad(S, inputs, lam)))
        (S, grads), (want_S, want_grads) = results
        assert torch.equal(S, want_S) and 0.01 < S.mean() < 0.5
        for got, want in zip(grads, want_grads, strict=True):
            assert want.abs().max() > 0
            tol = 1e-12 if dtype == F64 else 1e-5
            assert torch.allclose(got, want, rtol=tol, atol=tol * want.abs().max().item())


@pytest.mark.parametrize(("channels", "length", "kernel", "stride"), [(1, 40, 7, 3), (3, 17, 5, 1), (2, 30, 4, 4)])
def test_event_convolution_and_its_gradients_equal_conv1d(channels, length, kernel, stride, monkeypatch):
    """feedforward_conv (event-driven forward and dL/dW, conv1d_input for dL/dS over blocks of rows: here 1–2 rows)
    equals F.conv1d with autograd in float64 — value and both gradients — for sparse 0/1 and for real-valued inputs;
    float32 agrees to round-off."""
    import sgtheory.models.conv_snn as conv_snn

    monkeypatch.setattr(conv_snn, "INPUT_GRAD_ELEMENTS", 2 * 4 * ((length - kernel) // stride + 1) - 1)
    g = torch.Generator().manual_seed(2)
    W = torch.randn(4, channels, kernel, generator=g, dtype=F64, requires_grad=True)
    for S in ((torch.rand(6, channels, length, generator=g, dtype=F64) < 0.2).to(F64),
              torch.randn(6, channels, length, generator=g, dtype=F64)):
        S = S.requires_grad_()
        got = feedforward_conv(S, W, stride)
        want = F.conv1d(S, W, stride=stride)
        assert got.shape == want.shape and torch.allclose(got, want, rtol=1e-12, atol=1e-12)
        lam = torch.randn(want.shape, generator=g, dtype=F64)
        got_grads = torch.autograd.grad(got, (S, W), lam)
        want_grads = torch.autograd.grad(want, (S, W), lam)
        for a, b in zip(got_grads, want_grads, strict=True):
            assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)
    S32, W32 = S.detach().float(), W.detach().float()
    assert torch.allclose(event_conv(S32, W32, stride, 0), F.conv1d(S32, W32, stride=stride), atol=1e-5)
    assert torch.allclose(event_conv_weight_grad(S32, lam.float(), W.shape, stride, 0),
                          torch.nn.grad.conv1d_weight(S32, W.shape, lam.float(), stride=stride), atol=1e-4)


@dataclass(frozen=True)
class SmoothSpike(SpikeFunction):
    """σ(βx) forward with its exact derivative: the network is smooth and its gradient checkable."""

    def forward(self, generator):
        return lambda x: torch.sigmoid(self.slope * x)


def _small_net(spike, diff_reset=True, readout="sum", recurrent_kernel=3, seed=0):
    beta = spike.slope

    def derivative(x):
        s = torch.sigmoid(beta * x)
        return beta * s * (1 - s)

    spike = type(spike)(derivative, spike.stochastic, spike.slope)
    layer = LIFZenkeVogelsLayer(derivative, math.exp(-2 / 20), math.exp(-2 / 10), 1.0, diff_reset=diff_reset)
    kernel = readout_kernel(12, math.exp(-2 / 10), math.exp(-2 / 24), F64)
    return build_conv_classifier(12, 3, [3, 4], [5, 3], [1, 2], recurrent_kernel, [spike, spike], [1.5, 1.5], 20.0,
                                 2e-3, layer, kernel, torch.Generator().manual_seed(seed), readout, F64)


def test_conv_backward_is_the_gradient_of_a_smooth_stand_in():
    """With σ(3x) spikes, their exact derivative as surrogate and a differentiable reset, the explicit-loop backward
    through conv, recurrent conv and readout equals finite differences of the loss (float64)."""
    net = _small_net(SmoothSpike(lambda x: x, slope=3.0))
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(1, 2, 12, 12, generator=g, dtype=F64) < 0.3).to(F64)
    target = torch.randn(1, 2, 3, generator=g, dtype=F64)

    def loss():
        logits, _ = net(x)
        return (logits * target).sum()

    grads = torch.autograd.grad(loss(), net.parameters)
    assert len(grads) == 5 and all(gr.abs().max() > 0 for gr in grads)
    directions = [torch.randn(p.shape, generator=g, dtype=F64) for p in net.parameters]
    eps = 1e-6
    with torch.no_grad():
        for p, d in zip(net.parameters, directions, strict=True):
            p.add_(eps * d)
        up = loss()
        for p, d in zip(net.parameters, directions, strict=True):
            p.sub_(2 * eps * d)
        down = loss()
        for p, d in zip(net.parameters, directions, strict=True):
            p.add_(eps * d)
    fd = (up - down) / (2 * eps)
    analytic = sum((gr * d).sum() for gr, d in zip(grads, directions, strict=True))
    assert analytic.item() == pytest.approx(fd.item(), rel=1e-6)


def test_event_driven_network_equals_the_library_convolutions(monkeypatch):
    """The whole network with step spikes (float64, 30 steps, stride and recurrence): spikes, logits and every
    parameter gradient of the CPU path (event-driven convolutions, fused conv-LIF layers) equal those of the other
    devices' path (F.conv1d / conv1d_input / conv1d_weight, the LIF layer of lif.py with ConvRecurrence)."""
    import sgtheory.models.conv_snn as conv_snn

    def derivative(x):
        return 1 / (10 * x.abs() + 1) ** 2

    layer = LIFZenkeVogelsLayer(derivative, math.exp(-2 / 20), math.exp(-2 / 10), 1.0)
    kernel = readout_kernel(30, math.exp(-2 / 10), math.exp(-2 / 60), F64)
    g = torch.Generator().manual_seed(4)
    x = (torch.rand(1, 5, 30, 40, generator=g, dtype=F64) < 0.2).to(F64)
    y = torch.randint(0, 3, (5,), generator=g)

    def run():
        net = build_conv_classifier(40, 3, [3, 4], [7, 3], [3, 2], 3, [SpikeFunction(derivative)] * 2, [3.0, 3.0],
                                    20.0, 2e-3, layer, kernel, torch.Generator().manual_seed(0), "max", F64)
        logits, hidden = net(x)
        grads = torch.autograd.grad(F.cross_entropy(logits[0], y), net.parameters)
        return logits, hidden, grads

    logits, hidden, grads = run()
    assert all(h.sum() > 0 for h in hidden) and all(gr.abs().max() > 0 for gr in grads)
    monkeypatch.setattr(conv_snn, "feedforward_conv", lambda S, W, stride: F.conv1d(S, W, stride=stride))
    monkeypatch.setattr(conv_snn, "conv_lif", library_conv_lif)
    want_logits, want_hidden, want_grads = run()
    assert all(torch.equal(a, b) for a, b in zip(hidden, want_hidden, strict=True))
    assert torch.allclose(logits, want_logits, rtol=1e-12, atol=1e-12)
    for a, b in zip(grads, want_grads, strict=True):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_spike_functions_step_escape_noise_and_swap():
    h = lambda x: 1 / (10 * x.abs() + 1) ** 2  # noqa: E731
    det = SpikeFunction(h, stochastic=False, slope=10.0)
    stoch = det.other()
    assert stoch.stochastic and stoch.other() == det
    assert det.forward(None) is None  # the LIF layer's own step H(x)
    with pytest.raises(ValueError, match="generator"):
        stoch.forward(None)
    draws = stoch.forward(torch.Generator().manual_seed(0))(torch.full((200_000,), 0.1))
    assert draws.mean().item() == pytest.approx(1 / (1 + math.exp(-1.0)), abs=5e-3)
    steep = SpikeFunction(h, stochastic=True, slope=1e4).forward(torch.Generator().manual_seed(0))
    assert torch.equal(steep(torch.tensor([-0.2, -0.01, 0.01, 0.3])), torch.tensor([0.0, 0, 1, 1]))
    net = _small_net(SpikeFunction(h, stochastic=False, slope=10.0), diff_reset=False, readout="max")
    swapped = net.swapped()
    assert [s.stochastic for s in swapped.spikes] == [True, True] and swapped.conv is net.conv
    assert not any(s.stochastic for s in net.spikes)


def test_fano_window():
    trials = torch.zeros(50, 30, 4)
    trials[:, ::3, :2] = 1.0  # the same spikes in every trial: Fano 0
    assert fano_window(trials, 10) == 0.0
    assert math.isnan(fano_window(torch.zeros(5, 30, 2), 10))
    bernoulli = (torch.rand(2000, 40, 3, generator=torch.Generator().manual_seed(0)) < 0.1).float()
    assert fano_window(bernoulli, 10) == pytest.approx(0.9, abs=0.03)  # Binomial(10, 0.1): 1 − p


def test_smorms3_follows_its_update_rule_per_realization():
    g = torch.Generator().manual_seed(0)
    p = torch.randn(2, 3, generator=g, dtype=F64)
    grads = [torch.randn(2, 3, generator=g, dtype=F64) for _ in range(4)]
    opt = SMORMS3([p], lr=torch.tensor([0.01, 0.5]), eps=1e-16)
    ref = p.clone()
    mem, m, m2 = torch.ones_like(p), torch.zeros_like(p), torch.zeros_like(p)
    for grad in grads:
        p.grad = grad.clone()
        opt.step()
        r = 1 / (mem + 1)
        m = (1 - r) * m + r * grad
        m2 = (1 - r) * m2 + r * grad**2
        x = m**2 / (m2 + 1e-16)
        mem = 1 + mem * (1 - x)
        lr = torch.tensor([[0.01], [0.5]], dtype=F64)
        ref = ref - torch.minimum(x, lr) * grad / (m2.sqrt() + 1e-16)
        assert torch.allclose(p, ref)
    before = p.clone()
    p.grad = grads[0].clone()
    opt.step(torch.tensor([False, True]))
    assert torch.equal(p[0], before[0]) and not torch.equal(p[1], before[1])
    state = opt.state_dict()
    other = SMORMS3([p.clone()], lr=0.1)
    other.load_state_dict(state)
    assert torch.equal(other.mem[0], opt.mem[0]) and torch.equal(other.lr, opt.lr)


def test_dense_configs_keep_their_fields_and_hashes():
    dense = ClassifyConfig()
    assert not set(CONV_DEFAULTS) & set(dense.to_dict())
    assert "optimizer" in ClassifyConfig(optimizer="smorms3").to_dict()
    conv = ClassifyConfig(model="conv")
    assert set(CONV_DEFAULTS) <= set(conv.to_dict())
    assert conv.batch_key() == conv.run_id() and dense.batch_key() != dense.run_id()
    assert conv.conv_sigma_u() == 1.0 and ClassifyConfig(model="conv", forward="stochastic").conv_sigma_u() == 1.3
    for bad, match in [({"filters": "32,64"}, "one value per hidden layer"), ({"filters": "a,b,c"}, "filters"),
                       ({"kernels": "11,5,25"}, "no output position"), ({"forward": "noisy"}, "forward"),
                       ({"recurrent": True, "recurrent_kernel": 4}, "odd"), ({"surrogate": "zero"}, "surrogate")]:
        with pytest.raises(ConfigError, match=match):
            ClassifyConfig(model="conv", **bad)


QUICK = dict(model="conv", task="randman", classes=3, units=20, alpha=0.5, samples_per_class=20, steps=40,
             step_frac=0.5, dt=2.0, tau_mem=20.0, tau_syn=10.0, tau_readout=80.0, filters="4,6", kernels="5,5",
             strides="1,2", optimizer="smorms3", lr=0.05, batch=16, epochs=2, lower_strength=0.0, upper_strength=0.1,
             upper_threshold=7.0, fano_trials=24, fano_window=5, trial_rasters=4, raster_samples=1)


@pytest.mark.parametrize("forward", ["deterministic", "stochastic"])
def test_classify_conv_rows(forward):
    from sgtheory.experiments.classify import classify

    cfg = ClassifyConfig(**QUICK, forward=forward, seed=3)
    (result,) = classify([cfg])
    assert result.error is None
    rows = pd.DataFrame(result.rows)
    epochs = rows[rows.kind == "epoch"]
    assert list(epochs.epoch) == [0, 1, 2] and epochs.train_accuracy.iloc[1:].between(0, 1).all()
    cross = rows[rows.kind == "cross"]
    assert list(cross.evaluated) == [forward, "stochastic" if forward == "deterministic" else "deterministic"]
    assert cross.test_accuracy.iloc[0] == pytest.approx(epochs.test_accuracy.iloc[-1], abs=0.35)
    fano = rows[rows.kind == "fano"]
    assert len(fano) == 4 and (fano.firing_rate >= 0).all()
    det = fano[fano.evaluated == "deterministic"].fano_factor.dropna()
    assert (det == 0).all()
    assert set(rows.kind) >= {"epoch", "cross", "fano", "spike", "readout"}
    readout = rows[rows.kind == "readout"]  # 1 raster sample × 40 steps × 3 classes; an input moves U_o 2 steps later
    assert len(readout) == 40 * 3 and (readout[readout.time < 2 * 2.0].membrane == 0).all()
    assert readout.membrane.abs().max() > 0 and set(readout.label) == set(rows[rows.kind == "spike"].label)
    again = pd.DataFrame(classify([cfg])[0].rows)
    pd.testing.assert_frame_equal(rows, again)  # same seed, same numbers (noise from explicit streams)
    TABLES[forward] = tidy(cfg, "classify", result.rows)


TABLES: dict[str, pd.DataFrame] = {}


def test_conv_snn_figure_and_report():
    import matplotlib.pyplot as plt

    from sgtheory.figures import FIGURES
    from sgtheory.figures.conv_snn import TARGET
    from sgtheory.figures.style import RC, layout_problems

    for forward in ("deterministic", "stochastic"):
        if forward not in TABLES:
            test_classify_conv_rows(forward)
    frame = pd.concat(TABLES.values(), ignore_index=True)
    with plt.rc_context(RC):
        fig = FIGURES["conv-snn"].draw(frame)
        assert not layout_problems(fig)
        highlighted = [line for ax in fig.axes for line in ax.lines if line.get_color() == TARGET]
        assert len(highlighted) == 1  # the one raster sample's class among the readout traces
        assert any(ax.get_ylabel() == "readout membrane (units of θ)" and ax.get_xlabel() == "time (ms)"
                   for ax in fig.axes)
        plt.close(fig)
    report = FIGURES["conv-snn"].report(frame)
    assert "needs the paper profile" in report  # 2 epochs cannot judge the accuracy claim
    assert "Fano factor ≥ 0.1" in report and "Cross-evaluation" in report


def _write_shd(path, rng, n):
    import h5py

    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.float32))
        units = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
        labels = rng.integers(0, 20, n)
        for k in range(n):  # class-specific channel band, random times in [0, 0.12) s
            count = 40
            times[k] = rng.uniform(0, 0.12, count).astype(np.float32)
            units[k] = (labels[k] * 30 + rng.integers(0, 60, count)).astype(np.uint16)
        f.create_dataset("labels", data=labels.astype(np.uint8))


def test_classify_conv_on_a_tiny_synthetic_shd(tmp_path):
    from sgtheory.errors import DataError
    from sgtheory.experiments.classify import classify
    from sgtheory.experiments.configs.classify import check_data

    rng = np.random.default_rng(0)
    _write_shd(tmp_path / "shd_train.h5", rng, 30)
    _write_shd(tmp_path / "shd_test.h5", rng, 8)
    settings = QUICK | dict(task="shd", data_dir=str(tmp_path), steps=50, tau_readout=100.0, filters="2,3,4",
                            kernels="21,7,7", strides="10,3,3", recurrent=True, recurrent_kernel=5, init_rate=15.8,
                            epochs=1)
    cfg = ClassifyConfig(**settings)
    check_data([cfg])
    (result,) = classify([cfg])
    assert result.error is None
    rows = pd.DataFrame(result.rows)
    assert len(rows[rows.kind == "epoch"]) == 2 and len(rows[rows.kind == "fano"]) == 6
    spikes = rows[(rows.kind == "spike") & (rows.layer == "input")]
    assert spikes.time.max() < 50 * 2.0 and spikes.neuron.max() < 700  # 2 ms bins over 0.1 s
    with pytest.raises(DataError, match="absent/shd_train.h5: not found") as info:
        check_data([ClassifyConfig(**(settings | {"data_dir": str(tmp_path / "absent")}))])
    assert "\n" not in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answer where there is no GPU")
def test_device_cuda_without_a_gpu_is_one_line_and_no_run(run_cli, tmp_path):
    from pathlib import Path

    config = Path(__file__).resolve().parents[1] / "configs" / "conv_snn.yaml"
    out = tmp_path / "conv.parquet"
    code, _, err = run_cli("classify", "--config", str(config), "--profile", "quick", "--device", "cuda", "--out",
                           str(out))
    assert code != 0 and not out.exists()
    assert err.strip() == "sgtheory: error: device=cuda: no CUDA device is available here (use --device cpu)"
