"""``sgtheory sparseprop``: its config and help; the run is :func:`sgtheory.experiments.sparseprop.sparseprop`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sgtheory.config import RunConfig, check_choice, check_counts, check_positive
from sgtheory.errors import ConfigError
from sgtheory.memory import ROW_BYTES

MODES = ("simulate", "exactness", "train")
MODELS = ("lif", "qif")  # sgtheory.functional.sparseprop.MODELS
TABULATED_MODELS = ("eif",)  # sgtheory.functional.sparseprop.TABULATED_MODELS
PTCS = ("analytic", "table")
TRAINED = ("drive", "currents")
ALGORITHMS = ("sparseprop", "sparseprop_lazy", "sparseprop_time", "conventional_numba",
              "conventional_numpy")  # sgtheory.functional.sparseprop.ALGORITHMS


@dataclasses.dataclass(frozen=True)
class SparsePropConfig(RunConfig):
    """The inhibitory balanced network of pulse-coupled LIF or QIF neurons in phase representation (spec
    sparseprop_balanced.md §1.2–1.3): N neurons, K targets each (fixed out-degree, without replacement, drawn from
    the seed; decision D4), δ-pulses J = −J0/√K, drive from the balance equation I_bal = τ·√K·J0·ν̄. Simulated
    exactly, spike by spike, by SparseProp (phase heap with a global phase offset, O(K log N) per spike) or by the
    conventional O(N)-per-spike event-based algorithm (compiled scalar loop or numpy; decision D2)."""

    mode: str = "simulate"  # simulate | exactness (algorithm vs reference, spike by spike) | train (adjoint, Adam)
    model: str = "lif"  # lif | qif | eif (exponential integrate-and-fire, PTC tabulated from its ODE: --ptc table)
    ptc: str = "analytic"  # analytic (closed form: LIF, QIF) | table (tabulated from the ODE: LIF, EIF)
    delta_T: float = 0.1  # eif: slope factor ΔT (dimensionless, V_T = 1, reset 0)
    algorithm: str = "sparseprop"  # sparseprop | sparseprop_lazy | sparseprop_time | conventional_numba | …_numpy
    N: int = 10_000  # neurons
    K: int = 100  # synapses per neuron (out-degree)
    J0: float = 1.0  # coupling strength: J = −J0/√K (> 0: inhibition only, decision D3)
    rate: float = 1.0  # target rate ν̄ of the balance equation (Hz)
    tau: float = 0.01  # membrane time constant (s)
    spikes: int = 10_000  # network spikes simulated
    record: int = 10_000  # simulate: the first `record` spikes become rows (0: summary rows only); exactness: blocks
    record_neurons: int = 0  # simulate: > 0 records only the spikes of neurons 0..record_neurons-1 (a raster)
    reference: str = "conventional_numba"  # exactness: the algorithm that `algorithm` is compared with
    eta: float = 0.0  # simulate with --algorithm sparseprop_time: drives I_bal·(1 + eta·sin(2i/N)), |eta| < 1
    epochs: int = 60  # train: Adam steps on (ln(I_ext − rheobase), ln J0), from the balance equation's values
    lr: float = 0.05  # train: Adam's learning rate
    target_rate: float = 2.0  # train: the population rate (Hz) the s-th spike time is steered to: t_s → s/(N·ν*)
    fd_step: float = 1e-6  # train: relative step of the central finite differences checked at the first epoch
    train: str = "drive"  # train: drive (shared I_ext and J0; phase heap) | currents (I_ext,i per neuron; time heap)
    target_spread: float = 0.5  # train currents: neuron i's target rate ν*·(1 + spread·(2i/(N−1) − 1)), spread < 1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("mode", self.mode, MODES)
        check_choice("model", self.model, MODELS + TABULATED_MODELS)
        check_choice("ptc", self.ptc, PTCS)
        check_choice("train", self.train, TRAINED)
        check_choice("algorithm", self.algorithm, ALGORITHMS)
        check_choice("reference", self.reference, ALGORITHMS)
        check_counts(self, positive=("N", "K", "spikes"), non_negative=("record", "record_neurons"))
        check_counts(self, non_negative=("epochs",))
        for name in ("rate", "tau", "lr", "target_rate", "fd_step", "delta_T"):
            check_positive(name, getattr(self, name))
        if not 0 <= self.target_spread < 1:
            raise ConfigError(f"target_spread={self.target_spread!r} must lie in [0, 1): every target rate must be > 0")
        if self.ptc == "table" and self.model == "qif":
            raise ConfigError("ptc=table tabulates a PTC with a leak below the reset (LIF, EIF), not the QIF's")
        if self.model == "eif" and self.ptc != "table":
            raise ConfigError("model=eif has no closed-form PTC: use --ptc table")
        if self.ptc == "table" and (self.mode == "train" or "sparseprop_time" in (self.algorithm, self.reference)):
            raise ConfigError("a tabulated PTC (ptc=table) runs in the phase heaps and the conventional loops only "
                              "(not sparseprop_time, not mode=train)")
        if self.mode == "train" and self.train == "currents" and self.model not in MODELS:
            raise ConfigError(f"train=currents needs an analytic model ({', '.join(MODELS)})")
        if not (self.J0 > 0 and self.J0 < float("inf")):
            raise ConfigError(f"J0={self.J0!r} must be a positive finite number: only inhibitory coupling is "
                              "supported (excitatory kicks can fire a neuron at once; decision D3)")
        if not abs(self.eta) < 1:
            raise ConfigError(f"eta={self.eta!r} must lie in (-1, 1): a neuron with a drive <= 0 never fires")
        if self.eta != 0 and (self.algorithm != "sparseprop_time" or self.mode != "simulate"):
            raise ConfigError(f"eta={self.eta!r} (neurons with their own drive) needs --mode simulate and --algorithm "
                              "sparseprop_time: the phase heaps and the conventional loops assume one phase velocity")
        if self.N < 2:
            raise ConfigError(f"N={self.N} must be >= 2 (every neuron needs another neuron to project to)")
        if self.K >= self.N:
            raise ConfigError(f"K={self.K} must be below N={self.N} (targets are drawn without replacement from "
                              "the N - 1 other neurons)")

    def batch_key(self) -> str:
        """Every run is its own task (its own timing, in parallel workers)."""
        return self.run_id()

    @classmethod
    def task_bytes(cls, configs: Sequence[SparsePropConfig]) -> float:
        """Per run: the CSR targets (4·N·K), the drawing buffer of one chunk of rows, the phases and the heap
        (≈ 40 B per neuron), the spike record (12 B per spike) and the rows."""
        total = 0.0
        for c in configs:
            chunk = min(c.N, 1 << 16) * c.K * 8 * 3
            runs = 2 if c.mode == "exactness" else 1
            if c.mode == "train":  # the targets' phases before their kicks, 8 bytes per synaptic event
                total += 8 * c.spikes * c.K
            total += (4 * c.N * c.K + chunk + 40 * c.N + runs * 12 * c.spikes
                      + (2 * min(c.record, c.spikes) + 8) * ROW_BYTES)
        return total


SPARSEPROP_HELP = """Exact event-based simulation of sparse spiking networks (SparseProp, Engelken 2023).

    The inhibitory balanced network of --model lif or qif neurons in phase representation: --N
    neurons, --K targets each (fixed out-degree, no autapses, drawn from the seed), coupling
    J = -J0/sqrt(K) (inhibition only), drive from the balance equation for the target --rate (Hz),
    --tau (s). --algorithm sparseprop (phase heap with a global phase offset, O(K log N) per
    spike), sparseprop_lazy (lazy heap), sparseprop_time (a heap of next spike times, the variant
    for neurons with their own phase velocity), conventional_numba or conventional_numpy (O(N) per
    spike), each compiled with numba where it says so. Simulates --spikes network spikes.
    Rows: quantity=spike (index: the neuron, time: the spike time in s, value: the spike's
    number) for the first --record spikes, and the summary quantities spikes, t_end (s),
    mean_rate (Hz), cpu_per_spike (s per network spike, one thread, compiled code only),
    cpu_total (s), setup_s (connectivity and initial state) and compile_s (numba: compile or
    load from its cache). --record-neurons M > 0 records only the spikes of neurons 0..M-1 (at
    most --record of them: a raster of a large network). --eta (with --algorithm sparseprop_time)
    gives neuron i the drive I_bal*(1 + eta*sin(2i/N)), the reference's inhomogeneous network.

    --mode exactness runs --algorithm and --reference (default conventional_numba) from the same
    network and state and compares them spike by spike, in --record blocks of spikes: rows
    quantity=time_error (value: the largest |dt| of the block in s; time: the block's last spike
    time) and index_error (value: spikes of the block whose neuron differs), and the summaries
    max_time_error (s), max_relative_time_error (|dt|/t), index_mismatches, first_mismatch (-1:
    none), spikes and t_end.

    --model eif (exponential integrate-and-fire, slope factor --delta-T, V_T = 1, reset 0) has no
    closed-form phase map: with --ptc table its phase transition curve is tabulated from its ODE
    (Gauss-Legendre quadrature of dt = tau dV/f(V), cubic Hermite interpolation in z = -ln(1 - phi)).
    --ptc table does the same for the LIF. In --mode exactness the --reference always uses the
    closed-form PTC where the model has one: --model lif --ptc table --algorithm sparseprop
    --reference sparseprop compares the tabulated with the analytic PTC, spike by spike.

    --mode train steers the spike times of the network (--spikes per epoch, same network and
    initial phases every epoch) to a target population rate --target-rate (Hz): loss
    mean_s((t_s - s/(N*target_rate))^2) / T^2 (T: the target time of the last spike), trained
    for --epochs Adam steps (--lr) on ln(I_ext - rheobase) and ln(J0), with exact gradients from
    the adjoint (reverse sweep through the recorded spike times, O(K) per spike). Rows per epoch
    (index: the epoch): loss, grad_norm, rate (Hz), I_ext, J0, forward_cpu and backward_cpu (s);
    the first epoch's gradient against central finite differences (relative step --fd-step):
    grad_adjoint and grad_fd (index 0: I_ext, 1: J0) and grad_rel_error; and the summaries
    forward_cpu_per_spike (plain SparseProp), record_cpu_per_spike (forward keeping the
    targets' phases), backward_cpu_per_spike and backward_over_forward. --train currents trains
    one drive I_ext,i per neuron instead (the time heap, whose keys are next spike times, and its
    adjoint): neuron i's k-th spike is steered to k/target_i, target_i = --target-rate*(1 +
    --target-spread*(2i/(N-1) - 1)); loss mean_s((t_s - k_s/target_(j_s))^2) / T^2; Adam on
    ln(I_ext,i - rheobase); rows as above with I_ext the mean drive, plus rate_error (mean
    |rate_i/target_i - 1|, rate_i = 1/mean ISI), neuron_rate_first, neuron_rate (epoch 0 and last)
    and neuron_target (index: the neuron), and the gradient check of dL/dI_ext,i for the 3 neurons
    with the largest gradients (grad_adjoint and grad_fd with index k; grad_neuron: its number).

    Example: sgtheory sparseprop --set N=[1000,10000] --set algorithm=[sparseprop,conventional_numba]
"""  # the CLI help of `sgtheory sparseprop`
