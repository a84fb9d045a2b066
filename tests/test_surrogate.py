"""Tests for sgtheory.functional.surrogate.

Property tests run over every entry of SHAPES (a new shape is tested automatically) and every kind of
scale; oracle tests pin known values from the papers and closed-form derivatives.
"""

import math
from pathlib import Path

import pytest
import torch

from sgtheory.functional.surrogate import (
    ESCAPES,
    P0_EXPONENTIAL,
    SHAPES,
    Surrogate,
    escape_derivative,
    escape_probability,
    escape_spike,
    make_surrogate,
    spike,
)

SCALES = [None, "normalized", "asymptotic", 2.5]
CASES = [
    pytest.param(shape, scale, id=f"{shape}-{scale}")
    for shape in SHAPES
    for scale in SCALES
    if not (scale == "asymptotic" and not SHAPES[shape].uses_slope)
]
SLOPES = [0.5, 3.0, 40.0]

# Documented defaults (docs/surrogates.md); a registered shape must keep these.
DOCUMENTED_DEFAULTS = {
    "fast_sigmoid": "normalized",
    "sigmoid": "asymptotic",
    "sigmoid_unscaled": 0.25,
    "esser": "normalized",
    "exponential": "normalized",
    "boxcar": "normalized",
    "constant": "normalized",
}
NATURAL_PEAKS = {"sigmoid": 0.25, "sigmoid_unscaled": 0.25}  # k(0); 1 for the others

# Points z = slope * x away from the kinks of the shapes (|z| in {0, 1/2, 1}) for finite differences.
Z_SMOOTH = torch.tensor([0.13, 0.37, 0.61, 0.83, 1.3, 2.3, 4.1], dtype=torch.float64)
Z_SMOOTH = torch.cat([-Z_SMOOTH.flip(0), Z_SMOOTH])


def _expected_peak(s: Surrogate) -> float:
    scale = s.resolved_scale
    if scale == "normalized":
        return 1.0
    if scale == "asymptotic":
        return s.slope * SHAPES[s.shape].k0
    return scale


def _grid(dtype=torch.float64, n=2001, half_width=5.0):
    return torch.linspace(-half_width, half_width, n, dtype=dtype)


def _central_difference(fn, x, eps):
    return (fn(x + eps) - fn(x - eps)) / (2 * eps)


# --------------------------------------------------------------------------- registry and construction


def test_documented_shapes_are_registered_with_their_defaults():
    for name, default in DOCUMENTED_DEFAULTS.items():
        assert name in SHAPES
        assert make_surrogate(name).resolved_scale == default


@pytest.mark.parametrize("shape", list(SHAPES))
def test_natural_peak_is_k_at_zero(shape):
    spec = SHAPES[shape]
    assert spec.k(torch.zeros((), dtype=torch.float64)).item() == pytest.approx(spec.k0, rel=1e-15)
    assert spec.k0 == NATURAL_PEAKS.get(shape, 1.0)


def test_every_shape_and_escape_is_documented():
    text = (Path(__file__).resolve().parents[1] / "docs" / "surrogates.md").read_text()
    for name in [*SHAPES, *ESCAPES]:
        assert f"`{name}`" in text, name


def test_surrogate_is_frozen_hashable_and_coerces_numbers():
    s = make_surrogate("esser", slope=2, scale=3)
    assert isinstance(s.slope, float) and s.slope == 2.0
    assert isinstance(s.scale, float) and s.scale == 3.0
    assert s == Surrogate("esser", 2.0, 3.0) and hash(s) == hash(Surrogate("esser", 2.0, 3.0))
    with pytest.raises(AttributeError):
        s.slope = 1.0


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"shape": "foo"}, ["'foo'", "fast_sigmoid", "sigmoid_unscaled", "constant"]),
        ({"shape": "fast_sigmoid", "slope": 0.0}, ["0.0", "> 0"]),
        ({"shape": "sigmoid", "slope": -1.0}, ["-1.0", "> 0"]),
        ({"shape": "esser", "slope": float("nan")}, ["nan", "finite"]),
        ({"shape": "boxcar", "slope": float("inf")}, ["inf", "finite"]),
        ({"shape": "exponential", "slope": "10"}, ["'10'", "> 0"]),
        ({"shape": "fast_sigmoid", "scale": "bogus"}, ["'bogus'", "'normalized'", "'asymptotic'"]),
        ({"shape": "fast_sigmoid", "scale": -1.0}, ["-1.0", "normalized", "positive"]),
        ({"shape": "fast_sigmoid", "scale": 0}, ["got 0", "normalized", "positive"]),
        ({"shape": "sigmoid", "scale": float("inf")}, ["inf", "normalized", "positive"]),
        ({"shape": "sigmoid", "scale": True}, ["True", "normalized", "positive"]),
        ({"shape": "constant", "scale": "asymptotic"}, ["'asymptotic'", "'constant'", "'normalized'"]),
    ],
)
def test_make_surrogate_rejects_bad_input(kwargs, fragments):
    with pytest.raises(ValueError) as info:
        make_surrogate(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_direct_construction_is_validated_too():
    with pytest.raises(ValueError, match="unknown surrogate 'foo'"):
        Surrogate("foo")
    with pytest.raises(ValueError, match="slope"):
        Surrogate("fast_sigmoid", slope=-2.0)


def test_constant_ignores_slope():
    s = make_surrogate("constant", slope=0.0)
    x = _grid()
    assert torch.equal(s.derivative(x), torch.ones_like(x))
    assert torch.equal(
        make_surrogate("constant", slope=7.0, scale=3.0).derivative(x), torch.full_like(x, 3.0)
    )


# --------------------------------------------------------------------------- forward of spike()


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_spike_forward_is_exact_step(shape, dtype):
    tiny = torch.finfo(dtype).tiny
    x = torch.tensor([-1e3, -1.0, -tiny, -0.0, 0.0, tiny, 1e-7, 1.0, 1e3], dtype=dtype, requires_grad=True)
    out = spike(x, make_surrogate(shape, slope=10.0))
    assert out.dtype == dtype
    expected = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1], dtype=dtype)
    assert torch.equal(out.detach(), expected)


# --------------------------------------------------------------------------- surrogate derivative h


@pytest.mark.parametrize(("shape", "scale"), CASES)
def test_spike_gradient_is_surrogate_times_upstream(shape, scale):
    s = make_surrogate(shape, slope=3.0, scale=scale)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(64, generator=gen, dtype=torch.float64).requires_grad_()
    upstream = torch.randn(64, generator=gen, dtype=torch.float64)
    spike(x, s).backward(upstream)
    torch.testing.assert_close(x.grad, upstream * s.derivative(x.detach()), rtol=1e-15, atol=0.0)


@pytest.mark.parametrize(("shape", "scale"), CASES)
@pytest.mark.parametrize("slope", SLOPES)
def test_derivative_is_a_symmetric_bump_with_the_documented_peak(shape, scale, slope):
    s = make_surrogate(shape, slope=slope, scale=scale)
    x = _grid(half_width=10.0)
    h = s.derivative(x)
    assert torch.isfinite(h).all() and (h >= 0).all()
    torch.testing.assert_close(h, h.flip(0), rtol=1e-14, atol=0.0)  # symmetric grid
    h0 = s.derivative(torch.zeros((), dtype=torch.float64)).item()
    assert h0 == pytest.approx(_expected_peak(s), rel=1e-12)
    assert s.peak == pytest.approx(h0, rel=1e-12)
    ulp = 1e-12 * h0  # the logistic bump may round one ulp above its peak next to 0
    assert (h <= h0 + ulp).all()
    positive = h[x >= 0]
    assert (positive[1:] <= positive[:-1] + ulp).all()  # non-increasing in |x|


@pytest.mark.parametrize(("shape", "scale"), CASES)
@pytest.mark.parametrize("slope", SLOPES)
def test_slope_only_rescales_x(shape, scale, slope):
    """h_beta(x) / peak_beta = h_1(beta x) / peak_1: the slope is an inverse width."""
    s_beta = make_surrogate(shape, slope=slope, scale=scale)
    s_one = make_surrogate(shape, slope=1.0, scale=scale)
    x = _grid()
    beta = slope if SHAPES[shape].uses_slope else 1.0
    torch.testing.assert_close(
        s_beta.derivative(x) / s_beta.peak, s_one.derivative(beta * x) / s_one.peak, rtol=1e-12, atol=1e-15
    )
    if s_beta.resolved_scale == "normalized":  # the normalized family: h_beta(x) = h_1(beta x) exactly
        torch.testing.assert_close(s_beta.derivative(x), s_one.derivative(beta * x), rtol=1e-12, atol=1e-15)


def test_known_values():
    x = torch.tensor([-1.0], dtype=torch.float64)
    # Zenke & Vogels 2021: SuperSpike at rest (U = 0, theta = 1), beta = 10 -> 1/121; asymptotic x beta.
    assert make_surrogate("fast_sigmoid", 10.0).derivative(x).item() == pytest.approx(1 / 121, rel=1e-14)
    assert make_surrogate("fast_sigmoid", 10.0, "asymptotic").derivative(x).item() == pytest.approx(
        10 / 121, rel=1e-14
    )
    sig = 1 / (1 + math.exp(-1.0))
    at = torch.tensor([0.1], dtype=torch.float64)
    assert make_surrogate("sigmoid", 10.0).derivative(at).item() == pytest.approx(
        10 * sig * (1 - sig), rel=1e-14
    )
    unscaled = make_surrogate("sigmoid_unscaled", 10.0)
    assert unscaled.peak == 0.25
    assert unscaled.derivative(at).item() == pytest.approx(sig * (1 - sig), rel=1e-14)
    assert make_surrogate("sigmoid", 8.0).peak == pytest.approx(2.0)
    esser = make_surrogate("esser", 4.0)
    assert esser.derivative(torch.tensor([0.125, 0.25, 0.3])).tolist() == [0.5, 0.0, 0.0]
    assert make_surrogate("exponential", 2.0).derivative(at * 5).item() == pytest.approx(
        math.exp(-1), rel=1e-14
    )
    box = make_surrogate("boxcar", 2.0)  # window |x| < 1/(2 beta) = 0.25
    at_edges = torch.tensor([-0.3, -0.25, -0.24, 0.0, 0.24, 0.25, 0.3])
    assert box.derivative(at_edges).tolist() == [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]


def test_large_slope_float32_sigmoid_does_not_overflow():
    # the literal beta e^{-beta x} / (1 + e^{-beta x})^2 is NaN here (inf / inf)
    s = make_surrogate("sigmoid", 1e4)
    h = s.derivative(torch.tensor([-1.0, -0.01, 0.0, 0.01, 1.0]))
    assert torch.isfinite(h).all() and h[2].item() == 2500.0 and h[0].item() == 0.0


# --------------------------------------------------------------------------- primitive and integrals


@pytest.mark.parametrize(("shape", "scale"), CASES)
@pytest.mark.parametrize("slope", SLOPES)
def test_primitive_is_an_antiderivative(shape, scale, slope):
    s = make_surrogate(shape, slope=slope, scale=scale)
    assert s.primitive(torch.zeros(3, dtype=torch.float64)).abs().max().item() == 0.0
    beta = slope if SHAPES[shape].uses_slope else 1.0
    x = Z_SMOOTH / beta
    fd = _central_difference(s.primitive, x, 1e-6 / beta)
    torch.testing.assert_close(fd, s.derivative(x), rtol=1e-6, atol=1e-9 * s.peak)


def _sinh_grid(z_max: float, slope: float, n: int = 30_001) -> torch.Tensor:
    """Points x = z / slope with z dense near 0 and sparse in the tails (|z| <= z_max).

    n stays below torch's intra-op parallel grain (32768) so these small ops do not pay for threading.
    """
    t = torch.linspace(-math.asinh(z_max), math.asinh(z_max), n, dtype=torch.float64)
    return torch.sinh(t) / slope


@pytest.mark.parametrize(("shape", "scale"), CASES)
def test_numerical_integral_matches_primitive(shape, scale):
    """Global check of P (a wrong constant on an outer piece would pass the local finite differences)."""
    s = make_surrogate(shape, slope=10.0, scale=scale)
    x = _sinh_grid(1e3, 10.0)
    integral = torch.trapezoid(s.derivative(x), x).item()
    exact = (s.primitive(x[-1:]) - s.primitive(x[:1])).item()
    assert integral == pytest.approx(exact, rel=1e-3)


@pytest.mark.parametrize(
    ("shape", "area"),
    [("fast_sigmoid", 2.0), ("sigmoid", 1.0), ("esser", 1.0), ("exponential", 2.0), ("boxcar", 1.0)],
)
@pytest.mark.parametrize("slope", [10.0, 100.0])
def test_asymptotic_scale_has_fixed_area(shape, area, slope):
    """Asymptotic h integrates to a slope-independent constant (tends to area * Dirac delta)."""
    s = make_surrogate(shape, slope=slope, scale="asymptotic")
    x = _sinh_grid(1e5, slope)
    assert torch.trapezoid(s.derivative(x), x).item() == pytest.approx(area, abs=2e-3)


def test_fast_sigmoid_primitive_closed_form():
    x = _grid()
    torch.testing.assert_close(make_surrogate("fast_sigmoid", 7.0).primitive(x), x / (1 + 7.0 * x.abs()))


# --------------------------------------------------------------------------- second derivative (autograd)


@pytest.mark.parametrize(("shape", "scale"), CASES)
def test_autograd_of_derivative_matches_finite_differences(shape, scale):
    s = make_surrogate(shape, slope=3.0, scale=scale)
    beta = 3.0 if SHAPES[shape].uses_slope else 1.0
    x = (Z_SMOOTH / beta).requires_grad_()
    (dh,) = torch.autograd.grad(s.derivative(x).sum(), x)
    fd = _central_difference(s.derivative, x.detach(), 1e-6 / beta)
    torch.testing.assert_close(dh, fd, rtol=1e-5, atol=1e-7 * s.peak * beta)


@pytest.mark.parametrize("scale", ["normalized", "asymptotic"])
def test_second_derivative_closed_forms(scale):
    g = 5.0
    x = (Z_SMOOTH / g).requires_grad_()
    xd = x.detach()
    # fast sigmoid: h = a/(g|x|+1)^2 with a = 1 or g  ->  h' = -2 a g sign(x)/(1+g|x|)^3
    a = 1.0 if scale == "normalized" else g
    (dh,) = torch.autograd.grad(make_surrogate("fast_sigmoid", g, scale).derivative(x).sum(), x)
    torch.testing.assert_close(dh, -2 * a * g * torch.sign(xd) / (1 + g * xd.abs()) ** 3)
    # sigmoid: h = a s(gx)(1-s(gx)) with a = 4 or g  ->  h' = a g s(1-s)(1-2s)
    a = 4.0 if scale == "normalized" else g
    (dh,) = torch.autograd.grad(make_surrogate("sigmoid", g, scale).derivative(x).sum(), x)
    sig = torch.sigmoid(g * xd)
    torch.testing.assert_close(dh, a * g * sig * (1 - sig) * (1 - 2 * sig))


@pytest.mark.parametrize(("shape", "scale"), CASES)
def test_double_backward_through_spike(shape, scale):
    s = make_surrogate(shape, slope=3.0, scale=scale)
    x = (Z_SMOOTH / 3.0).requires_grad_()
    (g1,) = torch.autograd.grad(spike(x, s).sum(), x, create_graph=True)
    (g2,) = torch.autograd.grad(g1.sum(), x)
    (expected,) = torch.autograd.grad(s.derivative(x).sum(), x)
    torch.testing.assert_close(g2, expected)


# --------------------------------------------------------------------------- numerical safety


@pytest.mark.parametrize(("shape", "scale"), CASES)
@pytest.mark.parametrize("slope", [1e4, 1e-3])
def test_no_nan_or_inf_at_extreme_slopes_float32(shape, scale, slope):
    s = make_surrogate(shape, slope=slope, scale=scale)
    mags = torch.logspace(-6, 3, 50)
    x = torch.cat([-mags.flip(0), torch.zeros(1), mags]).requires_grad_()
    out = spike(x, s)
    (g1,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    (g2,) = torch.autograd.grad(g1.sum(), x)
    for t in (out, s.derivative(x), s.primitive(x), g1, g2):
        assert t.dtype == torch.float32
        assert torch.isfinite(t).all()


# --------------------------------------------------------------------------- escape noise


def test_escape_spike_is_reproducible_and_seed_dependent():
    x = torch.zeros(1000)
    draws = [escape_spike(x, "sigmoid", 1.0, torch.Generator().manual_seed(seed)) for seed in (3, 3, 4)]
    assert torch.equal(draws[0], draws[1])
    assert not torch.equal(draws[0], draws[2])


def test_escape_spike_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    escape_spike(torch.zeros(100), "exponential", 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("escape", list(ESCAPES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_escape_spike_rate_matches_probability(escape, dtype):
    n = 6_000  # n * 5 < 32768: single-threaded torch ops
    x = torch.tensor([-0.4, -0.1, 0.0, 0.05, 0.4], dtype=dtype)
    out = escape_spike(x.expand(n, -1), escape, 4.0, torch.Generator().manual_seed(11))
    assert out.dtype == dtype
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    p = escape_probability(x, escape, 4.0).double()
    tolerance = 5 * torch.sqrt(p * (1 - p) / n) + 1e-12
    assert ((out.double().mean(0) - p).abs() <= tolerance).all()


@pytest.mark.parametrize("escape", list(ESCAPES))
def test_escape_spike_becomes_the_step_for_huge_slope(escape):
    x = torch.tensor([-1e3, -1.0, -1e-3, 1e-3, 1.0, 1e3])
    out = escape_spike(x.expand(1000, -1), escape, 1e6, torch.Generator().manual_seed(0))
    assert torch.equal(out, (x > 0).float().expand(1000, -1))


@pytest.mark.parametrize("escape", list(ESCAPES))
def test_escape_spike_gradient(escape):
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(200, generator=gen, dtype=torch.float64).requires_grad_()
    upstream = torch.randn(200, generator=gen, dtype=torch.float64)
    escape_spike(x, escape, 2.0, gen).backward(upstream)
    torch.testing.assert_close(
        x.grad, upstream * escape_derivative(x.detach(), escape, 2.0), rtol=1e-15, atol=0
    )
    surrogate = make_surrogate("esser", 0.7, 3.0)
    x.grad = None
    escape_spike(x, escape, 2.0, gen, surrogate=surrogate).backward(upstream)
    torch.testing.assert_close(x.grad, upstream * surrogate.derivative(x.detach()), rtol=1e-15, atol=0)


@pytest.mark.parametrize("escape", list(ESCAPES))
@pytest.mark.parametrize("slope", [0.5, 4.0])
def test_escape_derivative_is_the_derivative_of_the_probability(escape, slope):
    x = (Z_SMOOTH / slope).requires_grad_()  # |slope x| = 0.37 is away from the kink at log(3/2) ~ 0.405
    (autograd,) = torch.autograd.grad(escape_probability(x, escape, slope).sum(), x)
    xd = x.detach()
    expected = escape_derivative(xd, escape, slope)
    torch.testing.assert_close(autograd, expected)
    torch.testing.assert_close(
        _central_difference(lambda v: escape_probability(v, escape, slope), xd, 1e-7),
        expected,
        rtol=1e-5,
        atol=1e-9,
    )


def test_escape_function_oracles():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.3, 5.0], dtype=torch.float64)
    # sigmoid escape <-> its surrogate: f' is exactly the (asymptotic) sigmoid surrogate
    torch.testing.assert_close(
        escape_derivative(x, "sigmoid", 3.0), make_surrogate("sigmoid", 3.0).derivative(x)
    )
    torch.testing.assert_close(escape_probability(x, "sigmoid", 3.0), torch.sigmoid(3.0 * x))
    zero = torch.zeros(1, dtype=torch.float64)
    assert escape_probability(zero, "exponential", 2.0).item() == pytest.approx(P0_EXPONENTIAL)
    assert escape_derivative(zero, "exponential", 2.0).item() == pytest.approx(2.0 * P0_EXPONENTIAL)
    saturated = torch.tensor([math.log(1.5) / 2.0 + 1e-9, 1.0, 1e3], dtype=torch.float64)
    assert escape_probability(saturated, "exponential", 2.0).tolist() == [1.0, 1.0, 1.0]
    assert escape_derivative(saturated, "exponential", 2.0).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("escape", list(ESCAPES))
@pytest.mark.parametrize("slope", [1e4, 1e-3])
def test_escape_functions_never_overflow_float32(escape, slope):
    mags = torch.logspace(-6, 3, 50)
    x = torch.cat([-mags.flip(0), torch.zeros(1), mags]).requires_grad_()
    p = escape_probability(x, escape, slope)
    assert torch.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    (dp,) = torch.autograd.grad(p.sum(), x)
    assert torch.isfinite(dp).all()
    assert torch.isfinite(escape_derivative(x, escape, slope)).all()
    out = escape_spike(x, escape, slope, torch.Generator().manual_seed(0))
    (g1,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    (g2,) = torch.autograd.grad(g1.sum(), x)
    assert torch.isfinite(out).all() and torch.isfinite(g1).all() and torch.isfinite(g2).all()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [(("nope", 1.0), ["'nope'", "sigmoid", "exponential"]), (("sigmoid", 0.0), ["0.0", "> 0"])],
)
def test_escape_rejects_bad_input(args, fragments):
    for fn in (escape_probability, escape_derivative):
        with pytest.raises(ValueError) as info:
            fn(torch.zeros(2), *args)
        for fragment in fragments:
            assert fragment in str(info.value)
    with pytest.raises(ValueError):
        escape_spike(torch.zeros(2), *args, torch.Generator())
