"""Runners for the sweep tests, importable by worker processes (pytest puts tests/ on sys.path, and spawned
workers inherit it). Each wraps the real train runner; markers go to the folder in $SGTHEORY_TEST_MARKERS."""

import os
import signal
import time
from pathlib import Path

from sgtheory.errors import DataError
from sgtheory.experiments.train import train

MARKERS = "SGTHEORY_TEST_MARKERS"
DOOMED_DELAY = 6  # the condition the faulty runners pick on


def marker(name: str) -> Path:
    return Path(os.environ[MARKERS]) / name


def counting(configs, progress):
    """Leaves one marker per run it executes."""
    for config in configs:
        marker(f"ran-{config.run_id()}").touch()
    return train(configs, progress)


def counting_here(configs, progress):
    """Leaves one marker per run in $SGTHEORY_TEST_MARKERS and one in the working directory."""
    for config in configs:
        marker(f"ran-{config.run_id()}").touch()
        Path(f"here-{config.run_id()}").touch()
    return train(configs, progress)


def dies_once(configs, progress):
    """Kills its own worker process the first time it meets the doomed condition."""
    first = marker(f"killed-{configs[0].batch_key()}")
    if configs[0].delay == DOOMED_DELAY and not first.exists():
        first.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return train(configs, progress)


def always_dies(configs, progress):
    """Kills its own worker process every time it meets the doomed condition."""
    if configs[0].delay == DOOMED_DELAY:
        marker(f"killed-{configs[0].batch_key()}-{os.getpid()}").touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return train(configs, progress)


def raises(configs, progress):
    """Raises for the doomed condition, as a run with a bad config or a bug would."""
    if configs[0].delay == DOOMED_DELAY:
        raise ValueError(f"delay {DOOMED_DELAY} is not supported by this runner")
    return train(configs, progress)


def missing_data(configs, progress):
    """Fails as a sweep over a missing user data set does: at once, in every task."""
    raise DataError("the data set is missing")


def slow_dies_once(configs, progress):
    """Every task first waits 2 s, so another task is always running when the doomed one kills its worker."""
    time.sleep(2)
    return dies_once(configs, progress)
