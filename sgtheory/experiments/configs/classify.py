"""``sgtheory classify``: its config and help; the run is :func:`sgtheory.experiments.classify.classify`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sgtheory.choices import DTYPES, ITEMSIZE, SURROGATES, surrogate_scale
from sgtheory.config import RunConfig, check_choice, check_counts, check_positive, parse_scale, stable_hash
from sgtheory.errors import ConfigError

if TYPE_CHECKING:
    from sgtheory.functional.surrogate import Surrogate

CLASSIFY_TASKS = ("randman", "digits", "mnist", "shd")
TRUE_GRADIENT = "zero"  # surrogate name of the true derivative of the step: h ≡ 0 (the paper's "True")
READOUTS = ("max", "sum", "mean")
DATA_SIZES = {"digits": (1797, 64, 10), "mnist": (70000, 784, 10), "shd": (10420, 700, 20)}  # samples, inputs,
# classes of the standard data sets (randman: from the config), for the memory estimate
LIF_BUFFERS = 8  # (G, batch, steps, hidden) tensors of a hidden layer in a training step (calibrated, README Memory)


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
        check_choice("surrogate", self.surrogate, (*SURROGATES, TRUE_GRADIENT))
        check_choice("upper_power", self.upper_power, (1, 2))
        check_choice("dtype", self.dtype, DTYPES)
        if self.surrogate != TRUE_GRADIENT:
            try:
                resolved = surrogate_scale(self.surrogate, self.slope, parse_scale(self.scale))
            except ValueError as err:
                raise ConfigError(str(err)) from None
            object.__setattr__(self, "scale", str(resolved))
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
        from sgtheory.functional.surrogate import make_surrogate

        return make_surrogate(self.surrogate, self.slope, parse_scale(self.scale))

    @classmethod
    def task_bytes(cls, configs: Sequence[ClassifyConfig]) -> float:
        """G cells: one data set per seed (uint8 spike counts, samples × steps × inputs), the weights with their
        gradients and Adam moments, and a minibatch's inputs, LIF_BUFFERS time-major buffers per hidden layer and the
        readout."""
        c, G = configs[0], len(configs)
        samples, inputs, classes = ((c.classes * c.samples_per_class, c.units, c.classes) if c.task == "randman"
                                    else DATA_SIZES[c.task])
        data = len({config.seed for config in configs}) * samples * c.steps * inputs
        H = c.hidden
        weights = G * (inputs * H + (c.layers - 1 + c.layers * c.recurrent) * H**2 + H * classes)
        activations = G * c.batch * c.steps * (inputs + c.layers * H * LIF_BUFFERS + 2 * classes)
        return data + ITEMSIZE[c.dtype] * (4 * weights + activations)

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


def check_data(configs) -> None:
    """DataError unless the files of every user data set the runs read (``--data-dir`` of mnist and shd) are there:
    checked before the sweep starts, so a missing data set is one line and no run begins."""
    from sgtheory.tasks.digits import check_mnist_dir
    from sgtheory.tasks.shd import check_shd_dir

    for task, data_dir in sorted({(c.task, c.data_dir) for c in configs if c.task in ("mnist", "shd")}):
        (check_mnist_dir if task == "mnist" else check_shd_dir)(data_dir)
