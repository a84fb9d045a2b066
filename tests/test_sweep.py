"""Sweeps on every executor: a real Dask cluster (2 worker processes on 127.0.0.1) and a process pool give the
inline table row for row; dead workers are retried, raising runs go to the failures table, and an interrupted
sweep resumes with only its missing runs."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dask
import pandas as pd
import pytest
import sweep_runners
from distributed import LocalCluster

from sgtheory.cli import SweepProgress
from sgtheory.errors import ExecutorError
from sgtheory.executors import Executor
from sgtheory.experiments import expand
from sgtheory.results import ShardStore
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


def test_workers_take_the_environment_and_directory_of_each_sweep(configs, tmp_path, monkeypatch):
    """The pool's fork server keeps the environment and working directory of its start (an earlier sweep's); the
    workers of a later sweep must see the client's of that sweep."""
    executor = Executor("processes", workers=2)
    (tmp_path / "first").mkdir()  # another folder, so its runs are not copied into the second table
    run_sweep("train", configs[:4], tmp_path / "first" / "t.parquet", executor=executor)  # starts the fork server
    later = tmp_path / "later"
    later.mkdir()
    monkeypatch.setenv(sweep_runners.MARKERS, str(later))
    monkeypatch.chdir(later)
    run_sweep("train", configs, tmp_path / "second.parquet", executor=executor, runner=sweep_runners.counting_here)
    ids = {c.run_id() for c in configs}
    assert {p.name for p in later.iterdir()} == {f"ran-{i}" for i in ids} | {f"here-{i}" for i in ids}


def test_sweep_has_eight_runs_in_four_batched_tasks(configs):
    assert len(configs) == 8 and [len(g) for g in groups_by_condition(configs)] == [2, 2, 2, 2]


class RecordingDisplay(SweepDisplay):
    def __init__(self):
        self.events = []

    def start(self, experiment, runs, tasks, where):
        self.events.append(("start", runs, tasks, where))

    def task_started(self, index, size, where):
        self.events.append(("started", index, size))

    def task_progress(self, index, fraction, metrics):
        self.events.append(("progress", index, fraction, sorted(metrics)))

    def task_finished(self, index, ok, failed):
        self.events.append(("finished", index, ok, failed))


@pytest.mark.parametrize("kind", ["dask", "processes"])
def test_executor_gives_the_inline_table_row_for_row(kind, cluster, configs, inline_table, tmp_path):
    display = RecordingDisplay()
    outcome = run_sweep("train", configs, tmp_path / "t.parquet", executor=executors(cluster)[kind], display=display)
    assert len(inline_table) == 8 * 3  # epochs 1, 5 and 8 of every run
    pd.testing.assert_frame_equal(outcome.table, inline_table)
    assert outcome.failures.empty and pd.read_parquet(failures_path(tmp_path / "t.parquet")).empty
    # the workers' progress reaches the client's display
    start = display.events[0]
    assert start[:3] == ("start", 8, 4) and ("Dask at tcp://127.0.0.1" if kind == "dask" else "2 worker") in start[3]
    kinds = [event[0] for event in display.events]
    assert sorted(e[1] for e in display.events if e[0] == "started") == [0, 1, 2, 3]
    assert sorted(e[1:] for e in display.events if e[0] == "finished") == [(i, 2, 0) for i in range(4)]
    last = {e[1]: e for e in display.events if e[0] == "progress"}  # every task reports its final epoch
    assert {i: (e[2], e[3]) for i, e in last.items()} == {i: (1.0, ["acc", "loss"]) for i in range(4)}
    assert kinds.index("finished") > kinds.index("started")


def test_progress_bar_counts_running_fractions_and_failures(capsys):
    bar = SweepProgress()
    bar.start("train", 6, 3, "2 worker processes")
    bar.task_started(0, 2, "host:1")
    bar.task_started(1, 2, "host:2")
    bar.task_progress(0, 0.5, {"acc": 0.75})
    assert bar.bar.n == pytest.approx(1.0)  # half of a 2-run task
    bar.task_finished(1, 0, 2)
    bar.task_progress(0, 1.0, {"acc": 0.9})
    bar.task_finished(0, 2, 0)
    assert bar.bar.n == pytest.approx(4.0) and bar.bar.postfix == "done=2, running=0, failed=2"
    bar.close()
    assert "train: 6 runs in 3 tasks on 2 worker processes" in capsys.readouterr().err


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


class KillWorkerMidTask(SweepDisplay):
    """Kills (SIGKILL, from the client) the worker process of the first task that reports partial progress."""

    def __init__(self):
        self.workers, self.killed = {}, None

    def task_started(self, index, size, where):
        self.workers[index] = int(where.rsplit(":", 1)[1])

    def task_progress(self, index, fraction, metrics):
        if self.killed is None and fraction < 1:
            self.killed = index
            os.kill(self.workers[index], signal.SIGKILL)


LONGER = {**SWEEP, "epochs": 300, "record_every": 100}  # tasks of a second or two, with progress reports inside


@pytest.fixture(scope="module")
def longer_table(tmp_path_factory):
    """The inline table of LONGER, computed once for both executors."""
    return run_sweep("train", expand("train", LONGER), tmp_path_factory.mktemp("longer") / "inline.parquet").table


@pytest.mark.parametrize("kind", ["dask", "processes"])
def test_worker_killed_from_outside_mid_task_is_retried(kind, cluster, longer_table, tmp_path):
    longer, expected = expand("train", LONGER), longer_table
    display = KillWorkerMidTask()
    outcome = run_sweep("train", longer, tmp_path / "t.parquet", executor=executors(cluster)[kind], display=display)
    assert display.killed is not None  # a worker died in the middle of a task
    assert outcome.failures.empty and not outcome.table.duplicated(["run_id", "epoch"]).any()
    pd.testing.assert_frame_equal(outcome.table, expected)


@pytest.mark.parametrize("kind", ["dask", "processes"])
def test_task_that_keeps_killing_its_worker_is_given_up(kind, cluster, configs, markers, tmp_path):
    executor = executors(cluster)[kind]
    outcome = run_sweep("train", configs, tmp_path / "t.parquet", executor=executor, runner=sweep_runners.always_dies)
    assert len(list(markers.glob("killed-*"))) == 3  # the first attempt and retries = 2 more
    assert sorted(outcome.failures["seed"]) == [0, 1]
    assert set(outcome.failures["kind"]) == {"worker lost"} and set(outcome.failures["attempts"]) == {3}
    assert sorted(outcome.table["delay"].unique()) == [2, 4, 8] and outcome.runs == 6


def test_dask_task_given_up_by_its_scheduler_with_attempts_left_runs_again(configs, inline_table, markers, tmp_path):
    """Dask charges a worker's death to every task the worker held, also those only queued there, and gives a task
    up after its own allowed-failures (here 0: at the first death). The tasks count their own attempts: the doomed
    one dies exactly 1 + retries times, and every other task comes back."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=":0") as strict:
            outcome = run_sweep("train", configs, tmp_path / "t.parquet", runner=sweep_runners.always_dies,
                                executor=Executor("dask", scheduler=strict.scheduler_address, retries=2))
    assert len(list(markers.glob("killed-*"))) == 3
    assert outcome.failures[["seed", "delay", "kind", "attempts"]].values.tolist() == [[0, 6, "worker lost", 3],
                                                                                     [1, 6, "worker lost", 3]]
    pd.testing.assert_frame_equal(outcome.table, inline_table[inline_table["delay"] != 6].reset_index(drop=True))


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


def test_a_death_is_charged_to_its_own_task_only(configs, inline_table, markers, tmp_path):
    """Issue 17: with --retries 0, one dead worker used to fail the task of the other worker too."""
    outcome = run_sweep("train", configs, tmp_path / "t.parquet", executor=Executor("processes", workers=2, retries=0),
                        runner=sweep_runners.slow_dies_once)
    assert outcome.failures[["seed", "delay", "kind"]].values.tolist() == [[0, 6, "worker lost"], [1, 6, "worker lost"]]
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


def test_a_run_held_by_another_table_beside_the_output_is_copied_not_computed(configs, inline_table, markers,
                                                                            tmp_path):
    first = [c for c in configs if c.delay in (2, 4)]
    run_sweep("train", first, tmp_path / "first.parquet")
    ShardStore(tmp_path / "other.parquet").folder.mkdir()  # an empty shard folder is passed over
    outcome = run_sweep("train", configs, tmp_path / "second.parquet", runner=sweep_runners.counting)
    ran = {p.name.removeprefix("ran-") for p in markers.glob("ran-*")}
    assert ran == {c.run_id() for c in configs if c not in first} and outcome.skipped == len(first)
    pd.testing.assert_frame_equal(outcome.table, inline_table)
    store, config = ShardStore(tmp_path / "third.parquet"), first[0]
    store.folder.mkdir()
    assert not store.adopt(config, "classify") and store.adopt(config, "train")  # only a shard of its experiment
    assert store.is_complete(config)


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


# -- the process pool never hangs and never leaves a process behind ---------------------------------------------

POOL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import sweep_runners
from sgtheory.errors import DataError
from sgtheory.executors import Executor
from sgtheory.experiments import expand
from sgtheory.sweep import run_sweep

configs = expand("train", {{"N": 6, "T": 20, "delay": [2, 4, 6, 8], "epochs": 2}})
for attempt in range({attempts}):
    try:
        run_sweep("train", configs, {out!r} + f"/{{attempt}}.parquet", executor=Executor("processes", workers=2),
                  runner=sweep_runners.missing_data)
    except DataError:
        print("stopped", flush=True)
"""


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()
            and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_sweep_over_missing_data_never_hangs(tmp_path):
    """Issue 17: the concurrent.futures pool hung in about half of such sweeps (a worker killed while the other was
    starting, or while it held a lock of the shared queues). Six sweeps in a row must all stop with the error (a pool
    that hangs in half of them passes with probability 1/64)."""
    script = POOL_SCRIPT.format(tests=str(Path(__file__).parent), attempts=6, out=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["stopped"] * 6


def start_sweep(tmp_path) -> tuple[subprocess.Popen, set[int]]:
    """A CLI sweep of 4 tasks of a few seconds each on 2 workers, returned once both workers have started."""
    command = [sys.executable, "-m", "sgtheory", "train", "--N", "6", "--T", "20", "--set", "delay=[2,4,6,8]",
               "--epochs", "3000", "--workers", "2", "--out", str(tmp_path / "t.parquet")]
    client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(workers := pool_workers(client.pid)) < 2:
        assert time.monotonic() < deadline and client.poll() is None, "the workers did not start"
        time.sleep(0.2)
    time.sleep(3)  # the workers are importing or running their first task
    return client, workers


def pool_workers(pid: int) -> set[int]:
    """The pool workers of the sweep client ``pid``: the children of its fork server."""
    servers = {child for child in children(pid) if b"forkserver" in Path(f"/proc/{child}/cmdline").read_bytes()}
    return set().union(*map(children, servers))


def wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive(pids)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_stops_the_pool_at_once_and_cleanly(tmp_path):
    client, workers = start_sweep(tmp_path)
    client.send_signal(signal.SIGINT)
    _, stderr = client.communicate(timeout=60)
    assert client.returncode == 130
    assert "interrupted; finished runs are kept" in stderr and "Traceback" not in stderr
    assert not wait_gone(workers, 10)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_of_a_killed_client_exit(tmp_path):
    """SIGKILL of the client (no clean-up code runs) must not leave orphaned workers."""
    client, workers = start_sweep(tmp_path)
    client.kill()
    client.communicate(timeout=60)
    assert not wait_gone(workers, 60)
