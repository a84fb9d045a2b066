"""Milliseconds per training epoch: sgtheory's trainer vs a careful plain-PyTorch loop.

Reference configuration (flossing spec §6): B=16, T=300, delayed XOR with d=10, logit BCE on the scored
steps, per-array gradient-norm clipping at 0.03, Adam(lr=1e-3), at N=80 and N=256, float32 and float64. For the
binary, tanh and LIF models this measures

- ``plain``: a single-network PyTorch epoch written below (python loop over T, autograd through every step);
- ``single``: ``sgtheory.experiments.train.train`` with one seed;

and, at N=80 in float32 only,

- ``batched9``: one ``train`` call with seeds 0-8 (one batched computation);
- ``sequential9``: nine single-seed ``train`` calls, one after the other (sum of their epoch times).

Each epoch is timed on its own (sgtheory through the ``before_epoch`` hook, so network set-up is not counted) in CPU
time of the calling thread (``time.thread_time``; with one torch thread it is the epoch's compute, and it does not
count the time other jobs on a shared machine hold the core); the first epoch of every run is a warm-up and the
median of the rest is taken. ``plain`` and ``single`` alternate in
``--rounds`` rounds (timings on a shared machine drift); each is reported as the median over rounds and the speed-up
as the median over rounds of plain / single. Goals of the issues: plain / single ≥ 2, ``batched9 / single <= 3``.
Speed is measured here, never asserted in tests.

Usage: .venv/bin/python benchmarks/bench_train.py [--epochs N] [--rounds K] [--threads K] [--models binary tanh lif]
                                                  [--sizes 80 256] [--dtypes float32 float64] [--no-batched]
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
from sgtheory.experiments.base import DTYPES
from sgtheory.experiments.train import TrainConfig, train

# ---------------------------------------------------------------- plain-PyTorch baseline


class Heaviside(torch.autograd.Function):
    """H(x) forward, fast-sigmoid surrogate 1/(|x|+1)^2 backward (sgtheory's default surrogate)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x.abs() + 1.0) ** 2


class PlainRNN(nn.Module):
    """One binary, tanh or LIF network (no realization dimension), readout from x (binary, tanh) or v (LIF)."""

    def __init__(self, model: str, N: int, B: int, dtype: torch.dtype):
        super().__init__()
        self.model, self.N = model, N
        self.J = nn.Parameter(torch.randn(N, N, dtype=dtype) / math.sqrt(N))
        self.w_in = nn.Parameter(torch.randn(N, 1, dtype=dtype))
        self.b = nn.Parameter(0.1 * torch.rand(N, dtype=dtype))
        self.w_out = nn.Parameter(torch.randn(N, 1, dtype=dtype))
        self.c = nn.Parameter(torch.full((1,), 0.001, dtype=dtype))
        self.x0 = nn.Parameter(torch.randn(B, 2 * N if model == "lif" else N, dtype=dtype))
        self.alpha, self.beta = math.exp(-1 / 5), math.exp(-1 / 10)

    def forward(self, inputs):  # inputs (T, B, 1) -> logits (T, B)
        drive = inputs @ self.w_in.T + self.b
        outs = []
        if self.model in ("binary", "tanh"):
            phi = Heaviside.apply if self.model == "binary" else torch.tanh
            x = self.x0
            for d in drive:
                x = phi(x) @ self.J.T + d
                outs.append(x)
        else:
            v, current = self.x0[:, : self.N], self.x0[:, self.N :]
            for d in drive:
                s = Heaviside.apply(v - 1.0)
                current = self.alpha * current + s @ self.J.T + d
                v = (self.beta * v + (1 - self.beta) * current) * (1 - s.detach())
                outs.append(v)
        return (torch.stack(outs) @ self.w_out).squeeze(-1) + self.c


def xor_batch(T: int, B: int, delay: int, gen: torch.Generator, dtype: torch.dtype):
    bits = torch.randint(0, 2, (T, B, 1), generator=gen).to(dtype)
    target = (bits[delay // 2 : T - delay // 2] != bits[: T - delay]).to(dtype).squeeze(-1)
    return bits, target  # target covers the scored steps t >= delay


def plain_epoch_ms(model: str, cfg: TrainConfig, epochs: int) -> list[float]:
    dtype = DTYPES[cfg.dtype]
    torch.manual_seed(0)
    net = PlainRNN(model, cfg.N, cfg.batch, dtype)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(0)
    times = []
    for _ in range(epochs):
        t0 = time.thread_time()
        inputs, target = xor_batch(cfg.T, cfg.batch, cfg.delay, gen, dtype)
        loss = F.binary_cross_entropy_with_logits(net(inputs)[cfg.delay :], target)
        opt.zero_grad()
        loss.backward()
        for p in net.parameters():
            nn.utils.clip_grad_norm_(p, cfg.clip)
        opt.step()
        times.append(1e3 * (time.thread_time() - t0))
    return times


# ---------------------------------------------------------------- sgtheory


def sgtheory_epoch_ms(settings: dict, seeds: str, epochs: int) -> list[float]:
    """Per-epoch wall times of one ``train`` call, taken between consecutive ``before_epoch`` calls."""
    stamps = []
    train(expand("train", settings | {"epochs": epochs, "seeds": seeds}),
          before_epoch=lambda _model, _epoch: stamps.append(time.thread_time()))
    stamps.append(time.thread_time())
    return [1e3 * (b - a) for a, b in zip(stamps, stamps[1:], strict=False)]


def median_after_warmup(times: list[float]) -> float:
    return statistics.median(times[1:])


def compare(model: str, N: int, dtype: str, epochs: int, rounds: int) -> dict[str, float]:
    """plain and single seed, alternating in ``rounds`` rounds."""
    settings = {"model": model, "N": N, "dtype": dtype}
    cfg = TrainConfig(model=model, N=N, dtype=dtype)
    plain, single = [], []
    for _ in range(rounds):
        plain.append(median_after_warmup(plain_epoch_ms(model, cfg, epochs)))
        single.append(median_after_warmup(sgtheory_epoch_ms(settings, "0", epochs)))
    return {"plain_ms": statistics.median(plain), "single_ms": statistics.median(single),
            "plain_over_single": statistics.median(p / s for p, s in zip(plain, single, strict=True)),
            "rounds_plain_ms": plain, "rounds_single_ms": single}


def batched(model: str, epochs: int) -> dict[str, float]:
    """One seed, nine seeds batched and nine seeds one after the other (N=80, float32)."""
    settings = {"model": model}
    r = {
        "single_ms": median_after_warmup(sgtheory_epoch_ms(settings, "0", epochs)),
        "batched9_ms": median_after_warmup(sgtheory_epoch_ms(settings, "0-8", epochs)),
        "sequential9_ms": sum(median_after_warmup(sgtheory_epoch_ms(settings, str(s), epochs)) for s in range(9)),
    }
    r["batched9_over_single"] = r["batched9_ms"] / r["single_ms"]
    r["sequential9_over_batched9"] = r["sequential9_ms"] / r["batched9_ms"]
    return r


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=10, help="epochs per run; the first is a warm-up (>= 2)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of plain and sgtheory (>= 1)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--models", nargs="+", default=["binary", "tanh", "lif"], choices=["binary", "tanh", "lif"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[80, 256], help="network sizes N")
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    ap.add_argument("--no-batched", action="store_true", help="skip the 9-seed batched/sequential columns")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_train.json"))
    args = ap.parse_args(argv)
    if args.epochs < 2:
        ap.error("--epochs must be >= 2 (the first epoch is a warm-up)")
    if args.rounds < 1:
        ap.error("--rounds must be >= 1")
    torch.set_num_threads(args.threads)

    results = {f"{m} N={N} {dtype}": compare(m, N, dtype, args.epochs, args.rounds)
               for N in args.sizes for dtype in args.dtypes for m in args.models}
    batch_results = {} if args.no_batched else {m: batched(m, args.epochs) for m in args.models}
    cfg = TrainConfig()
    print(f"CPU ms per epoch (thread time), B={cfg.batch} T={cfg.T} delay={cfg.delay}, median of {args.epochs - 1} "
          f"epochs after 1 warm-up, median of {args.rounds} alternating rounds, {args.threads} thread(s)\n")
    print("| model | N | dtype | plain PyTorch | sgtheory 1 seed | plain / sgtheory (goal ≥ 2) |")
    print("|---|---:|---|---:|---:|---:|")
    for name, r in results.items():
        model, N, dtype = name.split()
        print(f"| {model} | {N[2:]} | {dtype} | {r['plain_ms']:.1f} | {r['single_ms']:.1f} "
              f"| {r['plain_over_single']:.2f} |")
    if batch_results:
        print(f"\nN={cfg.N} float32: | model | 1 seed | 9 batched | 9 sequential | batched / 1 seed (goal ≤ 3) "
              "| sequential / batched |")
        for m, r in batch_results.items():
            print(f"| {m} | {r['single_ms']:.1f} | {r['batched9_ms']:.1f} | {r['sequential9_ms']:.1f} "
                  f"| {r['batched9_over_single']:.2f} | {r['sequential9_over_batched9']:.2f} |")

    machine = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor(),
        "python": platform.python_version(),
    }
    config = {"sizes": args.sizes, "dtypes": args.dtypes, "batch": cfg.batch, "T": cfg.T, "delay": cfg.delay,
              "epochs": args.epochs, "rounds": args.rounds}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine, "config": config, "results": results, "batched": batch_results}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return report


if __name__ == "__main__":
    main()
