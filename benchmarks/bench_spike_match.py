"""Spike-train matching epoch speed: sgtheory's ``SpikeMatcher`` vs a straightforward numpy float64 version.

Everything runs on one thread (torch.set_num_threads(1); OpenBLAS/OMP/MKL_NUM_THREADS=1 are set before
numpy is imported). Task and network as in the paper (sgtheory spec §4): 200 frozen Poisson inputs at
50 Hz, 200 hidden and 200 output LIF neurons, the 200 × 189 default target, dt 1 ms, τ_mem 10 ms, τ_syn
5 ms, θ 1, ε0 0.2, Δu_o 0.013, σ_w = 0.3464, learning-rule updates of spec §4.4.

1. ``numpy_epoch`` below is an independent, plain numpy float64 implementation of one epoch (spec §4.2,
   §4.4, §4.5): a Python loop over the time steps that advances I, U and the spikes of both layers with
   the trials as a batch dimension (stochastic: a uniform number below σ(β(U − θ)), β_h = 10, β_o = 100;
   deterministic: U > θ) together with the presynaptic traces x̂ (Ĩ[t+1] = λ_s Ĩ[t] + S_pre[t],
   x̂[t+1] = λ_m x̂[t] + (1 − λ_m) Ĩ[t]); then δ_o = (z − S_o)/Δu_o, ΔW1 = Σ_t x̂_hᵀ δ_o, the hidden error
   e_h = δ_o W1ᵀ filtered anti-causally, ẽ_h[s] = Σ_{t≥s} ε[t − s] e_h[t] (a loop over s), ψ_h of the
   method, ΔW0 = x̂_inᵀ (ψ_h ⊙ ẽ_h), both averaged over the trials, and the van Rossum and L2 distances of
   the last trial (ε filtering by ``np.convolve``).

2. Equivalence: from one ``SpikeMatcher`` (its initial weights, input and target), sgtheory's
   ``forward`` + ``rule_updates`` and ``numpy_epoch`` compute the epoch-0 updates. For stochastic
   methods numpy is fed the same uniform numbers, drawn from a copy of the epoch's generator in the order
   ``SpikeMatcher.forward`` draws them (hidden layer (T, B, N_h), then output layer (T, B, N_o)). Reported:
   max|ΔW_numpy − ΔW_sgtheory| / max|ΔW_numpy| for W0 and W1, the numbers of differing spikes and the
   difference of the distances. The check passes at relative error ≤ 1e-10 with identical spikes; it is
   required for the deterministic method (superspike), and reported for the stochastic ones.

3. Timing, per method (default: superspike with 1 trial, stochastic with 10 trials):
   - ``numpy`` and ``sgtheory`` epochs (the same work: forward + updates + weight step + measures;
     sgtheory = ``forward``, ``rule_updates``, ``W += lr ΔW``, ``measures``, as in ``spike_match_run``)
     run interleaved, each training its own copy of the network from the same initial weights; the first
     ``warmup`` epochs of each are discarded, the median of the rest is reported; speedup = numpy / sgtheory;
   - ``run``: ``spike_match_run`` with ``run_epochs`` epochs, timed per epoch through its progress callback
     (this includes the one-trial validation pass with the other stochasticity that every epoch of a run
     does); the median after epoch 0 (which also holds the set-up and the first rasters) is reported;
   - 1500-epoch time: with ``--full`` the default-config 1500-epoch ``spike_match_run`` is timed for the
     methods given (default: stochastic); otherwise it is extrapolated as the wall time of the
     ``run_epochs``-epoch run + (1500 − run_epochs) × its median epoch, and labelled as an extrapolation.
   Goal of the issue: the full 1500-epoch stochastic run in under 5 minutes on this machine.

Speed is measured here, never asserted in tests (tests/test_bench_spike_match.py runs ``--quick`` and
checks the JSON and the equivalence).

Usage: .venv/bin/python benchmarks/bench_spike_match.py [--quick] [--full] [--methods superspike stochastic]
                                                        [--out benchmarks/out/bench_spike_match.json]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy (and its BLAS) is loaded

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import Timer, finish_report, machine_info  # noqa: E402  (benchmarks/ is on sys.path)

from sgtheory.experiments.spike_match import SpikeMatchConfig, SpikeMatcher, spike_match_run  # noqa: E402
from sgtheory.seeding import stream  # noqa: E402

FULL_EPOCHS = 1500
GOAL_S = 300.0  # the full stochastic run in under 5 minutes
TOLERANCE = 1e-10  # relative error of the updates for the equivalence check
METHODS = ("superspike", "stochastic", "multilayerspiker")

# Per-mode settings: discarded warm-up epochs, timed epochs (numpy and sgtheory interleaved), and the
# epochs of the timed spike_match_run.
MODES = {
    "full": {"warmup": 2, "epochs": 15, "run_epochs": 20},
    "quick": {"warmup": 1, "epochs": 2, "run_epochs": 3},
}


# ---------------------------------------------------------------- the plain numpy version


def numpy_setup(cfg: SpikeMatchConfig, inputs: np.ndarray, target: np.ndarray) -> dict:
    """Constants of the numpy version: decay factors, the ε kernel and the ε-filtered target."""
    T = target.shape[0]
    t_k = np.linspace(0.0, T * cfg.dt / 1000.0, T)  # seconds; the spec's grid (spacing T·dt/(T − 1))
    eps = cfg.eps0 * (np.exp(-t_k / (cfg.tau_mem / 1000.0)) - np.exp(-t_k / (cfg.tau_syn / 1000.0)))
    return {
        "inputs": np.asarray(inputs, dtype=np.float64),  # (T, n_in) 0/1
        "target": np.asarray(target, dtype=np.float64),  # (T, n_out) 0/1
        "lam_m": math.exp(-cfg.dt / cfg.tau_mem),
        "lam_s": math.exp(-cfg.dt / cfg.tau_syn),
        "theta": cfg.threshold,
        "beta_h": cfg.beta_hidden,
        "beta_o": cfg.beta_output,
        "du_o": cfg.du_output,
        "eps": eps,
        "target_smooth": causal_filter(eps, np.asarray(target, dtype=np.float64)),
    }


def causal_filter(kernel: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(kernel ∗ x)[t] = Σ_{s≤t} kernel[t − s] x[s] for every column of x (T, N)."""
    T = x.shape[0]
    return np.stack([np.convolve(kernel, x[:, n])[:T] for n in range(x.shape[1])], axis=1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1/(1 + e^{−x}) without overflow


def numpy_epoch(p: dict, W0: np.ndarray, W1: np.ndarray, method: str, trials: int,
                rng: np.random.Generator | None = None, uniforms: tuple | None = None) -> dict:
    """One epoch of the learning rule: ``trials`` forward passes with the same weights, the trial-averaged
    updates dW0, dW1 (without learning rate) and the distances of the last trial.

    Stochastic methods draw their uniform numbers from ``rng`` unless ``uniforms`` = (hidden (T, B, N_h),
    output (T, B, N_o)) is given."""
    inputs, target = p["inputs"], p["target"]
    T, n_in = inputs.shape
    n_h, n_o = W0.shape[1], W1.shape[1]
    lam_m, lam_s, theta = p["lam_m"], p["lam_s"], p["theta"]
    stochastic = method != "superspike"
    if stochastic and uniforms is None:
        uniforms = (rng.random((T, trials, n_h)), rng.random((T, trials, n_o)))

    # state at t = 0: everything zero
    I_h, U_h = np.zeros((trials, n_h)), np.zeros((trials, n_h))
    I_o, U_o = np.zeros((trials, n_o)), np.zeros((trials, n_o))
    Itil_in, xhat_in = np.zeros(n_in), np.zeros(n_in)  # filtered input spikes (same for all trials)
    Itil_h, xhat_h = np.zeros((trials, n_h)), np.zeros((trials, n_h))  # filtered hidden spikes
    U_h_rec = np.zeros((T, trials, n_h))
    S_h_rec = np.zeros((T, trials, n_h))
    S_o_rec = np.zeros((T, trials, n_o))
    xhat_in_rec = np.zeros((T, n_in))
    xhat_h_rec = np.zeros((T, trials, n_h))

    for t in range(T):
        # spikes of step t
        if stochastic:
            S_h = (uniforms[0][t] < sigmoid(p["beta_h"] * (U_h - theta))).astype(np.float64)
            S_o = (uniforms[1][t] < sigmoid(p["beta_o"] * (U_o - theta))).astype(np.float64)
        else:
            S_h = (U_h > theta).astype(np.float64)
            S_o = (U_o > theta).astype(np.float64)
        U_h_rec[t], S_h_rec[t], S_o_rec[t] = U_h, S_h, S_o
        xhat_in_rec[t], xhat_h_rec[t] = xhat_in, xhat_h

        # step t -> t + 1 (the membrane takes the current of step t, before the current is updated)
        U_h = lam_m * U_h * (1.0 - S_h) + (1.0 - lam_m) * I_h
        I_h = lam_s * I_h + inputs[t] @ W0
        U_o = lam_m * U_o * (1.0 - S_o) + (1.0 - lam_m) * I_o
        I_o = lam_s * I_o + S_h @ W1
        xhat_in = lam_m * xhat_in + (1.0 - lam_m) * Itil_in
        Itil_in = lam_s * Itil_in + inputs[t]
        xhat_h = lam_m * xhat_h + (1.0 - lam_m) * Itil_h
        Itil_h = lam_s * Itil_h + S_h

    # output layer: δ_o = (z − S_o)/Δu_o, ΔW1 = Σ_t x̂_hᵀ δ_o
    delta_o = (target[:, None, :] - S_o_rec) / p["du_o"]  # (T, B, n_o)
    dW1 = np.zeros_like(W1)
    for b in range(trials):
        dW1 += xhat_h_rec[:, b].T @ delta_o[:, b]

    # hidden layer: e_h = δ_o W1ᵀ, ẽ_h[s] = Σ_{t≥s} ε[t − s] e_h[t], ΔW0 = x̂_inᵀ (ψ_h ⊙ ẽ_h)
    e_h = delta_o @ W1.T  # (T, B, n_h)
    eps = p["eps"]
    e_tilde = np.zeros_like(e_h)
    for s in range(T):
        e_tilde[s] = np.tensordot(eps[: T - s], e_h[s:], axes=1)
    x = U_h_rec - theta
    if method == "stochastic":  # derivative of the escape noise: β σ(βx)(1 − σ(βx))
        psi = p["beta_h"] * 0.25 * (1.0 - np.tanh(0.5 * p["beta_h"] * x) ** 2)
    elif method == "superspike":
        psi = 1.0 / (p["beta_h"] * np.abs(x) + 1.0) ** 2
    else:  # multilayerspiker: the hidden spike train itself
        psi = S_h_rec
    dW0 = xhat_in_rec.T @ (psi * e_tilde).sum(axis=1)

    # distances of the last trial (before the update)
    last = S_o_rec[:, -1]
    van_rossum = 0.5 * ((p["target_smooth"] - causal_filter(eps, last)) ** 2).sum(axis=0).mean()
    l2 = 0.5 * ((target - last) ** 2).sum(axis=0).mean()
    return {"dW0": dW0 / trials, "dW1": dW1 / trials, "van_rossum": float(van_rossum), "l2": float(l2),
            "S_h": S_h_rec, "S_o": S_o_rec}


# ---------------------------------------------------------------- equivalence on the same data


def config(method: str, seed: int, epochs: int = FULL_EPOCHS) -> SpikeMatchConfig:
    return SpikeMatchConfig(method=method, seed=seed, epochs=epochs)


def equivalence(method: str, seed: int) -> dict:
    """Epoch-0 updates of sgtheory and of numpy_epoch from the same weights, input, target (and uniforms)."""
    cfg = config(method, seed)
    task = SpikeMatcher(cfg)
    p = numpy_setup(cfg, task.inputs.numpy(), task.target.numpy())
    generator = stream(cfg.seed, "spikes", 0)
    uniforms = None
    if cfg.stochastic:  # the draws of SpikeMatcher.forward, in its order, from a copy of the generator
        copy = torch.Generator().set_state(generator.get_state())
        shape_h = (task.T, cfg.trials, cfg.n_hidden)
        shape_o = (task.T, cfg.trials, task.n_output)
        uniforms = tuple(torch.rand(shape, generator=copy, dtype=torch.float64).numpy() for shape in (shape_h, shape_o))
    with torch.no_grad():
        run = task.forward(cfg.trials, cfg.stochastic, generator)
        dW0, dW1 = task.rule_updates(run)
    measures = task.measures(run)
    ref = numpy_epoch(p, task.W0.numpy().copy(), task.W1.numpy().copy(), method, cfg.trials, uniforms=uniforms)

    def rel(ours: torch.Tensor, plain: np.ndarray) -> float:
        return float(np.max(np.abs(ours.numpy() - plain)) / np.max(np.abs(plain)))

    r = {"method": method, "trials": cfg.trials, "same_uniforms": cfg.stochastic,
         "rel_err_dW0": rel(dW0, ref["dW0"]), "rel_err_dW1": rel(dW1, ref["dW1"]),
         "spike_mismatch_hidden": int(np.sum(run.S_h.numpy() != ref["S_h"])),
         "spike_mismatch_output": int(np.sum(run.S_o.numpy() != ref["S_o"])),
         "hidden_spikes": int(ref["S_h"].sum()), "output_spikes": int(ref["S_o"].sum()),
         "van_rossum_abs_diff": abs(measures["van_rossum"] - ref["van_rossum"]),
         "l2_abs_diff": abs(measures["l2"] - ref["l2"]),
         "van_rossum": ref["van_rossum"], "l2": ref["l2"]}
    r["passed"] = bool(r["rel_err_dW0"] <= TOLERANCE and r["rel_err_dW1"] <= TOLERANCE
                       and r["spike_mismatch_hidden"] == 0 and r["spike_mismatch_output"] == 0
                       and r["van_rossum_abs_diff"] <= TOLERANCE * max(1.0, r["van_rossum"])
                       and r["l2_abs_diff"] <= TOLERANCE * max(1.0, r["l2"]))
    return r


# ---------------------------------------------------------------- timing


def numpy_epochs(cfg: SpikeMatchConfig, task: SpikeMatcher):
    """Generator: trains a numpy copy of ``task``'s initial network, yields the wall time (s) of each epoch."""
    p = numpy_setup(cfg, task.inputs.numpy(), task.target.numpy())
    W0, W1 = task.W0.numpy().copy(), task.W1.numpy().copy()
    rng = np.random.default_rng(cfg.seed)
    while True:
        t0 = time.perf_counter()
        out = numpy_epoch(p, W0, W1, cfg.method, cfg.trials, rng=rng)
        W0 += cfg.lr_hidden * out["dW0"]
        W1 += cfg.lr_output * out["dW1"]
        yield time.perf_counter() - t0


def sgtheory_epochs(cfg: SpikeMatchConfig, task: SpikeMatcher):
    """Generator: trains ``task`` as ``spike_match_run`` does (without the validation pass and the rasters),
    yields the wall time (s) of each epoch."""
    epoch = 0
    while True:
        t0 = time.perf_counter()
        with torch.no_grad():
            run = task.forward(cfg.trials, cfg.stochastic, stream(cfg.seed, "spikes", epoch))
            dW0, dW1 = task.rule_updates(run)
            task.W0 += cfg.lr_hidden * dW0
            task.W1 += cfg.lr_output * dW1
        task.measures(run)
        yield time.perf_counter() - t0
        epoch += 1


def timed_run(cfg: SpikeMatchConfig) -> dict:
    """``spike_match_run``: total wall time, per-epoch times from its progress callback, last measures."""
    stamps: list[float] = []
    t0 = time.perf_counter()
    result = spike_match_run(cfg, progress=lambda _epoch, _info: stamps.append(time.perf_counter()))
    wall = time.perf_counter() - t0
    epoch_ms = [1e3 * (b - a) for a, b in zip([t0, *stamps], stamps, strict=False)]
    last = [row for row in result.rows if row["kind"] == "epoch"][-1]
    return {"epochs": cfg.epochs, "wall_s": wall, "epoch_ms": epoch_ms, "error": result.error,
            "median_ms": statistics.median(epoch_ms[1:]) if len(epoch_ms) > 1 else epoch_ms[0],
            "last_epoch": {k: last[k] for k in ("van_rossum", "l2", "rate_hidden", "rate_output")}}


def bench_method(method: str, seed: int, mode: dict, full: bool) -> dict:
    cfg = config(method, seed)
    n = mode["warmup"] + mode["epochs"]
    plain, ours = numpy_epochs(cfg, SpikeMatcher(cfg)), sgtheory_epochs(cfg, SpikeMatcher(cfg))
    t_np, t_sg = [], []
    for _ in range(n):  # alternate, so that both see the same load on the machine
        t_np.append(next(plain))
        t_sg.append(next(ours))
    numpy_ms = 1e3 * statistics.median(t_np[mode["warmup"]:])
    sg_ms = 1e3 * statistics.median(t_sg[mode["warmup"]:])

    run = timed_run(config(method, seed, mode["run_epochs"]))
    extrapolated = run["wall_s"] + (FULL_EPOCHS - run["epochs"]) * run["median_ms"] / 1e3
    r = {"method": method, "trials": cfg.trials, "timed_epochs": mode["epochs"], "warmup": mode["warmup"],
         "numpy_ms": numpy_ms, "sgtheory_ms": sg_ms, "speedup": numpy_ms / sg_ms,
         "numpy_min_ms": 1e3 * min(t_np[mode["warmup"]:]), "sgtheory_min_ms": 1e3 * min(t_sg[mode["warmup"]:]),
         "run_epochs": run["epochs"], "run_wall_s": run["wall_s"], "run_ms": run["median_ms"],
         "extrapolated_1500_s": extrapolated, "full_1500": None}
    if full:
        full_run = timed_run(config(method, seed))
        full_run.pop("epoch_ms")
        r["full_1500"] = full_run
    r["time_1500_s"] = r["full_1500"]["wall_s"] if full else extrapolated
    r["time_1500_measured"] = full
    return r


# ---------------------------------------------------------------- report, main


def print_report(equiv: list[dict], rows: list[dict], goal: dict, note: str) -> None:
    print("equivalence: epoch-0 updates, sgtheory vs plain numpy, same weights, input and target "
          "(stochastic: same uniforms)")
    print("| method | trials | max rel err ΔW0 | max rel err ΔW1 | differing spikes (hidden, output) "
          "| |Δ van Rossum| | |Δ L2| | passed |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for e in equiv:
        print(f"| {e['method']} | {e['trials']} | {e['rel_err_dW0']:.1e} | {e['rel_err_dW1']:.1e} "
              f"| {e['spike_mismatch_hidden']}, {e['spike_mismatch_output']} | {e['van_rossum_abs_diff']:.1e} "
              f"| {e['l2_abs_diff']:.1e} | {'yes' if e['passed'] else 'NO'} |")
    print(f"\nms per epoch ({note}); sgtheory = forward + rule_updates + weight step + measures (the same work as "
          "numpy); run = spike_match_run per epoch, which adds a one-trial validation pass")
    print("| method | trials | numpy ms/epoch | sgtheory ms/epoch | speedup | run ms/epoch "
          "| 1500-epoch time |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        how = "measured" if r["time_1500_measured"] else f"extrapolated from {r['run_epochs']} epochs"
        print(f"| {r['method']} | {r['trials']} | {r['numpy_ms']:.1f} | {r['sgtheory_ms']:.1f} "
              f"| {r['speedup']:.2f} | {r['run_ms']:.1f} | {r['time_1500_s']:.0f} s ({how}) |")
    met = {True: "MET", False: "NOT MET", None: "not measured"}[goal["met"]]
    value = "-" if goal["value_s"] is None else f"{goal['value_s']:.0f} s"
    print(f"\ngoal: {met}: {goal['goal']}: {value}"
          + ("" if goal["measured"] else " (extrapolated; run with --full to measure)"))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few epochs: 1 warm-up + 2 timed, a 3-epoch run (~5 s)")
    ap.add_argument("--full", action="store_true",
                    help="also time the full 1500-epoch spike_match_run of the --full-methods (minutes)")
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=["superspike", "stochastic"])
    ap.add_argument("--full-methods", nargs="+", choices=METHODS, default=["stochastic"],
                    help="methods whose 1500-epoch run --full measures (the others are extrapolated)")
    ap.add_argument("--seed", type=int, default=0, help="run seed (the config default)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_spike_match.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    mode = dict(MODES["quick" if args.quick else "full"])

    timer = Timer()
    equiv = [equivalence(m, args.seed) for m in args.methods]
    rows = [bench_method(m, args.seed, mode, args.full and m in args.full_methods) for m in args.methods]

    stoch = next((r for r in rows if r["method"] == "stochastic"), None)
    goal = {"goal": f"full {FULL_EPOCHS}-epoch stochastic spike_match_run in under {GOAL_S:.0f} s",
            "value_s": stoch["time_1500_s"] if stoch else None,
            "measured": bool(stoch and stoch["time_1500_measured"]),
            "met": (stoch["time_1500_s"] < GOAL_S) if stoch else None}
    deterministic = [e for e in equiv if e["method"] == "superspike"]
    note = f"{'quick' if args.quick else 'full'} mode, median of {mode['epochs']} after {mode['warmup']} warm-up"
    print_report(equiv, rows, goal, note)
    cfg = config("stochastic", args.seed)
    report = {
        "machine": machine_info(),
        "config": {"quick": args.quick, "full": args.full, "methods": args.methods,
                   "full_methods": args.full_methods if args.full else [], "seed": args.seed, **mode,
                   "full_epochs": FULL_EPOCHS, "tolerance": TOLERANCE,
                   "n_input": cfg.n_input, "n_hidden": cfg.n_hidden, "T": 189, "input_rate": cfg.input_rate,
                   "dt": cfg.dt, "tau_mem": cfg.tau_mem, "tau_syn": cfg.tau_syn, "threshold": cfg.threshold,
                   "eps0": cfg.eps0, "du_output": cfg.du_output, "beta_hidden": cfg.beta_hidden,
                   "beta_output": cfg.beta_output, "dtype": cfg.dtype,
                   "timing": "numpy and sgtheory epochs interleaved, median after warm-up; run = spike_match_run "
                             "per epoch from its progress callback (median after epoch 0)"},
        "equivalence": equiv,
        # the required check: the deterministic updates agree (None when superspike was not run)
        "equivalence_passed": all(e["passed"] for e in deterministic) if deterministic else None,
        "timing": rows,
        "goal": goal,
    }
    return finish_report(report, timer, args.out)


if __name__ == "__main__":
    main()
