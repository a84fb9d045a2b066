"""The ``sparseprop`` experiment (spec sparseprop_balanced.md §1; Engelken, NeurIPS 2023): exact event-based
simulation of the inhibitory balanced LIF, QIF or EIF network by SparseProp or a conventional O(N) event-based algorithm
(:mod:`sgtheory.functional.sparseprop`), with spike times and indices as rows and the cost per network spike.

A run draws its connectivity from ``stream_seed(seed, "net")`` and its initial phases from ``stream_seed(seed, "ic")``,
so the three algorithms simulate the same network from the same state. The numba loops are compiled (or loaded from
numba's cache) before the clock starts; ``cpu_per_spike`` is the process CPU time of the simulation alone divided by
the number of network spikes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from sgtheory.experiments.base import RunResult
from sgtheory.experiments.configs.sparseprop import SparsePropConfig
from sgtheory.functional import sparseprop as sp
from sgtheory.seeding import stream_seed


def network(cfg: SparsePropConfig) -> tuple[sp.PhaseModel, np.ndarray, np.ndarray, np.ndarray]:
    """(model, indptr, indices, initial phases) of a run: the same for every algorithm of one seed. With
    ``ptc: table`` the model's PTC is tabulated from its ODE (:func:`sp.tabulate_ptc`; the EIF has only that)."""
    model = sp.phase_model(cfg.model, cfg.K, cfg.J0, cfg.rate, cfg.tau, cfg.delta_T)
    if cfg.ptc == "table" and model.code != sp.TABLE:
        model = sp.tabulated(model, cfg.K, cfg.J0)
    indptr, indices = sp.connectivity(cfg.N, cfg.K, np.random.default_rng(stream_seed(cfg.seed, "net")))
    phases = sp.initial_phases(model, cfg.N, np.random.default_rng(stream_seed(cfg.seed, "ic")))
    return model, indptr, indices, phases


def simulate(cfg: SparsePropConfig) -> RunResult:
    compile_s = sp.warm_up()
    start = time.perf_counter()
    model, indptr, indices, phases = network(cfg)
    setup_s = time.perf_counter() - start
    cpu = time.process_time()
    if cfg.eta:  # neurons with their own drive: the time heap with per-neuron (ω_i, c_i); offsets as ω·t
        omega, c = sp.heterogeneous(cfg.model, cfg.K, cfg.J0, cfg.rate, cfg.tau, cfg.eta, cfg.N)
        times, index, _ = sp.time_heap(model.code, omega, c, model.phi_th, model.phi_reset, phases, indptr, indices,
                                       cfg.spikes)
        offset = times * model.omega
    else:
        offset, index, _ = sp.ALGORITHMS[cfg.algorithm](model, phases, indptr, indices, cfg.spikes)
    cpu = time.process_time() - cpu
    times = offset * (cfg.tau / model.omega)
    t_end = float(times[-1])
    numbers = np.flatnonzero(index < cfg.record_neurons) if cfg.record_neurons else np.arange(cfg.spikes)
    numbers = numbers[:cfg.record]
    rows = [{"quantity": "spike", "index": j, "time": t, "value": float(s)}
            for s, j, t in zip(numbers.tolist(), index[numbers].tolist(), times[numbers].tolist(), strict=True)]
    summary = {"spikes": float(cfg.spikes), "t_end": t_end, "mean_rate": cfg.spikes / (cfg.N * t_end),
               "cpu_per_spike": cpu / cfg.spikes, "cpu_total": cpu, "setup_s": setup_s, "compile_s": compile_s}
    rows += [{"quantity": name, "index": 0, "time": t_end, "value": value} for name, value in summary.items()]
    return RunResult(cfg, rows)


def exactness(cfg: SparsePropConfig) -> RunResult:
    """``cfg.algorithm`` against ``cfg.reference`` from the same network and state (spec §1.9): per block of spikes
    the largest spike-time difference and the number of spikes fired by a different neuron. The reference uses the
    closed-form PTC where the model has one, so ``ptc: table`` compares the tabulated with the analytic PTC (§1.9
    item 4)."""
    sp.warm_up()
    model, indptr, indices, phases = network(cfg)
    analytic = model if cfg.model in sp.TABULATED_MODELS else sp.phase_model(cfg.model, cfg.K, cfg.J0, cfg.rate,
                                                                             cfg.tau)
    off_a, idx_a, _ = sp.ALGORITHMS[cfg.algorithm](model, phases, indptr, indices, cfg.spikes)
    off_b, idx_b, _ = sp.ALGORITHMS[cfg.reference](analytic, phases, indptr, indices, cfg.spikes)
    times = off_a * (cfg.tau / model.omega)
    dt = np.abs(times - off_b * (cfg.tau / analytic.omega))
    wrong = idx_a != idx_b
    rows = []
    for b, block in enumerate(np.array_split(np.arange(cfg.spikes), max(1, min(cfg.record, cfg.spikes)))):
        t = float(times[block[-1]])
        rows.append({"quantity": "time_error", "index": b, "time": t, "value": float(dt[block].max())})
        rows.append({"quantity": "index_error", "index": b, "time": t, "value": float(wrong[block].sum())})
    t_end = float(times[-1])
    summary = {"max_time_error": float(dt.max()), "max_relative_time_error": float((dt / times).max()),
               "index_mismatches": float(wrong.sum()),
               "first_mismatch": float(np.argmax(wrong)) if wrong.any() else -1.0,
               "spikes": float(cfg.spikes), "t_end": t_end}
    rows += [{"quantity": name, "index": 0, "time": t_end, "value": value} for name, value in summary.items()]
    return RunResult(cfg, rows)


RHEOBASE = {"lif": 1.0, "qif": 0.0}  # I_ext below which a neuron never fires: the trained drive stays above it


class RateTask:
    """The demonstration task of ``mode: train``: steer the s-th network spike (s = 0…S−1) to the time
    T_s = (s + 1)/(N·ν*) of a population firing at ν* Hz; loss L = mean_s ((t_s − T_s)/T_{S−1})²."""

    def __init__(self, N: int, spikes: int, target_rate: float):
        self.target = np.arange(1, spikes + 1) / (N * target_rate)
        self.norm = float(self.target[-1]) ** 2 * spikes

    def loss(self, t: np.ndarray) -> float:
        return float(((t - self.target) ** 2).sum() / self.norm)

    def dL_dt(self, t: np.ndarray) -> np.ndarray:
        return 2.0 * (t - self.target) / self.norm


def gradient(cfg: SparsePropConfig, params: np.ndarray, indptr, indices, phases, task: RateTask) -> dict:
    """Loss, its gradient with respect to ``params`` = (ln(I_ext − rheobase), ln J0) by the adjoint, the spike
    times and the CPU seconds of the forward (recording) and backward passes."""
    I_ext, J0 = RHEOBASE[cfg.model] + math.exp(params[0]), math.exp(params[1])
    m = sp.drive_model(cfg.model, cfg.K, J0, I_ext)
    cpu = time.process_time()
    offset, index, pre = sp.sparseprop_record(m, phases, indptr, indices, cfg.spikes)
    forward = time.process_time() - cpu
    t = offset * (cfg.tau / m.omega)
    cpu = time.process_time()
    grad_c, grad_omega, _ = sp.adjoint(m, offset, index, pre, indptr, indices, task.dL_dt(t), cfg.tau)
    backward = time.process_time() - cpu
    dI, dJ = sp.drive_gradients(m, cfg.K, J0, grad_c, grad_omega)
    return {"loss": task.loss(t), "grad": np.array([dI * (I_ext - RHEOBASE[cfg.model]), dJ * J0]), "t": t,
            "index": index, "I_ext": I_ext, "J0": J0, "m": m, "forward": forward, "backward": backward}


def finite_differences(cfg: SparsePropConfig, params: np.ndarray, indptr, indices, phases, task: RateTask,
                       index: np.ndarray) -> tuple[np.ndarray, bool]:
    """Central differences of the loss in (I_ext, J0) with relative step ``cfg.fd_step``, and whether every
    perturbed run kept the spike order of ``index`` (where it does not, the gradient is not defined)."""
    I_ext, J0 = RHEOBASE[cfg.model] + math.exp(params[0]), math.exp(params[1])
    out, same = np.empty(2), True
    for k, (I, J) in enumerate(((I_ext, 0.0), (0.0, J0))):
        values = []
        for sign in (1.0, -1.0):
            h = sign * cfg.fd_step * (I if k == 0 else J)
            m = sp.drive_model(cfg.model, cfg.K, J0 + (h if k else 0.0), I_ext + (0.0 if k else h))
            offset, idx, _ = sp.sparseprop(m, phases, indptr, indices, cfg.spikes)
            same &= bool(np.array_equal(idx, index))
            values.append(task.loss(offset * (cfg.tau / m.omega)))
        out[k] = (values[0] - values[1]) / (2 * cfg.fd_step * (I_ext if k == 0 else J0))
    return out, same


def train(cfg: SparsePropConfig) -> RunResult:
    """Adam on (ln(I_ext − rheobase), ln J0) of the network with the exact gradient of the adjoint (spec §1.8,
    decision D5); same network and initial phases every epoch. See the help of ``--mode train``."""
    import torch

    sp.warm_up()
    start, indptr, indices, phases = network(cfg)
    task = RateTask(cfg.N, cfg.spikes, cfg.target_rate)
    params = torch.tensor([math.log(start.I_ext - RHEOBASE[cfg.model]), math.log(cfg.J0)], dtype=torch.float64,
                          requires_grad=True)
    optimizer = torch.optim.Adam([params], lr=cfg.lr)
    rows, forward, backward = [], [], []
    for epoch in range(cfg.epochs + 1):
        p = params.detach().numpy().copy()
        r = gradient(cfg, p, indptr, indices, phases, task)
        forward.append(r["forward"])
        backward.append(r["backward"])
        t_end = float(r["t"][-1])
        values = {"loss": r["loss"], "grad_norm": float(np.linalg.norm(r["grad"])),
                  "rate": cfg.spikes / (cfg.N * t_end), "I_ext": r["I_ext"], "J0": r["J0"],
                  "forward_cpu": r["forward"], "backward_cpu": r["backward"]}
        rows += [{"quantity": name, "index": epoch, "time": t_end, "value": float(v)} for name, v in values.items()]
        if epoch == 0:
            fd, same = finite_differences(cfg, p, indptr, indices, phases, task, r["index"])
            dI, dJ = sp.drive_gradients(r["m"], cfg.K, r["J0"], *sp.adjoint(
                r["m"], *sp.sparseprop_record(r["m"], phases, indptr, indices, cfg.spikes), indptr, indices,
                task.dL_dt(r["t"]), cfg.tau)[:2])
            adjoint = np.array([dI, dJ])
            error = float(np.max(np.abs(adjoint - fd) / np.maximum(np.abs(fd), 1e-300)))
            for k in (0, 1):
                rows.append({"quantity": "grad_adjoint", "index": k, "time": t_end, "value": float(adjoint[k])})
                rows.append({"quantity": "grad_fd", "index": k, "time": t_end, "value": float(fd[k])})
            rows.append({"quantity": "grad_rel_error", "index": 0, "time": t_end, "value": error})
            rows.append({"quantity": "fd_same_order", "index": 0, "time": t_end, "value": float(same)})
        if epoch == cfg.epochs:
            break
        optimizer.zero_grad()
        params.grad = torch.from_numpy(r["grad"])
        optimizer.step()
    cpu = time.process_time()
    sp.sparseprop(r["m"], phases, indptr, indices, cfg.spikes)
    rows += cost_rows(time.process_time() - cpu, forward, backward, cfg.spikes, t_end)
    return RunResult(cfg, rows)


def cost_rows(plain_cpu: float, forward: list[float], backward: list[float], spikes: int, t_end: float) -> list[dict]:
    """Rows of the CPU time per network spike (s): one plain forward pass (``plain_cpu`` for ``spikes`` spikes), the
    recording forward and the backward pass (medians over the epochs), and backward / plain forward."""
    plain = plain_cpu / spikes
    record, back = float(np.median(forward)) / spikes, float(np.median(backward)) / spikes
    summary = {"forward_cpu_per_spike": plain, "record_cpu_per_spike": record, "backward_cpu_per_spike": back,
               "backward_over_forward": back / plain}
    return [{"quantity": name, "index": 0, "time": t_end, "value": v} for name, v in summary.items()]


class NeuronRateTask:
    """The demonstration task of ``train: currents``: every neuron fires at its own target rate ν*_i = ν*·(1 +
    spread·(2i/(N−1) − 1)): the k-th spike of neuron i in the epoch is steered to k/ν*_i; loss L = mean_s ((t_s −
    k_s/ν*_{j_s})/T)², T = S/(N·mean ν*_i) the epoch's target duration (the per-neuron form of :class:`RateTask`).
    A neuron's rate is read as 1/ISI_i, ISI_i = (t_last,i − t_first,i)/(n_i − 1)."""

    def __init__(self, N: int, spikes: int, target_rate: float, spread: float):
        self.target = target_rate * (1.0 + spread * (2.0 * np.arange(N) / max(N - 1, 1) - 1.0))
        self.norm = (spikes / (N * float(self.target.mean()))) ** 2 * spikes

    def _targets(self, index: np.ndarray) -> np.ndarray:
        """k_s/ν*_{j_s}: spike s is the k_s-th of its neuron j_s."""
        order = np.argsort(index, kind="stable")
        grouped = index[order]
        k = np.empty(len(index))
        k[order] = np.arange(len(index)) - np.searchsorted(grouped, grouped) + 1
        return k / self.target[index]

    def loss(self, t: np.ndarray, index: np.ndarray) -> float:
        return float(((t - self._targets(index)) ** 2).sum() / self.norm)

    def dL_dt(self, t: np.ndarray, index: np.ndarray) -> np.ndarray:
        return 2.0 * (t - self._targets(index)) / self.norm

    def rates(self, t: np.ndarray, index: np.ndarray) -> np.ndarray:
        """1/ISI_i per neuron (NaN with fewer than two spikes)."""
        N = len(self.target)
        n = np.bincount(index, minlength=N)
        first, last = np.zeros(N), np.zeros(N)
        fired, at = np.unique(index, return_index=True)
        first[fired] = t[at]
        fired, at = np.unique(index[::-1], return_index=True)
        last[fired] = t[::-1][at]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n >= 2, (n - 1) / (last - first), np.nan)


FD_NEURONS = 3  # train currents: the finite-difference check covers the neurons with the largest gradients


def current_gradient(cfg: SparsePropConfig, I_ext: np.ndarray, indptr, indices, phases, task: NeuronRateTask,
                     code: int, phi_th: float, phi_reset: float) -> dict:
    """Loss and ∂L/∂I_ext,i by the time heap's adjoint, the spike times and the CPU seconds of both passes."""
    omega, c = sp.drive_arrays(cfg.model, cfg.K, cfg.J0, I_ext)
    cpu = time.process_time()
    times, index, pre = sp.time_heap_record(code, omega, c, phi_th, phi_reset, phases, indptr, indices, cfg.spikes)
    forward = time.process_time() - cpu
    t = times * cfg.tau
    cpu = time.process_time()
    grad_omega, grad_c, _ = sp.time_adjoint(code, omega, c, phi_th, phi_reset, phases, times, index, pre, indptr,
                                            indices, task.dL_dt(t, index), cfg.tau)
    backward = time.process_time() - cpu
    d_omega, d_c = sp.drive_derivatives(code, I_ext, omega, c)
    return {"loss": task.loss(t, index), "grad": grad_omega * d_omega + grad_c * d_c, "t": t, "index": index,
            "forward": forward, "backward": backward, "omega": omega, "c": c}


def train_currents(cfg: SparsePropConfig) -> RunResult:
    """Adam on ln(I_ext,i − rheobase), one drive per neuron, with the exact gradient of the time heap's adjoint
    (neurons with their own drive have their own phase velocity: no global phase offset, so the time heap), from the
    balance equation's drive; same network and initial phases every epoch. See the help of ``--train currents``."""
    import torch

    sp.warm_up()
    start, indptr, indices, phases = network(cfg)
    task = NeuronRateTask(cfg.N, cfg.spikes, cfg.target_rate, cfg.target_spread)
    rheobase = RHEOBASE[cfg.model]
    params = torch.full((cfg.N,), math.log(start.I_ext - rheobase), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([params], lr=cfg.lr)
    args = (indptr, indices, phases, task, start.code, start.phi_th, start.phi_reset)
    rows, forward, backward = [], [], []
    for epoch in range(cfg.epochs + 1):
        I_ext = rheobase + np.exp(params.detach().numpy())
        r = current_gradient(cfg, I_ext, *args)
        forward.append(r["forward"])
        backward.append(r["backward"])
        t_end = float(r["t"][-1])
        rates = task.rates(r["t"], r["index"])
        fired = np.isfinite(rates)
        values = {"loss": r["loss"], "grad_norm": float(np.linalg.norm(r["grad"] * (I_ext - rheobase))),
                  "rate": cfg.spikes / (cfg.N * t_end), "I_ext": float(I_ext.mean()), "J0": cfg.J0,
                  "rate_error": float(np.mean(np.abs(rates[fired] / task.target[fired] - 1.0))),
                  "forward_cpu": r["forward"], "backward_cpu": r["backward"]}
        rows += [{"quantity": name, "index": epoch, "time": t_end, "value": float(v)} for name, v in values.items()]
        if epoch in (0, cfg.epochs):
            name = "neuron_rate_first" if epoch == 0 else "neuron_rate"
            rows += [{"quantity": name, "index": i, "time": t_end, "value": float(v)} for i, v in enumerate(rates)]
        if epoch == 0:
            checked = np.argsort(-np.abs(r["grad"]))[:FD_NEURONS]
            fd, same = np.empty(len(checked)), True
            for k, i in enumerate(checked):
                losses = []
                for sign in (1.0, -1.0):
                    I = I_ext.copy()
                    I[i] += sign * cfg.fd_step * I_ext[i]
                    omega, c = sp.drive_arrays(cfg.model, cfg.K, cfg.J0, I)
                    times, index, _ = sp.time_heap(start.code, omega, c, start.phi_th, start.phi_reset, phases,
                                                   indptr, indices, cfg.spikes)
                    same &= bool(np.array_equal(index, r["index"]))
                    losses.append(task.loss(times * cfg.tau, index))
                fd[k] = (losses[0] - losses[1]) / (2 * cfg.fd_step * I_ext[i])
            adjoint = r["grad"][checked]
            error = float(np.max(np.abs(adjoint - fd) / np.maximum(np.abs(fd), 1e-300)))
            for k, i in enumerate(checked):
                rows.append({"quantity": "grad_adjoint", "index": k, "time": t_end, "value": float(adjoint[k])})
                rows.append({"quantity": "grad_fd", "index": k, "time": t_end, "value": float(fd[k])})
                rows.append({"quantity": "grad_neuron", "index": k, "time": t_end, "value": float(i)})
            rows.append({"quantity": "grad_rel_error", "index": 0, "time": t_end, "value": error})
            rows.append({"quantity": "fd_same_order", "index": 0, "time": t_end, "value": float(same)})
        if epoch == cfg.epochs:
            break
        optimizer.zero_grad()
        params.grad = torch.from_numpy(r["grad"] * (I_ext - rheobase))
        optimizer.step()
    rows += [{"quantity": "neuron_target", "index": i, "time": t_end, "value": float(v)}
             for i, v in enumerate(task.target)]
    cpu = time.process_time()
    sp.time_heap(start.code, r["omega"], r["c"], start.phi_th, start.phi_reset, phases, indptr, indices, cfg.spikes)
    rows += cost_rows(time.process_time() - cpu, forward, backward, cfg.spikes, t_end)
    return RunResult(cfg, rows)


def sparseprop(configs: Sequence[SparsePropConfig], progress=None) -> list[RunResult]:
    """One RunResult per config (each its own task: see ``SparsePropConfig.batch_key``)."""
    modes = {"simulate": simulate, "exactness": exactness, "train": train}
    return [(train_currents if cfg.mode == "train" and cfg.train == "currents" else modes[cfg.mode])(cfg)
            for cfg in configs]
