"""The sweep benchmark runs end to end on a tiny configuration and reports consistent numbers."""

import json


def test_tiny_run_reports_throughput_and_overheads(tmp_path, load_benchmark):
    bench = load_benchmark("bench_sweep")
    out = tmp_path / "bench.json"
    result = bench.main(["--runs", "3", "--epochs", "2", "--small", "2", "--extra", "3",
                         "--executors", "inline", "processes", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert set(result["throughput"]) == {"inline", "processes, 2 workers"}
    for entry in result["throughput"].values():
        assert entry["runs_per_min"] == 60 * 3 / entry["wall_s"] > 0
    inline, pool = result["tiny_tasks"]["inline"], result["tiny_tasks"]["processes, 2 workers"]
    assert inline["overhead_ms"] == 0  # the baseline: its own marginal time
    assert pool["overhead_ms"] == 2 * pool["marginal_ms"] - inline["marginal_ms"]
