"""Command-line interface: ``sgtheory <command> --help``.

Each experiment command takes its settings from (in increasing precedence) the config defaults,
``--config FILE`` (with ``--profile``), its own options, and ``--set key=value``. Bad input gets one
line on stderr and exit code 2, before anything is written.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import get_type_hints

import click
import torch
from tqdm import tqdm

from sgtheory import __version__
from sgtheory.config import (
    ClassifyConfig,
    ConservativeConfig,
    FlossConfig,
    LyapConfig,
    RandmanConfig,
    SigmoidBiasConfig,
    SpikeMatchConfig,
    StochasticNeuronConfig,
    TrainConfig,
    expand,
    field_help,
    load_config_file,
    parse_set,
    resolve_experiment,
)
from sgtheory.errors import ClusterError, ConfigError, DataError, ExecutorError, ResultsError
from sgtheory.executors import EXECUTORS, Executor
from sgtheory.results import FORMATS, check_output
from sgtheory.sweep import SweepDisplay

EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 1


def fail(message: str, code: int = EXIT_BAD_INPUT):
    click.echo(f"sgtheory: error: {message}", err=True)
    sys.exit(code)


def experiment_options(*classes):
    """One CLI option per config field (``input_scale`` -> ``--input-scale``) of the union of ``classes``, defaults
    shown in help (a later class's own default, where it differs, after a semicolon, named by its OPTION_LABEL)."""
    helps: dict[str, str] = {}
    hints: dict[str, type] = {}
    defaults: dict[str, list[str]] = {}
    for cls in reversed(classes):
        helps |= field_help(cls)
        hints |= get_type_hints(cls)
    fields = {}
    for cls in classes:
        for f in dataclasses.fields(cls):
            if f.name == "seed" or f.default is None and f.name in fields:
                continue
            if f.name not in fields:
                fields[f.name] = f
                defaults[f.name] = [] if f.default is None else [str(f.default)]
            elif f.default != fields[f.name].default:
                defaults[f.name].append(f"{cls.OPTION_LABEL}: {f.default}")

    def decorate(command):
        for f in reversed(list(fields.values())):
            flag = "--" + f.name.replace("_", "-")
            default = f" [default: {'; '.join(defaults[f.name])}]" if defaults[f.name] else ""
            text = f"{helps.get(f.name, '')}{default}".strip()
            if hints[f.name] is bool:
                flag = f"{flag}/--no-{flag[2:]}"
                command = click.option(flag, f.name, default=None, help=text)(command)
            else:
                kind = hints[f.name] if hints[f.name] in (int, float) else str
                command = click.option(flag, f.name, type=kind, default=None, help=text)(command)
        return command

    return decorate


def gather(experiment: str, config_file, profile, options: dict, sets) -> tuple[str, list]:
    """Resolve the experiment (``train`` of a classification task is ``classify``) and the run configs of a command
    invocation (raises ConfigError)."""
    overrides = load_config_file(config_file, profile, experiment) if config_file else {}
    if profile and not config_file:
        raise ConfigError("--profile needs --config FILE")
    overrides.update({k: v for k, v in options.items() if v is not None})
    overrides.update(parse_set(sets))
    experiment = resolve_experiment(experiment, overrides)
    return experiment, expand(experiment, overrides)


class SweepProgress(SweepDisplay):
    """One progress bar for a whole sweep: runs done (fractions of the running tasks included), running and
    failed, the ETA, and the latest metrics of a running task."""

    bar = None

    def start(self, experiment, runs, tasks, where):
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

    def close(self):
        if self.bar is not None:
            self.bar.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sgtheory")
def cli():
    """Surrogate-gradient theory toolkit: train, analyse and plot (see README.md)."""


def experiment_command(name: str, classes: type | tuple[type, ...], default_out: str):
    """A sweep command for experiment ``name``: options from the config dataclass(es) ``classes``; the function it
    decorates supplies the help text."""
    classes = classes if isinstance(classes, tuple) else (classes,)

    def decorate(doc_function):
        @cli.command(name=name, help=doc_function.__doc__)
        @click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML config file.")
        @click.option("--profile", help="Profile inside the config file (e.g. quick, paper).")
        @click.option("--seeds", help="Seeds (realizations) to run, e.g. 0-8 or 0,3,5. [default: 0]")
        @experiment_options(*classes)
        @click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                      help="Override any config key (YAML value; a list makes a grid axis). Repeatable.")
        @click.option("--out", default=default_out, show_default=True, help="Output table (.parquet or .csv).")
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
        def command(config_file, profile, seeds, sets, out, fmt, executor, workers, scheduler, retries, threads,
                    **options):
            from sgtheory.sweep import run_sweep

            if seeds is not None:
                options["seeds"] = seeds
            try:
                experiment, configs = gather(name, config_file, profile, options, sets)
                out, fmt = check_output(out, fmt)
                where = Executor("dask" if scheduler else executor, workers, scheduler, threads, retries)
            except (ConfigError, ResultsError, ExecutorError) as err:
                fail(str(err))
            torch.set_num_threads(threads)
            try:
                outcome = run_sweep(experiment, configs, out, fmt, where, SweepProgress(), profile=profile)
            except (DataError, ExecutorError) as err:  # a user data set (--data-dir) or the scheduler is unusable
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

    return decorate


@experiment_command("train", (TrainConfig, ClassifyConfig), "results/train.parquet")
def train():
    """Train RNNs on the delayed XOR/copy task (optionally with flossing), or LIF classifiers on randman/digits.

    Seeds of one condition train together as one batched computation. Writes one row per
    (run, recorded epoch) with every condition and the measures epoch, loss, accuracy and
    grad_h0_norm (|dL/dh0|); with --floss also floss_steps_taken and floss_lambda1. Finished runs are kept
    as shards beside the output, so rerunning an interrupted sweep only trains the missing runs.

    \b
    Flossing schedules (--floss, decision D6): pre = --floss-pre steps before training;
    pre+inter = plus --floss-steps steps every --floss-every epochs, at most --floss-phases times;
    adaptive = as pre+inter, but a realization flosses only while some flossed exponent is more
    than --floss-tol from --floss-target.

    Example: sgtheory train --task xor --delay 18 --seeds 0-8 --floss adaptive

    \b
    Classification (--task randman | digits | mnist | shd; Zenke & Vogels 2021): a feed-forward or --recurrent
    network of --layers LIF layers of --hidden neurons (reset detached unless --diff-reset; recurrent gradients
    propagated unless --no-recurrent-grad), readout potentials reduced by --readout, cross-entropy plus the
    per-neuron lower bound (--lower-strength, --lower-threshold) and the per-layer upper bound (--upper-strength,
    --upper-threshold, --upper-power) on spikes per input, Adam (--lr). --surrogate zero is the true gradient.
    mnist/shd read your own files from --data-dir. Runs that differ only in seed, slope, lr or the regulariser
    settings train together as one batched computation. Rows (experiment = classify) kind=epoch: loss,
    train/valid/test_accuracy and hidden_spikes (per neuron per input) per epoch, with best_test_accuracy (at the
    epoch of best validation accuracy) and final_test_accuracy; kind=spike: rasters of --raster-samples test inputs.

    Example: sgtheory train --task randman --surrogate fast_sigmoid --slope 10 --lr 0.05 --epochs 30 --seeds 0-2
    """


@experiment_command("lyap", LyapConfig, "results/lyap.parquet")
def lyap():
    """Lyapunov spectrum of a tanh, binary (surrogate) or LIF (surrogate, 2N-dimensional) RNN.

    The network is driven by random input bits (--input-rate, --input-amplitude) from its relaxed
    initial state; --nle exponents are computed by tangent propagation with a QR every
    --ons-interval steps, discarding --transient steps (default 10 + steps/10), in 1/step.
    Writes rows quantity=exponent (index, value) and quantity=lambda1 (the running estimate of
    λ_1 at each recorded step), each with the Kaplan-Yorke dimension and the entropy rate.
    Binary and LIF networks also give damage spreading of their binary outputs: --damage-horizon t
    writes rows quantity=damage (value = mean Hamming distance, in units, step = 1..t steps after
    one unit's output is flipped), --derrida-points P rows quantity=derrida (value = h1, the
    normalised distance one step after flipping a fraction h0 = k/P of the outputs), each over
    --damage-trials trials that run --damage-after driven steps before the flip.

    Example: sgtheory lyap --model binary --slope 0.5 --nle 80 --seeds 0-8
    """


@experiment_command("floss", FlossConfig, "results/floss.parquet")
def floss():
    """Flossing: push the first --nle Lyapunov exponents towards --floss-target.

    Each flossing epoch draws a fresh input sequence of --floss-T steps, estimates λ_1..λ_k and takes
    one Adam step (--floss-lr) on (1/k) Σ (λ_i - λ*)² over the recurrent weights, input weights and
    bias. Writes rows phase=floss (λ_i per epoch; epoch 0 = before flossing) and phase=before/after
    (--spectrum-nle exponents over --spectrum-T steps, the same input for both); with --jacobian-T t,
    also phase=jacobian_before/jacobian_after: log10 σ_i (index i, step 0..t) of the measured long-term
    Jacobian D_t⋯D_1 along the first t steps of that input (float64).

    Example: sgtheory floss --slope 0.5 --nle 1 --epochs 150 --seeds 0-8
    """


@experiment_command("sigmoid-bias", SigmoidBiasConfig, "results/sigmoid_bias.parquet")
def sigmoid_bias():
    """Surrogate gradients vs true gradients in the five-parameter sigmoid network (Gygax & Zenke).

    The network x → g → (h1, h2) → y has sigmoid units of forward steepness --beta; the SG replaces
    each unit's derivative by the --surrogate shape at --slope (β_SG). --panel scan varies one
    parameter (--scan) and writes quantity = output, smoothed_output (the network with β = β_SG),
    integrated_sg (y at the first point + ∫ SG), true_gradient, smoothed_gradient and sg, with the
    summary columns argmin_output, argmin_smoothed_output, argmin_integrated_sg and sign_disagreement
    (fraction of points where SG and true gradient differ in sign). --panel landscape writes the output
    and the integrated-SG landscape over --plane in both integration orders (integrated_sg_1: along the
    first parameter first), with the SG at (--arrow-1, --arrow-2) and path_dependence (max difference of
    the two orders over the landscape's range).

    Example: sgtheory sigmoid-bias --beta 100 --set slope=[15,30]
    """


@experiment_command("conservative-check", ConservativeConfig, "results/conservative_check.parquet")
def conservative_check():
    """Line integral of the SG field around a closed loop in a plane of parameter space.

    A gradient field integrates to zero around every loop; a non-zero integral shows that the SGs are
    not the gradient of any loss. --model sigmoid loops the five-parameter network (forward steepness
    --beta) in the plane of --directions around (--w ... --u2), next to the exact gradient of the
    smoothed network (β = --slope); --model tanh, binary or lif loops the task loss of one fixed batch of
    that recurrent network in a random plane of its weights (seeded; tanh has exact gradients).
    Writes quantity = output, integrated_sg (running integral, per loop step and angle), for sigmoid
    also smoothed_output, integrated_exact and the landscapes, and per run loop_integral, loop_sum
    (without ds, as the paper), exact_loop_integral and relative_loop_integral (loop integral / ∮|t·SG|ds).

    Example: sgtheory conservative-check --model lif --surrogate fast_sigmoid --slope 1 --seeds 0-4
    """


@experiment_command("stochastic-neuron", StochasticNeuronConfig, "results/stochastic_neuron.parquet")
def stochastic_neuron():
    """Stochastic (escape-noise) neurons: SGs as derivatives of expected outputs, and where that breaks.

    Single neuron (panel=neuron, position = u - θ): a raster of --trials Bernoulli(f(u - θ)) spikes, E[S],
    its derivatives and the SG of the deterministic neuron; with ψ = f' the SG equals d/dw E[S] exactly
    (single_neuron_max_error). Five-parameter network with Bernoulli hidden units (panel=network,
    position = the --scan parameter): the exact ∇E[y] by enumerating the 2³ hidden states, the exact
    expectation of the SG (expected_sg) and its mean over --samples samples (mean_sg, mean_sg_sem);
    network_max_gap, network_relative_gap and network_sign_disagreement measure where they differ.

    Example: sgtheory stochastic-neuron --escape sigmoid --slope 5 --samples 2000
    """


@experiment_command("spike-match", SpikeMatchConfig, "results/spike_match.parquet")
def spike_match():
    """Spike-train matching: a 200 → 200 → N LIF network learns to emit an image as its output raster.

    Frozen Poisson input (--n-input units at --input-rate Hz); the target is --target-image (rows =
    output neurons, columns = time steps, dark pixels = spikes) or the generated default (200 × 189,
    27 % spikes). --method superspike (deterministic), stochastic (escape noise, surrogate = its
    derivative) or multilayerspiker; --learning rule (the hand-derived updates of Gygax & Zenke) or bptt
    (autograd through time with Adam on the van Rossum distance; deterministic spikes use --surrogate).
    Rows kind=epoch: van_rossum, l2, rate_hidden, rate_output (Hz), bin_variability_hidden/_output and
    the *_valid measures of a pass with the other stochasticity; rows kind=spike: rasters (layer, trial,
    time in ms, neuron) of the target, the input and the first and last epoch.

    Example: sgtheory spike-match --method stochastic --epochs 1500 --seeds 17
    """


@experiment_command("randman", RandmanConfig, "results/randman.parquet")
def randman():
    """Illustrations of the random-manifold (Randman) data of Zenke & Vogels 2021 (nothing is trained).

    Rows kind=manifold (panel, alpha, dim, manifold, sample, y0, y1, y2, ...: points of random manifolds in an
    --embed-dimensional space): panel=smoothness has one D = 1 manifold per α of --alphas; panel=dimension has
    --manifolds manifolds of smoothness --overlay-alpha for each D of --dims (manifold i seeded by
    --manifold-seed + i). Rows kind=spike (example, label, time in ms, unit): --raster-examples examples per
    class of a --raster-classes-class, --raster-units-unit spike-latency data set drawn with the run seed; every
    unit fires once per example, within the first step_frac·steps ms.

    Example: sgtheory randman --seeds 42 --out results/randman.parquet
    """


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
    from sgtheory.figures import FIGURES, render

    if figure not in FIGURES:
        fail(f"unknown figure '{figure}'; available: {', '.join(FIGURES)}")
    for table in tables:
        if not Path(table).is_file():
            fail(f"table '{table}' does not exist; run the experiment first (see the Makefile)")
    try:
        paths = render(figure, tables, out)
    except (ValueError, KeyError) as err:
        fail(f"cannot draw {figure} from {', '.join(tables)}: {err}")
    click.echo("wrote " + ", ".join(map(str, paths)))


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
def report(folder):
    """Assemble FOLDER/REPORT.md and REPORT.html (images inline) from the report sections that `sgtheory plot`
    wrote there, with a summary of every published figure of every paper: built or not run, claims, profile and
    compute time."""
    from sgtheory.figures import write_report

    path = write_report(folder)
    click.echo(f"wrote {path}, {path.with_suffix('.html')}")


@cli.command()
@click.option("--config", "config_file", default="configs/cluster/slurm.yaml", show_default=True,
              type=click.Path(dir_okay=False), help="YAML file of dask_jobqueue.SLURMCluster arguments.")
@click.option("--jobs", type=int, default=8, show_default=True, help="SLURM jobs (one Dask worker each).")
@click.option("--scheduler-file", default="results/scheduler.json", show_default=True,
              help="Where the scheduler writes its address, for --scheduler / SCHEDULER=.")
@click.option("--dry-run", is_flag=True, help="Print the job script of one worker and exit (submits nothing).")
def cluster(config_file, jobs, scheduler_file, dry_run):
    """Start a Dask cluster on SLURM (dask-jobqueue) and keep its scheduler up until Ctrl-C.

    Sweeps run on it with --scheduler FILE; the scheduler runs here, the workers in SLURM jobs, and results
    come back to the sweep's client, which writes the tables.

    \b
    Example (the paper profile of every figure):
      sgtheory cluster --jobs 32 &
      make all PROFILE=paper EXECUTOR=dask SCHEDULER=results/scheduler.json
    """
    import time

    from sgtheory.cluster import slurm_cluster

    if jobs < 1:
        fail(f"--jobs={jobs} must be >= 1")
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


def main() -> None:
    """Entry point: click errors (unknown option, bad type) become one line and exit code 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        fail("interrupted; finished runs are kept and a rerun resumes", 130)
    except click.exceptions.ClickException as err:
        fail(err.format_message())
    except KeyboardInterrupt:
        fail("interrupted; finished runs are kept and a rerun resumes", 130)
