"""Flossing: flossing steps, the schedules in train, and the lyap/floss experiments."""

import pytest
import torch

from sgtheory.errors import ConfigError
from sgtheory.experiments import expand
from sgtheory.experiments.flossing import Flosser
from sgtheory.experiments.lyapunov import FlossConfig, LyapConfig, floss, lyap
from sgtheory.experiments.network import build_model
from sgtheory.experiments.train import FlossingSchedule, TrainConfig, train

F64 = "float64"


def _floss_configs(seeds="0", **kw):
    base = dict(model="tanh", N=12, gain=1.0, nle=3, floss_T=40, floss_lr=0.02, dtype=F64, seeds=seeds)
    return expand("floss", base | kw)


def test_flossing_pins_exactly_k_exponents_and_leaves_a_drop():
    """Four realizations, each unflossed network contracting; at least three of them end with λ_1..λ_3 within 0.08 of
    the target and a drop to λ_4 wider than the unflossed spacing. Not all four: the late flossing trajectory is
    chaotic in the rounding (seed 2 ends with λ_3 = −0.07 or −0.27 depending only on the order of float64 sums), so no
    single seed decides."""
    configs = _floss_configs(seeds="0-3", N=16, epochs=250, floss_lr=0.01, spectrum_nle=6, spectrum_T=600)
    pinned = []
    for result in floss(configs):
        rows = result.rows
        before = [r["value"] for r in rows if r["phase"] == "before"]
        after = [r["value"] for r in rows if r["phase"] == "after"]
        assert before[0] < -0.15  # the unflossed network contracts
        pinned.append(all(abs(lam) < 0.08 for lam in after[:3]) and after[3] < after[2] - 0.15)  # the drop after k
    assert sum(pinned) >= 3, pinned


def test_flossing_a_batch_equals_flossing_each_realization_alone():
    together = floss(_floss_configs(seeds="0-2", epochs=5, spectrum_nle=4, spectrum_T=100))
    for seed in range(3):
        alone = floss(_floss_configs(seeds=str(seed), epochs=5, spectrum_nle=4, spectrum_T=100))[0]
        got = [r["value"] for r in together[seed].rows]
        want = [r["value"] for r in alone.rows]
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_flossing_changes_only_recurrent_input_and_bias_weights():
    configs = _floss_configs(epochs=1)
    model = build_model(configs, 1)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    Flosser(model, configs).step()
    for name, p in model.named_parameters():
        assert torch.equal(p, before[name]) == (name in ("w_out", "c", "x0")), name


def test_lif_flossing_uses_the_2n_dimensional_tangent_space():
    configs = expand("floss", dict(model="lif", N=8, nle=12, spectrum_nle=16, epochs=2, spectrum_T=60,
                                   floss_T=30, slope=5.0, dtype=F64))
    rows = floss(configs)[0].rows
    assert max(r["index"] for r in rows if r["phase"] == "after") == 16
    assert max(r["index"] for r in rows if r["phase"] == "floss") == 12
    with pytest.raises(ConfigError, match="state dimension 16"):
        FlossConfig(model="lif", N=8, nle=17)


TINY_TRAIN = dict(N=8, batch=2, T=24, delay=4, epochs=12, record_every=1, nle=2, floss_T=25, dtype=F64)


@pytest.mark.parametrize("schedule,expected_steps", [("pre", 3), ("pre+inter", 3 + 2 * 2)])
def test_train_schedules_take_the_stated_flossing_steps(schedule, expected_steps):
    configs = expand("train", TINY_TRAIN | dict(floss=schedule, floss_pre=3, floss_every=5, floss_steps=2,
                                                floss_phases=2))
    rows = train(configs)[0].rows
    steps = {r["epoch"]: r["floss_steps_taken"] for r in rows}
    assert steps[1] == 3 and steps[12] == expected_steps
    if schedule == "pre+inter":
        assert steps[4] == 3 and steps[5] == 5 and steps[10] == 7  # phases at epochs 5 and 10 only
    assert all(r["floss_lambda1"] == r["floss_lambda1"] for r in rows)  # estimated from the first epoch on


def test_adaptive_schedule_skips_realizations_within_tolerance():
    base = TINY_TRAIN | dict(floss="adaptive", floss_pre=0, floss_every=5, floss_steps=4, floss_phases=1, seeds="0-1")
    never = train(expand("train", base | dict(floss_tol=100.0)))
    assert all(r["floss_steps_taken"] == 0 for res in never for r in res.rows)
    always = train(expand("train", base | dict(floss_tol=0.0)))
    assert [res.rows[-1]["floss_steps_taken"] for res in always] == [4, 4]  # one phase (floss_phases=1) of 4 steps


def test_training_without_flossing_is_unchanged_by_flossing_settings():
    plain = train(expand("train", TINY_TRAIN))[0].rows
    other = train(expand("train", TINY_TRAIN | dict(nle=5, floss_lr=0.5)))[0].rows
    assert [r["loss"] for r in plain] == [r["loss"] for r in other]
    assert "floss_steps_taken" not in plain[0]


def test_schedule_marks_non_finite_flossing():
    configs = expand("train", TINY_TRAIN | dict(floss="pre", floss_pre=1, seeds="0-1"))
    model = build_model(configs, 2)
    with torch.no_grad():
        model.J[1].fill_(float("nan"))
    healthy = FlossingSchedule(model, configs)(model, 1)
    assert healthy.tolist() == [True, False]


def test_lyap_rows_and_summaries():
    cfg64 = LyapConfig(model="binary", N=20, steps=400, slope=0.5, dtype=F64, trace_every=50)
    rows64 = lyap([cfg64])[0].rows
    exps = [r["value"] for r in rows64 if r["quantity"] == "exponent"]
    assert len(exps) == 20 and exps == sorted(exps, reverse=True)
    trace = [r for r in rows64 if r["quantity"] == "lambda1"]
    assert [r["step"] for r in trace] == [50, 100, 150, 200, 250, 300, 350]
    assert trace[-1]["value"] == pytest.approx(exps[0])
    assert rows64[0]["ky_dimension"] >= 0 and rows64[0]["entropy_rate"] == pytest.approx(sum(max(e, 0) for e in exps))


@pytest.mark.parametrize("bad,match", [
    (dict(nle=81), "state dimension 80"),
    (dict(nle=-1), "between 0"),
    (dict(input_rate=1.5), "probability"),
    (dict(steps=20, transient=19, ons_interval=2), "no re-orthonormalisation"),
    (dict(transient=-3), "-1 for the GF convention"),
])
def test_lyap_config_rejects_bad_values(bad, match):
    with pytest.raises(ConfigError, match=match):
        LyapConfig(**bad)


def test_train_config_checks_flossing_only_when_enabled():
    TrainConfig(N=8, nle=75)  # no flossing: nle is not used
    with pytest.raises(ConfigError, match="nle=75"):
        TrainConfig(N=8, nle=75, floss="pre")
    with pytest.raises(ConfigError, match="floss='sometimes'"):
        TrainConfig(floss="sometimes")


def test_floss_slope_sets_the_surrogate_of_the_flossed_jacobian_only():
    """The binary forward pass does not depend on the slope: flossing a slope-1 network's exponents at floss_slope
    0.5 estimates those of the slope-0.5 network, and floss_slope = slope is the default."""

    def estimate(**kw):
        configs = [FlossConfig(seed=s, N=16, nle=4, dtype="float64", **kw) for s in (0, 1)]
        with torch.no_grad():
            return Flosser(build_model(configs, 1), configs).estimate().exponents

    wide = estimate(slope=0.5)
    torch.testing.assert_close(estimate(slope=1.0, floss_slope=0.5), wide, rtol=0, atol=1e-12)
    torch.testing.assert_close(estimate(slope=1.0, floss_slope=1.0), estimate(slope=1.0), rtol=0, atol=0)
    assert (estimate(slope=1.0) < wide - 0.05).all()  # the sharper surrogate contracts more
