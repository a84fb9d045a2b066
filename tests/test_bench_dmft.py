"""benchmarks/bench_dmft.py in quick mode: JSON structure, the vectorised quadrature equals the lag-by-lag one."""

import json


def test_quick_run_writes_json(tmp_path, load_benchmark):
    bench = load_benchmark("bench_dmft")
    out = tmp_path / "bench_dmft.json"
    report = bench.main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report["reference"]["seconds"] > 0 and report["reference"]["params"]["steps"] == 2**9
    assert report["quadrature"]["max_abs_diff"] < 1e-12
    assert report["goals"]["reference_under_10_min"]["met"] is None  # judged on the reference example only
