"""benchmarks/bench_lyapunov.py in quick mode on tiny sizes: JSON structure and torch/numpy agreement."""

import json

import numpy as np


def test_quick_run_writes_json_and_torch_matches_numpy(tmp_path, load_benchmark):
    bench = load_benchmark("bench_lyapunov")
    out = tmp_path / "bench_lyapunov.json"
    report = bench.main(["--quick", "--sizes", "8", "16", "--floss-reps", "1", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))

    assert {"machine", "config", "matmul_peak", "lyapunov_step", "flossing_step", "goals"} <= report.keys()
    assert {"torch", "threads", "cpu_count"} <= report["machine"].keys()
    assert report["machine"]["threads"] == 1
    assert all(report["matmul_peak"][d]["gflops"] > 0 for d in ("float32", "float64"))

    rows = report["lyapunov_step"]
    assert {(r["N"], r["k"], r["dtype"]) for r in rows} == {
        (N, k, d) for N, ks in ((8, (1, 2, 8)), (16, (1, 4, 16))) for k in ks for d in ("float32", "float64")}
    for r in rows:
        for key in ("ours_lyap_ms", "ours_whole_ms", "direct_lyap_ms", "direct_f64_lyap_ms", "speedup",
                    "ours_frac_peak"):
            assert r[key] > 0 and np.isfinite(r[key]), (key, r)
        assert r["flops_per_step"] == 2 * r["N"] ** 2 * r["k"] + 4 * r["N"] * r["k"] ** 2 - 4 / 3 * r["k"] ** 3
        if r["dtype"] == "float64":
            assert r["max_abs_diff_vs_direct_f64"] <= 1e-8, r

    floss = report["flossing_step"]
    assert floss["R1_ms"] > 0 and floss["R9_ms"] > 0
    assert floss["ratio_R9_over_R1"] == floss["R9_ms"] / floss["R1_ms"]
    assert report["goals"]["floss_R9_over_R1"]["met"] in (True, False)
    assert report["goals"]["speedup_N256_k64_float64"]["met"] is None  # N=256 not run here

    # the two implementations directly, on a longer float64 trajectory with all exponents
    prob = bench.make_problem(N=12, k=12, steps=200, seed=3)
    ours, direct = bench.run_ours(prob, "float64"), bench.run_direct(prob, "float64")
    assert ours.shape == direct.shape == (12,)
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, direct, rtol=0, atol=1e-8)
