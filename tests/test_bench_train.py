"""benchmarks/bench_train.py: its plain-PyTorch baseline trains the same networks as sgtheory (an honest baseline),
and a tiny run writes its JSON report (never timed assertions)."""

import json
import math

import pytest
import torch

from sgtheory.experiments import expand
from sgtheory.experiments.network import build_model


@pytest.mark.parametrize("model", ["binary", "tanh", "lif"])
def test_plain_baseline_is_the_same_network(model, load_benchmark):
    """With sgtheory's weights copied in, the plain loop gives the same logits and gradients (float64)."""
    bench = load_benchmark("bench_train")
    (cfg,) = expand("train", {"model": model, "N": 12, "batch": 3, "T": 40, "dtype": "float64", "gain": 2.0})
    net = build_model([cfg], cfg.batch)
    plain = bench.PlainRNN(model, cfg.N, cfg.batch, torch.float64)
    with torch.no_grad():
        for name in ("J", "w_in", "w_out", "b", "c", "x0"):
            getattr(plain, name).copy_(getattr(net, name)[0])
    inputs, _ = bench.xor_batch(cfg.T, cfg.batch, cfg.delay, torch.Generator().manual_seed(0), torch.float64)
    ours, theirs = net(inputs[:, None])[:, 0], plain(inputs)
    if model != "tanh":  # the units spike and rest: the surrogate gradients are compared too
        fires = net.run(net.drive(inputs[:, None]), net.x0)[0] > net.threshold
        assert fires.any() and not fires.all()
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    ours.square().sum().backward()
    theirs.square().sum().backward()
    for name in ("J", "w_in", "w_out", "b", "x0"):  # round-off, amplified by 40 steps of a chaotic network
        torch.testing.assert_close(getattr(net, name).grad[0], getattr(plain, name).grad, rtol=1e-8, atol=1e-10)


def test_tiny_run_writes_json(tmp_path, load_benchmark):
    bench = load_benchmark("bench_train")
    out = tmp_path / "bench_train.json"
    report = bench.main(["--epochs", "2", "--rounds", "1", "--models", "binary", "--sizes", "16", "--dtypes",
                         "float64", "--no-batched", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report["batched"] == {}
    (row,) = report["results"].values()
    for key in ("plain_ms", "single_ms", "plain_over_single"):
        assert math.isfinite(row[key]) and row[key] > 0
