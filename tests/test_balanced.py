"""The balanced rate network of Engelken et al. 2022 (balanced spec §2): its DMFT against the spec's numbers and a
small simulation, the balance equation, the silent network's exponent, the critical-amplitude interpolation, the config
and the figures on a tiny table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

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
    table's printed precision plus the quadrature difference (ours: 24 points)."""
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


def test_dmft_depends_on_N_only_through_sqrt_K():
    """Fig. 3B: K scales the drive √K·I0 and the mean coupling −√K·J0/N, so a network of any N with tightness K has the
    DMFT of the fully connected network of K units."""
    kw = dict(I1=6.0, steps=96, band=24)
    for kind in ("common", "independent"):
        a = balanced_dmft(N=5000, K=100, input=kind, **kw)
        b = balanced_dmft(N=100, input=kind, **kw)
        np.testing.assert_array_equal(a.m, b.m)
        np.testing.assert_array_equal(a.C0, b.C0)
        assert a.lambda1 == b.lambda1


def test_couplings_scale_with_K():
    """The simulated network: mean coupling −√K·J0/N (K = 16 → −4/400), variance gain²/N; tolerance 5 standard errors of
    the mean of N² Gaussian entries."""
    from sgtheory.experiments.balanced import balanced_couplings

    cfg = BalancedConfig(N=400, K=16, gain=2.0)
    J = balanced_couplings(cfg, torch.float64)
    assert J.mean().item() == pytest.approx(-math.sqrt(16) / 400, abs=5 * 0.1 / 400)
    assert J.std().item() == pytest.approx(2.0 / math.sqrt(400), rel=0.01)
    assert BalancedConfig(N=400).sqrt_K == 20.0  # K = 0: fully connected, K = N


def test_quasi_static_limits():
    """Spec §2.3: I1_crit = √K·I0/cos(π·λ0/(λ0 − silent)) → √K·I0 as λ0 → 0 (near g_c common input still needs the
    total input to turn negative), and grows with λ0; the Euler recursion's silent exponent ln(1 − dt)/dt."""
    assert quasi_static_I1_crit(1e-9, 1.0, 10.0) == pytest.approx(10.0, rel=1e-12)
    silent = math.log(1 - 1 / 16) * 16
    lams = [0.02, 0.1, 0.3]
    crits = [quasi_static_I1_crit(lam, 1.0, 10.0, silent) for lam in lams]
    assert crits == sorted(crits) and crits[0] > 10.0
    for lam, crit in zip(lams, crits, strict=True):
        assert quasi_static_lambda1([crit], lam, 1.0, 10.0, silent)[0] == pytest.approx(0.0, abs=1e-12)


def test_lyapunov_slope_averages_whole_periods_of_slow_drive():
    """Slow drive: u(t) grows at +0.1 for 80 % of each period and falls at −1 for 20 % (mean slope −0.12); the last
    quarter holds one maximum, where a least-squares slope would be biased; the whole-period average is exact."""
    from sgtheory.functional.dmft import lyapunov_slope

    period = 100.0
    t = np.linspace(0, 256, 4097)
    phase = np.mod(t, period)
    du = np.where(phase < 80, 0.1, -1.0)
    u = np.concatenate([[0.0], np.cumsum(du[1:] * np.diff(t))])
    assert lyapunov_slope(t, u, period) == pytest.approx(0.8 * 0.1 - 0.2 * 1.0, abs=2e-3)
    assert abs(lyapunov_slope(t, u) - (-0.12)) > 0.05  # the last-quarter fit that the period average replaces


def test_crit_figure_panels_B_and_C(tmp_path):
    """Fig. 3: a table with K < N rows and slow-input rows at two gains draws three panels (A alone otherwise) and
    reports B and C with their claims."""
    import matplotlib.pyplot as plt

    from sgtheory.figures import FIGURES
    from sgtheory.figures.balanced import crit_panels
    from sgtheory.figures.style import RC, layout_problems

    kw = dict(N=40, transient=2.0, duration=6.0, record_every=0.0, max_lag=0.0, t_ons=0.5)
    grid = (0.0, 3.0, 30.0)
    A = [BalancedConfig(I1=i, input_type=k, seed=s, **kw) for s in (0, 1) for k in ("common", "independent")
         for i in grid]
    B = [BalancedConfig(I1=i, input_type=k, K=4, seed=s, **kw) for s in (0, 1) for k in ("common", "independent")
         for i in grid]
    C = [BalancedConfig(I1=i, input_type=k, gain=g, f=0.01, **kw) for g in (1.6, 3.0)
         for k in ("common", "independent") for i in grid]
    dmft = dict(method="dmft", dmft_steps=64, dmft_band=16, **kw)
    D = [BalancedConfig(I1=i, input_type=k, **dmft) for k in ("common", "independent") for i in grid]
    D += [BalancedConfig(I1=i, input_type=k, K=4, **dmft) for k in ("common", "independent") for i in grid]
    D += [BalancedConfig(I1=i, input_type=k, gain=g, f=0.01, **dmft) for g in (1.6, 3.0)
          for k in ("common", "independent") for i in grid]
    frame = _table(A + B + C + D)
    panels = crit_panels(frame)
    assert set(panels["B"]["K"]) == {0, 4} and set(panels["B"]["N"]) == {40}
    assert set(panels["C"]["f"]) == {0.01} and set(panels["C"]["gain"]) == {1.6, 3.0}
    assert (panels["A"]["K"] == 0).all() and not ((panels["A"]["method"] == "dmft")
                                                   & (panels["A"]["input_type"] == "independent")).any()
    with plt.rc_context(RC):
        fig = FIGURES["balanced-crit"].draw(frame)
        assert len(fig.axes) == 3 and layout_problems(fig) == []
        plt.close(fig)
        only_A = frame[(frame["K"] == 0) & (frame["f"] == 0.2)]
        fig = FIGURES["balanced-crit"].draw(only_A)
        assert len(fig.axes) == 1
        plt.close(fig)
    report = FIGURES["balanced-crit"].report(frame)
    assert "**B.**" in report and "**C.**" in report and "quasi-static" in report


def test_the_large_network_claim_compares_simulation_and_dmft():
    """Issue 18: a simulation at N = 5000 agrees with the DMFT λ1 within ± 0.01; judged only when such rows exist."""
    from sgtheory.figures.balanced import balanced_lambda_report

    kw = dict(N=40, transient=2.0, duration=6.0, record_every=0.0, max_lag=0.0, t_ons=0.5)
    sims = [BalancedConfig(I1=i, input_type=k, seed=0, **kw) for k in ("common", "independent") for i in (0.0, 30.0)]
    frame = _table(sims + [BalancedConfig(method="dmft", I1=0.0, dmft_steps=64, dmft_band=16, **kw)])
    line = next(x for x in balanced_lambda_report(frame).split("\n") if "N = 5000 has the DMFT" in x)
    assert "needs the paper profile" in line
    dmft_lambda = frame.query("method == 'dmft' and quantity == 'lambda1'")["value"].iloc[0]
    for shift, verdict in ((0.005, "holds"), (0.02, "fails")):
        big = frame[(frame["method"] == "simulation") & (frame["I1"] == 0)].copy()
        big["N"] = 5000
        big.loc[big["quantity"] == "lambda1", "value"] = dmft_lambda + shift
        line = next(x for x in balanced_lambda_report(pd.concat([frame, big])).split("\n") if "N = 5000 has" in x)
        assert f"**{verdict}**" in line
