"""Are surrogate gradients gradients? The closed-loop line integral of the SG field (sgtheory spec §3.3).

A vector field G is the gradient of some scalar only if ∮ G·dθ = 0 around every closed loop. On the
circle θ(φ) = θ0 + r (sin φ d1 + cos φ d2) in the plane of two orthonormal directions (start at the top,
clockwise), with unit tangent t(φ) = cos φ d1 − sin φ d2 and N points φ_k = 2πk/N, the integral is

    ∮ G·dθ ≈ Σ_k t_k·G(θ_k) ds,   ds = 2πr/N

(the rectangle rule, spectrally accurate for a smooth periodic integrand). Rows report the running
integral C_k = Σ_{j≤k} t_j·G(θ_j) ds along the loop and, per run, the closed-loop value, the paper's
sum without ds, and the closed-loop value relative to the path integral of the field's absolute tangential
component, ∮ |t·G| ds: a number in [−1, 1], 0 for a conservative field, ±1 when the field never opposes
the direction of travel. (The full norm ‖G‖ would be dominated, in a network's many-dimensional weight
space, by components orthogonal to the plane, and make every loop look nearly conservative.)

Models: ``sigmoid`` is the five-parameter network (the differentiated scalar is its output y; the
exact gradient of the smoothed network, forward steepness β = β_SG, gives the reference integral);
``tanh``, ``binary`` and ``lif`` are the toolkit's recurrent networks with the task loss of one fixed
batch, looped in a random plane of all their weights (J, w_in, w_out, b, c). For ``tanh`` the SG is the
exact gradient, so its loop integral is the conservative reference.
"""

from __future__ import annotations

import math

import torch

from sgtheory.experiments.base import DTYPES, RunResult
from sgtheory.experiments.configs.conservative_check import CHUNK, ConservativeConfig
from sgtheory.experiments.network import build_model
from sgtheory.experiments.sigmoid import check_finite, run_each
from sgtheory.experiments.train import draw_batch
from sgtheory.functional.losses import task_bce
from sgtheory.models import sigmoid_net
from sgtheory.models.rnn import RNN
from sgtheory.seeding import stream

# Rows 1 and 2 of a Haar-random 5x5 orthogonal matrix (scipy ortho_group, random_state=124), as drawn for the
# published figure and, with a later scipy, for the notebook in the authors' repository (spec §3.3).
DIRECTIONS = {
    "published": ((0.09305991, 0.5905991, -0.30914232, 0.4299941, -0.60172135),
                  (-0.14934348, 0.25011492, 0.26179737, -0.78792286, -0.47516188)),
    "scipy": ((0.1168134, -0.21802215, -0.8262966, 0.5019748, 0.06384699),
              (-0.30310827, -0.8068901, 0.36749288, 0.3028789, 0.1739747)),
}
RNN_WEIGHTS = ("J", "w_in", "w_out", "b", "c")


def orthonormal_pair(d1: torch.Tensor, d2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gram–Schmidt: unit d1, and d2 made orthogonal to it and unit."""
    d1 = d1 / d1.norm()
    d2 = d2 - (d2 @ d1) * d1
    return d1, d2 / d2.norm()


def plane(cfg: ConservativeConfig, dim: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The loop's two orthonormal directions in a ``dim``-dimensional parameter space."""
    if cfg.model == "sigmoid" and cfg.directions != "random":
        d1, d2 = (torch.tensor(d, dtype=dtype) for d in DIRECTIONS[cfg.directions])
    else:
        gen = stream(cfg.seed, "plane")
        d1, d2 = (torch.randn(dim, generator=gen, dtype=dtype) for _ in range(2))
    return orthonormal_pair(d1, d2)


def loop(cfg: ConservativeConfig, d1: torch.Tensor, d2: torch.Tensor, theta0: torch.Tensor):
    """Points θ_k (N, dim), unit tangents t_k (N, dim), angles φ_k in degrees, and ds."""
    phi = 2 * math.pi * torch.arange(cfg.points, dtype=theta0.dtype) / cfg.points
    s, c = torch.sin(phi)[:, None], torch.cos(phi)[:, None]
    points = theta0 + cfg.radius * (s * d1 + c * d2)
    tangents = c * d1 - s * d2
    return points, tangents, torch.rad2deg(phi), 2 * math.pi * cfg.radius / cfg.points


def loop_measures(grad: torch.Tensor, tangents: torch.Tensor, ds: float) -> tuple[torch.Tensor, dict[str, float]]:
    """Running integral C_k and the closed-loop summary of a field sampled on the loop."""
    work = (grad * tangents).sum(dim=-1)
    running = torch.cumsum(work * ds, dim=0)
    total = float(running[-1])
    path = float(work.abs().sum() * ds)
    return running, {"loop_sum": float(work.sum()), "loop_integral": total, "loop_abs_integral": path,
                     "relative_loop_integral": total / path if path > 0 else math.nan}


def sigmoid_loop(cfg: ConservativeConfig) -> list[dict]:
    dtype = DTYPES[cfg.dtype]
    theta0 = torch.tensor(cfg.base_point, dtype=dtype)
    d1, d2 = plane(cfg, 5, dtype)
    points, tangents, angle, ds = loop(cfg, d1, d2, theta0)
    y, sg = sigmoid_net.output_and_gradient(points, cfg.x, cfg.beta, cfg.spike_surrogate())
    smooth_y, exact = sigmoid_net.output_and_gradient(points, cfg.x, cfg.slope)
    running, summary = loop_measures(sg, tangents, ds)
    exact_running, exact_summary = loop_measures(exact, tangents, ds)
    summary |= {"exact_loop_integral": exact_summary["loop_integral"], "exact_loop_sum": exact_summary["loop_sum"]}
    curves = {"output": y, "smoothed_output": smooth_y, "integrated_sg": running, "integrated_exact": exact_running}
    check_finite(curves)
    rows = loop_rows(curves, angle, summary)
    if cfg.landscape_points:
        extent = cfg.radius * 10 / 9
        axis = torch.linspace(-extent, extent, cfg.landscape_points, dtype=dtype)
        a, b = torch.meshgrid(axis, axis, indexing="ij")
        grid = theta0 + a[..., None] * d1 + b[..., None] * d2
        for name, beta in (("landscape_output", cfg.beta), ("landscape_smoothed", cfg.slope)):
            values = sigmoid_net.output(grid, cfg.x, beta)
            rows += [{"quantity": name, "step": -1, "angle": math.nan, "position_1": pa, "position_2": pb,
                      "value": v, **summary}
                     for pa, pb, v in zip(a.flatten().tolist(), b.flatten().tolist(), values.flatten().tolist(),
                                          strict=True)]
    return rows


def loop_rows(curves: dict[str, torch.Tensor], angle: torch.Tensor, summary: dict[str, float]) -> list[dict]:
    rows = []
    for name, curve in curves.items():
        rows += [{"quantity": name, "step": k, "angle": a, "position_1": math.nan, "position_2": math.nan,
                  "value": v, **summary}
                 for k, (a, v) in enumerate(zip(angle.tolist(), curve.tolist(), strict=True))]
    return rows


def rnn_loss_and_gradient(model: RNN, points: torch.Tensor, shapes: dict, inputs, targets, scored):
    """Task loss (R,) and its gradient (R, dim) for the weight vectors ``points`` (R, dim) of one network."""
    R = points.shape[0]
    weights, offset = {}, 0
    for name in RNN_WEIGHTS:
        size = math.prod(shapes[name])
        weights[name] = points[:, offset:offset + size].reshape(R, *shapes[name])
        offset += size
    net = RNN(model.model, weights, model.x0.detach().expand(R, -1, -1), model.surrogate, **model.lif_options)
    logits = net(inputs.expand(-1, R, -1, -1))[scored]
    loss = task_bce(logits, targets.expand(-1, R, -1)[scored])
    grads = torch.autograd.grad(loss.sum(), [getattr(net, name) for name in RNN_WEIGHTS])
    return loss.detach(), torch.cat([g.flatten(1) for g in grads], dim=1)


def rnn_loop(cfg: ConservativeConfig) -> list[dict]:
    model = build_model([cfg], cfg.batch)
    shapes = {name: tuple(getattr(model, name).shape[1:]) for name in RNN_WEIGHTS}
    theta0 = torch.cat([getattr(model, name).detach().flatten() for name in RNN_WEIGHTS])
    d1, d2 = plane(cfg, theta0.numel(), theta0.dtype)
    points, tangents, angle, ds = loop(cfg, d1, d2, theta0)
    inputs, targets, scored = draw_batch([cfg], 0)
    losses, grads = [], []
    for start in range(0, cfg.points, CHUNK):
        loss, grad = rnn_loss_and_gradient(model, points[start:start + CHUNK], shapes, inputs, targets, scored)
        losses.append(loss)
        grads.append(grad)
    grad = torch.cat(grads)
    running, summary = loop_measures(grad, tangents, ds)
    summary |= {"exact_loop_integral": math.nan, "exact_loop_sum": math.nan}
    curves = {"output": torch.cat(losses), "integrated_sg": running}
    check_finite(curves)
    return loop_rows(curves, angle, summary)


def conservative_check(configs, progress=None) -> list[RunResult]:
    """Runner of ``sgtheory conservative-check``: one loop per config."""
    return run_each(configs, lambda cfg: sigmoid_loop(cfg) if cfg.model == "sigmoid" else rnn_loop(cfg), progress)
