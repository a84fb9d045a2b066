"""Training LIF classifiers on spike-pattern data sets (Zenke & Vogels 2021; robustness spec §2–§5).

Per epoch every cell sees the whole training set in minibatches of its own seeded order; the loss is the
cross-entropy of the readout logits plus the activity regularisers of every hidden layer, minimised with Adam.
After each epoch the validation and test sets are evaluated. The reported accuracy is the test accuracy at the
epoch of best validation accuracy (decision); the final one is kept too.

Runs that differ only in ``ClassifyConfig.BATCHED`` fields (seed, slope, lr, regulariser settings) train together:
every parameter has a leading cell dimension, the loss is the sum of the per-cell losses, Adam is elementwise and
every product and reduction is computed cell by cell (:mod:`sgtheory.functional.realizations`), so each cell
follows bit for bit the trajectory it would follow alone or in any other batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sgtheory.errors import ConfigError
from sgtheory.experiments.base import (
    DTYPES,
    Checkpoint,
    Progress,
    RunResult,
    restore_results,
    results_state,
    stop_failed,
)
from sgtheory.experiments.configs.classify import TRUE_GRADIENT, ClassifyConfig
from sgtheory.functional.lif import LIFZenkeVogelsLayer
from sgtheory.functional.losses import lower_bound_loss, upper_bound_loss
from sgtheory.functional.surrogate import SHAPES
from sgtheory.models.classifier import Classifier, init_weight, readout_kernel, reuse_large_allocations
from sgtheory.models.conv_snn import (
    ConvClassifier,
    SpikeFunction,
    build_conv_classifier,
    fano_window,
    lif_kernel_energy,
)
from sgtheory.optim import SMORMS3, Adam, finite_per_realization
from sgtheory.seeding import stream, stream_seed

Splits = dict[str, tuple[torch.Tensor, torch.Tensor]]
DATA_FIELDS = ("task", "data_dir", "classes", "units", "manifold_dim", "alpha", "spectrum", "samples_per_class",
               "spikes_per_unit", "steps", "step_frac", "seed", "model", "dt")


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
    elif cfg.model == "conv":  # the conv paper bins SHD at dt over steps·dt (2 ms, 0.7 s; spec §5.1)
        from sgtheory.tasks.shd import shd_dataset

        data = shd_dataset(cfg.data_dir, cfg.seed, steps=cfg.steps, max_time=cfg.steps * cfg.dt / 1000, dtype=counts)
    else:
        from sgtheory.tasks.shd import shd_dataset

        data = shd_dataset(cfg.data_dir, cfg.seed, steps=cfg.steps, dtype=counts)
    return data


class CellData:
    """The data of G cells: one shared set when every cell has the same data (then inputs broadcast, shape (1, …))."""

    def __init__(self, configs: Sequence[ClassifyConfig], dtype: torch.dtype, device: str = "cpu"):
        cache: dict[tuple, Splits] = {}
        keys = [tuple(getattr(c, f) for f in DATA_FIELDS) for c in configs]
        for key, cfg in zip(keys, configs, strict=True):
            if key not in cache:
                cache[key] = load_data(cfg)
        self.sets = [cache[k] for k in keys]
        self.shared = len(cache) == 1
        self.dtype = dtype
        self.device = torch.device(device)
        first = self.sets[0]
        self.units = first["train"][0].shape[-1]
        self.classes = int(max(y.max() for _, y in first.values())) + 1

    def size(self, split: str) -> int:
        return len(self.sets[0][split][1])

    def batch(self, split: str, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (G or 1, b, T, U) and labels (G or 1, b) at ``index`` (G, b); one set when shared and equal."""
        if self.shared and bool((index == index[0]).all()):
            x, y = self.sets[0][split]
            x, y = x[index[0]].unsqueeze(0), y[index[0]].unsqueeze(0)
        else:
            x = torch.stack([s[split][0][i] for s, i in zip(self.sets, index, strict=True)])
            y = torch.stack([s[split][1][i] for s, i in zip(self.sets, index, strict=True)])
        return x.to(self.device).to(self.dtype), y.to(self.device)


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


def _cell_tensor(configs, name: str, dtype, device=None) -> torch.Tensor:
    return torch.tensor([getattr(c, name) for c in configs], dtype=dtype, device=device)


def loss_terms(model: Classifier, configs, x, y) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """Per-cell loss (G,) = mean cross-entropy + regularisers, predictions (G, b) and the hidden spikes."""
    dtype = model.kernel.dtype
    logits, hidden = model(x)
    G, b, K = logits.shape
    ce = F.cross_entropy(logits.reshape(G * b, K), y.expand(G, b).reshape(-1), reduction="none").view(G, b).mean(1)
    device = model.kernel.device
    lower = [_cell_tensor(configs, n, dtype, device) for n in ("lower_strength", "lower_threshold")]
    upper = [_cell_tensor(configs, n, dtype, device) for n in ("upper_strength", "upper_threshold", "upper_power")]
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
        correct += (logits.argmax(-1) == y).sum(1).float().cpu()
        spikes += (sum(s.sum(dim=(1, 2)).mean(-1).float() for s in hidden) / len(hidden)).cpu()
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
        for g, sample, step, neuron in torch.nonzero(spikes).cpu().tolist():
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


def classify(configs: Sequence[ClassifyConfig], progress: Progress | None = None,
             checkpoint: Checkpoint | None = None) -> list[RunResult]:
    """Train the cells ``configs`` (equal ``batch_key``) together; one RunResult per cell. With a ``checkpoint``,
    training resumes from its saved state (weights, Adam, the rows so far, the epoch) and saves one after an epoch
    whenever it is due (the data and each epoch's minibatch order come from streams of the seed: no generator
    state to keep)."""
    cfg = configs[0]
    if any(c.batch_key() != cfg.batch_key() for c in configs):
        raise ValueError("configs trained together must differ only in ClassifyConfig.BATCHED fields")
    dtype = DTYPES[cfg.dtype]
    G = len(configs)
    reuse_large_allocations()
    conv = cfg.model == "conv"
    if conv:
        check_device(cfg.device)
    data = CellData(configs, dtype, cfg.device)
    model = (build_conv(cfg, data.units, data.classes) if conv
             else build_classifier(configs, data.units, data.classes))
    lr = torch.tensor([c.lr for c in configs], dtype=torch.float64)
    optimizer = (SMORMS3(model.parameters, lr, eps=cfg.smorms3_eps) if cfg.optimizer == "smorms3"
                 else Adam(model.parameters, lr, eps=cfg.adam_eps))
    results = [RunResult(c, []) for c in configs]
    alive = torch.ones(G, dtype=torch.bool)
    n_train = data.size("train")

    def record(epoch: int, loss, train_acc) -> np.ndarray:
        """Evaluate, append one row per live cell; returns the per-cell validation accuracy."""
        if conv:
            model.generator = noise(cfg, "eval noise", epoch)
        valid, spikes = evaluate(model, data, "valid", G, cfg.batch)
        test, _ = evaluate(model, data, "test", G, cfg.batch)
        for g in torch.nonzero(alive).flatten().tolist():
            results[g].rows.append({"kind": "epoch", "epoch": epoch, "loss": loss[g], "train_accuracy": train_acc[g],
                                    "valid_accuracy": float(valid[g]), "test_accuracy": float(test[g]),
                                    "hidden_spikes": float(spikes[g])})
        return valid

    def state(epoch: int) -> dict:
        return {"epoch": epoch, "parameters": [p.detach().clone() for p in model.parameters],
                "adam": optimizer.state_dict(), "alive": alive.clone(), "results": results_state(results)}

    saved = None if checkpoint is None else checkpoint.restore()
    if saved is None:
        first = 1
        record(0, [math.nan] * G, [math.nan] * G)
    else:
        first, alive = saved["epoch"] + 1, saved["alive"]
        with torch.no_grad():
            for p, value in zip(model.parameters, saved["parameters"], strict=True):
                p.copy_(value)
        optimizer.load_state_dict(saved["adam"])
        restore_results(results, saved["results"])
    for epoch in range(first, cfg.epochs + 1):
        order = torch.stack([torch.randperm(n_train, generator=stream(c.seed, "batches", epoch)) for c in configs])
        loss_sum = torch.zeros(G, dtype=torch.float64)
        correct = torch.zeros(G)
        if conv:
            model.generator = noise(cfg, "noise", epoch)
        for lo in range(0, n_train, cfg.batch):
            index = order[:, lo:lo + cfg.batch]
            x, y = data.batch("train", index)
            loss, predicted, _ = loss_terms(model, configs, x, y)
            optimizer.zero_grad()
            loss.sum().backward()
            finite = finite_per_realization(loss.detach(), model.parameters).cpu()
            alive = stop_failed(results, alive, finite, f"non-finite loss or gradient in epoch {epoch}; the run "
                                "stopped there")
            optimizer.step(alive)
            loss_sum += loss.detach().double().cpu() * index.shape[1]
            correct += (predicted == y).sum(1).float().cpu()
        if not alive.any():
            break
        valid = record(epoch, (loss_sum / n_train).tolist(), (correct / n_train).tolist())
        if checkpoint is not None and checkpoint.due():
            checkpoint.save(state(epoch))
        if progress is not None:
            progress(epoch, {"valid_acc": float(valid[alive.numpy()].mean())})
    extra = conv_evaluation(model, data, cfg) if conv and alive.all() else []
    if conv:
        model.generator = noise(cfg, "raster noise")
    for result, rasters in zip(results, raster_rows(model, data, G, cfg.raster_samples, cfg.dt), strict=True):
        summary = summarise(result.rows)
        result.rows = [r | summary for r in result.rows] + (rasters + extra if result.error is None else [])
    return results


# --- the deep convolutional SNN of Gygax & Zenke 2025 (sgtheory spec §5) -------------------------------------------

def check_device(device: str) -> None:
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda: no CUDA device is available here (use --device cpu)")


def noise(cfg: ClassifyConfig, purpose: str, *index: int) -> torch.Generator:
    """The escape-noise generator of (run seed, purpose, index) on the run's device."""
    return torch.Generator(device=cfg.device).manual_seed(stream_seed(cfg.seed, purpose, *index))


def build_conv(cfg: ClassifyConfig, units: int, classes: int) -> ConvClassifier:
    """The conv network of one run: LIF constants, one SpikeFunction per layer (its neuron, its surrogate) and the
    fluctuation-driven weights (stream "net")."""
    dtype = DTYPES[cfg.dtype]
    surrogate = cfg.spike_surrogate()
    spike = SpikeFunction(surrogate.derivative, cfg.forward == "stochastic", cfg.slope)
    filters = cfg.conv_layers("filters")
    layer = LIFZenkeVogelsLayer(surrogate.derivative, math.exp(-cfg.dt / cfg.tau_mem), math.exp(-cfg.dt / cfg.tau_syn),
                                cfg.threshold, cfg.diff_reset, cfg.recurrent_grad)
    kernel = readout_kernel(cfg.steps, math.exp(-cfg.dt / cfg.tau_syn), math.exp(-cfg.dt / cfg.tau_readout), dtype)
    epsilon = lif_kernel_energy(cfg.tau_mem, cfg.tau_syn, cfg.dt) / 1000  # ms → s
    return build_conv_classifier(units, classes, filters, cfg.conv_layers("kernels"), cfg.conv_layers("strides"),
                                 cfg.recurrent_kernel if cfg.recurrent else 0, [spike] * len(filters),
                                 [cfg.conv_sigma_u()] * len(filters), cfg.init_rate, epsilon, layer, kernel,
                                 stream(cfg.seed, "net"), cfg.readout, dtype, cfg.device)


MODES = {False: "deterministic", True: "stochastic"}
TRIAL_NEURONS = 5  # neurons of hidden layer 2 whose spikes over trials are stored (the most active ones)


@torch.no_grad()
def conv_evaluation(model: ConvClassifier, data: CellData, cfg: ClassifyConfig) -> list[dict]:
    """Spec §5.6 after training: the test accuracy evaluated with the deterministic and with the stochastic forward
    (kind=cross; the trained one and its swap), and on ``fano_trials`` repetitions of test sample 0, per hidden layer
    and evaluation mode, the sliding-window Fano factor and the firing rate (kind=fano), plus the spikes of hidden
    layer 2 over the first ``trial_rasters`` trials of the network's own mode (kind=trial_spike) and the readout
    traces of the raster samples (:func:`readout_rows`)."""
    rows: list[dict] = []
    duration = cfg.steps * cfg.dt / 1000
    for swap in (False, True):
        net = model.swapped() if swap else model
        mode = MODES[net.spikes[0].stochastic]
        net.generator = noise(cfg, "cross noise", int(swap))
        accuracy, spikes = evaluate(net, data, "test", 1, cfg.batch)
        rows.append({"kind": "cross", "evaluated": mode, "swapped": swap, "test_accuracy": float(accuracy[0]),
                     "hidden_spikes": float(spikes[0])})
        if not cfg.fano_trials:
            continue
        net.generator = noise(cfg, "fano noise", int(swap))
        x, y = data.batch("test", torch.zeros(1, 1, dtype=torch.long))
        layers: list[list[torch.Tensor]] = []
        for lo in range(0, cfg.fano_trials, cfg.batch):
            trials = x.expand(1, min(cfg.batch, cfg.fano_trials - lo), *x.shape[2:])
            layers.append([s[0] for s in net.hidden_spikes(trials)])
        for index, chunks in enumerate(zip(*layers, strict=True)):
            spikes = torch.cat(chunks)  # (trials, T, H)
            rows.append({"kind": "fano", "evaluated": mode, "swapped": swap, "layer": f"hidden{index + 1}",
                         "fano_factor": fano_window(spikes, cfg.fano_window),
                         "firing_rate": float(spikes.sum((1, 2)).mean()) / duration / spikes.shape[-1],
                         "label": int(y[0, 0])})
            if index == 1 and not swap and cfg.trial_rasters:
                shown = spikes[:cfg.trial_rasters]
                neurons = torch.argsort(spikes.sum((0, 1)), descending=True, stable=True)[:TRIAL_NEURONS]
                for trial, step, rank in torch.nonzero(shown[:, :, neurons]).cpu().tolist():
                    rows.append({"kind": "trial_spike", "evaluated": mode, "layer": f"hidden{index + 1}",
                                 "trial": trial, "time": step * cfg.dt, "neuron": int(neurons[rank]), "rank": rank})
    return rows + readout_rows(model, data, cfg)


@torch.no_grad()
def readout_rows(model: ConvClassifier, data: CellData, cfg: ClassifyConfig) -> list[dict]:
    """The readout membranes (kind=readout: ``sample``, ``label``, ``time`` in ms, ``readout_unit``, ``membrane``)
    of the first ``raster_samples`` test inputs, from the same escape noise (stream "raster noise") and hence the
    same spikes as their kind=spike rasters."""
    samples = min(cfg.raster_samples, data.size("test"))
    if samples == 0:
        return []
    model.generator = noise(cfg, "raster noise")
    x, y = data.batch("test", torch.arange(samples)[None])
    trace = model.readout_trace(model.hidden_spikes(x)[-1])[0].cpu()  # (T, samples, K)
    T, _, K = trace.shape
    return [{"kind": "readout", "sample": b, "label": int(y[0, b]), "time": n * cfg.dt, "readout_unit": k,
             "membrane": float(trace[n, b, k])} for b in range(samples) for n in range(T) for k in range(K)]
