"""Surrogate gradients vs true gradients in the five-parameter sigmoid network (sgtheory spec §3.2).

``sigmoid_bias`` computes, for one forward steepness β and one surrogate (slope β_SG):

* panel ``scan`` — along one parameter p (others at the base point): the output y_β, the output of the
  smoothed network y_{β_SG} (forward steepness β_SG), the integrated SG
  ``L(p) = y_β(p_0) + ∫_{p_0}^{p} SG dp'`` (trapezoid rule), the true gradient ∂y_β/∂p, the smoothed
  gradient ∂y_{β_SG}/∂p and the SG;
* panel ``landscape`` — on a grid of two parameters (a, b): y_β and the integrated-SG landscape in both
  orders: order 1 integrates along a at b = b_0, then along b; order 2 along b at a = a_0, then along a.
  For a gradient field the two orders agree; their difference measures path dependence.

The paper sums SGs without the grid step (spec §3.2); here the integrals carry the step, so the
landscape does not depend on the grid resolution. After the min–max normalisation of the figure the
two conventions give the same curves.
"""

from __future__ import annotations

import numpy as np
import torch

from sgtheory.errors import NonFiniteError
from sgtheory.experiments.base import DTYPES, RunResult
from sgtheory.experiments.configs.sigmoid_bias import SigmoidBiasConfig
from sgtheory.models import sigmoid_net
from sgtheory.models.sigmoid_net import PARAMETERS


def cumulative_trapezoid(values: torch.Tensor, spacing: float, dim: int = -1) -> torch.Tensor:
    """∫ from the first point: cumulative trapezoid rule along ``dim`` (0 at the first point)."""
    values = values.movedim(dim, -1)
    steps = 0.5 * spacing * (values[..., 1:] + values[..., :-1])
    out = torch.cat([torch.zeros_like(values[..., :1]), torch.cumsum(steps, dim=-1)], dim=-1)
    return out.movedim(-1, dim)


def points_along(cfg: SigmoidBiasConfig, names: tuple[str, ...], axes: list[torch.Tensor]) -> torch.Tensor:
    """Parameter points (*grid, 5): the base point with parameters ``names`` set to the grid of ``axes``."""
    dtype = DTYPES[cfg.dtype]
    grids = torch.meshgrid(*axes, indexing="ij")
    theta = torch.tensor(cfg.base_point, dtype=dtype).expand(*grids[0].shape, 5).clone()
    for name, grid in zip(names, grids, strict=True):
        theta[..., PARAMETERS.index(name)] = grid
    return theta


def scan_rows(cfg: SigmoidBiasConfig) -> list[dict]:
    """Rows of the 1-D scan plus summary measures shared by every row."""
    dtype = DTYPES[cfg.dtype]
    axis = torch.linspace(cfg.scan_min, cfg.scan_max, cfg.scan_points, dtype=dtype)
    theta = points_along(cfg, (cfg.scan,), [axis])
    i = PARAMETERS.index(cfg.scan)
    y, true_grad = sigmoid_net.output_and_gradient(theta, cfg.x, cfg.beta)
    smooth_y, smooth_grad = sigmoid_net.output_and_gradient(theta, cfg.x, cfg.slope)
    _, sg = sigmoid_net.output_and_gradient(theta, cfg.x, cfg.beta, cfg.spike_surrogate())
    spacing = (cfg.scan_max - cfg.scan_min) / (cfg.scan_points - 1)
    integrated = y[0] + cumulative_trapezoid(sg[:, i], spacing)
    curves = {"output": y, "smoothed_output": smooth_y, "integrated_sg": integrated,
              "true_gradient": true_grad[:, i], "smoothed_gradient": smooth_grad[:, i], "sg": sg[:, i]}
    check_finite(curves)
    position = axis.numpy()
    summary = {f"argmin_{name}": float(position[int(torch.argmin(curves[name]))])
               for name in ("output", "smoothed_output", "integrated_sg")}
    summary["sign_disagreement"] = float((torch.sign(curves["sg"]) != torch.sign(curves["true_gradient"]))
                                         .to(dtype).mean())
    rows = []
    for name, curve in curves.items():
        rows += [{"quantity": name, "position_1": p, "position_2": np.nan, "value": v, **summary}
                 for p, v in zip(position.tolist(), curve.tolist(), strict=True)]
    return rows


def integrated_landscape(y0: torch.Tensor, grad_a: torch.Tensor, grad_b: torch.Tensor, da: float, db: float,
                         a_first: bool) -> torch.Tensor:
    """L(a, b) from the field (grad_a, grad_b) on an (a, b) grid, starting at L(a_0, b_0) = y0.

    a first: along a on the line b = b_0, then along b for every a; otherwise b first, then a.
    """
    if a_first:
        line = cumulative_trapezoid(grad_a[:, 0], da)
        return y0 + line[:, None] + cumulative_trapezoid(grad_b, db, dim=1)
    line = cumulative_trapezoid(grad_b[0, :], db)
    return y0 + line[None, :] + cumulative_trapezoid(grad_a, da, dim=0)


def landscape_rows(cfg: SigmoidBiasConfig) -> list[dict]:
    """Rows of the (a, b) landscapes (output, integrated SG in both orders) with summary measures."""
    dtype = DTYPES[cfg.dtype]
    names = cfg.plane_parameters
    ia, ib = (PARAMETERS.index(n) for n in names)
    axis = torch.linspace(cfg.grid_min, cfg.grid_max, cfg.grid_points, dtype=dtype)
    theta = points_along(cfg, names, [axis, axis])
    y, _ = sigmoid_net.output_and_gradient(theta, cfg.x, cfg.beta)
    _, sg = sigmoid_net.output_and_gradient(theta, cfg.x, cfg.beta, cfg.spike_surrogate())
    step = (cfg.grid_max - cfg.grid_min) / (cfg.grid_points - 1)
    grids = {"output": y}
    for order, a_first in (("integrated_sg_1", True), ("integrated_sg_2", False)):
        grids[order] = integrated_landscape(y[0, 0], sg[..., ia], sg[..., ib], step, step, a_first)
    check_finite(grids)
    arrow_theta = points_along(cfg, names, [torch.tensor([cfg.arrow_1], dtype=dtype),
                                            torch.tensor([cfg.arrow_2], dtype=dtype)])
    _, arrow = sigmoid_net.output_and_gradient(arrow_theta, cfg.x, cfg.beta, cfg.spike_surrogate())
    first, second = grids["integrated_sg_1"], grids["integrated_sg_2"]
    summary = {"arrow_sg_1": float(arrow[0, 0, ia]), "arrow_sg_2": float(arrow[0, 0, ib]),
               "path_dependence": float((first - second).abs().max() / (first.max() - first.min()))}
    a, b = (g.flatten().tolist() for g in torch.meshgrid(axis, axis, indexing="ij"))
    rows = []
    for name, grid in grids.items():
        rows += [{"quantity": name, "position_1": pa, "position_2": pb, "value": v, **summary}
                 for pa, pb, v in zip(a, b, grid.flatten().tolist(), strict=True)]
    return rows



def check_finite(curves: dict[str, torch.Tensor]) -> None:
    bad = [name for name, c in curves.items() if not torch.isfinite(c).all()]
    if bad:
        raise NonFiniteError(f"non-finite values in {', '.join(bad)}")


def run_each(configs, rows_of, progress=None) -> list[RunResult]:
    """One RunResult per config from ``rows_of(cfg)``; a NonFiniteError becomes the run's error message.

    ``progress`` gets one tick for the whole group."""
    results = []
    for cfg in configs:
        try:
            results.append(RunResult(cfg, rows_of(cfg)))
        except NonFiniteError as err:
            results.append(RunResult(cfg, [], str(err)))
    if progress is not None:
        progress(1, {})
    return results


def sigmoid_bias(configs, progress=None) -> list[RunResult]:
    """Runner of ``sgtheory sigmoid-bias`` (deterministic: every seed gets the same rows)."""
    return run_each(configs, lambda cfg: scan_rows(cfg) if cfg.panel == "scan" else landscape_rows(cfg), progress)
