"""Dask clusters on batch systems: ``sgtheory cluster`` starts a dask-jobqueue SLURMCluster from a YAML file of
its keyword arguments (default: the package's ``slurm.yaml``), writes the scheduler file and keeps the scheduler
up; sweeps reach it with ``--scheduler FILE`` (``make all EXECUTOR=dask SCHEDULER=FILE``).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml

from sgtheory.errors import ClusterError

DEFAULT_CONFIG = Path(__file__).with_name("slurm.yaml")  # ships with the package: works from any folder


def slurm_settings(path: str | Path) -> dict:
    """The SLURMCluster keyword arguments in the YAML file ``path`` (unknown keys are refused)."""
    from dask_jobqueue import SLURMCluster
    from dask_jobqueue.core import Job
    from dask_jobqueue.slurm import SLURMJob

    try:
        settings = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ClusterError(f"cannot read cluster config '{path}': {err}") from None
    allowed = (set(inspect.signature(SLURMJob.__init__).parameters) | set(inspect.signature(Job.__init__).parameters)
               | set(inspect.signature(SLURMCluster.__init__).parameters)) - {"self", "scheduler", "name"}
    if not isinstance(settings, dict):
        raise ClusterError(f"cluster config '{path}' must be a mapping of dask_jobqueue.SLURMCluster arguments")
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise ClusterError(f"cluster config '{path}': unknown keys {unknown}; allowed are the keyword arguments of "
                           "dask_jobqueue.SLURMCluster")
    return settings


def slurm_cluster(path: str | Path, scheduler_file: str | Path | None = None):
    """A SLURMCluster configured by ``path``; its scheduler (on this machine) writes ``scheduler_file``. No job is
    submitted until the cluster is scaled."""
    from dask_jobqueue import SLURMCluster

    settings = slurm_settings(path)
    options = {"dashboard_address": ":0"} | (settings.pop("scheduler_options", None) or {})
    if scheduler_file:
        options["scheduler_file"] = str(scheduler_file)
    return SLURMCluster(**settings, scheduler_options=options)
