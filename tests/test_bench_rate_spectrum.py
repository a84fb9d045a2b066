"""benchmarks/bench_rate_spectrum.py on tiny sizes: JSON structure and torch/numpy agreement."""

import json


def test_tiny_run_writes_json_and_matches_numpy(tmp_path, load_benchmark):
    bench = load_benchmark("bench_rate_spectrum")
    out = tmp_path / "bench.json"
    report = bench.main(["--N", "20", "--tau", "2", "--reps", "1", "--N-max", "50", "--steps", "3", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    full, lam = report["full_spectrum"], report["lambda_max_step"]
    assert full["max_abs_diff_vs_numpy"] < 1e-9
    assert full["ours_frac_gemm_peak"] > 0 and lam["ours_frac_bandwidth"] > 0 and lam["separate_frac_bandwidth"] > 0
    assert set(report["goals"]) == {"full_spectrum_frac_peak_ge_0.5", "lambda_max_frac_bandwidth_ge_0.5"}
