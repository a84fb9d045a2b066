"""Spike functions with surrogate derivatives, and escape-noise (stochastic) spikes.

A deterministic spike is the Heaviside step ``H(x) = 1 if x > 0 else 0`` of the distance to threshold
``x = u - theta``. Its true derivative vanishes almost everywhere, so the backward pass uses a surrogate
derivative ``h(x)`` instead. Every surrogate here is one *shape* ``k`` (a bump with natural peak ``k(0)``),
a *slope* ``beta`` (inverse width) and a *scale* (height): ``h(x) = a * k(beta * x)`` with
``a = 1/k(0)`` ("normalized", peak 1), ``a = beta`` ("asymptotic", the derivative of ``K(beta x)`` with
``K' = k``; it tends to a multiple of a Dirac delta as ``beta -> inf``) or ``a = c/k(0)`` (peak ``c``).
A stochastic neuron instead spikes with probability ``f(x)`` (its escape-noise function), and its natural
surrogate is ``f'(x)`` (Gygax & Zenke 2024). All functions are pure: randomness only comes from an explicit
``torch.Generator``. ``docs/surrogates.md`` maps each shape to the names used by other libraries.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import torch
from torch import Tensor

from sgtheory.choices import check_slope, check_surrogate

__all__ = [
    "ESCAPES",
    "P0_EXPONENTIAL",
    "SHAPES",
    "Escape",
    "Shape",
    "Surrogate",
    "escape_derivative",
    "escape_probability",
    "escape_spike",
    "escape_spike_given",
    "make_surrogate",
    "spike",
]

@dataclass(frozen=True)
class Shape:
    """A surrogate shape: bump ``k(z)``, its antiderivative ``K`` (``K(0) = 0``) and natural peak ``k0``.

    ``k`` and ``K`` must be written with differentiable torch ops so that autograd can differentiate
    ``h`` itself (second derivatives for Lyapunov-exponent losses).
    """

    k: Callable[[Tensor], Tensor]
    K: Callable[[Tensor], Tensor]
    k0: float
    default_scale: str | float
    formula: str
    uses_slope: bool = True


@dataclass(frozen=True)
class Escape:
    """An escape-noise function ``f(x) = F(beta x)`` with ``dF = F'``; ``f'(x) = beta F'(beta x)``."""

    F: Callable[[Tensor], Tensor]
    dF: Callable[[Tensor], Tensor]
    formula: str


def _zero_grad_const(z: Tensor, value: Tensor | float) -> Tensor:
    """``value`` broadcast to ``z``, kept in the autograd graph of ``z`` with derivative 0."""
    return value + 0.0 * torch.sign(z)


def _logistic_bump(z: Tensor) -> Tensor:
    """``s(z)(1 - s(z))`` with ``s`` the logistic function, as ``e^-|z| / (1 + e^-|z|)^2`` (no overflow)."""
    e = torch.exp(-z.abs())
    return e / (1.0 + e) ** 2


def _esser_primitive(z: Tensor) -> Tensor:
    m = z.clamp(-1.0, 1.0)
    return m - 0.5 * m * m.abs()


SHAPES: dict[str, Shape] = {
    # SuperSpike (Zenke & Ganguli 2018), the negative part of a fast sigmoid's derivative.
    "fast_sigmoid": Shape(
        k=lambda z: 1.0 / (z.abs() + 1.0).square(),
        K=lambda z: z / (z.abs() + 1.0),
        k0=1.0,
        default_scale="normalized",
        formula="1/(|z|+1)^2",
    ),
    # Derivative of the logistic escape function s(beta x) (Gygax & Zenke 2024): peak beta/4.
    "sigmoid": Shape(
        k=_logistic_bump,
        K=lambda z: 0.5 * torch.tanh(0.5 * z),
        k0=0.25,
        default_scale="asymptotic",
        formula="s(z)(1-s(z))",
    ),
    # Piecewise linear (Esser et al. 2016).
    "esser": Shape(
        k=lambda z: torch.relu(1.0 - z.abs()),
        K=_esser_primitive,
        k0=1.0,
        default_scale="normalized",
        formula="max(0, 1-|z|)",
    ),
    "exponential": Shape(
        k=lambda z: torch.exp(-z.abs()),
        K=lambda z: -torch.sign(z) * torch.expm1(-z.abs()),
        k0=1.0,
        default_scale="normalized",
        formula="exp(-|z|)",
    ),
    # Straight-through estimator on the window |x| < 1/(2 beta); sign() keeps it in the graph.
    "boxcar": Shape(
        k=lambda z: torch.sign(0.5 - z.abs()).clamp(min=0.0),
        K=lambda z: z.clamp(-0.5, 0.5),
        k0=1.0,
        default_scale="normalized",
        formula="1 if |z| < 1/2 else 0",
    ),
    # The beta -> 0 limit of every normalized shape: h = 1 everywhere (slope ignored).
    "constant": Shape(
        k=lambda z: _zero_grad_const(z, 1.0),
        K=lambda z: z,
        k0=1.0,
        default_scale="normalized",
        formula="1",
        uses_slope=False,
    ),
}

# The sigmoid bump without the beta factor, as written in Zenke & Vogels 2021: peak 1/4.
SHAPES["sigmoid_unscaled"] = replace(SHAPES["sigmoid"], default_scale=0.25)

P0_EXPONENTIAL = 2.0 / 3.0
"""Escape probability at threshold of the exponential escape function (Gygax & Zenke use p0 = 2/3)."""

_Z_SATURATE = math.log(1.0 / P0_EXPONENTIAL)  # p0 * exp(z) reaches 1 here


def _exp_escape(z: Tensor) -> Tensor:
    return (P0_EXPONENTIAL * torch.exp(z.clamp(max=_Z_SATURATE))).clamp(max=1.0)


def _exp_escape_derivative(z: Tensor) -> Tensor:
    rising = P0_EXPONENTIAL * torch.exp(z.clamp(max=_Z_SATURATE))
    return torch.where(z < _Z_SATURATE, rising, _zero_grad_const(z, 0.0))


ESCAPES: dict[str, Escape] = {
    "sigmoid": Escape(F=torch.sigmoid, dF=_logistic_bump, formula="s(z) = 1/(1+exp(-z))"),
    "exponential": Escape(F=_exp_escape, dF=_exp_escape_derivative, formula="min(1, p0 exp(z)), p0 = 2/3"),
}


def _lookup(registry: dict, name: str, what: str):
    if name not in registry:
        raise ValueError(f"unknown {what} {name!r}; allowed: {', '.join(registry)}")
    return registry[name]


@dataclass(frozen=True)
class Surrogate:
    """Surrogate derivative ``h(x) = a * k(slope * x)`` of shape ``SHAPES[shape]``.

    ``scale``: ``"normalized"`` (``a = 1/k(0)``, peak 1), ``"asymptotic"`` (``a = slope``, peak
    ``slope*k(0)``), a positive number ``c`` (``a = c/k(0)``, peak ``c``) or ``None`` (the shape's default).
    Construction validates all fields (``make_surrogate`` is the usual entry point).
    """

    shape: str
    slope: float = 1.0
    scale: str | float | None = None

    def __post_init__(self) -> None:
        slope, scale = check_surrogate(self.shape, self.slope, self.scale)  # the torch-free rules of the configs
        object.__setattr__(self, "slope", slope)
        object.__setattr__(self, "scale", scale)

    @property
    def _spec(self) -> Shape:
        return SHAPES[self.shape]

    @property
    def _beta(self) -> float:
        return self.slope if self._spec.uses_slope else 1.0

    @property
    def resolved_scale(self) -> str | float:
        """The scale in effect: ``scale``, or the shape's default when ``scale`` is None."""
        return self._spec.default_scale if self.scale is None else self.scale

    @property
    def _factor(self) -> float:
        scale = self.resolved_scale
        if scale == "normalized":
            return 1.0 / self._spec.k0
        if scale == "asymptotic":
            return self._beta
        return float(scale) / self._spec.k0

    @property
    def peak(self) -> float:
        """``h(0)``."""
        return self._factor * self._spec.k0

    def derivative(self, x: Tensor) -> Tensor:
        """``h(x) = a * k(beta x)`` (differentiable in ``x``)."""
        return self._factor * self._spec.k(self._beta * x)

    def primitive(self, x: Tensor) -> Tensor:
        """``P(x) = (a / beta) * K(beta x)``, so ``P(0) = 0`` and ``P' = h``."""
        return (self._factor / self._beta) * self._spec.K(self._beta * x)


def make_surrogate(shape: str, slope: float = 1.0, scale: str | float | None = None) -> Surrogate:
    """Validated ``Surrogate``; raises ``ValueError`` naming the bad value and what is allowed."""
    return Surrogate(shape=shape, slope=slope, scale=scale)


class _SurrogateGradient(torch.autograd.Function):
    """Forward: the given values (spikes, sigmoid outputs); backward: ``grad_out * derivative(x)`` with
    differentiable ops.

    Because the backward is built from ordinary torch ops on the saved ``x``, double backward works.
    (The classic ``forward(ctx, ...)`` form is used on purpose: the ``setup_context`` form that
    ``torch.func`` needs makes every call bind its signature with ``inspect``, which cost ~20 % of a
    binary-RNN training epoch.)
    """

    @staticmethod
    def forward(ctx, x: Tensor, value: Tensor, derivative: Callable[[Tensor], Tensor]) -> Tensor:
        ctx.derivative = derivative
        ctx.save_for_backward(x)
        return value.to(dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.derivative(x), None, None


def surrogate_gradient(x: Tensor, value: Tensor, derivative: Callable[[Tensor], Tensor]) -> Tensor:
    """The one custom-gradient builder: ``value`` (in the dtype of ``x``) forward, ``grad_out * derivative(x)``
    backward (twice differentiable). Every spike function and surrogate unit of the package is built on it."""
    return _SurrogateGradient.apply(x, value, derivative)


def spike(x: Tensor, surrogate: Surrogate) -> Tensor:
    """Step ``H(x)``: 1 where ``x > 0``, else 0, in the dtype of ``x``.

    Backward: ``grad_out * surrogate.derivative(x)`` (twice differentiable through autograd).
    """
    return surrogate_gradient(x, x.detach() > 0, surrogate.derivative)


def escape_probability(x: Tensor, escape: str, slope: float) -> Tensor:
    """Spike probability ``f(x) = F(slope * x)`` of escape function ``ESCAPES[escape]``, in [0, 1]."""
    esc = _lookup(ESCAPES, escape, "escape function")
    beta = check_slope(slope, f"escape {escape!r}")
    return esc.F(beta * x).clamp(0.0, 1.0)


def escape_derivative(x: Tensor, escape: str, slope: float) -> Tensor:
    """``f'(x) = slope * F'(slope * x)``; for ``exponential`` it is 0 where ``f`` saturates at 1."""
    esc = _lookup(ESCAPES, escape, "escape function")
    beta = check_slope(slope, f"escape {escape!r}")
    return beta * esc.dF(beta * x)


def escape_spike(
    x: Tensor,
    escape: str,
    slope: float,
    generator: torch.Generator,
    surrogate: Surrogate | None = None,
) -> Tensor:
    """Stochastic spike: 1 iff ``f(x) > r`` with ``r ~ U[0, 1)`` drawn from ``generator``.

    Backward uses ``f'(x)`` (the derivative of the escape function) unless ``surrogate`` is given, in which
    case ``surrogate.derivative(x)``. ``generator`` must live on ``x``'s device.
    """
    r = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return escape_spike_given(x, r, escape, slope, surrogate)


def escape_spike_given(x: Tensor, uniform: Tensor, escape: str, slope: float,
                       surrogate: Surrogate | None = None) -> Tensor:
    """:func:`escape_spike` with the uniform numbers ``r`` (broadcastable to ``x``) given."""
    p = escape_probability(x.detach(), escape, slope)
    if surrogate is None:
        derivative = partial(escape_derivative, escape=escape, slope=slope)
    else:
        derivative = surrogate.derivative
    return surrogate_gradient(x, p > uniform, derivative)
