"""Runners for the checkpoint tests, importable by spawned worker processes (pytest puts tests/ on sys.path and the
workers inherit it). Markers go to the folder in $SGTHEORY_TEST_MARKERS."""

import os
import signal
from pathlib import Path

from sgtheory.experiments.train import train

DIES_AFTER = 3  # the epoch after which the first attempt of a task kills its own worker


def dies_once_after_a_checkpoint(configs, progress, checkpoint=None):
    """``train`` whose first attempt of each task kills its worker process after epoch DIES_AFTER (as the kernel's
    out-of-memory killer would); the retry runs normally."""
    first = Path(os.environ["SGTHEORY_TEST_MARKERS"]) / f"died-{configs[0].batch_key()}"

    def report(step, metrics):
        progress(step, metrics)
        if step == DIES_AFTER and not first.exists():
            first.touch()
            os.kill(os.getpid(), signal.SIGKILL)

    return train(configs, report, checkpoint=checkpoint)
