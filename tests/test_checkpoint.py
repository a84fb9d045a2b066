"""Checkpoints (issue 17): an interrupted run resumes from its checkpoint and ends with exactly the rows of an
uninterrupted run (float32 and float64; train with flossing, classify, floss, spike-match); only the same runs under
the same version use a checkpoint, an unreadable or stale one is ignored with a note; a sweep keeps the checkpoint of
a running task beside the shards and deletes it once the shards are written, and a task retried after its worker
died resumes from it."""

import pandas as pd
import pytest
import torch
from checkpoint_runners import DIES_AFTER, dies_once_after_a_checkpoint

from sgtheory import checkpoint as checkpoint_module
from sgtheory.checkpoint import Checkpointer, group_key, resumable
from sgtheory.errors import ExecutorError
from sgtheory.executors import Executor
from sgtheory.experiments import EXPERIMENTS, expand
from sgtheory.experiments.classify import classify
from sgtheory.experiments.lyapunov import floss
from sgtheory.experiments.spike_match import spike_match
from sgtheory.experiments.train import train
from sgtheory.sweep import SweepDisplay, run_sweep

TRAIN = dict(model="lif", N=7, batch=3, T=23, delay=4, epochs=6, record_every=2, floss="pre+inter", floss_pre=2,
             floss_every=2, floss_steps=2, nle=3, floss_T=20, seeds="0-2")
CLASSIFY = dict(task="randman", classes=3, units=7, samples_per_class=23, steps=13, hidden=11, epochs=4, batch=9,
                seeds="0-1")
FLOSS = dict(model="binary", N=9, nle=3, floss_T=20, epochs=5, spectrum_nle=3, spectrum_T=30, jacobian_T=5, seeds="0-1")
SPIKE_MATCH = dict(method="superspike", learning="bptt", epochs=2, n_input=20, n_hidden=15, trials=2, seeds="0-1")
CASES = {"train": (train, TRAIN), "classify": (classify, CLASSIFY), "floss": (floss, FLOSS),
         "spike-match": (spike_match, SPIKE_MATCH)}  # spike-match: interrupted in its second run (epoch 3 of 4)
STOP_AFTER = 3  # the epoch after which the first attempt is interrupted


def assert_same_results(got, want) -> None:
    for a, b in zip(got, want, strict=True):
        assert a.error == b.error
        pd.testing.assert_frame_equal(pd.DataFrame(a.rows), pd.DataFrame(b.rows), check_exact=True)


class Steps:
    """A progress callback that records its steps and raises KeyboardInterrupt (as Ctrl-C) after ``stop``."""

    def __init__(self, stop: int | None = None):
        self.stop, self.seen = stop, []

    def __call__(self, step, metrics):
        self.seen.append(step)
        if step == self.stop:
            raise KeyboardInterrupt


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("experiment", list(CASES))
def test_an_interrupted_run_resumes_and_ends_with_the_uninterrupted_rows(tmp_path, experiment, dtype):
    run, settings = CASES[experiment]
    configs = expand(experiment, settings | {"dtype": dtype})
    path, notes = tmp_path / "group.ckpt", []
    with pytest.raises(KeyboardInterrupt):
        run(configs, Steps(stop=STOP_AFTER), checkpoint=Checkpointer(path, configs, 0.0, notes.append))
    assert path.exists()
    steps = Steps()
    resumed = run(configs, steps, checkpoint=Checkpointer(path, configs, 0.0, notes.append))
    assert steps.seen[0] == STOP_AFTER + 1  # it went on from the checkpoint, not from the start
    assert notes == [f"resuming {len(configs)} runs from their checkpoint after epoch {STOP_AFTER}"]
    assert_same_results(resumed, run(configs))


def _interrupted(tmp_path, configs):
    path = tmp_path / "group.ckpt"
    with pytest.raises(KeyboardInterrupt):
        train(configs, Steps(stop=STOP_AFTER), checkpoint=Checkpointer(path, configs, 0.0, [].append))
    return path


def test_an_unreadable_checkpoint_is_ignored_with_a_note(tmp_path):
    configs = expand("train", TRAIN)
    path = _interrupted(tmp_path, configs)
    path.write_bytes(path.read_bytes()[:200])  # truncated, as by a full disk
    steps, notes = Steps(), []
    fresh = train(configs, steps, checkpoint=Checkpointer(path, configs, 0.0, notes.append))
    assert steps.seen[0] == 1
    assert len(notes) == 1 and notes[0].startswith(f"ignoring the unreadable checkpoint {path}")
    assert_same_results(fresh, train(configs))


@pytest.mark.parametrize("other", ["other runs", "other version"])
def test_a_checkpoint_of_other_runs_or_another_version_is_ignored_with_a_note(tmp_path, monkeypatch, other):
    configs = expand("train", TRAIN)
    path = _interrupted(tmp_path, configs)
    if other == "other runs":
        configs = expand("train", TRAIN | {"seeds": "0-1"})
    else:
        monkeypatch.setattr(checkpoint_module, "__version__", "0.0.0-other")
    steps, notes = Steps(), []
    fresh = train(configs, steps, checkpoint=Checkpointer(path, configs, 0.0, notes.append))
    assert steps.seen[0] == 1
    assert len(notes) == 1 and notes[0].startswith(f"ignoring the checkpoint {path}: it was written for other runs")
    assert_same_results(fresh, train(configs))


def test_a_checkpoint_is_saved_only_when_its_interval_has_passed(tmp_path):
    configs = expand("train", TRAIN)
    path = tmp_path / "group.ckpt"
    train(configs, checkpoint=Checkpointer(path, configs, float("inf"), [].append))
    assert not path.exists()


def test_resumable_run_functions():
    assert all(resumable(EXPERIMENTS[name].run) for name in CASES)
    assert not resumable(EXPERIMENTS["lyap"].run)


# ------------------------------------------------------------------------------------------------- in a sweep

def interrupted_train(configs, progress, checkpoint=None):
    """``train`` interrupted (KeyboardInterrupt, as Ctrl-C) after epoch STOP_AFTER."""

    def stop(step, metrics):
        progress(step, metrics)
        if step == STOP_AFTER:
            raise KeyboardInterrupt

    return train(configs, stop, checkpoint=checkpoint)


class Notes(SweepDisplay):
    def __init__(self):
        self.notes = []

    def note(self, text):
        self.notes.append(text)


def test_an_interrupted_sweep_resumes_its_task_from_the_checkpoint_beside_the_shards(tmp_path):
    configs = expand("train", TRAIN | {"floss": "none", "dtype": "float32"})
    out = tmp_path / "train.parquet"
    executor = Executor("inline", checkpoint_every=1e-9)  # a checkpoint after every epoch
    with pytest.raises(KeyboardInterrupt):
        run_sweep("train", configs, out, executor=executor, runner=interrupted_train)
    saved = tmp_path / "train.shards" / f"{group_key(configs)}.ckpt"
    assert saved.exists() and torch.load(saved, weights_only=True)["state"]["epoch"] == STOP_AFTER
    display = Notes()
    resumed = run_sweep("train", configs, out, executor=executor, display=display)
    assert display.notes == [f"resuming 3 runs from their checkpoint after epoch {STOP_AFTER}"]
    assert not saved.exists()
    whole = run_sweep("train", configs, tmp_path / "whole.parquet", executor=Executor("inline", checkpoint_every=0))
    assert not list((tmp_path / "whole.shards").glob("*.ckpt"))
    pd.testing.assert_frame_equal(resumed.table, whole.table, check_exact=True)


@pytest.mark.parametrize("seconds", [-1.0, float("nan")])
def test_a_negative_checkpoint_interval_is_refused(seconds):
    with pytest.raises(ExecutorError, match="--checkpoint-every"):
        Executor("inline", checkpoint_every=seconds)


def test_cli_refuses_a_negative_checkpoint_interval(run_cli, tmp_path):
    code, _, err = run_cli("train", "--epochs", "1", "--checkpoint-every", "-5", "--out", str(tmp_path / "t.parquet"))
    assert code == 2
    assert "--checkpoint-every=-5.0 must be >= 0 seconds" in err


def test_a_task_retried_after_its_worker_died_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    """Two worker processes, two tasks; each task's first worker dies after epoch 3; the retries resume (their notes
    come back through the workers' pipes) and the table equals an uninterrupted sweep's."""
    monkeypatch.setenv("SGTHEORY_TEST_MARKERS", str(tmp_path))
    configs = expand("train", TRAIN | {"floss": "none", "delay": [4, 6]})
    display = Notes()
    executor = Executor("processes", workers=2, retries=1, checkpoint_every=1e-9)
    resumed = run_sweep("train", configs, tmp_path / "train.parquet", executor=executor, display=display,
                        runner=dies_once_after_a_checkpoint)
    assert len(list(tmp_path.glob("died-*"))) == 2
    assert display.notes == [f"resuming 3 runs from their checkpoint after epoch {DIES_AFTER}"] * 2
    assert not list((tmp_path / "train.shards").glob("*.ckpt"))
    whole = run_sweep("train", configs, tmp_path / "whole.parquet", executor=Executor("inline", checkpoint_every=0))
    pd.testing.assert_frame_equal(resumed.table, whole.table, check_exact=True)
