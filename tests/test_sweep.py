"""Sweeps on every executor: a real Dask cluster (2 worker processes on 127.0.0.1) and a process pool give the
inline table row for row; dead workers are retried, raising runs go to the failures table, and an interrupted
sweep resumes with only its missing runs."""

import dask
import pandas as pd
import pytest
import sweep_runners
from distributed import LocalCluster

from sgtheory.config import expand
from sgtheory.executors import Executor, ExecutorError
from sgtheory.sweep import SweepDisplay, failures_path, groups_by_condition, run_sweep

# 4 conditions x 2 seeds = 8 runs in 4 tasks (the seeds of a condition train batched in one task)
SWEEP = {"N": 6, "T": 20, "delay": [2, 4, 6, 8], "epochs": 8, "batch": 2, "record_every": 4, "seeds": "0-1"}


@pytest.fixture(scope="module")
def markers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("markers")
    with pytest.MonkeyPatch.context() as patch:  # set before any worker starts, so every worker inherits it
        patch.setenv(sweep_runners.MARKERS, str(folder))
        yield folder


@pytest.fixture(autouse=True)
def fresh_markers(markers):
    for path in markers.iterdir():
        path.unlink()


@pytest.fixture(scope="module")
def cluster(markers):
    with dask.config.set({"distributed.scheduler.allowed-failures": 2}):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=":0") as local:
            yield local


@pytest.fixture(scope="module")
def configs():
    return expand("train", dict(SWEEP))


@pytest.fixture(scope="module")
def inline_table(configs, tmp_path_factory):
    return run_sweep("train", configs, tmp_path_factory.mktemp("inline") / "t.parquet").table


def executors(cluster):
    return {"dask": Executor("dask", scheduler=cluster.scheduler_address),
            "processes": Executor("processes", workers=2)}


def test_sweep_has_eight_runs_in_four_batched_tasks(configs):
    assert len(configs) == 8 and [len(g) for g in groups_by_condition(configs)] == [2, 2, 2, 2]


@pytest.mark.parametrize("kind", ["dask", "processes"])
def test_executor_gives_the_inline_table_row_for_row(kind, cluster, configs, inline_table, tmp_path):
    outcome = run_sweep("train", configs, tmp_path / "t.parquet", executor=executors(cluster)[kind])
    assert len(inline_table) == 8 * 3  # epochs 1, 5 and 8 of every run
    pd.testing.assert_frame_equal(outcome.table, inline_table)
    assert outcome.failures.empty and pd.read_parquet(failures_path(tmp_path / "t.parquet")).empty


def test_local_dask_cluster_from_the_command_line(configs, inline_table, tmp_path, run_cli):
    out = tmp_path / "t.parquet"
    code, stdout, stderr = run_cli("train", "--N", "6", "--T", "20", "--set", "delay=[2,4,6,8]", "--epochs", "8",
                                   "--batch", "2", "--record-every", "4", "--seeds", "0-1", "--executor", "dask",
                                   "--workers", "2", "--out", str(out))
    assert code == 0, stderr
    assert "wrote 24 rows of 8 runs" in stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out), inline_table)


@pytest.mark.parametrize("kind", ["dask", "processes"])
def test_killed_worker_is_retried_without_duplicate_rows(kind, cluster, configs, inline_table, markers, tmp_path):
    outcome = run_sweep("train", configs, tmp_path / "t.parquet", executor=executors(cluster)[kind],
                        runner=sweep_runners.dies_once)
    assert len(list(markers.glob("killed-*"))) == 1  # one worker process died in the middle of the sweep
    assert not outcome.table.duplicated(["run_id", "epoch"]).any()
    pd.testing.assert_frame_equal(outcome.table, inline_table)
    assert outcome.failures.empty


@pytest.mark.parametrize("kind", ["dask", "processes"])
def test_task_that_keeps_killing_its_worker_is_given_up(kind, cluster, configs, markers, tmp_path):
    executor = executors(cluster)[kind]
    outcome = run_sweep("train", configs, tmp_path / "t.parquet", executor=executor, runner=sweep_runners.always_dies)
    assert len(list(markers.glob("killed-*"))) == 3  # the first attempt and retries = 2 more
    assert sorted(outcome.failures["seed"]) == [0, 1]
    assert set(outcome.failures["kind"]) == {"worker lost"} and set(outcome.failures["attempts"]) == {3}
    assert sorted(outcome.table["delay"].unique()) == [2, 4, 8] and outcome.runs == 6


@pytest.mark.parametrize("kind", ["dask", "processes", "inline"])
def test_raising_run_goes_to_the_failures_table(kind, cluster, configs, inline_table, tmp_path):
    executor = executors(cluster).get(kind, Executor("inline"))
    out = tmp_path / "t.parquet"
    outcome = run_sweep("train", configs, out, executor=executor, runner=sweep_runners.raises)
    failures = pd.read_parquet(failures_path(out))
    assert failures[["seed", "delay", "kind", "attempts"]].values.tolist() == [[0, 6, "exception", 1],
                                                                             [1, 6, "exception", 1]]
    assert failures["message"].str.contains("ValueError: delay 6 is not supported").all()
    assert failures["traceback"].str.contains("sweep_runners.py").all()
    pd.testing.assert_frame_equal(outcome.table, inline_table[inline_table["delay"] != 6].reset_index(drop=True))


class InterruptAfter(SweepDisplay):
    """Presses Ctrl-C once ``tasks`` tasks have finished."""

    def __init__(self, tasks):
        self.tasks = tasks

    def task_finished(self, index, ok, failed):
        self.tasks -= 1
        if self.tasks == 0:
            raise KeyboardInterrupt


@pytest.mark.parametrize("kind", ["dask", "processes"])
def test_interrupted_sweep_restarts_with_only_the_missing_runs(kind, cluster, configs, inline_table, markers,
                                                               tmp_path):
    out = tmp_path / "t.parquet"
    executor = executors(cluster)[kind]
    with pytest.raises(KeyboardInterrupt):
        run_sweep("train", configs, out, executor=executor, display=InterruptAfter(2))
    finished = {p.stem for p in (tmp_path / "t.shards").glob("*.parquet")}
    assert len(finished) >= 4  # the two finished tasks; a third may have landed in the same poll
    outcome = run_sweep("train", configs, out, executor=executor, runner=sweep_runners.counting)
    ran = {p.name.removeprefix("ran-") for p in markers.glob("ran-*")}
    assert ran == {c.run_id() for c in configs} - finished
    assert outcome.skipped == len(finished)
    pd.testing.assert_frame_equal(outcome.table, inline_table)


def test_bad_executor_settings_are_one_line_errors():
    with pytest.raises(ExecutorError, match="--workers=0 must be >= 1"):
        Executor("processes", workers=0)
    with pytest.raises(ExecutorError, match="--scheduler needs --executor dask"):
        Executor("processes", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ExecutorError, match="not one of inline, processes, dask"):
        Executor("slurm")


def test_unreachable_scheduler_is_a_one_line_error(tmp_path, run_cli):
    code, _, stderr = run_cli("train", "--N", "6", "--epochs", "2", "--scheduler", "tcp://127.0.0.1:9",
                              "--out", str(tmp_path / "t.parquet"))
    assert code == 2 and stderr.count("\n") == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in stderr
