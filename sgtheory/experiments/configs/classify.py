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
MODELS = ("dense", "conv")
NEURONS = ("deterministic", "stochastic")
OPTIMIZERS = ("adam", "smorms3")
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
    model: str = "dense"  # dense (Zenke & Vogels LIF layers) | conv (Gygax & Zenke 2025 deep convolutional SNN)
    forward: str = "deterministic"  # conv: deterministic (step) | stochastic (escape noise, Bernoulli(σ(slope·(U−θ))))
    filters: str = "32,64,128"  # conv: channels of the hidden layers (comma-separated; their number is the depth)
    kernels: str = "11,5,5"  # conv: kernel of each hidden layer's feed-forward convolution (no padding)
    strides: str = "1,1,1"  # conv: stride of each feed-forward convolution
    recurrent_kernel: int = 5  # conv with --recurrent: kernel of the recurrent convolution (stride 1, 'same')
    sigma_u: float = 0.0  # conv: target membrane σ_U of the init; 0: 1.0 deterministic, 1.3 stochastic
    init_rate: float = 5.0  # conv: presynaptic rate ν (Hz) of the fluctuation-driven init (randman 5, SHD 15.8)
    optimizer: str = "adam"  # adam | smorms3 (the conv paper's; lr is its step cap)
    smorms3_eps: float = 1e-16  # SMORMS3 ε
    fano_trials: int = 400  # conv: trials of one test sample for the Fano factors and trial rasters (0: skip)
    fano_window: int = 10  # conv: sliding window (steps) of the Fano factor (20 ms at dt = 2)
    trial_rasters: int = 30  # conv: trials whose hidden-layer-2 spikes are stored as rows (kind=trial_spike)
    device: str = "cpu"  # conv: cpu | cuda (nothing needs a GPU)

    BATCHED = ("seed", "slope", "lr", "lower_strength", "lower_threshold", "upper_strength", "upper_threshold",
               "upper_power")
    """Fields that may differ between grid cells that train together as one batched computation."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("model", self.model, MODELS)
        check_choice("forward", self.forward, NEURONS)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("device", self.device, ("cpu", "cuda"))
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
        if self.model == "conv":
            self._check_conv()

    def _check_conv(self) -> None:
        layers = [self.conv_layers(name) for name in ("filters", "kernels", "strides")]
        if len({len(x) for x in layers}) != 1:
            raise ConfigError(f"filters={self.filters!r}, kernels={self.kernels!r} and strides={self.strides!r} "
                              "must list one value per hidden layer")
        if self.surrogate == TRUE_GRADIENT:
            raise ConfigError("model=conv needs a surrogate (surrogate=zero is for the dense model)")
        check_counts(self, positive=("recurrent_kernel", "fano_window"), non_negative=("fano_trials", "trial_rasters"))
        if self.recurrent and self.recurrent_kernel % 2 == 0:
            raise ConfigError(f"recurrent_kernel={self.recurrent_kernel} must be odd (a 'same' convolution)")
        check_positive("init_rate", self.init_rate)
        check_positive("sigma_u", self.sigma_u, strict=False)
        positions = self.units if self.task == "randman" else DATA_SIZES[self.task][1]
        for index, (k, stride) in enumerate(zip(layers[1], layers[2], strict=True)):
            positions = (positions - k) // stride + 1
            if positions < 1:
                raise ConfigError(f"kernels={self.kernels!r}: layer {index} has no output position left "
                                  "(kernel larger than its input)")

    def conv_layers(self, name: str) -> list[int]:
        """The comma-separated positive integers of ``filters``, ``kernels`` or ``strides``."""
        try:
            values = [int(v) for v in str(getattr(self, name)).split(",")]
        except ValueError:
            values = []
        if not values or min(values) < 1:
            raise ConfigError(f"{name}={getattr(self, name)!r} must be comma-separated positive integers, e.g. 32,64")
        return values

    def conv_sigma_u(self) -> float:
        """σ_U of the fluctuation-driven init: ``sigma_u``, or 1.0 (deterministic) / 1.3 (stochastic) (spec §5.4)."""
        return self.sigma_u or (1.3 if self.forward == "stochastic" else 1.0)

    def to_dict(self) -> dict:
        """The fields; a dense-model config leaves out the fields added with the conv model while they hold their
        defaults, so its hashes and columns are those it had before they existed."""
        d = super().to_dict()
        if self.model == "dense":
            for name, value in CONV_DEFAULTS.items():
                if d[name] == value:
                    d.pop(name)
        return d

    def spike_surrogate(self) -> Surrogate:
        from sgtheory.functional.surrogate import make_surrogate

        return make_surrogate(self.surrogate, self.slope, parse_scale(self.scale))

    @classmethod
    def task_bytes(cls, configs: Sequence[ClassifyConfig]) -> float:
        """G cells: one data set per seed (uint8 spike counts, samples × steps × inputs), the weights with their
        gradients and Adam moments, and a minibatch's inputs, LIF_BUFFERS time-major buffers per hidden layer and the
        readout."""
        c, G = configs[0], len(configs)
        if c.model == "conv":
            return c.conv_bytes()
        samples, inputs, classes = ((c.classes * c.samples_per_class, c.units, c.classes) if c.task == "randman"
                                    else DATA_SIZES[c.task])
        data = len({config.seed for config in configs}) * samples * c.steps * inputs
        H = c.hidden
        weights = G * (inputs * H + (c.layers - 1 + c.layers * c.recurrent) * H**2 + H * classes)
        activations = G * c.batch * c.steps * (inputs + c.layers * H * LIF_BUFFERS + 2 * classes)
        return data + ITEMSIZE[c.dtype] * (4 * weights + activations)

    def conv_bytes(self) -> float:
        """One conv run: the data, the dense recurrent operators and, per hidden neuron and step of a minibatch,
        LIF_BUFFERS buffers plus the feed-forward drive; the Fano trials when they exceed the minibatch."""
        samples, inputs, _ = ((self.classes * self.samples_per_class, self.units, self.classes)
                              if self.task == "randman" else DATA_SIZES[self.task])
        P, hidden, operators = inputs, 0, 0
        for C, k, stride in zip(*(self.conv_layers(n) for n in ("filters", "kernels", "strides")), strict=True):
            P = (P - k) // stride + 1
            hidden += C * P
            operators += (C * P) ** 2 if self.recurrent else 0
        rows = max(self.batch, self.fano_trials)
        activations = rows * self.steps * (inputs + hidden * (LIF_BUFFERS + 1))
        return samples * self.steps * inputs + ITEMSIZE[self.dtype] * (3 * operators + activations)

    def batch_key(self) -> str:
        """Runs with equal keys can train together (they differ only in ``BATCHED`` fields); a conv run trains
        alone."""
        if self.model == "conv":
            return self.run_id()
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

    --model conv: the deep convolutional SNN of Gygax & Zenke 2025 (sgtheory spec §5): hidden layers of --filters
    channels, feed-forward 1-D convolutions (--kernels, --strides, no bias), with --recurrent a recurrent
    convolution (--recurrent-kernel); --forward deterministic (step) or stochastic (escape noise
    Bernoulli(σ(slope·(U−θ)))), backward --surrogate in both (fast_sigmoid = SuperSpike; sigmoid --scale 0.25 = the
    scaled sigmoid); fluctuation-driven init (--sigma-u, --init-rate); --optimizer smorms3. Each run trains alone.
    Extra rows: kind=cross (test accuracy evaluated with the deterministic and the stochastic forward),
    kind=fano (per hidden layer: Fano factor over --fano-trials trials of one test sample in sliding --fano-window
    windows, firing rate in Hz), kind=trial_spike (hidden layer 2 over --trial-rasters trials). SHD: --task shd
    --data-dir DIR, binned at --dt ms over --steps bins. The paper's settings: configs/conv_snn.yaml.

    Example: sgtheory classify --config configs/conv_snn.yaml --profile quick --set forward=stochastic
"""  # the CLI help of `sgtheory classify`


CONV_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ClassifyConfig)
                 if f.name in ("model", "forward", "filters", "kernels", "strides", "recurrent_kernel", "sigma_u",
                               "init_rate", "optimizer", "smorms3_eps", "fano_trials", "fano_window",
                               "trial_rasters", "device")}
"""The fields added with the conv model and their defaults (left out of a dense config's dict while default)."""


def check_data(configs) -> None:
    """DataError unless the files of every user data set the runs read (``--data-dir`` of mnist and shd) are there,
    ConfigError if a run asks for ``device=cuda`` where there is none: checked before the sweep starts, so a missing
    data set or GPU is one line and no run begins."""
    from sgtheory.experiments.classify import check_device
    from sgtheory.tasks.digits import check_mnist_dir
    from sgtheory.tasks.shd import check_shd_dir

    for device in sorted({c.device for c in configs}):
        check_device(device)

    for task, data_dir in sorted({(c.task, c.data_dir) for c in configs if c.task in ("mnist", "shd")}):
        (check_mnist_dir if task == "mnist" else check_shd_dir)(data_dir)
