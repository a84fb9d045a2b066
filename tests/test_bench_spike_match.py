"""benchmarks/bench_spike_match.py in quick mode: JSON structure and the numpy/sgtheory agreement of the updates."""

import json
import math


def test_quick_run_writes_json_and_numpy_matches_sgtheory(tmp_path, load_benchmark):
    bench = load_benchmark("bench_spike_match")
    out = tmp_path / "bench_spike_match.json"
    report = bench.main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))

    assert {"machine", "config", "equivalence", "equivalence_passed", "timing", "goal"} <= report.keys()
    assert report["machine"]["threads"] == 1
    assert report["config"]["quick"] is True and report["config"]["full"] is False

    # the deterministic updates agree; with the same uniforms the stochastic ones do too
    assert report["equivalence_passed"] is True
    equiv = {e["method"]: e for e in report["equivalence"]}
    assert set(equiv) == {"superspike", "stochastic"}
    for method, e in equiv.items():
        assert e["passed"], e
        assert e["rel_err_dW0"] <= 1e-10 and e["rel_err_dW1"] <= 1e-10, e
        assert e["spike_mismatch_hidden"] == e["spike_mismatch_output"] == 0, e
        assert e["hidden_spikes"] > 0 and e["output_spikes"] > 0, e  # the comparison is not vacuous
        assert e["trials"] == (1 if method == "superspike" else 10)

    rows = {r["method"]: r for r in report["timing"]}
    assert set(rows) == {"superspike", "stochastic"}
    for r in rows.values():
        for key in ("numpy_ms", "sgtheory_ms", "speedup", "run_ms", "time_1500_s", "extrapolated_1500_s"):
            assert r[key] > 0 and math.isfinite(r[key]), (key, r)
        assert r["speedup"] == r["numpy_ms"] / r["sgtheory_ms"]
        assert r["time_1500_measured"] is False and r["full_1500"] is None
        assert r["time_1500_s"] == r["extrapolated_1500_s"]
    assert rows["stochastic"]["trials"] == 10 and rows["superspike"]["trials"] == 1

    goal = report["goal"]
    assert goal["measured"] is False and goal["met"] in (True, False)
    assert goal["value_s"] == rows["stochastic"]["time_1500_s"]


def test_numpy_epoch_multilayerspiker_matches_sgtheory(load_benchmark):
    bench = load_benchmark("bench_spike_match")
    e = bench.equivalence("multilayerspiker", seed=1)
    assert e["passed"], e
