"""Will a sweep fit in memory? Its estimate, against the memory available, before anything runs (torch-free).

Each config class estimates the peak bytes of the tensors of one task, a batched group of runs
(``RunConfig.task_bytes``: the dominant tensors of its computation, element counts times the dtype's size). A
process running a task needs that times :data:`OVERHEAD` plus :data:`PROCESS_BYTES`; a sweep needs the processes it
runs at once: the client alone (``inline``, or a pool of one worker or one task) or one process per worker running
the largest tasks (``processes``, a local Dask cluster). A sweep on an external Dask scheduler is not checked (its
workers' memory is not this machine's). The limit is ``MemAvailable`` of ``/proc/meminfo`` (what can be allocated
without swapping, other processes' use taken off), else the physical memory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sgtheory.errors import ResourceError

GiB = 2**30
PROCESS_BYTES = 0.4 * GiB  # a worker with torch, pandas and sgtheory imported, before its tensors (measured 0.32)
OVERHEAD = 1.5  # temporaries and allocator fragmentation beyond the counted tensors (README, Memory: measured ≤ 1.45)
ROW_BYTES = 1000  # one recorded row (a dict of floats) until the task returns, and its share of the table


def available_bytes(meminfo: str | Path = "/proc/meminfo") -> tuple[float, str] | None:
    """The memory new processes can use and where that number comes from, or None where neither is known."""
    try:
        for line in Path(meminfo).read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "MemAvailable":
                return float(value.split()[0]) * 1024, "MemAvailable"
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")), "physical memory"
    except (AttributeError, OSError, ValueError):
        return None


def concurrent_processes(executor, tasks: int) -> int | None:
    """Worker processes that run tasks at once (0: the tasks run in this process), None on an external scheduler."""
    if executor.kind == "dask" and executor.scheduler:
        return None
    if executor.kind == "inline" or (executor.kind == "processes" and (executor.workers == 1 or tasks == 1)):
        return 0
    return min(executor.workers, tasks)


def sweep_bytes(groups: Sequence[Sequence], executor) -> float | None:
    """Estimated bytes a sweep of the tasks ``groups`` needs beyond what the calling client already holds (it has
    imported torch), or None where it is not checked."""
    workers = concurrent_processes(executor, len(groups))
    if workers is None or not groups:
        return None
    tasks = sorted((OVERHEAD * type(group[0]).task_bytes(group) for group in groups), reverse=True)
    if workers == 0:
        return tasks[0]
    return sum(PROCESS_BYTES + task for task in tasks[:workers])


def check_memory(groups: Sequence[Sequence], executor, meminfo: str | Path = "/proc/meminfo") -> None:
    """ResourceError (the estimate and the limit in one line) unless the sweep of ``groups`` on ``executor`` fits in
    the available memory."""
    need = sweep_bytes(groups, executor)
    limit = available_bytes(meminfo)
    if need is None or limit is None or need <= limit[0]:
        return
    runs = len(max(groups, key=lambda group: type(group[0]).task_bytes(group)))
    workers = concurrent_processes(executor, len(groups))
    where = "one task at a time in this process" if workers == 0 else f"{workers} tasks at once in worker processes"
    raise ResourceError(
        f"the runs need an estimated {need / GiB:.1f} GiB of memory ({where}, the largest of {runs} "
        f"run{'s' if runs > 1 else ''}) but {limit[0] / GiB:.1f} GiB are available ({limit[1]}); use smaller sizes, "
        "fewer seeds per condition or fewer --workers, or --force to run anyway")
