"""Spike-train matching: a 2-layer LIF network learns to emit an image as a spike raster (sgtheory spec §4).

Network (spec §4.2), per layer, from zero state, time step t = 0 … T−1::

    S[t] = spike(U[t] − θ)
    U[t+1] = λ_m U[t] (1 − S[t]) + (1 − λ_m) I[t]        λ_m = e^{−dt/τ_mem}, λ_s = e^{−dt/τ_syn}
    I[t+1] = λ_s I[t] + Σ_j W[j, i] S_pre[t, j]

``spike`` is the step 1[U > θ] (superspike) or a Bernoulli draw with probability σ(β(U − θ)) (escape
noise: β_h = 10 hidden, β_o = 100 output). The currents are linear in the presynaptic spikes, so each
layer's current is one matrix product with a filter matrix; only the membrane (reset) is iterated.

Learning rule (spec §4.4), per trial, with the filtered presynaptic trace x̂ (the same LIF filter without
reset), the output error δ_o = (z − S_o)/Δu_o, the back-propagated error e_h = δ_o W1ᵀ and the kernel
ε(t_k) = ε0 (e^{−t_k/τ_mem} − e^{−t_k/τ_syn}) on t_k = linspace(0, T·dt, T) (the spec's grid)::

    ΔW1[h, o] = Σ_t δ_o[t, o] x̂_h[t, h]
    ΔW0[i, h] = Σ_t e_h[t, h] Σ_{s≤t} ε[t − s] x̂_in[s, i] ψ_h[s, h]          (direct: O(T²N²))
              = Σ_s x̂_in[s, i] ψ_h[s, h] ẽ_h[s, h],  ẽ_h[s] = Σ_{t≥s} ε[t − s] e_h[t]   (O(T N²))

with ψ_h = β σ'(β(U_h − θ)) (stochastic: the escape-noise derivative), 1/(β|U_h − θ| + 1)² (superspike)
or S_h (multilayerspiker). Each epoch averages lr·ΔW over its trials and adds it. ``learning = bptt``
instead minimises the van Rossum distance by autograd through time (reset detached) with Adam.

Measures per epoch (from the last trial, before the update): van Rossum distance
½ Σ_t ((ε∗z)[t] − (ε∗S_o)[t])² and L2 distance ½ Σ_t (z − S_o)², each averaged over output neurons;
population rates (Hz, mean over neurons and trials); per-bin trial variability (var/mean of each bin's
spike over trials, NaN where the mean is 0, averaged: ``bin_variability``); and the same distances and
rates for one pass with the other stochasticity after the update (``*_valid``).
"""

from __future__ import annotations

import dataclasses
import math

import torch

from sgtheory.config import RunConfig, check_choice, check_positive, parse_scale
from sgtheory.errors import ConfigError, TargetError
from sgtheory.experiments.base import DTYPES, RunResult
from sgtheory.functional.losses import filter_in_time
from sgtheory.functional.surrogate import (
    SHAPES,
    Surrogate,
    escape_derivative,
    make_surrogate,
)
from sgtheory.models.spike_match_net import Filters, Pass, SpikeMatchNet
from sgtheory.optim import Adam
from sgtheory.seeding import stream
from sgtheory.tasks.spike_match import default_target, frozen_poisson, read_target

SPIKE_MATCH_METHODS = ("superspike", "stochastic", "multilayerspiker")
LEARNING_RULES = ("rule", "bptt")


@dataclasses.dataclass(frozen=True)
class SpikeMatchConfig(RunConfig):
    """Spike-train matching with a 2-layer LIF network (Gygax & Zenke; sgtheory spec §4).

    ``method``: superspike (deterministic spikes, SuperSpike surrogate in the hidden layer), stochastic
    (sigmoid escape noise, surrogate = its derivative) or multilayerspiker (escape noise, the hidden spike
    train in place of the surrogate; Gardner et al. 2015). ``learning``: rule (the spec's hand-derived
    updates, §4.4) or bptt (autograd through time with Adam on the van Rossum distance; deterministic
    spikes use --surrogate at --slope, stochastic ones ψ = f′). Zero-valued trials and learning rates
    mean "the method's default" and are resolved when the config is built.
    """

    method: str = "stochastic"  # superspike | stochastic | multilayerspiker
    learning: str = "rule"  # rule (spec §4.4) | bptt (autograd through time, Adam on the van Rossum distance)
    target_image: str = ""  # PNG read as the target (rows = neurons, columns = time steps); "": the generated one
    epochs: int = 1500  # epochs (each: `trials` forward passes, then one update with their mean)
    trials: int = 0  # forward passes per epoch; 0: 10 for stochastic methods, 1 for superspike
    n_input: int = 200  # input neurons (frozen Poisson)
    n_hidden: int = 200  # hidden LIF neurons
    input_rate: float = 50.0  # input rate (Hz)
    dt: float = 1.0  # time step (ms)
    tau_mem: float = 10.0  # membrane time constant (ms)
    tau_syn: float = 5.0  # synaptic time constant (ms)
    threshold: float = 1.0  # firing threshold θ
    beta_hidden: float = 10.0  # steepness of the hidden escape noise σ(β(U - θ)) and of its surrogates
    beta_output: float = 100.0  # steepness of the output escape noise
    du_output: float = 0.013  # Δu_o: the output error is (z - S_o)/Δu_o
    eps0: float = 0.2  # amplitude of the double-exponential kernel ε (error filter and van Rossum distance)
    sigma_u: float = 1.0  # σ_U of the initialisation σ_w = σ_U / sqrt(N · rate · τ_syn²/(2(τ_syn + τ_mem)))
    lr_hidden: float = 0.0  # learning rate of the hidden weights; 0: 1e-5 (rule), 1e-2 (bptt)
    lr_output: float = 0.0  # learning rate of the output weights; 0: 1e-4 for superspike else 1e-5 (rule), 1e-2 (bptt)
    surrogate: str = "fast_sigmoid"  # bptt: surrogate of deterministic spikes (the rule uses the method's own)
    slope: float = 10.0  # bptt: surrogate slope (1/unit of U)
    scale: str | None = None  # bptt: surrogate scale; default: the shape's own
    raster_trials: int = 1  # trials whose rasters are stored at the first and the last epoch
    dtype: str = "float64"

    @property
    def stochastic(self) -> bool:
        return self.method != "superspike"

    def spike_surrogate(self) -> Surrogate:
        return make_surrogate(self.surrogate, self.slope, parse_scale(self.scale))

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("method", self.method, SPIKE_MATCH_METHODS)
        check_choice("learning", self.learning, LEARNING_RULES)
        check_choice("surrogate", self.surrogate, tuple(SHAPES))
        check_choice("dtype", self.dtype, DTYPES)
        try:
            object.__setattr__(self, "scale", str(self.spike_surrogate().resolved_scale))
        except ValueError as err:
            raise ConfigError(str(err)) from None
        for name in ("epochs", "n_input", "n_hidden", "raster_trials"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        for name in ("input_rate", "dt", "tau_mem", "tau_syn", "threshold", "beta_hidden", "beta_output",
                     "du_output", "eps0", "sigma_u"):
            check_positive(name, getattr(self, name))
        for name in ("trials", "lr_hidden", "lr_output"):
            check_positive(name, getattr(self, name), strict=False)
        if self.input_rate * self.dt / 1000 > 1:
            raise ConfigError(f"input_rate={self.input_rate} Hz exceeds one spike per dt={self.dt} ms")
        if self.target_image:
            try:
                read_target(self.target_image)
            except TargetError as err:
                raise ConfigError(str(err)) from None
        bptt = self.learning == "bptt"
        if bptt and self.method == "multilayerspiker":
            raise ConfigError("learning=bptt needs method superspike or stochastic (multilayerspiker is a rule)")
        # bptt: Adam 1e-2 beat 1e-3 in a 100-epoch pilot (van Rossum 0.13 vs 1.2, deterministic)
        defaults = {"trials": 10 if self.stochastic else 1, "lr_hidden": 1e-2 if bptt else 1e-5,
                    "lr_output": 1e-2 if bptt else (1e-4 if self.method == "superspike" else 1e-5)}
        for name, value in defaults.items():
            if getattr(self, name) == 0:
                object.__setattr__(self, name, type(getattr(self, name))(value))
        if self.raster_trials > self.trials:
            raise ConfigError(f"raster_trials={self.raster_trials} exceeds trials={self.trials}")


SPIKE_MATCH_HELP = """Spike-train matching: a 200 → 200 → N LIF network learns to emit an image as its output raster.

    Frozen Poisson input (--n-input units at --input-rate Hz); the target is --target-image (rows =
    output neurons, columns = time steps, dark pixels = spikes) or the generated default (200 × 189,
    27 % spikes). --method superspike (deterministic), stochastic (escape noise, surrogate = its
    derivative) or multilayerspiker; --learning rule (the hand-derived updates of Gygax & Zenke) or bptt
    (autograd through time with Adam on the van Rossum distance; deterministic spikes use --surrogate).
    Rows kind=epoch: van_rossum, l2, rate_hidden, rate_output (Hz), bin_variability_hidden/_output and
    the *_valid measures of a pass with the other stochasticity; rows kind=spike: rasters (layer, trial,
    time in ms, neuron) of the target, the input and the first and last epoch.

    Example: sgtheory spike-match --method stochastic --epochs 1500 --seeds 17
"""  # the CLI help of `sgtheory spike-match`


def hidden_update(input_trace: torch.Tensor, psi: torch.Tensor, error: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """ΔW0 (N_in, N_h) summed over trials: Σ_s x̂_in[s]ᵀ (ψ[s] ⊙ ẽ[s]) with ẽ[s] = Σ_{t≥s} ε[t−s] e[t] (O(T N²)).

    ``input_trace`` (T, N_in) is shared by the trials; ``psi`` and ``error`` are (T, B, N_h); ``eps`` is
    the (T, T) ε filter matrix, whose transpose filters anti-causally."""
    return input_trace.T @ (psi * filter_in_time(eps.T, error)).sum(dim=1)


def init_sigma(cfg: SpikeMatchConfig, fan_in: int) -> float:
    """σ_w = σ_U / sqrt(N ν ε̂), ε̂ = τ_syn²/(2(τ_syn + τ_mem)) in s, ν the input rate (spec §4.3)."""
    eps_hat = (cfg.tau_syn / 1000) ** 2 / (2 * (cfg.tau_syn + cfg.tau_mem) / 1000)
    return cfg.sigma_u / math.sqrt(fan_in * cfg.input_rate * eps_hat)


def build_filters(cfg: SpikeMatchConfig, T: int) -> Filters:
    """The layer filters of a run's configuration for T steps."""
    return Filters.build(T, cfg.dt, cfg.tau_mem, cfg.tau_syn, cfg.eps0, DTYPES[cfg.dtype])


class SpikeMatcher(SpikeMatchNet):
    """One run's network built from its config (the target read or generated, the frozen input and the weights
    drawn from the run's seed), with the learning rule and the measures of the configured method."""

    def __init__(self, cfg: SpikeMatchConfig):
        self.cfg = cfg
        dtype = DTYPES[cfg.dtype]
        target = read_target(cfg.target_image) if cfg.target_image else default_target()
        target = torch.tensor(target.T, dtype=dtype)  # (T, N_out)
        T, n_output = target.shape
        inputs = frozen_poisson(cfg.n_input, T, cfg.input_rate, cfg.dt / 1000, stream(cfg.seed, "input"), dtype)
        gen = stream(cfg.seed, "net")
        W0 = init_sigma(cfg, cfg.n_input) * torch.randn(cfg.n_input, cfg.n_hidden, generator=gen, dtype=dtype)
        W1 = init_sigma(cfg, cfg.n_hidden) * torch.randn(cfg.n_hidden, n_output, generator=gen, dtype=dtype)
        super().__init__(target, inputs, build_filters(cfg, T), W0, W1, cfg.threshold, cfg.beta_hidden,
                         cfg.beta_output, cfg.spike_surrogate())

    def surrogate_hidden(self, run: Pass) -> torch.Tensor:
        """ψ_h (T, B, N_h) of the method (spec §4.4)."""
        x = run.U_h - self.cfg.threshold
        if self.cfg.method == "stochastic":
            return escape_derivative(x, "sigmoid", self.cfg.beta_hidden)
        if self.cfg.method == "superspike":
            return make_surrogate("fast_sigmoid", self.cfg.beta_hidden, "normalized").derivative(x)
        return run.S_h

    def rule_updates(self, run: Pass) -> tuple[torch.Tensor, torch.Tensor]:
        """Trial-averaged (ΔW0, ΔW1) of the learning rule, ΔW0 by anti-causal filtering of the error."""
        trials = run.S_o.shape[1]
        delta_o = (self.target[:, None, :] - run.S_o) / self.cfg.du_output  # (T, B, N_o)
        hidden_trace = filter_in_time(self.filters.trace, run.S_h)
        dW1 = hidden_trace.flatten(0, 1).T @ delta_o.flatten(0, 1) / trials
        error_h = delta_o @ self.W1.T  # (T, B, N_h)
        dW0 = hidden_update(self.input_trace, self.surrogate_hidden(run), error_h, self.filters.eps) / trials
        return dW0, dW1

    def measures(self, run: Pass, suffix: str = "") -> dict[str, float]:
        seconds = self.T * self.cfg.dt / 1000
        out = {f"van_rossum{suffix}": float(self.van_rossum(run.S_o[:, -1:])[0]),
               f"l2{suffix}": float(self.l2(run.S_o[:, -1:])[0]),
               f"rate_hidden{suffix}": float(run.S_h.sum(dim=0).mean() / seconds),
               f"rate_output{suffix}": float(run.S_o.sum(dim=0).mean() / seconds)}
        if not suffix:
            out |= {"bin_variability_hidden": bin_variability(run.S_h),
                    "bin_variability_output": bin_variability(run.S_o)}
        return out


def bin_variability(spikes: torch.Tensor) -> float:
    """Mean over (bin, neuron) of var/mean of the spike across trials (ddof 0; NaN bins where the mean is 0)."""
    if spikes.shape[1] < 2:
        return math.nan
    p = spikes.mean(dim=1)
    ratio = torch.where(p > 0, (p - p**2) / p.clamp(min=1e-300), torch.full_like(p, math.nan))
    return float(torch.nanmean(ratio)) if torch.isfinite(ratio).any() else math.nan


def raster_rows(spikes: torch.Tensor, layer: str, epoch: int, trial: int, dt: float) -> list[dict]:
    """One row per spike of a (T, N) raster."""
    t, n = torch.nonzero(spikes > 0, as_tuple=True)
    return [{"kind": "spike", "epoch": epoch, "layer": layer, "trial": trial, "time": ti * dt, "neuron": ni}
            for ti, ni in zip(t.tolist(), n.tolist(), strict=True)]


def spike_match_run(cfg: SpikeMatchConfig, progress=None) -> RunResult:
    """Train one run; rows kind = epoch (measures) and kind = spike (rasters of the first and last epoch)."""
    task = SpikeMatcher(cfg)
    rows = raster_rows(task.target, "target", 0, 0, cfg.dt) + raster_rows(task.inputs, "input", 0, 0, cfg.dt)
    optimizers = []
    if cfg.learning == "bptt":
        task.W0.requires_grad_(True)
        task.W1.requires_grad_(True)
        optimizers = [Adam([task.W0], cfg.lr_hidden), Adam([task.W1], cfg.lr_output)]  # one run: rows step together
    for epoch in range(cfg.epochs):
        generator = stream(cfg.seed, "spikes", epoch)
        if not optimizers:
            with torch.no_grad():
                run = task.forward(cfg.trials, cfg.stochastic, generator)
                dW0, dW1 = task.rule_updates(run)
                task.W0 += cfg.lr_hidden * dW0
                task.W1 += cfg.lr_output * dW1
        else:
            run = task.forward(cfg.trials, cfg.stochastic, generator, grad=True)
            loss = task.van_rossum(run.S_o).mean()
            for optimizer in optimizers:
                optimizer.zero_grad()
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
            run = Pass(run.U_h.detach(), run.S_h.detach(), run.U_o.detach(), run.S_o.detach())
        row = {"kind": "epoch", "epoch": epoch, **task.measures(run)}
        with torch.no_grad():
            valid = task.forward(1, not cfg.stochastic, stream(cfg.seed, "valid", epoch))
        row |= task.measures(valid, "_valid")
        rows.append(row)
        if epoch in (0, cfg.epochs - 1):
            for trial in range(cfg.raster_trials):
                for layer, spikes in (("hidden", run.S_h), ("output", run.S_o)):
                    rows += raster_rows(spikes[:, trial], layer, epoch, trial, cfg.dt)
        if not (torch.isfinite(task.W0).all() and torch.isfinite(task.W1).all()):
            return RunResult(cfg, rows, f"non-finite weights after epoch {epoch}; the run stopped there")
        if progress is not None:
            progress(epoch + 1, {"vR": row["van_rossum"], "L2": row["l2"]})
    return RunResult(cfg, rows)


def spike_match(configs, progress=None) -> list[RunResult]:
    """Runner of ``sgtheory spike-match`` (each seed its own run, one after the other; progress counts the
    epochs of all of them)."""
    results = []
    for index, cfg in enumerate(configs):
        offset = index * cfg.epochs
        overall = progress and (lambda step, metrics, offset=offset: progress(offset + step, metrics))
        results.append(spike_match_run(cfg, overall))
    return results

