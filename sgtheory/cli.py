"""Command-line interface: ``sgtheory <command> --help``.

Each experiment command takes its settings from (in increasing precedence) the config defaults,
``--config FILE`` (with ``--profile``), its own options, and ``--set key=value``. Bad input gets one
line on stderr and exit code 2, before anything is written.

Parsing, ``--help`` and config validation import no torch, numpy or pandas (the registry holds only the torch-free
config classes); a command imports them in its body, once its input is valid.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import get_type_hints

import click

from sgtheory import __version__
from sgtheory.choices import EXECUTORS, FORMATS
from sgtheory.config import field_help, parse_set
from sgtheory.errors import ClusterError, ConfigError, DataError, ExecutorError, ResourceError, ResultsError
from sgtheory.experiments import EXPERIMENTS, Experiment, expand, load_config_file
from sgtheory.experiments.configs.classify import CLASSIFY_TASKS
from sgtheory.memory import check_memory

EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 1


def fail(message: str, code: int = EXIT_BAD_INPUT):
    click.echo(f"sgtheory: error: {message}", err=True)
    sys.exit(code)


def experiment_options(cls: type):
    """One CLI option per field of the config class (``input_scale`` -> ``--input-scale``), its comment as help and
    its default shown."""
    helps, hints = field_help(cls), get_type_hints(cls)

    def decorate(command):
        for f in reversed(dataclasses.fields(cls)):
            if f.name == "seed":
                continue
            flag = "--" + f.name.replace("_", "-")
            text = f"{helps.get(f.name, '')}{'' if f.default is None else f' [default: {f.default}]'}".strip()
            if hints[f.name] is bool:
                command = click.option(f"{flag}/--no-{flag[2:]}", f.name, default=None, help=text)(command)
            else:
                kind = hints[f.name] if hints[f.name] in (int, float) else str
                command = click.option(flag, f.name, type=kind, default=None, help=text)(command)
        return command

    return decorate


def gather(experiment: str, config_file, profile, options: dict, sets) -> list:
    """The run configs of a command invocation (raises ConfigError)."""
    overrides = load_config_file(config_file, profile, experiment) if config_file else {}
    if profile and not config_file:
        raise ConfigError("--profile needs --config FILE")
    overrides.update({k: v for k, v in options.items() if v is not None})
    overrides.update(parse_set(sets))
    return expand(experiment, overrides)


class SweepProgress:
    """One progress bar for a whole sweep: runs done (fractions of the running tasks included), running and
    failed, the ETA, and the latest metrics of a running task. It receives the events of
    :class:`sgtheory.sweep.SweepDisplay` (not its subclass: the sweep module imports pandas)."""

    bar = None

    def start(self, experiment, runs, tasks, where):
        from tqdm import tqdm

        self.running: dict[int, tuple[int, float]] = {}  # task -> (runs, fraction done)
        self.done = self.failed = 0
        if runs:
            interactive = sys.stderr.isatty()
            self.bar = tqdm(total=runs, unit="run", dynamic_ncols=True, mininterval=0.1 if interactive else 30,
                            desc=f"{experiment}: {runs} runs in {tasks} tasks on {where}",
                            bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.1f}/{total} [{elapsed}<{remaining}]"
                                       "{postfix}")

    def _show(self, metrics=None):
        counts = {"done": self.done, "running": sum(size for size, _ in self.running.values()), "failed": self.failed}
        self.bar.set_postfix({**counts, **{k: f"{v:.3f}" for k, v in (metrics or {}).items()}}, refresh=False)
        progress = self.done + self.failed + sum(size * fraction for size, fraction in self.running.values())
        self.bar.update(progress - self.bar.n)

    def task_started(self, index, size, where):
        self.running[index] = (size, 0.0)
        self._show()

    def task_progress(self, index, fraction, metrics):
        if index in self.running:
            self.running[index] = (self.running[index][0], fraction)
            self._show(metrics)

    def task_finished(self, index, ok, failed):
        self.running.pop(index, None)
        self.done += ok
        self.failed += failed
        self._show()

    def note(self, text):
        message = f"sgtheory: note: {text}"
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            click.echo(message, err=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class RegistryGroup(click.Group):
    """The command group: its own commands (plot, report, cluster) plus one sweep command per registered
    experiment (:data:`sgtheory.experiments.EXPERIMENTS`), built when asked for."""

    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *EXPERIMENTS])

    def get_command(self, ctx, name):
        if name in EXPERIMENTS:
            return experiment_command(name, EXPERIMENTS[name])
        return super().get_command(ctx, name)


@click.group(cls=RegistryGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sgtheory")
def cli():
    """Surrogate-gradient theory toolkit: train, analyse and plot (see README.md)."""


def experiment_command(name: str, experiment: Experiment) -> click.Command:
    """The sweep command of a registered experiment: options from its config class, help from the registry."""
    @click.command(name=name, help=experiment.help)
    @click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML config file.")
    @click.option("--profile", help="Profile inside the config file (e.g. quick, paper).")
    @click.option("--seeds", help="Seeds (realizations) to run, e.g. 0-8 or 0,3,5. [default: 0]")
    @experiment_options(experiment.config)
    @click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                  help="Override any config key (YAML value; a list makes a grid axis). Repeatable.")
    @click.option("--out", default=f"results/{name.replace('-', '_')}.parquet", show_default=True,
                  help="Output table (.parquet or .csv).")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), help="Table format (default: from --out suffix).")
    @click.option("--executor", type=click.Choice(EXECUTORS), default="processes", show_default=True,
                  help="Where the runs execute: in this process, a pool of --workers processes, or Dask "
                       "(a local cluster of --workers processes, or the --scheduler's workers).")
    @click.option("--workers", type=int, default=os.cpu_count() or 1, show_default=True,
                  help="Worker processes (processes, or the local Dask cluster).")
    @click.option("--scheduler", metavar="ADDRESS|FILE",
                  help="Dask scheduler address (tcp://host:8786) or scheduler file; implies --executor dask.")
    @click.option("--retries", type=int, default=2, show_default=True,
                  help="Extra attempts for a task whose worker process died.")
    @click.option("--threads", type=int, default=1, show_default=True, help="Torch intra-op threads per task.")
    @click.option("--checkpoint-every", type=float, default=300.0, show_default=True, metavar="SECONDS",
                  help="Save a running task's state this often (after an epoch; train, classify, floss, spike-match) "
                       "beside the shards, so an interrupted run resumes from it; 0: no checkpoints.")
    @click.option("--force", is_flag=True,
                  help="Run even if the memory estimate exceeds the memory available (README, Memory).")
    def command(config_file, profile, seeds, sets, out, fmt, executor, workers, scheduler, retries, threads,
                checkpoint_every, force, **options):
        if seeds is not None:
            options["seeds"] = seeds
        try:
            configs = gather(name, config_file, profile, options, sets)
            if experiment.check_inputs is not None:
                experiment.check_inputs(configs)
        except (ConfigError, DataError) as err:
            fail(str(err))
        from sgtheory.executors import Executor  # pandas: only once the configs are valid (torch: where tasks run)
        from sgtheory.results import check_output
        from sgtheory.sweep import groups_by_condition, run_sweep

        try:
            where = Executor("dask" if scheduler else executor, workers, scheduler, threads, retries, checkpoint_every)
            if not force:
                check_memory(groups_by_condition(configs), where)
            out, fmt = check_output(out, fmt)
        except (ResultsError, ExecutorError, ResourceError) as err:
            fail(str(err))
        try:
            outcome = run_sweep(name, configs, out, fmt, where, SweepProgress(), profile=profile)
        except (DataError, ExecutorError, ResultsError) as err:  # unusable data set, scheduler or output (locked)
            fail(str(err))
        click.echo(f"wrote {len(outcome.table)} rows of {outcome.runs} runs to {out}"
                   + (f" ({outcome.skipped} runs were already complete)" if outcome.skipped else ""))
        if len(outcome.failures):
            for failure in outcome.failures.itertuples():
                click.echo(f"sgtheory: run {failure.run_id} (seed {failure.seed}) {failure.kind}: "
                           f"{failure.message}", err=True)
            fail(f"{len(outcome.failures)} of {len(configs)} runs failed or stopped early; "
                 f"see {outcome.failures_path}", EXIT_RUN_FAILED)

    return command


@cli.command()
@click.argument("figure")
@click.argument("tables", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", required=True, help="Output image (.png); a .pdf is written beside it.")
def plot(figure, tables, out):
    """Draw FIGURE from one or more result TABLES (their rows are combined).

    Figures: training-curves (train), r1 and tanh-flossing (floss), r2 (train with --floss),
    reconcile (lyap), sigmoid-bias (sigmoid-bias: scan and landscape tables), not-gradients
    (conservative-check), theory (stochastic-neuron), spike-match and spike-match-stats (spike-match),
    randman (randman), sg-vs-true, shape-robustness, scale and activity (classify).
    """
    from sgtheory.results import check_writable

    if Path(out).suffix.lower() != ".png":
        fail(f"--out {out}: a figure is written as .png (and a .pdf beside it); give a name ending in .png")
    for table in tables:
        if not Path(table).is_file():
            fail(f"table '{table}' does not exist; run the experiment first (see the Makefile)")
    try:
        check_writable(out, "write figure")
    except ResultsError as err:
        fail(str(err))
    from sgtheory.figures import FIGURES, render

    if figure not in FIGURES:
        fail(f"unknown figure '{figure}'; available: {', '.join(FIGURES)}")
    try:
        paths = render(figure, tables, out)
    except KeyError as err:
        fail(f"cannot draw {figure} from {', '.join(tables)}: they lack a column it needs ({err.args[0]}); figure "
             f"{figure} draws tables of `sgtheory {' / '.join(FIGURES[figure].experiments)}` run with the settings of "
             "its Makefile target")
    except ValueError as err:
        fail(f"cannot draw {figure} from {', '.join(tables)}: {err}")
    click.echo("wrote " + ", ".join(map(str, paths)))


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
def report(folder):
    """Assemble FOLDER/REPORT.md and REPORT.html (images inline) from the report sections that `sgtheory plot`
    wrote there, with a summary of every published figure of every paper: built or not run, claims, profile and
    compute time."""
    from sgtheory.results import check_writable

    try:
        check_writable(Path(folder) / "REPORT.md", "write the report")
    except ResultsError as err:
        fail(str(err))
    from sgtheory.figures import write_report

    path = write_report(folder)
    click.echo(f"wrote {path}, {path.with_suffix('.html')}")


@cli.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="YAML file of dask_jobqueue.SLURMCluster arguments. [default: the package's slurm.yaml, "
                   "`sgtheory cluster --show-config` prints it]")
@click.option("--jobs", type=int, default=8, show_default=True, help="SLURM jobs (one Dask worker each).")
@click.option("--scheduler-file", default="results/scheduler.json", show_default=True,
              help="Where the scheduler writes its address, for --scheduler / SCHEDULER=.")
@click.option("--dry-run", is_flag=True, help="Print the job script of one worker and exit (submits nothing).")
@click.option("--show-config", is_flag=True, help="Print the cluster config in effect (to copy and edit) and exit.")
def cluster(config_file, jobs, scheduler_file, dry_run, show_config):
    """Start a Dask cluster on SLURM (dask-jobqueue) and keep its scheduler up until Ctrl-C.

    Sweeps run on it with --scheduler FILE; the scheduler runs here, the workers in SLURM jobs, and results
    come back to the sweep's client, which writes the tables.

    \b
    Example (the paper profile of every figure):
      sgtheory cluster --jobs 32 &
      make all PROFILE=paper EXECUTOR=dask SCHEDULER=results/scheduler.json
    """
    import time

    from sgtheory.cluster import DEFAULT_CONFIG, slurm_cluster

    config_file = config_file or DEFAULT_CONFIG
    if jobs < 1:
        fail(f"--jobs={jobs} must be >= 1")
    if show_config:
        try:
            click.echo(Path(config_file).read_text(), nl=False)
        except OSError as err:
            fail(f"cannot read cluster config '{config_file}': {err.strerror}")
        return
    try:
        slurm = slurm_cluster(config_file, None if dry_run else scheduler_file)
    except ClusterError as err:
        fail(str(err))
    with slurm:
        if dry_run:
            click.echo(slurm.job_script())
            return
        slurm.scale(jobs=jobs)
        click.echo(f"scheduler at {slurm.scheduler_address} (address in {scheduler_file}); {jobs} jobs requested; "
                   "Ctrl-C stops the cluster and cancels its jobs")
        try:
            while True:
                time.sleep(60)
        except KeyboardInterrupt:
            click.echo("cluster stopped")


def classify_alias(args: list[str]) -> list[str]:
    """``train --task randman|digits|mnist|shd ...`` (the old form) becomes ``classify --task ...``, with a note."""
    if not args or args[0] != "train":
        return args
    tasks = [b for a, b in zip(args, args[1:], strict=False) if a == "--task"]
    tasks += [a.removeprefix("--task=") for a in args if a.startswith("--task=")]
    if not any(task in CLASSIFY_TASKS for task in tasks):
        return args
    click.echo("sgtheory: note: classifiers train with `sgtheory classify` now; running it "
               "(`sgtheory train --task ...` stays an alias)", err=True)
    return ["classify", *args[1:]]


def main() -> None:
    """Entry point: click errors (unknown option, bad type) become one line and exit code 2."""
    try:
        cli.main(args=classify_alias(sys.argv[1:]), standalone_mode=False)
    except click.exceptions.Abort:
        fail("interrupted; finished runs are kept and a rerun resumes", 130)
    except click.exceptions.ClickException as err:
        fail(err.format_message())
    except KeyboardInterrupt:
        fail("interrupted; finished runs are kept and a rerun resumes", 130)
