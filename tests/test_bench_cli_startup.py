"""benchmarks/bench_cli_startup.py on one command: the report's structure and every answer's exit code."""

import json


def test_one_command_reports_baselines_help_and_option_errors(tmp_path, load_benchmark):
    bench = load_benchmark("bench_cli_startup")
    out = tmp_path / "bench.json"
    report = bench.main(["--repeats", "1", "--commands", "train", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert [entry["command"] for entry in report["baselines"]] == ["python -c pass", "python -c 'import torch'"]
    codes = {entry["command"]: entry["exit_codes"] for entry in report["answers"]}
    assert codes == {"sgtheory --help": [0], "sgtheory train --help": [0], "sgtheory train --N abc": [2],
                     "sgtheory train --bogus": [2], "sgtheory train --delay 7": [2]}
    for entry in report["baselines"] + report["answers"]:
        assert 0 < entry["min_s"] <= entry["median_s"] <= entry["max_s"] and entry["peak_mib"] > 0
    slowest = max(report["answers"], key=lambda entry: entry["median_s"])
    assert report["goal"] == {"goal_s": 0.5, "slowest": slowest["command"], "slowest_median_s": slowest["median_s"],
                              "met": slowest["median_s"] < 0.5}
