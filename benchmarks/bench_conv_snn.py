"""Seconds per epoch of the deep convolutional SNN of Gygax & Zenke 2025 on SHD-sized inputs (sgtheory spec §5).

Workload: the SHD network of ``configs/conv_snn.yaml`` (profile ``shd``) built by
``sgtheory.experiments.classify.build_conv`` — 700 input channels, conv layers 16/32/64 with kernels 21/7/7 and
strides 10/3/3 (1088/672/320 LIF neurons), recurrent convolutions of kernel 5, Δt = 2 ms, 20 readout units — trained
exactly as the ``classify`` minibatch loop does (``loss_terms``: max-over-time NLL + the upper-bound regulariser;
backward; the finiteness check; one SMORMS3 step). Input: a synthetic 0/1 tensor of shape (batch, steps, 700) with
every entry 1 with probability 15.8 Hz × 2 ms (the SHD rate estimate of the init), random labels. No SHD file is read.
Every round records wall seconds and the process's CPU seconds (``time.process_time``, all threads): with one thread on
a shared machine the CPU seconds are what the step costs on an idle core, the wall seconds also count the waiting.

Per epoch of the paper's SHD profile: ⌈7340 / batch⌉ training steps (90 % of the 8156 training samples) plus the
forward passes of the validation (816) and test (2264) sets; the report extrapolates from the measured seconds per
training step and per evaluation forward pass to s/epoch and to the 200-epoch total per run.

Usage: python benchmarks/bench_conv_snn.py [--batch 400] [--steps 350] [--forward deterministic|stochastic]
[--device cpu|cuda] [--threads N] [--repeats 2] --out benchmarks/out/bench_conv_snn.json
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Timer, finish_report, machine_info  # noqa: E402

from sgtheory.experiments.classify import build_conv, loss_terms, noise  # noqa: E402
from sgtheory.experiments.configs.classify import ClassifyConfig  # noqa: E402
from sgtheory.models.classifier import reuse_large_allocations  # noqa: E402
from sgtheory.optim import SMORMS3, finite_per_realization  # noqa: E402

TRAIN, VALID, TEST, EPOCHS = 7340, 816, 2264, 200


def shd_config(args) -> ClassifyConfig:
    return ClassifyConfig(model="conv", task="randman", units=700, classes=20, steps=args.steps, dt=2.0,
                          tau_mem=20.0, tau_syn=10.0, tau_readout=args.steps * 2.0, filters="16,32,64",
                          kernels="21,7,7", strides="10,3,3", recurrent=True, recurrent_kernel=5, init_rate=15.8,
                          optimizer="smorms3", lr=0.01, batch=args.batch, lower_strength=0.0, upper_strength=0.1,
                          upper_threshold=7.0, forward=args.forward, device=args.device)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=400)
    parser.add_argument("--steps", type=int, default=350)
    parser.add_argument("--forward", default="deterministic", choices=("deterministic", "stochastic"))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_conv_snn.json"))
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available here (use --device cpu)")
    if args.threads:
        torch.set_num_threads(args.threads)
    timer = Timer()
    reuse_large_allocations()  # as classify() does
    cfg = shd_config(args)
    model = build_conv(cfg, 700, 20)
    model.generator = noise(cfg, "noise", 0)
    optimizer = SMORMS3(model.parameters, torch.tensor([cfg.lr], dtype=torch.float64), eps=cfg.smorms3_eps)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(1, args.batch, args.steps, 700, generator=g) < 15.8 * 2e-3).float().to(args.device)
    y = torch.randint(0, 20, (1, args.batch), generator=g).to(args.device)

    def sync():
        if args.device == "cuda":
            torch.cuda.synchronize()

    train_s, eval_s, train_cpu, eval_cpu = [], [], [], []
    for repeat in range(args.repeats + 1):  # the first round warms up
        sync()
        start, start_cpu = time.perf_counter(), time.process_time()
        loss, _, _ = loss_terms(model, [cfg], x, y)
        optimizer.zero_grad()
        loss.sum().backward()
        finite_per_realization(loss.detach(), model.parameters).cpu()
        optimizer.step()
        sync()
        middle, middle_cpu = time.perf_counter(), time.process_time()
        with torch.no_grad():
            model(x)
        sync()
        end, end_cpu = time.perf_counter(), time.process_time()
        if repeat:
            train_s.append(middle - start)
            eval_s.append(end - middle)
            train_cpu.append(middle_cpu - start_cpu)
            eval_cpu.append(end_cpu - middle_cpu)
        print(f"round {repeat}: training step {middle - start:.2f} s ({middle_cpu - start_cpu:.2f} CPU s), evaluation "
              f"forward {end - middle:.2f} s ({end_cpu - middle_cpu:.2f} CPU s)", flush=True)
    step, forward = min(train_s), min(eval_s)
    epoch = math.ceil(TRAIN / args.batch) * step + math.ceil((VALID + TEST) / args.batch) * forward
    peak = torch.cuda.max_memory_allocated() / 2**30 if args.device == "cuda" else None
    report = {"benchmark": "conv_snn", "workload": {"batch": args.batch, "steps": args.steps, "channels": 700,
                                                     "forward": args.forward, "device": args.device},
              "machine": machine_info(device=torch.cuda.get_device_name() if args.device == "cuda" else "cpu"),
              "train_step_s": train_s, "eval_forward_s": eval_s, "train_step_cpu_s": train_cpu,
              "eval_forward_cpu_s": eval_cpu, "s_per_epoch": epoch,
              "hours_per_run_200_epochs": epoch * EPOCHS / 3600, "cuda_peak_gib": peak}
    print(f"{args.device}, batch {args.batch}, {args.steps} steps, {args.forward}: training step {step:.2f} s, "
          f"evaluation forward {forward:.2f} s → {epoch:.0f} s/epoch, {epoch * EPOCHS / 3600:.1f} h per 200-epoch run")
    return finish_report(report, timer, args.out)


if __name__ == "__main__":
    main()
