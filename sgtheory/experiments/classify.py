"""Training LIF classifiers on spike-pattern data sets (Zenke & Vogels 2021; robustness spec §2–§5).

Per epoch every cell sees the whole training set in minibatches of its own seeded order; the loss is the
cross-entropy of the readout logits plus the activity regularisers of every hidden layer, minimised with Adam.
After each epoch the validation and test sets are evaluated. The reported accuracy is the test accuracy at the
epoch of best validation accuracy (decision); the final one is kept too.

Runs that differ only in ``ClassifyConfig.BATCHED`` fields (seed, slope, lr, regulariser settings) train together:
every parameter has a leading cell dimension, the loss is the sum of the per-cell losses and Adam is elementwise,
so each cell follows the trajectory it would follow alone (to the rounding of the batched matrix products).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sgtheory.config import RunConfig, check_choice, check_counts, check_positive, parse_scale, stable_hash
from sgtheory.errors import ConfigError
from sgtheory.experiments.base import DTYPES, Progress, RunResult, stop_failed
from sgtheory.functional.lif import LIFZenkeVogelsLayer
from sgtheory.functional.losses import lower_bound_loss, upper_bound_loss
from sgtheory.functional.surrogate import SHAPES, Surrogate, make_surrogate
from sgtheory.models.classifier import Classifier, init_weight, readout_kernel, reuse_large_allocations
from sgtheory.optim import Adam, finite_per_realization
from sgtheory.seeding import stream

CLASSIFY_TASKS = ("randman", "digits", "mnist", "shd")
TRUE_GRADIENT = "zero"  # surrogate name of the true derivative of the step: h ≡ 0 (the paper's "True")
READOUTS = ("max", "sum", "mean")


@dataclasses.dataclass(frozen=True)
class ClassifyConfig(RunConfig):
    """Spike-pattern classification with a feed-forward or recurrent LIF network (Zenke & Vogels 2021; robustness
    spec §2–§5). The seed draws the data set, the weights and the minibatch order (separate streams)."""

    task: str = "randman"  # randman (synthetic) | digits (scikit-learn 8x8, latency code) | mnist | shd (--data-dir)
    data_dir: str = ""  # mnist/shd: folder with the user's files (never downloaded)
    classes: int = 10  # randman: classes
    units: int = 20  # randman: input units
    manifold_dim: int = 1  # randman: manifold dimension D
    alpha: float = 1.0  # randman: smoothness α of the manifolds
    spectrum: str = "code"  # randman: code (the authors' released generator) | paper (k^-α as printed)
    samples_per_class: int = 1000  # randman: samples per class (split 80/10/10 into train/valid/test)
    spikes_per_unit: int = 1  # randman: spikes of every input unit per sample
    steps: int = 100  # time steps T (Δt = dt ms)
    step_frac: float = 0.5  # randman: spikes fall in the first step_frac·T steps
    hidden: int = 100  # neurons per hidden layer
    layers: int = 1  # hidden layers
    recurrent: bool = False  # all-to-all recurrent weights V in every hidden layer
    recurrent_grad: bool = True  # recurrent: gradients flow through V·S ("Prop"); off: detached ("Ctl")
    diff_reset: bool = False  # back-propagate through the reset ("DR"); default: reset detached
    readout: str = "max"  # logits = max | sum | mean over time of the readout potentials
    surrogate: str = "fast_sigmoid"  # surrogate shape (fast_sigmoid = SuperSpike); zero = the true gradient h ≡ 0
    slope: float = 10.0  # surrogate slope β (1/unit of U)
    scale: str | None = None  # normalized (peak 1) | asymptotic (peak β·k(0)) | a peak value; default: the shape's own
    lr: float = 0.05  # Adam learning rate η
    adam_eps: float = 1e-8  # Adam ε
    batch: int = 0  # minibatch size; 0: 250 for randman, 128 for the other tasks (DECISIONS)
    epochs: int = 50  # passes over the training set
    tau_mem: float = 10.0  # membrane time constant (ms)
    tau_syn: float = 5.0  # synaptic time constant (ms), hidden and readout
    tau_readout: float = 20.0  # readout membrane time constant (ms)
    dt: float = 1.0  # time step (ms)
    threshold: float = 1.0  # firing threshold ϑ
    weight_scale: float = 1.0  # multiplier of the default init U(-1/√fan_in, 1/√fan_in)
    lower_strength: float = 100.0  # λ_lower of the per-neuron lower bound on spikes per input
    lower_threshold: float = 1e-3  # ν_lower (spikes per neuron per input)
    upper_strength: float = 0.0  # λ_upper of the per-layer upper bound (0: off)
    upper_threshold: float = 0.0  # ν_upper (mean spikes per neuron per input)
    upper_power: int = 2  # exponent L of the upper bound (1 or 2)
    raster_samples: int = 3  # test samples whose spikes (input and hidden) are stored after training
    dtype: str = "float32"

    BATCHED = ("seed", "slope", "lr", "lower_strength", "lower_threshold", "upper_strength", "upper_threshold",
               "upper_power")
    """Fields that may differ between grid cells that train together as one batched computation."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("task", self.task, CLASSIFY_TASKS)
        check_choice("spectrum", self.spectrum, ("code", "paper"))
        check_choice("readout", self.readout, READOUTS)
        check_choice("surrogate", self.surrogate, (*SHAPES, TRUE_GRADIENT))
        check_choice("upper_power", self.upper_power, (1, 2))
        check_choice("dtype", self.dtype, DTYPES)
        if self.surrogate != TRUE_GRADIENT:
            try:
                object.__setattr__(self, "scale", str(self.spike_surrogate().resolved_scale))
            except ValueError as err:
                raise ConfigError(str(err)) from None
        if self.batch == 0:
            object.__setattr__(self, "batch", 250 if self.task == "randman" else 128)
        if self.task in ("mnist", "shd") and not self.data_dir:
            raise ConfigError(f"task={self.task} reads your own files: give --data-dir (nothing is downloaded)")
        for name in ("classes", "units", "manifold_dim", "samples_per_class", "spikes_per_unit", "steps", "hidden",
                     "layers", "batch", "epochs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        if self.classes < 2:
            raise ConfigError(f"classes={self.classes} must be >= 2")
        check_counts(self, non_negative=("raster_samples",))
        for name in ("alpha", "lr", "adam_eps", "tau_mem", "tau_syn", "tau_readout", "dt", "threshold",
                     "weight_scale"):
            check_positive(name, getattr(self, name))
        for name in ("lower_strength", "lower_threshold", "upper_strength", "upper_threshold"):
            check_positive(name, getattr(self, name), strict=False)
        if not (0 < self.step_frac <= 1 and self.steps * self.step_frac >= 1):
            raise ConfigError(f"step_frac={self.step_frac} must lie in (0, 1] with steps·step_frac >= 1")

    def spike_surrogate(self) -> Surrogate:
        return make_surrogate(self.surrogate, self.slope, parse_scale(self.scale))

    def batch_key(self) -> str:
        """Runs with equal keys can train together (they differ only in ``BATCHED`` fields)."""
        d = self.to_dict()
        for name in self.BATCHED:
            d.pop(name)
        return stable_hash(d)


CLASSIFY_HELP = """Train LIF classifiers (Zenke & Vogels 2021) on randman, digits, MNIST or SHD.

    A feed-forward or --recurrent network of --layers LIF layers of --hidden neurons (reset detached unless
    --diff-reset; recurrent gradients propagated unless --no-recurrent-grad), readout potentials reduced by --readout,
    cross-entropy plus the per-neuron lower bound (--lower-strength, --lower-threshold) and the per-layer upper
    bound (--upper-strength, --upper-threshold, --upper-power) on spikes per input, Adam (--lr). --surrogate zero is
    the true gradient. mnist/shd read your own files from --data-dir. Runs that differ only in seed, slope, lr or
    the regulariser settings train together as one batched computation. Rows (experiment = classify) kind=epoch:
    loss, train/valid/test_accuracy and hidden_spikes (per neuron per input) per epoch, with best_test_accuracy (at
    the epoch of best validation accuracy) and final_test_accuracy; kind=spike: rasters of --raster-samples test
    inputs.

    Example: sgtheory classify --task randman --surrogate fast_sigmoid --slope 10 --lr 0.05 --epochs 30 --seeds 0-2
"""  # the CLI help of `sgtheory classify`

Splits = dict[str, tuple[torch.Tensor, torch.Tensor]]
DATA_FIELDS = ("task", "data_dir", "classes", "units", "manifold_dim", "alpha", "spectrum", "samples_per_class",
               "spikes_per_unit", "steps", "step_frac", "seed")


def load_data(cfg: ClassifyConfig) -> Splits:
    """The train/valid/test splits of ``cfg.task`` as uint8 spike counts (samples, T, units) and int64 labels."""
    counts = torch.uint8  # spike counts per bin; the dense MNIST training set is then 4.2 GB instead of 17
    if cfg.task == "randman":
        from sgtheory.tasks.randman import randman_dataset

        data = randman_dataset(cfg.seed, cfg.classes, cfg.units, cfg.manifold_dim, cfg.alpha, cfg.samples_per_class,
                               cfg.spikes_per_unit, cfg.steps, cfg.step_frac, spectrum=cfg.spectrum, dtype=counts)
    elif cfg.task == "digits":
        from sgtheory.tasks.digits import digits_dataset

        data = digits_dataset(cfg.seed, steps=cfg.steps, dtype=counts)
    elif cfg.task == "mnist":
        from sgtheory.tasks.digits import mnist_dataset

        data = mnist_dataset(cfg.data_dir, cfg.seed, steps=cfg.steps, dtype=counts)
    else:
        from sgtheory.tasks.shd import shd_dataset

        data = shd_dataset(cfg.data_dir, cfg.seed, steps=cfg.steps, dtype=counts)
    return data


class CellData:
    """The data of G cells: one shared set when every cell has the same data (then inputs broadcast, shape (1, …))."""

    def __init__(self, configs: Sequence[ClassifyConfig], dtype: torch.dtype):
        cache: dict[tuple, Splits] = {}
        keys = [tuple(getattr(c, f) for f in DATA_FIELDS) for c in configs]
        for key, cfg in zip(keys, configs, strict=True):
            if key not in cache:
                cache[key] = load_data(cfg)
        self.sets = [cache[k] for k in keys]
        self.shared = len(cache) == 1
        self.dtype = dtype
        first = self.sets[0]
        self.units = first["train"][0].shape[-1]
        self.classes = int(max(y.max() for _, y in first.values())) + 1

    def size(self, split: str) -> int:
        return len(self.sets[0][split][1])

    def batch(self, split: str, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (G or 1, b, T, U) and labels (G or 1, b) at ``index`` (G, b); one set when shared and equal."""
        if self.shared and bool((index == index[0]).all()):
            x, y = self.sets[0][split]
            return x[index[0]].unsqueeze(0).to(self.dtype), y[index[0]].unsqueeze(0)
        xs = [s[split][0][i] for s, i in zip(self.sets, index, strict=True)]
        ys = [s[split][1][i] for s, i in zip(self.sets, index, strict=True)]
        return torch.stack(xs).to(self.dtype), torch.stack(ys)


def surrogate_derivative(configs: Sequence[ClassifyConfig], dtype: torch.dtype):
    """h(x) for x (G, B, H) with every cell's own slope and peak; h ≡ 0 for the true gradient."""
    cfg = configs[0]
    if cfg.surrogate == TRUE_GRADIENT:
        return torch.zeros_like
    shape = SHAPES[cfg.surrogate]
    factor = torch.tensor([c.spike_surrogate().peak / shape.k0 for c in configs], dtype=dtype).view(-1, 1, 1)
    beta = torch.tensor([c.slope if shape.uses_slope else 1.0 for c in configs], dtype=dtype).view(-1, 1, 1)
    return lambda x: factor * shape.k(beta * x)


def build_classifier(configs: Sequence[ClassifyConfig], units: int, classes: int) -> Classifier:
    """One network per cell, weights from the cell's seed (stream "net", index = layer)."""
    cfg = configs[0]
    dtype = DTYPES[cfg.dtype]
    sizes = [units] + [cfg.hidden] * cfg.layers + [classes]

    def stacked(fan_out, fan_in, index):
        return torch.stack([init_weight(fan_out, fan_in, stream(c.seed, "net", index), c.weight_scale, dtype)
                            for c in configs]).requires_grad_()

    weights = [stacked(sizes[i + 1], sizes[i], i) for i in range(len(sizes) - 1)]
    recurrent = [stacked(cfg.hidden, cfg.hidden, 100 + i) for i in range(cfg.layers)] if cfg.recurrent else []
    layer = LIFZenkeVogelsLayer(surrogate_derivative(configs, dtype), math.exp(-cfg.dt / cfg.tau_mem),
                     math.exp(-cfg.dt / cfg.tau_syn), cfg.threshold, cfg.diff_reset, cfg.recurrent_grad)
    kernel = readout_kernel(cfg.steps, math.exp(-cfg.dt / cfg.tau_syn), math.exp(-cfg.dt / cfg.tau_readout), dtype)
    return Classifier(weights, recurrent, layer, kernel, cfg.readout)


def _cell_tensor(configs, name: str, dtype) -> torch.Tensor:
    return torch.tensor([getattr(c, name) for c in configs], dtype=dtype)


def loss_terms(model: Classifier, configs, x, y) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """Per-cell loss (G,) = mean cross-entropy + regularisers, predictions (G, b) and the hidden spikes."""
    dtype = model.kernel.dtype
    logits, hidden = model(x)
    G, b, K = logits.shape
    ce = F.cross_entropy(logits.reshape(G * b, K), y.expand(G, b).reshape(-1), reduction="none").view(G, b).mean(1)
    lower = [_cell_tensor(configs, n, dtype) for n in ("lower_strength", "lower_threshold")]
    upper = [_cell_tensor(configs, n, dtype) for n in ("upper_strength", "upper_threshold", "upper_power")]
    reg = sum(lower_bound_loss(s.sum(2), *lower) + upper_bound_loss(s.sum(2), *upper) for s in hidden)
    return ce + reg, logits.argmax(-1), hidden


@torch.no_grad()
def evaluate(model: Classifier, data: CellData, split: str, G: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell accuracy and mean spikes per hidden neuron per input on ``split``."""
    n = data.size(split)
    correct = torch.zeros(G)
    spikes = torch.zeros(G)
    for lo in range(0, n, chunk):
        index = torch.arange(lo, min(lo + chunk, n)).expand(G, -1)
        x, y = data.batch(split, index)
        logits, hidden = model(x)
        correct += (logits.argmax(-1) == y).sum(1).float()
        spikes += sum(s.sum(dim=(1, 2)).mean(-1).float() for s in hidden) / len(hidden)
    return (correct / n).numpy(), (spikes / n).numpy()


def raster_rows(model: Classifier, data: CellData, G: int, samples: int, dt: float) -> list[list[dict]]:
    """Spike rows (layer, sample, label, time in ms, neuron) of the first ``samples`` test inputs, per cell."""
    samples = min(samples, data.size("test"))
    out: list[list[dict]] = [[] for _ in range(G)]
    if samples == 0:
        return out
    with torch.no_grad():
        x, y = data.batch("test", torch.arange(samples).expand(G, -1))
        layers = {"input": x.expand(G, *x.shape[1:])}
        layers |= {f"hidden{i + 1}": s for i, s in enumerate(model.hidden_spikes(x))}
    labels = y.expand(G, -1)
    for name, spikes in layers.items():
        for g, sample, step, neuron in torch.nonzero(spikes).tolist():
            out[g].append({"kind": "spike", "layer": name, "sample": sample, "label": int(labels[g, sample]),
                           "time": step * dt, "neuron": neuron})
    return out


def summarise(rows: list[dict]) -> dict[str, float]:
    """Best-validation epoch (ties: the earliest, epoch 0 excluded unless alone) and its test accuracy."""
    trained = [r for r in rows if r["epoch"] > 0] or rows
    best = max(trained, key=lambda r: (r["valid_accuracy"], -r["epoch"]))
    return {"best_epoch": best["epoch"], "best_valid_accuracy": best["valid_accuracy"],
            "best_test_accuracy": best["test_accuracy"], "best_hidden_spikes": best["hidden_spikes"],
            "final_test_accuracy": rows[-1]["test_accuracy"]}


def classify(configs: Sequence[ClassifyConfig], progress: Progress | None = None) -> list[RunResult]:
    """Train the cells ``configs`` (equal ``batch_key``) together; one RunResult per cell."""
    cfg = configs[0]
    if any(c.batch_key() != cfg.batch_key() for c in configs):
        raise ValueError("configs trained together must differ only in ClassifyConfig.BATCHED fields")
    dtype = DTYPES[cfg.dtype]
    G = len(configs)
    reuse_large_allocations()
    data = CellData(configs, dtype)
    model = build_classifier(configs, data.units, data.classes)
    optimizer = Adam(model.parameters, torch.tensor([c.lr for c in configs], dtype=torch.float64), eps=cfg.adam_eps)
    results = [RunResult(c, []) for c in configs]
    alive = torch.ones(G, dtype=torch.bool)
    n_train = data.size("train")

    def record(epoch: int, loss, train_acc) -> np.ndarray:
        """Evaluate, append one row per live cell; returns the per-cell validation accuracy."""
        valid, spikes = evaluate(model, data, "valid", G, cfg.batch)
        test, _ = evaluate(model, data, "test", G, cfg.batch)
        for g in torch.nonzero(alive).flatten().tolist():
            results[g].rows.append({"kind": "epoch", "epoch": epoch, "loss": loss[g], "train_accuracy": train_acc[g],
                                    "valid_accuracy": float(valid[g]), "test_accuracy": float(test[g]),
                                    "hidden_spikes": float(spikes[g])})
        return valid

    record(0, [math.nan] * G, [math.nan] * G)
    for epoch in range(1, cfg.epochs + 1):
        order = torch.stack([torch.randperm(n_train, generator=stream(c.seed, "batches", epoch)) for c in configs])
        loss_sum = torch.zeros(G, dtype=torch.float64)
        correct = torch.zeros(G)
        for lo in range(0, n_train, cfg.batch):
            index = order[:, lo:lo + cfg.batch]
            x, y = data.batch("train", index)
            loss, predicted, _ = loss_terms(model, configs, x, y)
            optimizer.zero_grad()
            loss.sum().backward()
            finite = finite_per_realization(loss.detach(), model.parameters)
            alive = stop_failed(results, alive, finite, f"non-finite loss or gradient in epoch {epoch}; the run "
                                "stopped there")
            optimizer.step(alive)
            loss_sum += loss.detach().double() * index.shape[1]
            correct += (predicted == y).sum(1).float()
        if not alive.any():
            break
        valid = record(epoch, (loss_sum / n_train).tolist(), (correct / n_train).tolist())
        if progress is not None:
            progress(epoch, {"valid_acc": float(valid[alive.numpy()].mean())})
    for result, rasters in zip(results, raster_rows(model, data, G, cfg.raster_samples, cfg.dt), strict=True):
        summary = summarise(result.rows)
        result.rows = [r | summary for r in result.rows] + (rasters if result.error is None else [])
    return results
