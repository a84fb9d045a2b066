"""SparseProp vs Brian2's ``cpp_standalone`` on the same balanced network (issue 19; spec §4.3): wall time and CPU
time of ``--T`` seconds of network time, one thread each.

Network (decision D9): inhibitory LIF, τ dV/dt = −V + I_ext, threshold 1, reset 0, each spike kicks its K targets by
J = −J0/√K, I_ext = 1 + τ·√K·J0·ν̄ (K = 100, J0 = 1, ν̄ = 1 Hz, τ = 10 ms). sgtheory draws the connectivity (CSR) and
the initial phases once; Brian2 gets the same synapses (``Synapses.connect(i=…, j=…)``) and the same initial
voltages V(φ), integrates the linear ODE exactly per step of ``--dt`` (spikes then sit on the dt grid: an O(dt)
timing error, whereas SparseProp's spike times are exact) and runs its compiled C++ binary with one thread.

Timing: Brian2's code generation plus g++ compile is reported separately (``brian2_build_s``). Then the timed runs
alternate: SparseProp's loop (``sgtheory.functional.sparseprop.sparseprop`` for exactly the spikes in [0, T], heap
build included) and Brian2's binary (its whole process: loading the synapses from disk and the simulation loop;
Brian2's own loop time is ``brian2_loop_s``). Each figure is the median over ``--reps``. Rates of the two runs are
compared (they differ by the dt discretization only).

Brian2 runs in its own interpreter (``--brian2-python``, default this one): brian2 2.9.0 does not import with
numpy ≥ 2.4 (``ndarray.ptp`` was removed), so on such an environment install it beside numpy < 2.4, e.g.
``python -m venv /tmp/brian2-venv && /tmp/brian2-venv/bin/pip install brian2 "numpy<2.4"``. That interpreter runs this
file with ``--worker`` and imports only brian2 and numpy.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy (and its BLAS) is loaded

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

K, J0, RATE, TAU = 100, 1.0, 1.0, 0.01


def brian2_version(python: str) -> str | None:
    """brian2's version in interpreter ``python``, or None where it does not import there."""
    done = subprocess.run([python, "-c", "import brian2; print(brian2.__version__)"], capture_output=True, text=True)
    return done.stdout.split()[-1] if done.returncode == 0 and done.stdout.split() else None


def worker(folder: Path, T: float, dt: float) -> None:
    """(In the Brian2 interpreter) build the network saved in ``folder`` with cpp_standalone, compile it, run it once
    and write ``brian2.json``: version, build seconds, spike count, Brian2's own loop time and the binary's path."""
    import brian2 as b2  # only here: the main process need not have brian2

    net = json.loads((folder / "network.json").read_text())
    b2.set_device("cpp_standalone", directory=str(folder / "brian2"), build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0  # one thread, as SparseProp
    b2.defaultclock.dt = dt * b2.second
    group = b2.NeuronGroup(net["N"], "dv/dt = (I_ext - v) / tau : 1", threshold="v > 1", reset="v = 0",
                           method="exact", namespace={"I_ext": net["I_ext"], "tau": net["tau_s"] * b2.second})
    group.v = np.load(folder / "v0.npy")
    synapses = b2.Synapses(group, group, on_pre="v_post += w", namespace={"w": net["w"]})
    synapses.connect(i=np.load(folder / "source.npy"), j=np.load(folder / "target.npy"))
    monitor = b2.SpikeMonitor(group, record=False)  # the count only: no spike storage on Brian2's side
    b2.run(T * b2.second)
    start = time.perf_counter()
    b2.device.build(directory=str(folder / "brian2"), compile=True, run=False)
    build = time.perf_counter() - start
    b2.device.run(directory=str(folder / "brian2"), with_output=False)
    (folder / "brian2.json").write_text(json.dumps({
        "version": b2.__version__, "build_s": build, "spikes": int(monitor.num_spikes),
        "loop_s": float(b2.device._last_run_time), "binary": str(folder / "brian2" / "main")}))


def run_binary(binary: str) -> tuple[float, float]:
    """(wall s, CPU s) of one run of Brian2's compiled binary in its own directory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([binary], cwd=Path(binary).parent, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=100_000)
    parser.add_argument("--K", type=int, default=K)
    parser.add_argument("--T", type=float, default=10.0, help="network time (s)")
    parser.add_argument("--dt", type=float, default=1e-4, help="Brian2's time step (s)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--brian2-python", default=sys.executable, help="an interpreter where brian2 imports")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/bench_brian2.json"))
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.T, args.dt)
        return {}
    from common import Timer, finish_report, machine_info  # benchmarks/ is on sys.path; not needed by the worker

    from sgtheory.functional import sparseprop as sp

    version = brian2_version(args.brian2_python)
    if version is None:
        sys.exit(f"error: brian2 does not import in {args.brian2_python} (see --help for a separate environment)")
    timer = Timer()
    m = sp.phase_model("lif", args.K, J0, RATE, TAU)
    indptr, indices = sp.connectivity(args.N, args.K, np.random.default_rng(1))
    phases = sp.initial_phases(m, args.N, np.random.default_rng(2))
    sp.warm_up()
    end = args.T * m.omega / TAU  # the global phase offset Φ at network time T
    probe, _, _ = sp.sparseprop(m, phases, indptr, indices, 10 * args.N)  # the rate, from ≈ 10 spikes per neuron
    n = int(1.2 * 10 * args.N * end / probe[-1]) + 100
    while True:  # the number of spikes in [0, T]
        offset, _, _ = sp.sparseprop(m, phases, indptr, indices, n)
        if offset[-1] > end:
            spikes = int(np.searchsorted(offset, end, side="right"))
            break
        n *= 2
    del offset
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        net = {"N": args.N, "I_ext": m.I_ext, "tau_s": TAU, "w": -J0 / math.sqrt(args.K)}
        (folder / "network.json").write_text(json.dumps(net))
        np.save(folder / "v0.npy", sp.voltage(m, phases))
        np.save(folder / "source.npy", np.repeat(np.arange(args.N, dtype=np.int32), np.diff(indptr)))
        np.save(folder / "target.npy", indices)
        subprocess.run([args.brian2_python, __file__, "--worker", str(folder), "--T", str(args.T), "--dt",
                        str(args.dt)], check=True)
        brian = json.loads((folder / "brian2.json").read_text())
        times = {"sparseprop_wall_s": [], "sparseprop_cpu_s": [], "brian2_wall_s": [], "brian2_cpu_s": []}
        for _ in range(args.reps):  # alternate the two, so that both see the same load
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            sp.sparseprop(m, phases, indptr, indices, spikes)
            times["sparseprop_cpu_s"].append(time.process_time() - start_cpu)
            times["sparseprop_wall_s"].append(time.perf_counter() - start_wall)
            wall, cpu = run_binary(brian["binary"])
            times["brian2_wall_s"].append(wall)
            times["brian2_cpu_s"].append(cpu)
    row = {key: float(np.median(value)) for key, value in times.items()}
    row |= {"sparseprop_spikes": spikes, "brian2_spikes": brian["spikes"],
            "sparseprop_rate_hz": spikes / (args.N * args.T), "brian2_rate_hz": brian["spikes"] / (args.N * args.T),
            "brian2_build_s": brian["build_s"], "brian2_loop_s": brian["loop_s"]}
    for side, count in (("sparseprop", spikes), ("brian2", max(brian["spikes"], 1))):
        row[f"{side}_us_per_spike"] = 1e6 * row[f"{side}_wall_s"] / count
        row[f"{side}_cpu_us_per_spike"] = 1e6 * row[f"{side}_cpu_s"] / count
    row["wall_speedup"] = row["brian2_wall_s"] / row["sparseprop_wall_s"]
    row["cpu_speedup"] = row["brian2_cpu_s"] / row["sparseprop_cpu_s"]
    row["rate_ratio"] = row["sparseprop_rate_hz"] / max(row["brian2_rate_hz"], 1e-300)
    import numba

    report = {"machine": machine_info(numba=numba.__version__, brian2=version),
              "network": {"model": "lif", "N": args.N, "K": args.K, "J0": J0, "rate_hz": RATE, "tau_s": TAU,
                          "T_s": args.T, "brian2_dt_s": args.dt, "brian2_device": "cpp_standalone", "threads": 1},
              "runs": times, "result": row,
              "goals": {"sparseprop_faster_than_brian2_cpp_standalone_wall": row["wall_speedup"] > 1}}
    print(json.dumps({k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    return finish_report(report, timer, args.out)


if __name__ == "__main__":
    main()
