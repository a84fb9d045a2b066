"""End-to-end CLI behaviour on tiny runs: tables, resume, bad input, non-finite runs."""


import pandas as pd
import pytest

from sgtheory.results import read_metadata

TINY = ["--N", "6", "--T", "20", "--delay", "4", "--epochs", "12", "--batch", "2", "--record-every", "5"]




def test_train_writes_tidy_table_with_provenance(tmp_path, run_cli):
    out = tmp_path / "res" / "train.parquet"
    code, stdout, _ = run_cli("train", *TINY, "--seeds", "0-1", "--out", str(out))
    assert code == 0, stdout
    table = pd.read_parquet(out)
    assert len(table) == 2 * 4  # two runs, each recorded at epochs 1, 6, 11 and the last (12)
    assert sorted(table["epoch"].unique()) == [1, 6, 11, 12]
    for column in ("task", "delay", "model", "surrogate", "slope", "gain", "N", "seed", "epoch", "loss",
                   "accuracy", "grad_h0_norm", "run_id", "config_hash"):
        assert column in table.columns
    assert table["config_hash"].nunique() == 1 and table["run_id"].nunique() == 2
    meta = read_metadata(out)
    assert meta["version"] and set(meta["runs"]) == set(table["run_id"])
    assert meta["runs"][table["run_id"].iloc[0]]["N"] == 6


def test_rerun_resumes_only_missing_runs(tmp_path, run_cli):
    out = tmp_path / "train.parquet"
    args = ["train", *TINY, "--seeds", "0-2", "--out", str(out)]
    assert run_cli(*args)[0] == 0
    first = pd.read_parquet(out)
    shards = sorted((tmp_path / "train.shards").iterdir())
    assert len(shards) == 3
    shards[1].unlink()  # as if the sweep had been interrupted before this run finished
    code, stdout, _ = run_cli(*args)
    assert code == 0 and "2 runs were already complete" in stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out), first)  # same seed, same numbers


def test_csv_output_and_set(tmp_path, run_cli):
    out = tmp_path / "t.csv"
    code, _, _ = run_cli("train", *TINY, "--set", "model=tanh", "--set", "delay=[4, 6]",
                         "--out", str(out))
    assert code == 0
    table = pd.read_csv(out)
    assert set(table["model"]) == {"tanh"} and set(table["delay"]) == {4, 6}
    assert read_metadata(out)["experiment"] == "train"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--task", "foo"], "task='foo' is not allowed; choose one of: xor, copy"),
        (["--model", "gru"], "model='gru' is not allowed; choose one of: tanh, binary, lif"),
        (["--surrogate", "atan"], "surrogate='atan' is not allowed; choose one of: fast_sigmoid"),
        (["--delay", "5"], "delay=5 is odd"),
        (["--delay", "20"], "delay=20 must be smaller than the sequence length T=20"),
        (["--N", "0"], "N=0 must be a positive integer"),
        (["--batch", "-1"], "batch=-1 must be a positive integer"),
        (["--set", "foo=1"], "unknown config key 'foo'"),
        (["--config", "{missing}"], "cannot read config file"),
        (["--config", "{bad}"], "not valid YAML"),
        (["--out", "{file}/x.parquet"], "not writable"),
        (["--out", "{tmp}/x.txt"], "format must be one of parquet, csv"),
        (["--seeds", "x"], "seeds='x' is not a seed list"),
        (["--N", "abc"], "'abc' is not a valid integer"),
        (["--bogus"], "No such option"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, run_cli, args, fragment):
    (tmp_path / "bad.yaml").write_text("N: [1, 2\n")
    (tmp_path / "file").write_text("")
    names = {"missing": tmp_path / "absent.yaml", "bad": tmp_path / "bad.yaml", "file": tmp_path / "file",
             "tmp": tmp_path}
    args = [a.format(**names) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "res" / "x.parquet")]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, stderr = run_cli("train", *TINY, *args)
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith("sgtheory: error: ") and fragment in stderr
    assert "Traceback" not in stderr + stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_non_finite_run_stops_with_message_and_keeps_rows(tmp_path, run_cli):
    out = tmp_path / "nan.parquet"
    # inputs of amplitude 1e39 overflow float32 to inf, so the loss is NaN from the first epoch
    code, _, stderr = run_cli("train", *TINY, "--input-amplitude", "1e39", "--out", str(out))
    assert code == 1
    assert "(seed 0) stopped early: non-finite loss, gradient or gradient norm at epoch 1" in stderr
    assert "1 of 1 runs failed or stopped early" in stderr and "Traceback" not in stderr
    assert len(pd.read_parquet(out)) == 0
    assert read_metadata(out)["stopped"]
    failures = pd.read_parquet(tmp_path / "nan.failures.parquet")
    assert failures[["seed", "kind"]].values.tolist() == [[0, "stopped early"]]
    assert failures["input_amplitude"].tolist() == [1e39]


def test_plot_training_curves(tmp_path, run_cli):
    table = tmp_path / "t.parquet"
    assert run_cli("train", *TINY, "--seeds", "0-1", "--set", "delay=[4, 6]",
                   "--out", str(table))[0] == 0
    code, stdout, _ = run_cli("plot", "training-curves", str(table), "--out",
                              str(tmp_path / "fig.png"))
    assert code == 0
    assert (tmp_path / "fig.png").stat().st_size > 10_000 and (tmp_path / "fig.pdf").exists()
    section = (tmp_path / "fig.md").read_text()
    assert "| 4 | — |" in section and "| 6 | — |" in section
    assert "needs the paper profile" in section  # delays off the paper's grid: nothing to compare with
    assert run_cli("report", str(tmp_path))[0] == 0
    assert section in (tmp_path / "REPORT.md").read_text()
    code, _, stderr = run_cli("plot", "nope", str(table), "--out", str(tmp_path / "x.png"))
    assert code == 2 and "unknown figure 'nope'; available: training-curves" in stderr


def test_lyap_and_floss_commands_write_tables(tmp_path, run_cli):
    out = tmp_path / "lyap.csv"
    code, stdout, _ = run_cli("lyap", "--N", "10", "--steps", "200", "--seeds", "0-1",
                              "--set", "slope=[0.5,1.0]", "--out", str(out))
    assert code == 0, stdout
    table = pd.read_csv(out)
    exps = table[table["quantity"] == "exponent"]
    assert len(exps) == 2 * 2 * 10 and set(exps["seed"]) == {0, 1} and set(exps["slope"]) == {0.5, 1.0}
    assert {"ky_dimension", "entropy_rate", "run_id", "config_hash"} <= set(table.columns)

    out = tmp_path / "floss.parquet"
    code, stdout, _ = run_cli("floss", "--N", "10", "--nle", "2", "--epochs", "3",
                              "--spectrum-T", "100", "--out", str(out))
    assert code == 0, stdout
    table = pd.read_parquet(out)
    assert sorted(table[table["phase"] == "floss"]["epoch"].unique()) == [0, 1, 2, 3]
    assert (table["phase"] == "after").sum() == 10


@pytest.mark.parametrize("args,message", [
    (["lyap", "--nle", "200"], "nle=200 must be between 0 (all) and the state dimension 80"),
    (["floss", "--floss-T", "10"], "floss_T=10 leaves no step after its transient"),
    (["train", "--floss", "always"], "floss='always' is not allowed"),
])
def test_flossing_commands_reject_bad_input(tmp_path, run_cli, args, message):
    code, _, err = run_cli(*args, "--out", str(tmp_path / "x.parquet"))
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "x.parquet").exists()
