"""benchmarks/bench_sparseprop.py (JSON, identical spike sequences) and bench_brian2.py on tiny networks."""

import json
import os
import sys

import pytest


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
    d, levels = bench.sp.ARITY, row["heap_levels"]  # a full d-ary heap of L levels holds (d^L − 1)/(d − 1) slots
    assert 0 < row["floor_s"] and (d ** (levels - 1) - 1) // (d - 1) < 300 <= (d ** levels - 1) // (d - 1)
    assert report["fit_log_N_in_cache"]["sparseprop"]["r2"] is not None  # all three sizes are below --cache-N
    assert report["fit_log_N_out_of_cache"]["sparseprop"]["r2"] is None


def test_brian2_comparison_runs_the_same_network(tmp_path, load_benchmark):
    """Brian2 (cpp_standalone, dt = 0.1 ms) and SparseProp on one tiny network: both fire at nearly the same rate.
    Skipped where brian2 does not import in $BRIAN2_PYTHON (default: this interpreter)."""
    bench = load_benchmark("bench_brian2")
    python = os.environ.get("BRIAN2_PYTHON", sys.executable)
    if bench.brian2_version(python) is None:
        pytest.skip(f"brian2 does not import in {python}")
    report = bench.main(["--N", "300", "--K", "10", "--T", "0.3", "--reps", "1", "--brian2-python", python,
                         "--out", str(tmp_path / "brian2.json")])
    result = report["result"]
    assert result["sparseprop_spikes"] > 300 and abs(result["rate_ratio"] - 1) < 0.05
    assert result["brian2_build_s"] > 0 and report["machine"]["brian2"] == bench.brian2_version(python)
