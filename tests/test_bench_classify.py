"""benchmarks/bench_classify.py at tiny size: JSON structure, positive finite timings, peers timed or reported
unavailable with a reason, and the snnTorch/sgtheory agreement at initialisation (never timed assertions)."""

import importlib.util
import json
import math

import pytest

TINY = ["--minibatches", "2", "--batch", "8", "--steps", "20", "--epochs", "1", "--warmup", "0"]
SGTHEORY_ROWS = ("sgtheory_single", "sgtheory_batched8", "sgtheory_batched8_2threads", "sgtheory_sequential8")


def positive_finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def check_structure(report: dict, goal: float) -> None:
    assert {"machine", "config", "peers", "init_check", "results", "speedups", "goals"} <= report.keys()
    assert report["machine"]["threads"] == 1  # restored after the 2-thread row
    assert report["config"]["minibatches"] == 2 and report["config"]["batch"] == 8
    assert report["config"]["samples_per_epoch"] == 16 and report["config"]["steps"] == 20
    assert set(report["peers"]) == {"snntorch", "norse"}
    assert set(report["results"]) == {*SGTHEORY_ROWS, "snntorch_single", "norse_single"}

    for name in SGTHEORY_ROWS:
        r = report["results"][name]
        assert r["available"] is True
        for key in ("seconds_per_epoch", "seconds_per_epoch_min", "throughput"):
            assert positive_finite(r[key]), (name, key, r)
        assert len(r["epoch_seconds"]) == report["config"]["epochs"]
        assert r["networks"] == (1 if name == "sgtheory_single" else 8)
        assert r["threads"] == (2 if name.endswith("2threads") else 1)
        assert r["throughput"] == pytest.approx(r["networks"] / r["seconds_per_epoch"])

    for peer, status in report["peers"].items():  # either timed or marked unavailable with a reason
        r = report["results"][f"{peer}_single"]
        assert r["available"] is status["available"]
        if status["available"]:
            assert isinstance(status["version"], str) and status["version"]
            assert r["networks"] == 1 and r["threads"] == 1
            assert positive_finite(r["seconds_per_epoch"]) and positive_finite(r["throughput"])
            assert positive_finite(report["speedups"][f"single_vs_{peer}"])
        else:
            assert status["reason"].startswith("unavailable: ") and r["reason"] == status["reason"]
            assert f"single_vs_{peer}" not in report["speedups"]

    for value in report["speedups"].values():
        assert positive_finite(value)
    s = {k: v["seconds_per_epoch"] for k, v in report["results"].items() if v["available"]}
    assert report["speedups"]["batched8_vs_sequential8"] == pytest.approx(
        s["sgtheory_sequential8"] / s["sgtheory_batched8"])

    single, batched = report["goals"]
    assert single["measured"] is (single["fastest_peer"] is not None)
    if single["measured"]:
        assert positive_finite(single["value"]) and single["met"] is (single["value"] >= 1)
    else:
        assert single["value"] is None and single["met"] is None
    assert batched["measured"] is True and batched["met"] is (batched["value"] >= goal)
    assert batched["value"] == report["speedups"]["batched8_throughput_vs_single"]


def test_tiny_run_writes_json_and_peers_agree_at_init(tmp_path, load_benchmark):
    bench = load_benchmark("bench_classify")
    out = tmp_path / "bench_classify.json"
    report = bench.main([*TINY, "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    check_structure(report, bench.GOAL_BATCHED_THROUGHPUT)

    check = report["init_check"]
    cases = check["cases"]
    assert set(cases) == {"weight_scale_1", "weight_scale_10"}
    assert cases["weight_scale_10"]["sgtheory_hidden_spikes"] > 0  # the scaled comparison is not vacuous
    for case in cases.values():
        assert positive_finite(case["sgtheory_loss"])
    available = {p for p, status in report["peers"].items() if status["available"]}
    if importlib.util.find_spec("snntorch") is not None:  # installed (the bench extra): it must be timed
        assert "snntorch" in available
    for case in cases.values():
        assert set(case) & {"snntorch", "norse"} == available
        for peer in available:
            assert positive_finite(case[peer]["loss"]) and positive_finite(case[peer]["loss_ratio"])
    if "snntorch" in available:
        assert check["same_order"] is True
        for case in cases.values():  # with the folded (1 − β) weights it is the same network, two steps earlier
            assert 0.5 <= case["snntorch"]["loss_ratio"] <= 2.0
            assert case["snntorch"]["hidden_spike_mismatch_fraction"] < 0.01
    else:
        assert check["same_order"] is None
    if "norse" in available:
        assert report["peers"]["norse"]["surrogate_slope_effective"] > 0


def test_missing_peers_are_reported_unavailable(tmp_path, monkeypatch, load_benchmark):
    bench = load_benchmark("bench_classify")
    monkeypatch.setattr(bench, "PEERS", {"snntorch": "no_such_module_snntorch", "norse": "no_such_module_norse"})
    report = bench.main([*TINY, "--out", str(tmp_path / "bench_classify.json")])
    check_structure(report, bench.GOAL_BATCHED_THROUGHPUT)
    for peer in ("snntorch", "norse"):
        assert report["peers"][peer]["available"] is False
        assert "no_such_module" in report["peers"][peer]["reason"]
    assert report["goals"][0]["measured"] is False and report["init_check"]["same_order"] is None


RECURRENT_TINY = ["--batch", "4", "--steps", "30", "--units", "12", "--hidden", "16", "--repeats", "1", "--warmup", "0",
                  "--check-scale", "8"]


def test_recurrent_benchmark_times_every_implementation_and_plain_is_the_same_network(tmp_path, load_benchmark):
    bench = load_benchmark("bench_recurrent_classifier")
    out = tmp_path / "bench_recurrent_classifier.json"
    report = bench.main([*RECURRENT_TINY, "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report["machine"]["threads"] == 1 and report["config"]["recurrent"] is True
    assert set(report["results"]) == {"plain_pytorch", "sgtheory", "snntorch", "norse"}
    for name, r in report["results"].items():
        status = report["peers"].get(name, {"available": True})
        assert r["available"] is status["available"]
        if r["available"]:
            assert positive_finite(r["ms_per_step"]) and positive_finite(r["cpu_ms_per_step"])
            assert len(r["step_ms"]) == 1
            assert positive_finite(report["cpu_ratios"].get(f"sgtheory_over_{name}", 1.0))
        else:
            assert r["reason"].startswith("unavailable: ")
    if importlib.util.find_spec("snntorch") is not None:
        assert report["results"]["snntorch"]["available"]
    plain, peers = report["goals"]
    assert plain["value"] == report["cpu_ratios"]["sgtheory_over_plain_pytorch"]
    assert plain["met"] is (plain["value"] <= 0.5)
    check = report["init_check"]  # plain PyTorch computes sgtheory's network: same loss and gradients (float32)
    assert check["hidden_spikes"] > 0
    assert check["loss_rel_diff"] < 1e-5
    assert all(d < 1e-4 for d in check["grad_rel_diff_W_in_W_out_V"])


def test_recurrent_benchmark_reports_missing_peers(tmp_path, monkeypatch, load_benchmark):
    bench = load_benchmark("bench_recurrent_classifier")
    monkeypatch.setattr(bench.bench_classify, "PEERS",
                        {"snntorch": "no_such_module_snntorch", "norse": "no_such_module_norse"})
    report = bench.main([*RECURRENT_TINY, "--out", str(tmp_path / "r.json")])
    for peer in ("snntorch", "norse"):
        assert report["results"][peer]["available"] is False and "no_such_module" in report["results"][peer]["reason"]
    assert report["goals"][1]["met"] is None and report["goals"][1]["value"] is None
