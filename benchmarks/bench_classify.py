"""Seconds per training epoch of the LIF classifier (Zenke & Vogels 2021): sgtheory vs snnTorch and Norse.

Workload (the randman shape of ``ClassifyConfig``): minibatches of 250 inputs of T = 100 steps (Δt = 1 ms) from 20
input units, 100 hidden LIF neurons (τ_syn 5 ms, τ_mem 10 ms, threshold 1, reset to 0), 10 non-spiking leaky
readout units (τ_syn 5 ms, τ_readout 20 ms), logits = max over time of the readout potentials, loss = cross-entropy
+ the per-neuron lower-bound activity regulariser (λ = 100, ν = 1e-3; ``--no-lower-bound``: off), fast-sigmoid
(SuperSpike) surrogate of slope 10, one Adam step (lr 0.05) per minibatch, 1 torch thread unless a row says so.
The inputs are synthetic rather than randman (fast to set up, same density): every input unit spikes once per
sample at a uniform random step among the first T/2; labels are uniform over the 10 classes. One epoch =
``--minibatches`` minibatches (default 32, i.e. 8000 samples, the randman training-set size).

Implementations (rows of the report):

- ``sgtheory_single``: one network (G = 1), trained exactly as the minibatch loop of
  ``sgtheory.experiments.classify.classify`` (``loss_terms``, backward through the custom autograd Function of
  ``sgtheory.models.classifier``, finiteness check, ``sgtheory.optim.Adam``); slope 10.
- ``sgtheory_batched8``: G = 8 grid cells (slopes 0.5 … 100, the same seed, so the same data) in one batched
  computation; throughput = networks·epochs per second = 8 / (seconds per epoch).
- ``sgtheory_batched8_2threads``: the same with ``torch.set_num_threads(2)`` (an extra row; the machine has 2 cores).
- ``sgtheory_sequential8``: the 8 cells as 8 separate single networks, one after the other (per round, the sum of
  their 8 epoch times); the baseline of the batched speed-up, measured in the same run.
- ``snntorch_single``: snnTorch ``Synaptic`` hidden neurons (alpha = exp(−1/5), beta = exp(−1/10), threshold 1,
  reset_mechanism "zero", ``surrogate.fast_sigmoid(slope=10)``) and a ``Synaptic`` readout with
  reset_mechanism "none" (alpha = exp(−1/5), beta = exp(−1/20); its spikes are unused: a non-spiking leaky
  readout with the same synaptic filter as sgtheory's), bias-free ``nn.Linear`` layers applied to the whole
  sequence before each time loop, ``torch.optim.Adam``.
- ``norse_single``: Norse ``LIF`` (``LIFCell``'s ``lif_feed_forward_step`` looped over time; the network is
  feed-forward, so no ``LIFRecurrentCell``) with ``LIFParameters(method="super", alpha=10, v_th=1, v_reset=0)``,
  dt = 1e-3, and an ``LI`` readout (``LICell``'s step looped over time), bias-free ``nn.Linear``, Adam.

Initialisation: every implementation starts from the same weights, sgtheory's ``build_classifier`` draw
(W ~ U(−1/√fan_in, 1/√fan_in) per layer from the seed stream "net", which is also the distribution of the default
``nn.Linear`` init), so the losses can be compared at initialisation:

- sgtheory uses the matrices as drawn.
- snnTorch has no (1 − β) factor on the current entering the membrane (mem = β mem + syn), so its weights are
  sgtheory's times (1 − β_mem) (hidden) and (1 − β_out) (readout). Without this folding (snnTorch's default
  ``nn.Linear`` init) its drive would be 1/(1 − β) ≈ 10.5× larger: a different network.
- Norse's Euler update v ← v + Δt τ_m⁻¹ (v_leak − v + i) has the (1 − β) factor built in, so it takes the
  matrices as drawn. Its per-step decays are 1 − Δt τ⁻¹; with the nominal τ_syn⁻¹ = 200 s⁻¹, τ_mem⁻¹ = 100 s⁻¹
  they would be 0.8 and 0.9 instead of exp(−1/5) = 0.819 and exp(−1/10) = 0.905. We pass
  τ⁻¹ = (1 − e^{−Δt/τ})/Δt (181.3 and 95.2 s⁻¹; the LI readout 181.3 and 48.8 s⁻¹) so that the per-step
  factors are sgtheory's.

Honest differences of the dynamics and gradients (they do not change the work per step, which is dense):

- Update order. sgtheory: S[n] = Θ(U[n] − 1), U[n+1] = (β U[n] + (1 − β) I[n])(1 − S[n]),
  I[n+1] = α I[n] + W x[n], so an input at step n first moves U at n + 2. snnTorch: syn[t] = α syn[t−1] + W x[t],
  mem[t] = (β mem[t−1] + syn[t])(1 − Θ(mem[t−1] − 1)), spk[t] = Θ(mem[t] − 1): the current and the membrane are
  updated before the spike within the same step. With the folded weights this is sgtheory's network advanced by
  two steps (spk[t] = S[t+2], the readout by four), so only the last steps of the window differ (snnTorch
  simulates steps sgtheory never reaches, and its max over time misses sgtheory's first four steps, where
  U_o = 0 anyway). Norse: i ← i + W x[n]; v ← β v + (1 − β) i; i ← α i; z = Θ(v − 1); v ← (1 − z) v, i.e. the
  same two-step advance, but the reset zeroes v *before* the next step adds (1 − β) i, whereas sgtheory and
  snnTorch also drop the current of the step after a spike: trajectories after a spike differ slightly.
- Reset gradient. sgtheory (default ``diff_reset`` off) and snnTorch (detached reset signal) do not
  back-propagate through the reset; Norse does (z enters (1 − z) v + z v_reset with its surrogate gradient).
- Surrogate. sgtheory's normalized fast sigmoid and snnTorch's ``fast_sigmoid(slope=10)`` are both
  h(x) = 1/(10|x| + 1)². Norse 1.1.0's ``SuperSpike.backward`` ignores ``alpha`` and uses 1/(|x| + 1)², slope 1;
  the script measures the slope Norse's threshold actually back-propagates and reports it
  (``peers.norse.surrogate_slope_effective``).
- Computation. sgtheory loops over time inside a custom autograd Function (no autograd graph per step, the
  backward pass is an explicit adjoint loop, the readout is a (T, T) kernel matrix product, G networks share each
  operation). snnTorch and Norse build an autograd graph of every step and back-propagate through it. snnTorch
  also evaluates its spike function twice per step (the detached reset signal is a second call).
- The peers are given the same obvious optimisation as sgtheory: each layer's ``nn.Linear`` is applied to the
  whole (T, B, ·) sequence at once before the time loop, not step by step.

Sanity check (``init_check`` in the report, asserted by tests/test_bench_classify.py): on the first minibatch,
before training, the snnTorch and sgtheory single networks' losses must be of the same order (ratio within
[0.5, 2]); reported too: the Norse loss, the logits' difference, and the fraction of hidden (sample, neuron, step)
entries whose spikes differ from sgtheory's advanced by two steps (0 for snnTorch up to rounding).

Timing: every implementation is built (and its peer library imported) before the clock starts; then the
implementations take turns, one full epoch each per round (so all see the same load on the shared machine), for
``--warmup`` untimed rounds and ``--epochs`` timed ones. Seconds per epoch are *measured*, never extrapolated:
each timed epoch runs all ``--minibatches`` minibatches; the median over the timed epochs is reported (min and
all values too). glibc's allocator is told to keep large blocks (``reuse_large_allocations``, as ``classify``
does) for the whole process, so the peers profit from it as well. Each row also has its process CPU time per
epoch and ``cpu_over_wall`` per epoch (with 1 thread, well below 1 means the epoch waited for a core), and the
report has the load average after every round: this machine is shared. The 2-thread row is meaningful only on an
otherwise idle machine: with one other busy process on the 2 cores, torch's OpenMP threads wait for each other at
every operation and the row came out 10–40× slower than 1 thread (its CPU time ≈ its wall time).

Goals (measured here, never asserted in tests): sgtheory's single network at least as fast as the fastest peer's
single network, and the throughput of 8 batched cells at least 3× that of one sgtheory network (1 thread), at the
quick profiles' minibatch of 50 (``--batch 50``).

Peers are optional (``pip install -e .[bench]`` brings snnTorch, nir and nirtorch; Norse 1.1.0 declares
torchvision, which pip would satisfy by replacing the pinned torch, so install it with
``pip install --no-deps "norse==1.1.0"``; it imports and runs without torchvision). A peer that cannot be imported
or built is reported as "unavailable: <reason>" and the script still runs.

Usage: .venv/bin/python benchmarks/bench_classify.py [--minibatches 32] [--batch 250] [--steps 100]
                                                     [--epochs 5] [--warmup 1] [--no-lower-bound]
                                                     [--out benchmarks/out/bench_classify.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.metadata
import math
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from common import Timer, finish_report, machine_info  # noqa: E402  (benchmarks/ is on sys.path)
from torch import nn

from sgtheory.experiments.classify import ClassifyConfig, build_classifier, loss_terms
from sgtheory.functional.losses import lower_bound_loss
from sgtheory.models.classifier import reuse_large_allocations
from sgtheory.optim import Adam

PEERS = {"snntorch": "snntorch", "norse": "norse.torch"}  # peer name -> module imported to use it
SLOPES = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)  # the 8 grid cells (same seed)
SINGLE_SLOPE = 10.0
GOAL_BATCHED_THROUGHPUT = 3.0
SAME_ORDER = (0.5, 2.0)  # the init-loss ratio snnTorch / sgtheory must lie in this range
SPIKE_SHIFT = 2  # peers' hidden spikes at t are sgtheory's at t + 2


# ---------------------------------------------------------------- workload


def make_config(args: argparse.Namespace, slope: float) -> ClassifyConfig:
    return ClassifyConfig(units=args.units, classes=args.classes, steps=args.steps, hidden=args.hidden,
                          batch=args.batch, slope=slope, seed=args.seed,
                          lower_strength=100.0 if args.lower_bound else 0.0)


def synthetic_batches(args: argparse.Namespace) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``--minibatches`` minibatches (x (B, T, U) float 0/1, y (B,)): each input unit spikes once per sample at a
    uniform step among the first ``steps·step_frac`` (randman's density); uniform labels."""
    generator = torch.Generator().manual_seed(args.seed)
    window = max(1, int(args.steps * ClassifyConfig.step_frac))
    out = []
    for _ in range(args.minibatches):
        when = torch.randint(0, window, (args.batch, 1, args.units), generator=generator)
        x = torch.zeros(args.batch, args.steps, args.units).scatter_(1, when, 1.0)
        out.append((x, torch.randint(0, args.classes, (args.batch,), generator=generator)))
    return out


def decays(cfg: ClassifyConfig) -> dict[str, float]:
    return {"syn": math.exp(-cfg.dt / cfg.tau_syn), "mem": math.exp(-cfg.dt / cfg.tau_mem),
            "out": math.exp(-cfg.dt / cfg.tau_readout)}


# ---------------------------------------------------------------- sgtheory


class SgtheoryRunner:
    """G cells trained together, as the minibatch loop of ``classify`` does it."""

    def __init__(self, configs: list[ClassifyConfig]):
        cfg = configs[0]
        self.configs = configs
        self.model = build_classifier(configs, cfg.units, cfg.classes)
        lr = torch.tensor([c.lr for c in configs], dtype=torch.float64)
        self.optimizer = Adam(self.model.parameters, lr, eps=cfg.adam_eps)
        self.alive = torch.ones(len(configs), dtype=torch.bool)

    def epoch(self, batches) -> None:
        G = len(self.configs)
        loss_sum, correct = torch.zeros(G, dtype=torch.float64), torch.zeros(G)
        for x, y in batches:
            x, y = x.unsqueeze(0), y.unsqueeze(0)  # shared data: (1, B, T, U), (1, B)
            loss, predicted, _ = loss_terms(self.model, self.configs, x, y)
            for p in self.model.parameters:
                p.grad = None
            loss.sum().backward()
            finite = torch.isfinite(loss.detach())
            for p in self.model.parameters:
                finite &= torch.isfinite(p.grad.flatten(1)).all(dim=1)
            self.alive &= finite
            self.optimizer.step(self.alive)
            loss_sum += loss.detach().double() * y.shape[1]
            correct += (predicted == y).sum(1).float()

    @torch.no_grad()
    def init_outputs(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        loss, _, hidden = loss_terms(self.model, self.configs, x.unsqueeze(0), y.unsqueeze(0))
        logits, _ = self.model(x.unsqueeze(0))
        return {"loss": float(loss[0]), "logits": logits[0], "spikes": hidden[0][0]}  # spikes (B, T, H)


# ---------------------------------------------------------------- peers


def load_peer(name: str):
    """(module, version) of a peer, or (None, "unavailable: <reason>")."""
    try:
        module = importlib.import_module(PEERS[name])
    except Exception as err:  # noqa: BLE001 - any failure to import means "unavailable"
        return None, f"unavailable: {type(err).__name__}: {err}"
    try:
        version = importlib.metadata.version(PEERS[name].split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        version = getattr(module, "__version__", "unknown")
    return module, version


def lower_bound(spikes: torch.Tensor, cfg: ClassifyConfig) -> torch.Tensor:
    """sgtheory's lower-bound regulariser of hidden spikes (T, B, H) of one network (a scalar)."""
    counts = spikes.sum(0).unsqueeze(0)
    return lower_bound_loss(counts, torch.tensor([cfg.lower_strength]), torch.tensor([cfg.lower_threshold]))[0]


class PeerNet(nn.Module):
    """Input layer, hidden spiking layer and readout of one peer; forward(x (B, T, U)) → (logits, spikes (T, B, H))."""

    def __init__(self, cfg: ClassifyConfig, weights: list[torch.Tensor], scales: tuple[float, float]):
        super().__init__()
        self.fc_in = nn.Linear(cfg.units, cfg.hidden, bias=False)
        self.fc_out = nn.Linear(cfg.hidden, cfg.classes, bias=False)
        with torch.no_grad():
            self.fc_in.weight.copy_(weights[0][0] * scales[0])
            self.fc_out.weight.copy_(weights[1][0] * scales[1])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spikes = self.hidden(self.fc_in(x).transpose(0, 1))  # (T, B, H)
        return self.readout(self.fc_out(spikes)).amax(dim=0), spikes


class SnnTorchNet(PeerNet):
    def __init__(self, snn, cfg: ClassifyConfig, weights: list[torch.Tensor]):
        d = decays(cfg)
        super().__init__(cfg, weights, (1 - d["mem"], 1 - d["out"]))  # snnTorch has no (1 − β) input factor
        surrogate = importlib.import_module("snntorch.surrogate")
        self.lif = snn.Synaptic(alpha=d["syn"], beta=d["mem"], threshold=cfg.threshold,
                                spike_grad=surrogate.fast_sigmoid(slope=cfg.slope), reset_mechanism="zero")
        self.li = snn.Synaptic(alpha=d["syn"], beta=d["out"], reset_mechanism="none")

    def hidden(self, drive: torch.Tensor) -> torch.Tensor:
        syn = mem = torch.zeros_like(drive[0])
        spikes = []
        for step in drive:
            spk, syn, mem = self.lif(step, syn, mem)
            spikes.append(spk)
        return torch.stack(spikes)

    def readout(self, drive: torch.Tensor) -> torch.Tensor:
        syn = mem = torch.zeros_like(drive[0])
        potentials = []
        for step in drive:
            _, syn, mem = self.li(step, syn, mem)
            potentials.append(mem)
        return torch.stack(potentials)


def norse_rates(cfg: ClassifyConfig) -> dict[str, float]:
    """Inverse time constants (1/s) whose Euler factors 1 − Δt τ⁻¹ equal sgtheory's exp(−Δt/τ)."""
    dt = cfg.dt * 1e-3
    return {name: (1 - value) / dt for name, value in decays(cfg).items()}


class NorseNet(PeerNet):
    def __init__(self, norse, cfg: ClassifyConfig, weights: list[torch.Tensor]):
        super().__init__(cfg, weights, (1.0, 1.0))  # Norse's Euler step has the (1 − β) factor
        rates, dt = norse_rates(cfg), cfg.dt * 1e-3
        p = norse.LIFParameters(tau_syn_inv=torch.as_tensor(rates["syn"]), tau_mem_inv=torch.as_tensor(rates["mem"]),
                                v_th=torch.as_tensor(cfg.threshold), v_reset=torch.as_tensor(0.0), method="super",
                                alpha=torch.as_tensor(cfg.slope))
        self.lif = norse.LIF(p=p, dt=dt)
        self.li = norse.LI(p=norse.LIParameters(tau_syn_inv=torch.as_tensor(rates["syn"]),
                                                tau_mem_inv=torch.as_tensor(rates["out"])), dt=dt)

    def hidden(self, drive: torch.Tensor) -> torch.Tensor:
        return self.lif(drive)[0]

    def readout(self, drive: torch.Tensor) -> torch.Tensor:
        return self.li(drive)[0]


def norse_effective_slope(slope: float) -> float:
    """The slope s of the surrogate 1/(s|x| + 1)² that Norse's "super" threshold back-propagates at x = 0.5."""
    x = torch.tensor(0.5, requires_grad=True)
    threshold = importlib.import_module("norse.torch.functional.threshold").threshold
    threshold(x, "super", torch.as_tensor(slope)).backward()
    return float((1 / math.sqrt(float(x.grad)) - 1) / 0.5)


class PeerRunner:
    """One peer network trained with torch.optim.Adam on cross-entropy + the lower bound."""

    def __init__(self, net: PeerNet, cfg: ClassifyConfig):
        self.net, self.cfg = net, cfg
        self.optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr, eps=cfg.adam_eps)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, spikes = self.net(x)
        return F.cross_entropy(logits, y) + lower_bound(spikes, self.cfg), logits, spikes

    def epoch(self, batches) -> None:
        loss_sum, correct = torch.zeros((), dtype=torch.float64), torch.zeros(())
        for x, y in batches:
            loss, logits, _ = self.loss(x, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            loss_sum += loss.detach().double() * len(y)
            correct += (logits.argmax(-1) == y).sum()

    @torch.no_grad()
    def init_outputs(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        loss, logits, spikes = self.loss(x, y)
        return {"loss": float(loss), "logits": logits, "spikes": spikes.transpose(0, 1)}  # spikes (B, T, H)


# ---------------------------------------------------------------- sanity check at initialisation


def compare(ours: dict, peer: dict) -> dict:
    """Loss ratio, logits difference and hidden-spike mismatch (peer at t vs sgtheory at t + 2)."""
    shift = SPIKE_SHIFT
    a, b = ours["spikes"][:, shift:], peer["spikes"][:, :-shift]
    return {"loss": peer["loss"], "loss_ratio": peer["loss"] / ours["loss"],
            "logits_max_abs_diff": float((peer["logits"] - ours["logits"]).abs().max()),
            "hidden_spikes": int(b.sum()), "hidden_spike_mismatch_fraction": float((a != b).float().mean())}


def build_peer(name: str, module, cfg: ClassifyConfig, weights: list[torch.Tensor]) -> PeerRunner:
    net = SnnTorchNet(module, cfg, weights) if name == "snntorch" else NorseNet(module, cfg, weights)
    return PeerRunner(net, cfg)


def init_check(modules: dict, cfg: ClassifyConfig, scales: list[float], x: torch.Tensor, y: torch.Tensor) -> dict:
    """The losses at initialisation on the first minibatch, per weight scale: 1 (the init that is timed and
    trained: the hidden layer is still silent, so every loss is ln 10 plus the regulariser) and ``--check-scale``
    (every weight × that factor, so that the hidden neurons fire and the comparison is not vacuous)."""
    cases = {}
    for scale in scales:
        scaled = dataclasses.replace(cfg, weight_scale=scale)
        sg = SgtheoryRunner([scaled])
        ours = sg.init_outputs(x, y)
        weights = [w.detach() for w in sg.model.weights]
        case = {"weight_scale": scale, "sgtheory_loss": ours["loss"],
                "sgtheory_logits_max_abs": float(ours["logits"].abs().max()),
                "sgtheory_hidden_spikes": int(ours["spikes"].sum())}
        for name, module in modules.items():
            case[name] = compare(ours, build_peer(name, module, scaled, weights).init_outputs(x, y))
        cases[f"weight_scale_{scale:g}"] = case
    same = [SAME_ORDER[0] <= c["snntorch"]["loss_ratio"] <= SAME_ORDER[1] for c in cases.values() if "snntorch" in c]
    return {"same_order_range": list(SAME_ORDER), "spike_shift": SPIKE_SHIFT, "cases": cases,
            # the required check: snnTorch's loss / sgtheory's in SAME_ORDER in every case (None: no snnTorch)
            "same_order": bool(all(same)) if same else None}


# ---------------------------------------------------------------- timing


def time_round_robin(entries: dict[str, tuple[Callable[[], None], int]], rounds: int,
                     warmup: int) -> tuple[dict, dict, list[float]]:
    """Wall times (s) and process CPU times (s, all threads) of every implementation's timed epochs, and the 1-min
    load average after each timed round; ``entries``: name -> (one epoch, threads)."""
    wall: dict[str, list[float]] = {name: [] for name in entries}
    cpu: dict[str, list[float]] = {name: [] for name in entries}
    load: list[float] = []
    for r in range(warmup + rounds):
        for name, (epoch, threads) in entries.items():
            torch.set_num_threads(threads)
            t0, c0 = time.perf_counter(), time.process_time()
            epoch()
            elapsed, used = time.perf_counter() - t0, time.process_time() - c0
            torch.set_num_threads(1)
            if r >= warmup:
                wall[name].append(elapsed)
                cpu[name].append(used)
        if r >= warmup:
            load.append(os.getloadavg()[0])
    return wall, cpu, load


def row(times: list[float], cpu: list[float], networks: int, threads: int) -> dict:
    """One implementation's timings. cpu_over_wall: CPU time of the process / wall time per epoch; with 1 thread
    well below 1 means the epoch waited for a core (other processes), so its wall time overstates the cost."""
    median = statistics.median(times)
    return {"available": True, "networks": networks, "threads": threads, "seconds_per_epoch": median,
            "seconds_per_epoch_min": min(times), "epoch_seconds": times, "throughput": networks / median,
            "cpu_seconds_per_epoch": statistics.median(cpu),
            "cpu_over_wall": [c / w for c, w in zip(cpu, times, strict=True)]}


# ---------------------------------------------------------------- report, main


def print_report(report: dict) -> None:
    c = report["config"]
    print(f"seconds per epoch ({c['minibatches']} minibatches × batch {c['batch']}, T = {c['steps']}, "
          f"{c['units']}-{c['hidden']}-{c['classes']}; measured, median of {c['epochs']} epochs after "
          f"{c['warmup']} warm-up, implementations in turn)")
    print("| implementation | networks | threads | s/epoch | min s/epoch | networks·epochs/s | CPU s/epoch |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in report["results"].items():
        if r["available"]:
            print(f"| {name} | {r['networks']} | {r['threads']} | {r['seconds_per_epoch']:.3f} "
                  f"| {r['seconds_per_epoch_min']:.3f} | {r['throughput']:.2f} | {r['cpu_seconds_per_epoch']:.3f} |")
        else:
            print(f"| {name} | - | - | {r['reason']} | | | |")
    print("\nspeed-ups: " + ", ".join(f"{k} {v:.2f}" for k, v in report["speedups"].items()))
    check = report["init_check"]
    for case in check["cases"].values():
        print(f"init check, weights × {case['weight_scale']:g}: sgtheory loss {case['sgtheory_loss']:.4f} "
              f"({case['sgtheory_hidden_spikes']} hidden spikes)" + "".join(
                  f"; {name} {case[name]['loss']:.4f} (ratio {case[name]['loss_ratio']:.4f}, hidden-spike mismatch "
                  f"{case[name]['hidden_spike_mismatch_fraction']:.1e})" for name in PEERS if name in case))
    print(f"init losses of the same order (snnTorch / sgtheory in {SAME_ORDER}): {check['same_order']}\n")
    for goal in report["goals"]:
        met = {True: "MET", False: "NOT MET", None: "not measured"}[goal["met"]]
        value = "-" if goal["value"] is None else f"{goal['value']:.2f}"
        print(f"goal: {met}: {goal['goal']}: {value}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minibatches", type=int, default=32, help="minibatches per epoch (32 × 250 = 8000 samples)")
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--steps", type=int, default=100, help="time steps T")
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=5, help="timed epochs per implementation")
    ap.add_argument("--warmup", type=int, default=1, help="untimed epochs per implementation first")
    ap.add_argument("--no-lower-bound", dest="lower_bound", action="store_false",
                    help="train on the cross-entropy alone (λ_lower = 0)")
    ap.add_argument("--check-scale", type=float, default=10.0,
                    help="weight scale of the second init check (the default init leaves the hidden layer silent)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_classify.json"))
    args = ap.parse_args(argv)
    for name in ("minibatches", "batch", "steps", "units", "hidden", "classes", "epochs"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be >= 1")
    if args.steps <= SPIKE_SHIFT or args.warmup < 0:
        ap.error(f"--steps must be > {SPIKE_SHIFT} and --warmup >= 0")
    torch.set_num_threads(1)
    reuse_large_allocations()
    timer = Timer()

    batches = synthetic_batches(args)
    single = make_config(args, SINGLE_SLOPE)
    cells = [make_config(args, s) for s in SLOPES]
    runners = {"sgtheory_single": SgtheoryRunner([single]), "sgtheory_batched8": SgtheoryRunner(cells),
               "sgtheory_batched8_2threads": SgtheoryRunner(cells)}
    sequential = [SgtheoryRunner([c]) for c in cells]
    x0, y0 = batches[0]
    weights = [w.detach() for w in runners["sgtheory_single"].model.weights]

    peers: dict[str, dict] = {}
    modules = {}
    for name in PEERS:
        module, version = load_peer(name)
        if module is None:
            peers[name] = {"available": False, "reason": version}
            continue
        try:
            runner = build_peer(name, module, single, weights)
            runner.init_outputs(x0, y0)
        except Exception as err:  # noqa: BLE001 - an API this script does not know: report, do not fail
            peers[name] = {"available": False, "version": version,
                           "reason": f"unavailable: {type(err).__name__} while building: {err}"}
            continue
        peers[name] = {"available": True, "version": version}
        if name == "norse":
            peers[name]["surrogate_slope_requested"] = single.slope
            peers[name]["surrogate_slope_effective"] = norse_effective_slope(single.slope)
            peers[name]["rates_per_s"] = norse_rates(single)
        modules[name] = module
        runners[f"{name}_single"] = runner
    check = init_check(modules, single, [1.0, args.check_scale], x0, y0)

    threads = {"sgtheory_batched8_2threads": 2}
    entries = {name: (lambda r=r: r.epoch(batches), threads.get(name, 1)) for name, r in runners.items()}
    entries["sgtheory_sequential8"] = (lambda: [r.epoch(batches) for r in sequential], 1)
    times, cpu_times, load_per_round = time_round_robin(entries, args.epochs, args.warmup)

    networks = {"sgtheory_batched8": 8, "sgtheory_batched8_2threads": 8, "sgtheory_sequential8": 8}
    results = {}
    for name in ("sgtheory_single", "sgtheory_batched8", "sgtheory_batched8_2threads", "sgtheory_sequential8",
                 *(f"{p}_single" for p in PEERS)):
        if name in times:
            results[name] = row(times[name], cpu_times[name], networks.get(name, 1), threads.get(name, 1))
        else:
            results[name] = {"available": False, "reason": peers[name.removesuffix("_single")]["reason"]}

    s = {name: r["seconds_per_epoch"] for name, r in results.items() if r["available"]}
    thr = {name: r["throughput"] for name, r in results.items() if r["available"]}
    speedups = {
        "batched8_vs_sequential8": s["sgtheory_sequential8"] / s["sgtheory_batched8"],
        "batched8_throughput_vs_single": thr["sgtheory_batched8"] / thr["sgtheory_single"],
        "batched8_2threads_vs_batched8": s["sgtheory_batched8"] / s["sgtheory_batched8_2threads"],
    }
    timed_peers = [p for p in PEERS if f"{p}_single" in s]
    for p in timed_peers:
        speedups[f"single_vs_{p}"] = s[f"{p}_single"] / s["sgtheory_single"]
        speedups[f"batched8_throughput_vs_{p}"] = thr["sgtheory_batched8"] / thr[f"{p}_single"]
    fastest = min(timed_peers, key=lambda p: s[f"{p}_single"]) if timed_peers else None
    goals = [
        {"goal": "sgtheory at least as fast as the fastest peer per single network "
                 "(value: fastest peer s/epoch ÷ sgtheory single s/epoch; met when ≥ 1)",
         "fastest_peer": fastest, "measured": fastest is not None,
         "value": speedups[f"single_vs_{fastest}"] if fastest else None,
         "met": bool(speedups[f"single_vs_{fastest}"] >= 1.0) if fastest else None},
        {"goal": f"≥ {GOAL_BATCHED_THROUGHPUT:g}× throughput for 8 batched cells (value: networks·epochs/s of "
                 "G = 8 in one computation ÷ that of one sgtheory network, both 1 thread)",
         "measured": True, "value": speedups["batched8_throughput_vs_single"],
         "met": bool(speedups["batched8_throughput_vs_single"] >= GOAL_BATCHED_THROUGHPUT)},
    ]
    report = {
        "machine": machine_info(snntorch=peers["snntorch"].get("version") or peers["snntorch"]["reason"],
                                norse=peers["norse"].get("version") or peers["norse"]["reason"]),
        "config": {"minibatches": args.minibatches, "batch": args.batch, "steps": args.steps, "units": args.units,
                   "hidden": args.hidden, "classes": args.classes, "epochs": args.epochs, "warmup": args.warmup,
                   "samples_per_epoch": args.minibatches * args.batch, "lower_bound": args.lower_bound,
                   "lower_strength": single.lower_strength, "lower_threshold": single.lower_threshold,
                   "check_scale": args.check_scale,
                   "slope": single.slope, "batched_slopes": list(SLOPES), "lr": single.lr, "seed": args.seed,
                   "tau_syn": single.tau_syn, "tau_mem": single.tau_mem, "tau_readout": single.tau_readout,
                   "dt": single.dt, "threshold": single.threshold, "readout": single.readout,
                   "inputs": "synthetic: one spike per input unit per sample, uniform in the first T/2 steps",
                   "seconds_per_epoch": "measured: every timed epoch runs all minibatches; median over the timed "
                                        "epochs; implementations take turns, one epoch each per round"},
        "peers": peers,
        "init_check": check,
        "results": results,
        "speedups": speedups,
        "goals": goals,
        "loadavg_after_each_timed_round": load_per_round,
    }
    print_report(report)
    return finish_report(report, timer, args.out)


if __name__ == "__main__":
    main()
