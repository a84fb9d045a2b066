"""Arithmetic over a batch of realizations that gives each realization exactly the numbers it gets alone.

R independent networks (seeds, grid cells) run as one computation along a leading realization axis. Three kinds of
torch kernels round a realization differently depending on its neighbours, so that a seed trained alone drifts away
from the same seed trained in a batch (float32: one rounding per epoch at first, a different trajectory after tens of
epochs):

- batched GEMM (``torch.bmm``, ``@`` on 3-D tensors): MKL's batch routine groups small matrices across the batch, and
  a single GEMM's blocking depends on where its operands start in memory (their 64-byte alignment);
- reductions whose kernel fuses the realization axis with the reduced or vectorised axes, e.g. a sum over (time,
  batch) of a (T, R, B, N) tensor, or over time of (T, R·B·N): the realization's elements land in different vector
  lanes, tails and partial sums;
- elementwise kernels whose vectorised body and scalar tail round differently (``sigmoid``, ``pow`` with a general
  exponent, the backward of ``binary_cross_entropy_with_logits``): whether an element falls in the tail depends on R.

The forms here avoid the first two: :func:`matmul` (and :func:`products`) multiply each realization's matrices in
a GEMM of their own, on operands laid out as a tensor of their own (contiguous, 64-byte aligned);
:func:`per_realization` applies any function (the long-term singular values of the Lyapunov engine) realization by
realization on such operands, with a graph of its own (the engine's thin QR uses these forms in a backward formula of
its own, :func:`sgtheory.functional.lyapunov.qr`); :func:`realization_mean` reduces one contiguous row per
realization. The models avoid the third by writing those functions with operations whose vectorised and scalar
kernels agree (:func:`sgtheory.functional.losses.task_bce`, the fast-sigmoid surrogate, the upper activity bound).
The guarantee holds at any fixed number of torch threads (tested with 1 and 2); runs with different thread counts
may differ.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

ALIGNMENT = 64  # bytes: where torch's CPU allocator starts every fresh tensor


def _rows(shape: tuple[int, int], strides: tuple[int, int]) -> bool:
    """Whether a matrix of ``shape`` and ``strides`` is contiguous (row by row)."""
    (m, k), (s0, s1) = shape, strides
    return (s1 == 1 or k == 1) and (s0 == k or m == 1)


def alone(x: Tensor) -> Tensor:
    """The matrix ``x`` laid out as a fresh tensor of its own: contiguous and ALIGNMENT-byte aligned (a copy if not).
    A transposed view is copied too: whether a realization's slice is a plain transpose can depend on R (a reshape
    of a batch is a view for R = 1 and a strided slice otherwise), and a GEMM rounds differently on the two layouts."""
    if not _rows(x.shape, x.stride()):
        return x.contiguous()
    return x if x.data_ptr() % ALIGNMENT == 0 else x.clone()


def _aligned_batch(x: Tensor) -> Tensor:
    """``x`` (R, m, k) with every matrix laid out as by :func:`alone`, in one tensor: ``x`` itself if its matrices
    already are, else a copy into a buffer whose matrices start on ALIGNMENT-byte boundaries."""
    R, m, k = x.shape
    step, *strides = x.stride()
    aligned = x.data_ptr() % ALIGNMENT == 0 and (R == 1 or step * x.element_size() % ALIGNMENT == 0)
    if aligned and _rows((m, k), strides):
        return x
    unit = ALIGNMENT // x.element_size()
    padded = -(-m * k // unit) * unit
    return torch.empty(R, padded, dtype=x.dtype, device=x.device).as_strided((R, m, k), (padded, k, 1)).copy_(x)


def products(a: Tensor, b: Tensor) -> Tensor:
    """a[r] @ b[r] (R, m, n) for a (R or 1, m, k) and b (R or 1, k, n), one GEMM per realization on operands laid
    out by :func:`alone` (an operand of leading size 1 is shared by every realization). No autograd.

    It is ``torch.bmm`` into an output whose matrices are padded apart: torch's batched routine (MKL's, which groups
    matrices) needs a contiguous output, so torch multiplies matrix by matrix; for R = 1 it makes the same single
    GEMM. ``tests/test_realizations.py`` checks this on shapes where the batched routine differs."""
    R, m, n = max(a.shape[0], b.shape[0]), a.shape[1], b.shape[2]
    a, b = _aligned_batch(a).expand(R, -1, -1), _aligned_batch(b).expand(R, -1, -1)
    unit = ALIGNMENT // a.element_size()
    padded = -(-(m * n + 1) // unit) * unit  # at least one element more than a matrix: never contiguous for R > 1
    out = torch.empty(R, padded, dtype=torch.result_type(a, b), device=a.device).as_strided((R, m, n), (padded, n, 1))
    return torch.bmm(a, b, out=out)


def _unbroadcast(grad: Tensor, leading: int) -> Tensor:
    """The gradient of an operand of leading size ``leading`` (1: shared, summed over realizations)."""
    return grad.sum(0, keepdim=True) if leading == 1 and grad.shape[0] > 1 else grad


class _Matmul(torch.autograd.Function):
    """C = A B per realization; dA = dC Bᵀ and dB = Aᵀ dC, per realization too (:func:`products`). Of the two ways to
    write each gradient product (e.g. dC Bᵀ or (B dCᵀ)ᵀ), the one that transposes, and so copies, the smaller
    operand is taken, chosen from the shapes alone (never from the layouts, which may depend on R)."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        return products(a, b)

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        (m, k), n = a.shape[1:], b.shape[2]
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:  # dC Bᵀ transposes B (k·n) or dC (m·n)
            grad_a = products(grad, b.mT) if k <= m else products(b, grad.mT).mT
            grad_a = _unbroadcast(grad_a, a.shape[0])
        if ctx.needs_input_grad[1]:  # Aᵀ dC transposes A (m·k) or dC (m·n)
            grad_b = products(a.mT, grad) if k <= n else products(grad.mT, a).mT
            grad_b = _unbroadcast(grad_b, b.shape[0])
        return grad_a, grad_b


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b for a (..., R, m, k) and b (R, k, n) -> (..., R, m, n), differentiable; realization r's rows (all
    leading indices of ``a`` together) meet b[r] in one GEMM of their own, so each realization's numbers do not
    depend on R. ``a`` may also have R = 1 (shared by every realization)."""
    if a.dim() == 3:
        return _Matmul.apply(a, b)
    lead, (Ra, m, k) = a.shape[:-3], a.shape[-3:]
    rows = a.reshape(-1, Ra, m, k).movedim(1, 0).reshape(Ra, -1, k)
    out = _Matmul.apply(rows, b)
    return out.reshape(out.shape[0], -1, m, b.shape[-1]).movedim(0, 1).reshape(*lead, out.shape[0], m, b.shape[-1])


class _PerRealization(torch.autograd.Function):
    """Outputs of ``fn`` per realization, each with its own autograd graph over an :func:`alone` copy of its input;
    the backward pass hands every graph its own :func:`alone` slice of the incoming gradients (one engine call)."""

    @staticmethod
    def forward(ctx, fn, x: Tensor):
        with torch.enable_grad():
            ctx.leaves = [alone(x_r.detach()).requires_grad_() for x_r in x.unbind(0)]
            ctx.outputs = [tuple(fn(leaf)) for leaf in ctx.leaves]
        return tuple(torch.stack([out[i].detach() for out in ctx.outputs]) for i in range(len(ctx.outputs[0])))

    @staticmethod
    def backward(ctx, *grads):
        outputs, grad_outputs = [], []
        for r, out in enumerate(ctx.outputs):
            for out_i, grad in zip(out, grads, strict=True):
                if grad is not None:
                    outputs.append(out_i)
                    grad_outputs.append(alone(grad[r]))
        parts = torch.autograd.grad(outputs, ctx.leaves, grad_outputs)
        ctx.leaves = ctx.outputs = None
        return None, torch.stack(parts)


def per_realization(fn: Callable[[Tensor], tuple[Tensor, ...]], x: Tensor) -> tuple[Tensor, ...]:
    """``fn`` (one realization's input -> a tuple of tensors) applied to x[r] for every r, outputs stacked along a
    new leading axis; differentiable (first order) with each realization's gradient computed by its own graph."""
    if not (x.requires_grad and torch.is_grad_enabled()):
        with torch.no_grad():
            outputs = [tuple(fn(alone(x_r))) for x_r in x.unbind(0)]
        return tuple(torch.stack([out[i] for out in outputs]) for i in range(len(outputs[0])))
    return _PerRealization.apply(fn, x)


def realization_mean(x: Tensor, dim: int = 0) -> Tensor:
    """(R,) mean over every axis but the realization axis ``dim``, each realization's elements reduced as one contiguous
    row (the same reduction whatever R is)."""
    return x.movedim(dim, 0).reshape(x.shape[dim], -1).mean(1)
