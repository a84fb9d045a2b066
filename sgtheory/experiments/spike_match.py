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

import math

import torch

from sgtheory.experiments.base import DTYPES, Checkpoint, RunResult, restore_results, results_state
from sgtheory.experiments.configs.spike_match import SpikeMatchConfig
from sgtheory.functional.losses import filter_in_time
from sgtheory.functional.surrogate import (
    escape_derivative,
    make_surrogate,
)
from sgtheory.models.spike_match_net import Filters, Pass, SpikeMatchNet
from sgtheory.optim import Adam
from sgtheory.seeding import stream
from sgtheory.tasks.spike_match import default_target, frozen_poisson, read_target


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


def spike_match_run(cfg: SpikeMatchConfig, progress=None, checkpoint: Checkpoint | None = None) -> RunResult:
    """Train one run; rows kind = epoch (measures) and kind = spike (rasters of the first and last epoch). With a
    ``checkpoint``, the run resumes from its saved state (weights, Adams, rows so far, epoch) and saves one after an
    epoch whenever it is due (every random draw comes from a stream of the seed and the epoch)."""
    task = SpikeMatcher(cfg)
    rows = raster_rows(task.target, "target", 0, 0, cfg.dt) + raster_rows(task.inputs, "input", 0, 0, cfg.dt)
    optimizers = []
    if cfg.learning == "bptt":
        task.W0.requires_grad_(True)
        task.W1.requires_grad_(True)
        optimizers = [Adam([task.W0], cfg.lr_hidden), Adam([task.W1], cfg.lr_output)]  # one run: rows step together
    first = 0
    saved = None if checkpoint is None else checkpoint.restore()
    if saved is not None:
        first, rows = saved["epoch"] + 1, list(saved["rows"])
        with torch.no_grad():
            task.W0.copy_(saved["W0"])
            task.W1.copy_(saved["W1"])
        for optimizer, state in zip(optimizers, saved["adams"], strict=True):
            optimizer.load_state_dict(state)
    for epoch in range(first, cfg.epochs):
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
        if checkpoint is not None and checkpoint.due():
            checkpoint.save({"epoch": epoch, "rows": rows, "W0": task.W0.detach().clone(),
                             "W1": task.W1.detach().clone(), "adams": [o.state_dict() for o in optimizers]})
        if progress is not None:
            progress(epoch + 1, {"vR": row["van_rossum"], "L2": row["l2"]})
    return RunResult(cfg, rows)


class _RunInTask:
    """The checkpoint of the run in progress of a task whose runs train one after the other: it is saved together
    with the results of the runs finished before it, and its ``epoch`` counts the epochs of the whole task (the
    run's own epochs follow ``offset`` of them)."""

    def __init__(self, checkpoint: Checkpoint, finished: list[RunResult], saved: dict | None, offset: int):
        self.checkpoint, self.finished, self.saved, self.offset = checkpoint, finished, saved, offset

    def restore(self) -> dict | None:
        return self.saved

    def due(self) -> bool:
        return self.checkpoint.due()

    def save(self, state: dict) -> None:
        self.checkpoint.save({"epoch": self.offset + state["epoch"] + 1, "finished": results_state(self.finished),
                              "run": state})


def spike_match(configs, progress=None, checkpoint: Checkpoint | None = None) -> list[RunResult]:
    """Runner of ``sgtheory spike-match`` (each seed its own run, one after the other; progress counts the
    epochs of all of them). With a ``checkpoint``, the task resumes after its finished runs, within the run that
    was in progress."""
    saved = None if checkpoint is None else checkpoint.restore()
    results: list[RunResult] = []
    if saved is not None:
        results = [RunResult(c, []) for c in configs[:len(saved["finished"])]]
        restore_results(results, saved["finished"])
    for index in range(len(results), len(configs)):
        cfg = configs[index]
        offset = index * cfg.epochs
        overall = progress and (lambda step, metrics, offset=offset: progress(offset + step, metrics))
        run_checkpoint = None if checkpoint is None else _RunInTask(checkpoint, results, saved and saved["run"], offset)
        saved = None  # only the run that was in progress resumes
        results.append(spike_match_run(cfg, overall, run_checkpoint))
    return results

