"""What every benchmark report shares: the machine it ran on and the JSON tail (elapsed time, load averages)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch


def machine_info(**extra) -> dict:
    """Library versions, BLAS, torch threads, the BLAS thread variables and the platform, plus ``extra`` entries."""
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    return {
        "torch": torch.__version__,
        "torch_blas": "mkl" if torch.backends.mkl.is_available() else "other",
        "numpy": np.__version__,
        "numpy_blas": f"{blas.get('name', '?')} {blas.get('version', '')}".strip(),
        **extra,
        "threads": torch.get_num_threads(),
        "blas_thread_env": {v: os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                           "MKL_NUM_THREADS")},
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor(),
        "python": platform.python_version(),
    }


class Timer:
    """Wall time and 1-minute load average from the start of a benchmark."""

    def __init__(self):
        self.start, self.load_start = time.perf_counter(), os.getloadavg()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def finish_report(report: dict, timer: Timer, out: Path) -> dict:
    """Add the elapsed time and the load averages (a 1-minute load above ~1 means other processes shared the cores
    and may have disturbed the timings), write ``out`` as JSON and print where it went."""
    report |= {"elapsed_s": timer.elapsed, "loadavg_at_start": timer.load_start, "loadavg_at_end": os.getloadavg()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{report['elapsed_s']:.0f} s, 1-min load average {timer.load_start[0]:.2f} at the start and "
          f"{report['loadavg_at_end'][0]:.2f} at the end ({os.cpu_count()} cores); wrote {out}")
    return report
