"""benchmarks/bench_sparseprop.py on tiny sizes: JSON structure and identical spike sequences."""

import json


def test_tiny_run_writes_json_with_identical_spike_sequences(tmp_path, load_benchmark):
    bench = load_benchmark("bench_sparseprop")
    out = tmp_path / "bench.json"
    report = bench.main(["--N", "300", "1000", "3000", "--spikes", "500", "--warm", "200", "--conv-budget", "0.01",
                         "--reps", "1", "--skip-compile", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report["goals"]["same_spike_sequences"] and len(report["sizes"]) == 3
    row = report["sizes"][0]
    assert row["sparseprop_s"] > 0 and row["conventional_numpy_s"] > 0 and row["spikes_conventional"] >= 20
    assert report["fit_log_N"]["sparseprop"]["r2"] is not None and report["compile"] is None
    assert row["backward_s"] > 0 and row["record_s"] > 0 and "backward_le_3x_forward" in report["goals"]
