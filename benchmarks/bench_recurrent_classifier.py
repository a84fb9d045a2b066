"""Milliseconds per training step of the recurrent LIF classifier: sgtheory vs plain PyTorch, snnTorch and Norse.

Workload: one minibatch of B = 16 inputs of T = 300 steps (Δt = 1 ms) from 100 input units, 256 hidden LIF neurons
with all-to-all recurrent weights V (τ_syn 5 ms, τ_mem 10 ms, threshold 1, reset to 0), 10 non-spiking leaky readout
units (τ_syn 5 ms, τ_readout 20 ms), logits = max over time of the readout potentials, loss = cross-entropy (no
activity regulariser), fast-sigmoid (SuperSpike) surrogate of slope 10; one step = forward + backward + one Adam
step (lr 0.05), 1 torch thread. Inputs as in ``bench_classify.py``: every input unit spikes once per sample at a
uniform random step among the first T/2; uniform labels.

Implementations (rows of the report), all from the same weights (sgtheory's ``build_classifier`` draw, seed 0):

- ``plain_pytorch``: the network written here with autograd through a Python loop over T, the sgtheory update order
  (S[n] = Θ(U[n] − 1) by a surrogate-spike ``autograd.Function``, U[n+1] = (β U[n] + (1 − β) I[n])(1 − S[n]) with
  the reset detached, I[n+1] = α I[n] + W x[n] + V S[n]), the input layer applied to the whole sequence before the
  loop, the readout recursion looped over T, ``torch.optim.Adam``. It is the same network as sgtheory's: the init
  check compares their losses and gradients.
- ``sgtheory``: ``build_classifier`` with ``recurrent=True`` (the LIF layer is one autograd node with explicit
  forward and backward loops over time, the readout a (T, T) kernel product), ``loss_terms``, ``sgtheory.optim.Adam``.
- ``snntorch``: ``RSynaptic`` (all-to-all ``nn.Linear`` recurrence; its bias is zeroed and frozen) with
  reset_mechanism "zero" and ``surrogate.fast_sigmoid(slope=10)``, the ``Synaptic`` readout of ``bench_classify``;
  weights folded by (1 − β) as there. Its recurrent input V spk[t−1] reaches the current one step earlier than in
  sgtheory (the peers' spikes run two steps ahead, see ``bench_classify``), so it is a slightly different network
  with the same work per step.
- ``norse``: ``LIFRecurrent`` (autapses allowed) with the ``LIFParameters`` and ``LI`` readout of
  ``bench_classify``. Norse's recurrent layer applies the input weights inside its step (a (B, 100)·(100, 256)
  product per step, its API), its Euler update and reset order differ as described in ``bench_classify``.

Timing: every implementation is built first; then they take turns, one step each per round, ``--warmup`` untimed
rounds and ``--repeats`` timed ones; the median wall time and process CPU time per implementation are reported
(``ratios``: of median wall times, ``cpu_ratios``: of median CPU times, ``fastest_round_ratios``: of the fastest
rounds' wall times, the least disturbed by other processes).
The goals compare CPU times: with 1 thread the CPU time of a step is its work, whereas its wall time also counts
the waits for a core on this shared machine (CPU ≪ wall means it waited). Goals (measured, never asserted):
sgtheory ≤ 0.5× plain PyTorch, and faster than snnTorch and Norse.

Usage: .venv/bin/python benchmarks/bench_recurrent_classifier.py [--batch 16] [--steps 300] [--repeats 7]
                                                                 [--warmup 2] [--out ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import statistics
import time
from pathlib import Path

import bench_classify
import torch
from bench_classify import PeerNet, PeerRunner, SnnTorchNet, decays, norse_rates
from common import Timer, finish_report, machine_info  # noqa: E402  (benchmarks/ is on sys.path)
from torch import nn

from sgtheory.experiments.classify import ClassifyConfig, build_classifier, loss_terms
from sgtheory.models.classifier import reuse_large_allocations
from sgtheory.optim import Adam

GOAL_PLAIN_RATIO = 0.5  # sgtheory's step time / plain PyTorch's


class SurrogateSpike(torch.autograd.Function):
    """Θ(x) forward (Θ(0) = 0), the fast sigmoid 1/(slope·|x| + 1)² backward."""

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (ctx.slope * x.abs() + 1.0).square(), None


class PlainNet(PeerNet):
    """sgtheory's recurrent network in plain PyTorch: autograd through Python loops over T. The loops iterate over
    the time-major drive (one unbind node) rather than index ``drive[n]``, whose backward fills a zero tensor of the
    whole sequence every step (that version measured 3.7× slower than sgtheory instead of 2×)."""

    def __init__(self, cfg: ClassifyConfig, weights: list[torch.Tensor], V: torch.Tensor):
        super().__init__(cfg, weights, (1.0, 1.0))
        self.V = nn.Parameter(V[0].clone())
        self.d, self.cfg = decays(cfg), cfg

    def hidden(self, drive: torch.Tensor) -> torch.Tensor:
        a, b = self.d["syn"], self.d["mem"]
        u = current = torch.zeros_like(drive[0])
        spikes = []
        for step in drive:
            s = SurrogateSpike.apply(u - self.cfg.threshold, self.cfg.slope)
            u = (b * u + (1 - b) * current) * (1 - s.detach())
            current = a * current + step + s @ self.V.T
            spikes.append(s)
        return torch.stack(spikes)

    def readout(self, drive: torch.Tensor) -> torch.Tensor:
        a, b = self.d["syn"], self.d["out"]
        u = current = torch.zeros_like(drive[0])
        potentials = []
        for step in drive:
            potentials.append(u)
            u = b * u + (1 - b) * current
            current = a * current + step
        return torch.stack(potentials)


class SnnTorchRecurrentNet(SnnTorchNet):
    def __init__(self, snn, cfg: ClassifyConfig, weights: list[torch.Tensor], V: torch.Tensor):
        super().__init__(snn, cfg, weights)
        d = decays(cfg)
        surrogate = importlib.import_module("snntorch.surrogate")
        self.lif = snn.RSynaptic(alpha=d["syn"], beta=d["mem"], threshold=cfg.threshold, all_to_all=True,
                                 linear_features=cfg.hidden, spike_grad=surrogate.fast_sigmoid(slope=cfg.slope),
                                 reset_mechanism="zero")
        with torch.no_grad():
            self.lif.recurrent.weight.copy_(V[0] * (1 - d["mem"]))
            self.lif.recurrent.bias.zero_()
        self.lif.recurrent.bias.requires_grad_(False)

    def hidden(self, drive: torch.Tensor) -> torch.Tensor:
        spk = syn = mem = torch.zeros_like(drive[0])
        spikes = []
        for step in drive:
            spk, syn, mem = self.lif(step, spk, syn, mem)
            spikes.append(spk)
        return torch.stack(spikes)


class NorseRecurrentNet(nn.Module):
    def __init__(self, norse, cfg: ClassifyConfig, weights: list[torch.Tensor], V: torch.Tensor):
        super().__init__()
        rates, dt = norse_rates(cfg), cfg.dt * 1e-3
        p = norse.LIFParameters(tau_syn_inv=torch.as_tensor(rates["syn"]), tau_mem_inv=torch.as_tensor(rates["mem"]),
                                v_th=torch.as_tensor(cfg.threshold), v_reset=torch.as_tensor(0.0), method="super",
                                alpha=torch.as_tensor(cfg.slope))
        self.lif = norse.LIFRecurrent(cfg.units, cfg.hidden, p=p, dt=dt, autapses=True,
                                      input_weights=weights[0][0].clone(), recurrent_weights=V[0].clone())
        self.fc_out = nn.Linear(cfg.hidden, cfg.classes, bias=False)
        with torch.no_grad():
            self.fc_out.weight.copy_(weights[1][0])
        self.li = norse.LI(p=norse.LIParameters(tau_syn_inv=torch.as_tensor(rates["syn"]),
                                                tau_mem_inv=torch.as_tensor(rates["out"])), dt=dt)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spikes = self.lif(x.transpose(0, 1))[0]  # (T, B, H)
        return self.li(self.fc_out(spikes))[0].amax(dim=0), spikes


class SgtheoryRecurrentRunner:
    """One recurrent network trained as the minibatch loop of ``classify`` does it."""

    def __init__(self, cfg: ClassifyConfig):
        self.cfg = cfg
        self.model = build_classifier([cfg], cfg.units, cfg.classes)
        self.optimizer = Adam(self.model.parameters, torch.tensor([cfg.lr], dtype=torch.float64), eps=cfg.adam_eps)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss_terms(self.model, [self.cfg], x.unsqueeze(0), y.unsqueeze(0))[0].sum()

    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        loss = self.loss(x, y)
        for p in self.model.parameters:
            p.grad = None
        loss.backward()
        self.optimizer.step()


class PeerStep(PeerRunner):
    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        loss = self.loss(x, y)[0]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()


def synthetic_minibatch(args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor]:
    """x (B, T, U): one spike per input unit per sample, uniform in the first T/2 steps; y (B,) uniform."""
    generator = torch.Generator().manual_seed(args.seed)
    when = torch.randint(0, max(1, args.steps // 2), (args.batch, 1, args.units), generator=generator)
    x = torch.zeros(args.batch, args.steps, args.units).scatter_(1, when, 1.0)
    return x, torch.randint(0, args.classes, (args.batch,), generator=generator)


def init_check(cfg: ClassifyConfig, x: torch.Tensor, y: torch.Tensor) -> dict:
    """plain PyTorch and sgtheory compute the same network: their losses and gradients at initialisation (weights ×
    ``weight_scale`` so that the hidden neurons fire), as relative differences."""
    sg = SgtheoryRecurrentRunner(cfg)
    loss = sg.loss(x, y)
    grads = torch.autograd.grad(loss, sg.model.parameters)
    loss = loss.detach()
    net = PlainNet(cfg, [w.detach() for w in sg.model.weights], sg.model.recurrent[0].detach())
    plain = PeerRunner(net, cfg)
    plain_loss, _, spikes = plain.loss(x, y)
    plain_grads = torch.autograd.grad(plain_loss, [net.fc_in.weight, net.fc_out.weight, net.V])
    plain_loss = plain_loss.detach()
    rel = [float((g[0] - p).norm() / p.norm()) for g, p in zip(grads, plain_grads, strict=True)]
    return {"weight_scale": cfg.weight_scale, "hidden_spikes": int(spikes.sum()), "sgtheory_loss": float(loss),
            "plain_loss": float(plain_loss), "loss_rel_diff": abs(float(loss) / float(plain_loss) - 1),
            "grad_rel_diff_W_in_W_out_V": rel}


def build(name: str, module, cfg: ClassifyConfig, weights: list[torch.Tensor], V: torch.Tensor) -> PeerStep:
    net = SnnTorchRecurrentNet(module, cfg, weights, V) if name == "snntorch" else \
        NorseRecurrentNet(module, cfg, weights, V)
    return PeerStep(net, cfg)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=300, help="time steps T")
    ap.add_argument("--units", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=7, help="timed steps per implementation")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps per implementation first")
    ap.add_argument("--check-scale", type=float, default=5.0, help="weight scale of the init check")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_recurrent_classifier.json"))
    args = ap.parse_args(argv)
    for name in ("batch", "steps", "units", "hidden", "classes", "repeats"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be >= 1")
    if args.warmup < 0:
        ap.error("--warmup must be >= 0")
    torch.set_num_threads(1)
    reuse_large_allocations()
    timer = Timer()

    x, y = synthetic_minibatch(args)
    cfg = ClassifyConfig(units=args.units, classes=args.classes, steps=args.steps, hidden=args.hidden,
                         batch=args.batch, recurrent=True, slope=10.0, seed=args.seed, lower_strength=0.0)
    check = init_check(dataclasses.replace(cfg, weight_scale=args.check_scale), x, y)
    sg = SgtheoryRecurrentRunner(cfg)
    weights, V = [w.detach() for w in sg.model.weights], sg.model.recurrent[0].detach()
    runners = {"plain_pytorch": PeerStep(PlainNet(cfg, weights, V), cfg), "sgtheory": sg}
    peers: dict[str, dict] = {}
    for name in bench_classify.PEERS:
        module, version = bench_classify.load_peer(name)
        if module is None:
            peers[name] = {"available": False, "reason": version}
            continue
        try:
            runners[name] = build(name, module, cfg, weights, V)
        except Exception as err:  # noqa: BLE001 - an API this script does not know: report, do not fail
            peers[name] = {"available": False, "version": version,
                           "reason": f"unavailable: {type(err).__name__} while building: {err}"}
            continue
        peers[name] = {"available": True, "version": version}

    wall: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    for r in range(args.warmup + args.repeats):
        for name, runner in runners.items():
            t0, c0 = time.perf_counter(), time.process_time()
            runner.step(x, y)
            if r >= args.warmup:
                wall[name].append(1e3 * (time.perf_counter() - t0))
                cpu[name].append(1e3 * (time.process_time() - c0))
    results = {name: {"available": True, "ms_per_step": statistics.median(wall[name]),
                      "ms_per_step_min": min(wall[name]), "cpu_ms_per_step": statistics.median(cpu[name]),
                      "step_ms": wall[name]} for name in runners}
    for name, status in peers.items():
        if not status["available"]:
            results[name] = {"available": False, "reason": status["reason"]}
    ms = {name: r["ms_per_step"] for name, r in results.items() if r["available"]}
    cpu_ms = {name: r["cpu_ms_per_step"] for name, r in results.items() if r["available"]}
    ratios = {f"sgtheory_over_{name}": ms["sgtheory"] / ms[name] for name in ms if name != "sgtheory"}
    cpu_ratios = {f"sgtheory_over_{name}": cpu_ms["sgtheory"] / cpu_ms[name] for name in ms if name != "sgtheory"}
    fastest = {name: r["ms_per_step_min"] for name, r in results.items() if r["available"]}
    min_ratios = {f"sgtheory_over_{name}": fastest["sgtheory"] / fastest[name] for name in ms if name != "sgtheory"}
    timed_peers = [p for p in bench_classify.PEERS if p in ms]
    goals = [{"goal": f"sgtheory ≤ {GOAL_PLAIN_RATIO:g}× plain PyTorch per step (value: the ratio of median CPU "
                      "times)", "value": cpu_ratios["sgtheory_over_plain_pytorch"],
              "met": bool(cpu_ratios["sgtheory_over_plain_pytorch"] <= GOAL_PLAIN_RATIO)},
             {"goal": "sgtheory faster than snnTorch and Norse (value: the largest CPU-time ratio sgtheory / peer)",
              "value": max((cpu_ratios[f"sgtheory_over_{p}"] for p in timed_peers), default=None),
              "met": bool(all(cpu_ratios[f"sgtheory_over_{p}"] < 1 for p in timed_peers)) if timed_peers else None}]
    report = {
        "machine": machine_info(snntorch=peers["snntorch"].get("version") or peers["snntorch"]["reason"],
                                norse=peers["norse"].get("version") or peers["norse"]["reason"]),
        "config": {"batch": args.batch, "steps": args.steps, "units": args.units, "hidden": args.hidden,
                   "classes": args.classes, "repeats": args.repeats, "warmup": args.warmup, "slope": cfg.slope,
                   "lr": cfg.lr, "seed": args.seed, "recurrent": True, "loss": "max-over-time cross-entropy",
                   "ms_per_step": "forward + backward + Adam on one minibatch; median over the timed rounds; "
                                  "implementations take turns, one step each per round"},
        "peers": peers, "init_check": check, "results": results, "ratios": ratios, "cpu_ratios": cpu_ratios,
        "fastest_round_ratios": min_ratios,
        "goals": goals,
    }
    print_report(report)
    return finish_report(report, timer, args.out)


def print_report(report: dict) -> None:
    c = report["config"]
    print(f"ms per training step (B {c['batch']}, T {c['steps']}, {c['units']}-{c['hidden']} recurrent-"
          f"{c['classes']}; median of {c['repeats']} after {c['warmup']} warm-up, implementations in turn, 1 thread)")
    print("| implementation | ms/step | min ms/step | CPU ms/step | sgtheory / this (CPU) |")
    print("|---|---:|---:|---:|---:|")
    for name, r in report["results"].items():
        if not r["available"]:
            print(f"| {name} | {r['reason']} | | | |")
            continue
        ratio = report["cpu_ratios"].get(f"sgtheory_over_{name}", 1.0)
        print(f"| {name} | {r['ms_per_step']:.1f} | {r['ms_per_step_min']:.1f} | {r['cpu_ms_per_step']:.1f} "
              f"| {ratio:.2f} |")
    check = report["init_check"]
    print(f"init check (weights × {check['weight_scale']:g}, {check['hidden_spikes']} hidden spikes): loss relative "
          f"difference sgtheory vs plain {check['loss_rel_diff']:.1e}, gradients (W_in, W_out, V) "
          + ", ".join(f"{v:.1e}" for v in check["grad_rel_diff_W_in_W_out_V"]))
    for goal in report["goals"]:
        met = {True: "MET", False: "NOT MET", None: "not measured"}[goal["met"]]
        value = "-" if goal["value"] is None else f"{goal['value']:.2f}"
        print(f"goal: {met}: {goal['goal']}: {value}")


if __name__ == "__main__":
    main()
