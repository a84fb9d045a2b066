"""Milliseconds per training epoch of the reference configuration (N=80, B=16, T=300, delayed XOR d=10).

Compares, in one run on this machine:
- ``plain``: a straightforward single-network PyTorch loop written here (the baseline);
- ``sgtheory 1 seed``: ``sgtheory.experiments.train.train`` with one realization;
- ``sgtheory 9 batched``: nine seeds as one batched computation;
- ``sgtheory 9 sequential``: nine single-seed runs one after another;
for the binary RNN (fast-sigmoid surrogate) and the current-based LIF RNN. Goal: the 9-seed batched
epoch costs at most 3x a single-seed epoch.

Usage: python benchmarks/train_epoch.py [--epochs 20] [--threads 1] [--out benchmarks/out/train_epoch.json]
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

from sgtheory.config import expand
from sgtheory.experiments.train import train

N, B, T, DELAY = 80, 16, 300, 10


class FastSigmoidStep(torch.autograd.Function):
    """Heaviside forward, 1/(|x|+1)^2 backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x.abs() + 1.0) ** 2


class PlainRNN(nn.Module):
    """The baseline: one network, no realization dimension, nothing shared with sgtheory."""

    def __init__(self, model: str, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.model = model
        self.J = nn.Parameter(torch.randn(N, N, generator=g) / math.sqrt(N))
        self.w_in = nn.Parameter(torch.randn(N, 1, generator=g))
        self.w_out = nn.Parameter(torch.randn(1, N, generator=g))
        self.b = nn.Parameter(0.1 * torch.rand(N, generator=g))
        self.c = nn.Parameter(torch.full((1,), 1e-3))
        self.x0 = nn.Parameter(torch.randn(B, 2 * N if model == "lif" else N, generator=g))

    def forward(self, inputs):
        drive = inputs @ self.w_in.T + self.b
        outs = []
        if self.model == "lif":
            alpha, beta = math.exp(-1 / 5), math.exp(-1 / 10)
            v, current = self.x0[:, :N], self.x0[:, N:]
            for t in range(T):
                s = FastSigmoidStep.apply(v - 1.0)
                current = alpha * current + s @ self.J.T + drive[t]
                v = (beta * v + (1 - beta) * current) * (1 - s.detach())
                outs.append(v)
        else:
            x = self.x0
            for t in range(T):
                x = FastSigmoidStep.apply(x) @ self.J.T + drive[t]
                outs.append(x)
        return (torch.stack(outs) @ self.w_out.T).squeeze(-1) + self.c


def plain_epochs(model: str, epochs: int) -> float:
    """Seconds per epoch of the plain loop (same task, loss, clipping and optimizer)."""
    net = PlainRNN(model, seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        bits = torch.randint(0, 2, (T, B, 1), generator=g).float()
        target = (bits[DELAY // 2 : T - DELAY // 2] != bits[: T - DELAY]).float().squeeze(-1)
        logits = net(bits)[DELAY:]
        loss = F.binary_cross_entropy_with_logits(logits, target)
        opt.zero_grad()
        loss.backward()
        for p in net.parameters():
            torch.nn.utils.clip_grad_norm_(p, 0.03)
        opt.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def sgtheory_epochs(model: str, seeds: str, epochs: int) -> float:
    """Seconds per epoch of sgtheory's batched training (wall time of a whole short run / epochs)."""
    configs = expand("train", {"model": model, "delay": DELAY, "epochs": epochs, "seeds": seeds})
    train(configs[:1])  # warm-up
    start = time.perf_counter()
    train(configs)
    return (time.perf_counter() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/train_epoch.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    results = []
    for model in ("binary", "lif"):
        ms = {
            "plain 1 seed": 1e3 * plain_epochs(model, args.epochs),
            "sgtheory 1 seed": 1e3 * sgtheory_epochs(model, "0", args.epochs),
            "sgtheory 9 batched": 1e3 * sgtheory_epochs(model, "0-8", args.epochs),
        }
        ms["sgtheory 9 sequential"] = 1e3 * sum(sgtheory_epochs(model, str(s), args.epochs) for s in range(9))
        results.append({"model": model, "ms_per_epoch": ms,
                        "batched_over_single": ms["sgtheory 9 batched"] / ms["sgtheory 1 seed"],
                        "sequential_over_batched": ms["sgtheory 9 sequential"] / ms["sgtheory 9 batched"],
                        "single_over_plain": ms["sgtheory 1 seed"] / ms["plain 1 seed"]})

    print(f"ms per training epoch (N={N}, B={B}, T={T}, {args.threads} thread(s), median/mean of {args.epochs})")
    print("| model | plain 1 seed | sgtheory 1 seed | 9 batched | 9 sequential | batched/single | seq/batched |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        ms = r["ms_per_epoch"]
        print(f"| {r['model']} | {ms['plain 1 seed']:.0f} | {ms['sgtheory 1 seed']:.0f} | "
              f"{ms['sgtheory 9 batched']:.0f} | {ms['sgtheory 9 sequential']:.0f} | "
              f"{r['batched_over_single']:.2f} | {r['sequential_over_batched']:.2f} |")
    machine = {"torch": torch.__version__, "threads": args.threads, "cpus": os.cpu_count(),
               "platform": platform.platform(), "epochs": args.epochs}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
