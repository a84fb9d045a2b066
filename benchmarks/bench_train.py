"""Milliseconds per training epoch: sgtheory's batched trainer vs a plain-PyTorch loop.

Reference configuration (flossing spec §6): N=80, B=16, T=300, delayed XOR with d=10, logit BCE on
the scored steps, per-array gradient-norm clipping at 0.03, Adam(lr=1e-3). For the binary and the
LIF model this measures

- ``baseline``: a straightforward single-network PyTorch epoch written below (python loop over T);
- ``single``: ``sgtheory.experiments.train.train`` with one seed;
- ``batched9``: one ``train`` call with seeds 0-8 (one batched computation);
- ``sequential9``: nine single-seed ``train`` calls, one after the other (sum of their epoch times).

Each epoch is timed on its own (sgtheory through the ``before_epoch`` hook, so network set-up is not
counted); the first epoch of every run is a warm-up and the median of the rest is reported.
Goal of the issue: ``batched9 / single <= 3``. Speed is measured here, never asserted in tests.

Usage: .venv/bin/python benchmarks/bench_train.py [--epochs N] [--threads K] [--models binary lif]
                                                  [--out benchmarks/out/bench_train.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from sgtheory.experiments import expand
from sgtheory.experiments.train import TrainConfig, train

# ---------------------------------------------------------------- plain-PyTorch baseline


class Heaviside(torch.autograd.Function):
    """H(x) forward, fast-sigmoid surrogate 1/(|x|+1)^2 backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x.abs() + 1.0) ** 2


class PlainRNN(nn.Module):
    """One binary or LIF network (no realization dimension), readout from x (binary) or v (LIF)."""

    def __init__(self, model: str, N: int, B: int):
        super().__init__()
        self.model, self.N = model, N
        self.J = nn.Parameter(torch.randn(N, N) / math.sqrt(N))
        self.w_in = nn.Parameter(torch.randn(N, 1))
        self.b = nn.Parameter(0.1 * torch.rand(N))
        self.w_out = nn.Parameter(torch.randn(N, 1))
        self.c = nn.Parameter(torch.full((1,), 0.001))
        self.x0 = nn.Parameter(torch.randn(B, 2 * N if model == "lif" else N))
        self.alpha, self.beta = math.exp(-1 / 5), math.exp(-1 / 10)

    def forward(self, inputs):  # inputs (T, B, 1) -> logits (T, B)
        drive = inputs @ self.w_in.T + self.b
        outs = []
        if self.model == "binary":
            x = self.x0
            for d in drive:
                x = Heaviside.apply(x) @ self.J.T + d
                outs.append(x)
        else:
            v, current = self.x0[:, : self.N], self.x0[:, self.N :]
            for d in drive:
                s = Heaviside.apply(v - 1.0)
                current = self.alpha * current + s @ self.J.T + d
                v = (self.beta * v + (1 - self.beta) * current) * (1 - s.detach())
                outs.append(v)
        return (torch.stack(outs) @ self.w_out).squeeze(-1) + self.c


def xor_batch(T: int, B: int, delay: int, gen: torch.Generator):
    bits = torch.randint(0, 2, (T, B, 1), generator=gen).float()
    target = (bits[delay // 2 : T - delay // 2] != bits[: T - delay]).float().squeeze(-1)
    return bits, target  # target covers the scored steps t >= delay


def baseline_epoch_ms(model: str, cfg: TrainConfig, epochs: int) -> list[float]:
    torch.manual_seed(0)
    net = PlainRNN(model, cfg.N, cfg.batch)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(0)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        inputs, target = xor_batch(cfg.T, cfg.batch, cfg.delay, gen)
        loss = F.binary_cross_entropy_with_logits(net(inputs)[cfg.delay :], target)
        opt.zero_grad()
        loss.backward()
        for p in net.parameters():
            nn.utils.clip_grad_norm_(p, cfg.clip)
        opt.step()
        times.append(1e3 * (time.perf_counter() - t0))
    return times


# ---------------------------------------------------------------- sgtheory


def sgtheory_epoch_ms(model: str, seeds: str, epochs: int) -> list[float]:
    """Per-epoch wall times of one ``train`` call, taken between consecutive ``before_epoch`` calls."""
    stamps = []
    train(expand("train", {"model": model, "epochs": epochs, "seeds": seeds}),
          before_epoch=lambda _model, _epoch: stamps.append(time.perf_counter()))
    stamps.append(time.perf_counter())
    return [1e3 * (b - a) for a, b in zip(stamps, stamps[1:], strict=False)]


def median_after_warmup(times: list[float]) -> float:
    return statistics.median(times[1:])


def bench(model: str, epochs: int) -> dict[str, float]:
    cfg = TrainConfig(model=model)
    r = {
        "baseline_ms": median_after_warmup(baseline_epoch_ms(model, cfg, epochs)),
        "single_ms": median_after_warmup(sgtheory_epoch_ms(model, "0", epochs)),
        "batched9_ms": median_after_warmup(sgtheory_epoch_ms(model, "0-8", epochs)),
        "sequential9_ms": sum(median_after_warmup(sgtheory_epoch_ms(model, str(s), epochs))
                              for s in range(9)),
    }
    r["single_over_baseline"] = r["single_ms"] / r["baseline_ms"]
    r["batched9_over_single"] = r["batched9_ms"] / r["single_ms"]
    r["sequential9_over_batched9"] = r["sequential9_ms"] / r["batched9_ms"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=20, help="epochs per run; the first is a warm-up (>= 2)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--models", nargs="+", default=["binary", "lif"], choices=["binary", "lif"])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_train.json"))
    args = ap.parse_args()
    if args.epochs < 2:
        ap.error("--epochs must be >= 2 (the first epoch is a warm-up)")
    torch.set_num_threads(args.threads)

    results = {m: bench(m, args.epochs) for m in args.models}
    cfg = TrainConfig()
    print(f"ms per epoch, N={cfg.N} B={cfg.batch} T={cfg.T} delay={cfg.delay}, "
          f"median of {args.epochs - 1} epochs after 1 warm-up, {args.threads} thread(s)\n")
    print("| model | baseline | sgtheory 1 seed | 9 batched | 9 sequential "
          "| 1 seed / baseline | batched / 1 seed (goal ≤ 3) | sequential / batched |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for m, r in results.items():
        print(f"| {m} | {r['baseline_ms']:.1f} | {r['single_ms']:.1f} | {r['batched9_ms']:.1f} "
              f"| {r['sequential9_ms']:.1f} | {r['single_over_baseline']:.2f} "
              f"| {r['batched9_over_single']:.2f} | {r['sequential9_over_batched9']:.2f} |")

    machine = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor(),
        "python": platform.python_version(),
    }
    config = {"N": cfg.N, "batch": cfg.batch, "T": cfg.T, "delay": cfg.delay, "epochs": args.epochs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine, "config": config, "results": results}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
