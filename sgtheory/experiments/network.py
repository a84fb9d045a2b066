"""Batched RNNs on the delayed tasks (flossing spec §2, §4): building them from their configs
(:mod:`sgtheory.experiments.configs.network`), drawing task batches and input bits, and their Lyapunov spectra and
long-term Jacobians. Shared by ``train``, ``lyap``, ``floss``, ``conservative-check`` and the flossing schedules."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

from sgtheory.experiments.base import DTYPES
from sgtheory.experiments.configs.network import NetworkConfig
from sgtheory.functional.lyapunov import Spectrum, long_term_singular_values, lyapunov_spectrum, orthonormal_system
from sgtheory.models.rnn import RNN, init_weights
from sgtheory.seeding import stream


def build_model(configs: Sequence[NetworkConfig], batch: int) -> RNN:
    """Initialise one realization per config (their seeds) and stack them into one batched RNN whose
    relaxed initial state has ``batch`` columns."""
    cfg = configs[0]
    dtype = DTYPES[cfg.dtype]
    per_run = [init_weights(c.rnn_init(), stream(c.seed, "net"), dtype) for c in configs]
    weights = {k: torch.stack([w[k] for w in per_run]) for k in per_run[0]}
    x0 = torch.stack([torch.randn(batch, cfg.state_dim, generator=stream(c.seed, "ic"), dtype=dtype)
                      for c in configs])
    lif_options = dict(tau_mem=cfg.tau_mem, tau_syn=cfg.tau_syn, dt=cfg.dt, threshold=cfg.threshold,
                       diff_reset=cfg.diff_reset)
    model = RNN(cfg.model, weights, x0, cfg.spike_surrogate(), **lif_options)
    with torch.no_grad():
        model.x0.copy_(model.relax(model.x0, cfg.relax_steps))
    return model


def input_bits(configs: Sequence[NetworkConfig], purpose: str, index: int, T: int, rate: float = 0.5) -> torch.Tensor:
    """Input sequences (T, R, 1, 1): bits ~ Bernoulli(rate) times the input amplitude, one stream per run."""
    dtype = DTYPES[configs[0].dtype]
    seqs = [(torch.rand(T, 1, 1, generator=stream(c.seed, purpose, index), dtype=dtype) < rate).to(dtype)
            * c.input_amplitude for c in configs]
    return torch.stack(seqs, dim=1)


def initial_tangents(configs: Sequence[NetworkConfig], k: int) -> torch.Tensor:
    """Orthonormal system Q0 (R, k, D) of every run from its ``ons`` stream (the reference sONS seed)."""
    dtype = DTYPES[configs[0].dtype]
    return torch.stack([orthonormal_system((k, c.state_dim), stream(c.seed, "ons"), dtype) for c in configs])


def network_spectrum(model: RNN, inputs: torch.Tensor, Q0: torch.Tensor, transient: int,
                     ons_interval: int = 1, jacobian_surrogate=None) -> Spectrum:
    """Exponents of ``model`` (R realizations) along the trajectory driven by ``inputs`` (T, R, 1, S),
    starting from the first column of the relaxed initial state (detached: it is not flossed); the Jacobian
    uses ``jacobian_surrogate`` where given (default: the model's)."""
    step, tangent, unpack = model.dynamics(jacobian_surrogate)
    state0 = unpack(model.x0[:, :1].detach())
    return lyapunov_spectrum(step, tangent, state0, model.drive(inputs), Q0, transient, ons_interval)


@torch.no_grad()
def network_jacobian(model: RNN, inputs: torch.Tensor, jacobian_surrogate=None) -> torch.Tensor:
    """log σ_i(t) (natural log; (T + 1, R, D)) of the measured long-term Jacobian D_t⋯D_1 of ``model`` along the
    trajectory driven by ``inputs`` (T, R, 1, S) from the first column of the initial state, computed in float64
    whatever the model's dtype (the surrogate Jacobian for binary and LIF units, with ``jacobian_surrogate`` where
    given)."""
    model64 = copy.deepcopy(model).double()
    step, tangent, unpack = model64.dynamics(jacobian_surrogate)
    state0 = unpack(model64.x0[:, :1])
    dim = model64.x0.shape[-1]
    return long_term_singular_values(step, tangent, state0, model64.drive(inputs.double()), dim)
