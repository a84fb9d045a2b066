"""The balanced rate network of Engelken et al. 2022 (balanced spec §2): its DMFT against the spec's numbers and a
small simulation, the balance equation, the silent network's exponent, the critical-amplitude interpolation, the config
and the figures on a tiny table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sgtheory.errors import ConfigError
from sgtheory.experiments.balanced import balanced
from sgtheory.experiments.configs.balanced import BalancedConfig
from sgtheory.functional.dmft import (
    F1,
    F2,
    balanced_dmft,
    fixed_point_x,
    quasi_static_I1_crit,
    quasi_static_lambda1,
    zero_crossing,
)


def _rows(result, quantity):
    return [r for r in result.rows if r["quantity"] == quantity]


def test_gaussian_helpers_match_sampling():
    z = np.random.default_rng(0).standard_normal(400_000)
    for x in (-1.5, 0.0, 0.7):
        assert F1(x) == pytest.approx(np.maximum(x + z, 0).mean(), abs=5e-3)
        assert F2(x) == pytest.approx((np.maximum(x + z, 0) ** 2).mean(), abs=1e-2)
    assert 4 * F2(fixed_point_x(2.0)) == pytest.approx(1.0)


def test_dmft_undriven_matches_the_spec():
    """Issue 18: N = 5000, g = 2, I1 = 0: λ1 = 0.094 ± 0.005 and ν = 1.025 ± 0.005 (spec §2.5: 0.094, 1.0245)."""
    res = balanced_dmft(N=5000, I1=0.0)
    assert res.lambda1 == pytest.approx(0.094, abs=0.005)
    assert res.rate[-1] == pytest.approx(1.025, abs=0.005)
    assert res.C0[-1] == pytest.approx(19.36, abs=0.1)  # spec §2.5 table
    assert res.m[-1] == pytest.approx(-1.73, abs=0.02)


def test_dmft_common_input_matches_the_spec_table():
    """Spec §2.5 (same recursion, 80-point quadrature): N = 500, f = 0.2, I1 = 20 → λ1 = −0.004; the tolerance is the
    table's printed precision plus the quadrature difference (ours: 40 points)."""
    assert balanced_dmft(N=500, I1=20.0).lambda1 == pytest.approx(-0.004, abs=0.003)


def test_dmft_against_a_small_simulation():
    """Rate and variance of h − ⟨h⟩ at N = 300 against the DMFT at the same N and dt (D10). Tolerance: 3 std of the
    two seeds' spread plus the finite-size gap the spec measured between DMFT and N = 2000 (2 % in ν, 9 % in C)."""
    configs = [BalancedConfig(N=300, transient=20.0, duration=60.0, record_every=0.0, max_lag=0.0, seed=s)
               for s in (0, 1)]
    runs = [_rows(r, "lambda1")[0] for r in balanced(configs)]
    res = balanced_dmft(N=300, I1=0.0)
    half = len(res.t) // 2
    nu, C = float(res.rate[half:].mean()), float(res.C0[half:].mean())
    sim_nu = np.array([r["rate_mean"] for r in runs])
    sim_C = np.array([r["h_var"] for r in runs])
    assert abs(sim_nu.mean() - nu) <= 3 * sim_nu.std() + 0.04 * nu
    assert abs(sim_C.mean() - C) <= 3 * sim_C.std() + 0.15 * C


def test_population_rate_tracks_common_input():
    """Balance equation (spec §2.3): the rate follows the common input with δν = I1·sin(2πft)/(√N·J0); the neglected
    term (m + dm/dt)/(√N·J0) is O(δm/√N), a few per cent here."""
    N, I1, f = 400, 8.0, 0.2
    cfg = BalancedConfig(N=N, I1=I1, f=f, transient=10.0, duration=40.0, record_every=0.125, max_lag=0.0, units=0)
    rows = _rows(balanced([cfg])[0], "rate")
    t = np.array([r["time"] for r in rows])
    nu = np.array([r["value"] for r in rows])
    w = 2 * math.pi * f
    design = np.column_stack([np.ones_like(t), np.sin(w * t), np.cos(w * t)])
    mean, in_phase, quadrature = np.linalg.lstsq(design, nu, rcond=None)[0]
    assert in_phase == pytest.approx(I1 / (math.sqrt(N) * cfg.J0), rel=0.05)
    assert abs(quadrature) < 0.3 * in_phase
    assert mean == pytest.approx(cfg.I0 / cfg.J0, rel=0.15)  # balance: ν ≈ I0/J0 up to O(1/√N)


def test_silent_network_local_exponent_is_the_leak():
    """Total input negative → all h < 0, φ' = 0, the tangent map is (1 − dt)·1: local λ = ln(1 − dt)/dt exactly."""
    dt = 0.1
    # drive √N·I0 + I1·sin(2πft) = 10 + 100·sin(2π t/400) < 0 for t in (206, 394) τ
    cfg = BalancedConfig(N=100, I1=100.0, f=0.0025, dt=dt, transient=200.0, duration=150.0, t_ons=1.0,
                         record_every=1.0, max_lag=0.0)
    local = [r for r in _rows(balanced([cfg])[0], "local_lambda") if 240 <= r["time"] <= 340]
    assert local
    for r in local:
        assert r["value"] == pytest.approx(math.log(1 - dt) / dt, abs=1e-9)


def test_zero_crossing_and_quasi_static():
    I1 = np.array([0, 2, 4, 6, 8, 10.0])
    assert zero_crossing(I1, 0.1 - 0.02 * I1) == pytest.approx(5.0)
    noisy = np.array([0.1, -0.01, 0.05, 0.02, -0.04, -0.1])  # a noise dip before the real crossing
    assert zero_crossing(I1, noisy) == pytest.approx(6 + 2 * 0.02 / 0.06)
    assert math.isnan(zero_crossing(I1, np.full(6, 0.1)))
    crit = quasi_static_I1_crit(0.1, 1.0, 10.0)
    assert quasi_static_lambda1([crit], 0.1, 1.0, 10.0)[0] == pytest.approx(0.0, abs=1e-12)
    assert quasi_static_lambda1([5.0], 0.1, 1.0, 10.0)[0] == pytest.approx(0.1)  # input never negative


def test_config_validation_and_batching():
    with pytest.raises(ConfigError, match="input_type"):
        BalancedConfig(input_type="shared")
    with pytest.raises(ConfigError, match="dt"):
        BalancedConfig(dt=1.5)
    a, b = BalancedConfig(I1=1.0, seed=3), BalancedConfig(I1=5.0, input_type="independent", seed=3)
    assert a.batch_key() == b.batch_key() != BalancedConfig(I1=1.0, seed=0).batch_key()  # one task per seed
    assert BalancedConfig(method="dmft", I1=1.0).batch_key() != BalancedConfig(method="dmft", I1=2.0).batch_key()
    assert BalancedConfig(N=400).sqrt_K == 20.0 and BalancedConfig(N=400, K=100).sqrt_K == 10.0


def test_batch_shares_the_network_of_a_seed():
    """λ1 of a realization does not depend on the other I1 values of its batch (same seed, same network, same
    tangent vectors); only the GEMM's rounding differs."""
    kw = dict(N=60, transient=5.0, duration=20.0, record_every=0.0, max_lag=0.0)
    alone = balanced([BalancedConfig(I1=2.0, **kw)])[0]
    batch = balanced([BalancedConfig(I1=0.0, **kw), BalancedConfig(I1=2.0, **kw),
                      BalancedConfig(I1=2.0, input_type="independent", **kw)])[1]
    assert _rows(batch, "lambda1")[0]["value"] == pytest.approx(_rows(alone, "lambda1")[0]["value"], rel=1e-6)


def _table(configs) -> pd.DataFrame:
    rows = []
    for result in balanced(configs):
        rows += [{**result.config.to_dict(), "experiment": "balanced", "run_id": result.config.run_id(), **r}
                 for r in result.rows]
    return pd.DataFrame(rows)


def test_figures_draw_from_a_tiny_table(tmp_path):
    import matplotlib.pyplot as plt

    from sgtheory.figures import FIGURES
    from sgtheory.figures.style import RC, layout_problems

    kw = dict(N=40, transient=2.0, duration=6.0, record_every=0.5, max_lag=2.0, t_ons=0.5)
    sims = [BalancedConfig(I1=i, input_type=k, seed=s, **kw) for s in (0, 1) for k in ("common", "independent")
            for i in (0.0, 3.0, 30.0)]
    dmft = [BalancedConfig(method="dmft", I1=i, input_type=k, dmft_steps=64, dmft_band=16, **kw)
            for k in ("common", "independent") for i in (0.0, 30.0)]
    frame = _table(sims + dmft)
    for name in ("balanced-lambda", "balanced-crit", "balanced-mechanism", "balanced-activity"):
        with plt.rc_context(RC):
            fig = FIGURES[name].draw(frame)
            assert layout_problems(fig) == [], name
            plt.close(fig)
        assert "λ" in FIGURES[name].report(frame)
