"""The memory estimate: how it scales, the limit it is held against, the CLI's refusal (exit 2, nothing written)
with ``--force`` to run anyway, and every Makefile sweep fitting the 2-core, 24 GiB machine of the README."""

import dataclasses
import shlex
import subprocess
from pathlib import Path

import click
import pandas as pd
import pytest

from sgtheory import memory
from sgtheory.cli import cli, gather
from sgtheory.errors import ConfigError, ResourceError
from sgtheory.executors import Executor
from sgtheory.experiments import EXPERIMENTS, expand
from sgtheory.experiments.configs.classify import ClassifyConfig
from sgtheory.experiments.configs.train import TrainConfig
from sgtheory.memory import GiB, check_memory, sweep_bytes
from sgtheory.sweep import groups_by_condition

WEIGHTS = TrainConfig(task="copy", delay=1, T=2, batch=1, N=1000)  # J dominates
STATES = TrainConfig(N=16, T=1000)  # the training graph dominates


def bytes_of(config, runs=1):
    return type(config).task_bytes([dataclasses.replace(config, seed=s) for s in range(runs)])


def test_doubling_n_quadruples_the_weights_and_doubling_t_or_the_runs_doubles_the_graph():
    assert 3.9 < bytes_of(dataclasses.replace(WEIGHTS, N=2000)) / bytes_of(WEIGHTS) <= 4
    assert bytes_of(dataclasses.replace(STATES, T=2000)) / bytes_of(STATES) == pytest.approx(2, rel=0.01)
    assert bytes_of(STATES, runs=8) == 8 * bytes_of(STATES)
    assert bytes_of(dataclasses.replace(STATES, dtype="float64")) == 2 * bytes_of(STATES)
    lif = dataclasses.replace(STATES, model="lif")  # a 2N-dimensional state
    assert bytes_of(lif) == pytest.approx(2 * bytes_of(STATES), rel=0.01)


def test_classifier_cells_that_share_a_seed_share_their_data_set():
    cell = ClassifyConfig(hidden=10, samples_per_class=1000)
    slopes = [dataclasses.replace(cell, slope=s) for s in (1.0, 10.0)]
    seeds = [dataclasses.replace(cell, seed=s) for s in (0, 1)]
    data = 10 * 1000 * 100 * 20  # one data set: samples × steps × units, uint8
    assert ClassifyConfig.task_bytes(seeds) - ClassifyConfig.task_bytes(slopes) == data


def test_the_limit_is_mem_available_else_the_physical_memory(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\n")
    assert memory.available_bytes(meminfo) == (20000000 * 1024, "MemAvailable")
    meminfo.write_text("MemTotal:       24000000 kB\n")
    physical, source = memory.available_bytes(meminfo)
    assert source == "physical memory" and physical > 0
    assert memory.available_bytes(tmp_path / "absent") == (physical, source)


def test_a_pool_needs_its_concurrent_workers_and_an_external_scheduler_is_not_checked():
    groups = [[dataclasses.replace(STATES, lr=lr)] for lr in (1e-3, 2e-3, 3e-3)]
    task = memory.OVERHEAD * bytes_of(STATES)
    assert sweep_bytes(groups, Executor("inline")) == task
    assert sweep_bytes(groups, Executor("processes", workers=1)) == task  # runs inline
    assert sweep_bytes(groups[:1], Executor("processes", workers=2)) == task  # one task runs inline
    assert sweep_bytes(groups, Executor("processes", workers=2)) == 2 * (memory.PROCESS_BYTES + task)
    assert sweep_bytes(groups, Executor("dask", workers=8)) == 3 * (memory.PROCESS_BYTES + task)
    assert sweep_bytes(groups, Executor("dask", scheduler="tcp://127.0.0.1:8786")) is None


def test_the_message_names_the_estimate_and_the_limit(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemAvailable:   25165824 kB\n")  # 24 GiB
    big = [dataclasses.replace(WEIGHTS, N=40000)]  # the example
    with pytest.raises(ResourceError) as refused:
        check_memory([big], Executor("inline"), meminfo)
    need = memory.OVERHEAD * TrainConfig.task_bytes(big)
    assert 50 * GiB < need < 100 * GiB
    assert (f"the runs need an estimated {need / GiB:.1f} GiB of memory (one task at a time in this process, the "
            "largest of 1 run) but 24.0 GiB are available (MemAvailable)") in str(refused.value)
    check_memory([[WEIGHTS]], Executor("inline"), meminfo)  # fits: no error


def test_the_cli_refuses_a_run_that_cannot_fit_before_writing_anything(run_cli, tmp_path):
    out = tmp_path / "results" / "train.parquet"
    code, _, err = run_cli("train", "--T", "100000000", "--executor", "inline", "--out", str(out))
    assert code == 2
    assert err.startswith("sgtheory: error: the runs need an estimated ") and "GiB are available" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.parent.exists()


def test_force_runs_what_the_estimate_refuses(run_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda meminfo: (1.0, "MemAvailable"))
    out = tmp_path / "scan.parquet"
    args = ("sigmoid-bias", "--scan-points", "11", "--executor", "inline", "--out", str(out))
    code, _, err = run_cli(*args)
    assert code == 2 and "GiB are available (MemAvailable)" in err and not out.exists()
    code, _, err = run_cli(*args, "--force")
    assert code == 0, err
    assert len(pd.read_parquet(out)) == 6 * 11


def test_every_default_config_fits_a_small_machine():
    for name in ("train", "classify", "lyap", "floss", "sigmoid-bias", "conservative-check", "stochastic-neuron",
                 "spike-match", "randman"):
        assert memory.OVERHEAD * max(type(c).task_bytes([c]) for c in expand(name, {})) < 1 * GiB, name


def makefile_sweeps(profile: str):
    """(command line, run configs) of every experiment command that `make all PROFILE=profile` runs."""
    root = Path(__file__).resolve().parents[1]
    text = subprocess.run(["make", "-n", "all", f"PROFILE={profile}"], cwd=root, capture_output=True, text=True,
                          check=True).stdout.replace("\\\n", " ")
    for line in text.splitlines():
        args = shlex.split(line)
        if args and args[0].endswith("sgtheory") and args[1] in EXPERIMENTS:
            params = cli.get_command(click.Context(cli), args[1]).make_context(args[1], args[2:]).params
            options = {key: value for key, value in params.items()
                       if key in {f.name for f in dataclasses.fields(EXPERIMENTS[args[1]].config)}}
            try:
                yield line, gather(args[1], params["config_file"], params["profile"], options, params["sets"])
            except ConfigError:  # a config file without this profile: make stops there too
                continue


@pytest.mark.parametrize("profile", ["quick", "medium", "paper"])
def test_every_makefile_sweep_fits_a_2_core_24_gib_machine(profile):
    sweeps = list(makefile_sweeps(profile))
    assert len(sweeps) >= 10
    for line, configs in sweeps:
        need = sweep_bytes(groups_by_condition(configs), Executor("processes", workers=2))
        assert need < 20 * GiB, line
