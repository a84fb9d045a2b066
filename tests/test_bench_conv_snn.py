"""benchmarks/bench_conv_snn.py on a tiny input: the JSON report and its extrapolation to an SHD epoch."""

import json
import math

import pytest
import torch


def test_tiny_run_writes_json_and_extrapolates(tmp_path, load_benchmark):
    bench = load_benchmark("bench_conv_snn")
    out = tmp_path / "bench_conv_snn.json"
    report = bench.main(["--batch", "2", "--steps", "30", "--repeats", "1", "--threads", "1", "--forward",
                         "stochastic", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report["workload"] == {"batch": 2, "steps": 30, "channels": 700, "forward": "stochastic", "device": "cpu"}
    step, forward = min(report["train_step_s"]), min(report["eval_forward_s"])
    epoch = math.ceil(7340 / 2) * step + math.ceil((816 + 2264) / 2) * forward
    assert report["s_per_epoch"] == epoch and report["hours_per_run_200_epochs"] == epoch * 200 / 3600
    assert len(report["train_step_cpu_s"]) == len(report["eval_forward_cpu_s"]) == 1
    assert 0 < report["train_step_cpu_s"][0] and 0 < report["eval_forward_cpu_s"][0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answer where there is no GPU")
def test_device_cuda_without_a_gpu_is_one_line(tmp_path, load_benchmark, capsys):
    bench = load_benchmark("bench_conv_snn")
    with pytest.raises(SystemExit) as info:
        bench.main(["--device", "cuda", "--out", str(tmp_path / "b.json")])
    assert info.value.code == 2 and not (tmp_path / "b.json").exists()
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith("--device cuda: no CUDA device is available "
                                                                     "here (use --device cpu)")
