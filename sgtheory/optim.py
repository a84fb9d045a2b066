"""The optimiser of every experiment: Adam over realizations trained side by side; clipping; the finite check.

Every parameter has a leading *realization* dimension R (seeds, grid cells): independent networks trained as one
computation. A step may skip realizations (a run that went non-finite, a network that does not floss this epoch);
each realization keeps its own step count t, so a skipped one is exactly as if it had not been in the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def _per_realization(values: Tensor, p: Tensor) -> Tensor:
    """(R,) values shaped to broadcast against a parameter (R, ...), in its dtype."""
    return values.to(p.dtype).view(-1, *[1] * (p.dim() - 1))


class Adam:
    """Adam (Kingma & Ba 2015) with PyTorch's arithmetic (bit-identical to ``torch.optim.Adam`` when every
    realization steps), per realization r with its own step count t_r and learning rate lr_r::

        m ← m + (1 − β1)(g − m),   v ← β2 v + (1 − β2) g²,
        p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)

    ``lr`` is a float or an (R,) tensor. ``step(mask)`` updates only the realizations where ``mask`` (R,) is True.
    """

    def __init__(self, params: Sequence[Tensor], lr: float | Tensor, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        R = self.params[0].shape[0]
        self.lr = torch.as_tensor(lr, dtype=torch.float64).expand(R).clone()
        self.betas, self.eps = betas, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = torch.zeros(R, dtype=torch.float64)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def state_dict(self) -> dict[str, Tensor | list[Tensor]]:
        """The moments m, v, the step counts t and the learning rates (copies), for a checkpoint."""
        return {"m": [m.clone() for m in self.m], "v": [v.clone() for v in self.v], "t": self.t.clone(),
                "lr": self.lr.clone()}

    def load_state_dict(self, state: dict[str, Tensor | list[Tensor]]) -> None:
        """Continue from a :meth:`state_dict` of an Adam over parameters of the same shapes."""
        for mine, saved in zip([*self.m, *self.v, self.t, self.lr], [*state["m"], *state["v"], state["t"], state["lr"]],
                               strict=True):
            mine.copy_(saved)

    @torch.no_grad()
    def step(self, mask: Tensor | None = None) -> None:
        b1, b2 = self.betas
        self.t += 1 if mask is None else mask.to(self.t.dtype)
        # bias corrections in Python floats, as torch.optim.Adam computes them (bit-identical updates)
        t = self.t.clamp(min=1).tolist()
        step_size = torch.tensor([-lr / (1 - b1**n) for lr, n in zip(self.lr.tolist(), t, strict=True)],
                                 dtype=torch.float64)
        bias2_sqrt = torch.tensor([(1 - b2**n) ** 0.5 for n in t], dtype=torch.float64)
        grads = [p.grad for p in self.params]
        steps = [_per_realization(step_size, p) for p in self.params]
        bias2 = [_per_realization(bias2_sqrt, p) for p in self.params]
        if mask is None or bool(mask.all()):  # every realization steps: in place, one call per operation
            torch._foreach_lerp_(self.m, grads, 1 - b1)
            torch._foreach_mul_(self.v, b2)
            torch._foreach_addcmul_(self.v, grads, grads, value=1 - b2)
            denom = torch._foreach_sqrt(self.v)
            torch._foreach_div_(denom, bias2)
            torch._foreach_add_(denom, self.eps)
            update = torch._foreach_mul(self.m, steps)
            torch._foreach_div_(update, denom)
            torch._foreach_add_(self.params, update)
            return
        for p, m, v, step, bias in zip(self.params, self.m, self.v, steps, bias2, strict=True):
            m_new = m.lerp(p.grad, 1 - b1)
            v_new = (v * b2).addcmul_(p.grad, p.grad, value=1 - b2)
            p_new = p + step * m_new / (v_new.sqrt() / bias).add_(self.eps)
            keep = mask.view(-1, *[1] * (p.dim() - 1))
            m.copy_(torch.where(keep, m_new, m))
            v.copy_(torch.where(keep, v_new, v))
            p.copy_(torch.where(keep, p_new, p))


class SMORMS3:
    """SMORMS3 (Funk 2015; the optimiser of Gygax & Zenke's classification, sgtheory spec §5.5), elementwise with the
    interface of :class:`Adam`. State per entry: mem = 1, g = g2 = 0; each step, with r = 1/(mem + 1)::

        g ← (1 − r) g + r·grad,   g2 ← (1 − r) g2 + r·grad²,   x = g²/(g2 + ε),
        mem ← 1 + mem (1 − x),    p ← p − min(lr, x) · grad / (√g2 + ε)

    ``lr`` is a float or an (R,) tensor; ``step(mask)`` updates only the realizations where ``mask`` (R,) is True.
    """

    def __init__(self, params: Sequence[Tensor], lr: float | Tensor, eps: float = 1e-16):
        self.params = list(params)
        R = self.params[0].shape[0]
        self.lr = torch.as_tensor(lr, dtype=torch.float64).expand(R).clone()
        self.eps = eps
        self.mem = [torch.ones_like(p) for p in self.params]
        self.g = [torch.zeros_like(p) for p in self.params]
        self.g2 = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def state_dict(self) -> dict[str, Tensor | list[Tensor]]:
        return {"mem": [m.clone() for m in self.mem], "g": [g.clone() for g in self.g],
                "g2": [g.clone() for g in self.g2], "lr": self.lr.clone()}

    def load_state_dict(self, state: dict[str, Tensor | list[Tensor]]) -> None:
        for mine, saved in zip([*self.mem, *self.g, *self.g2, self.lr],
                               [*state["mem"], *state["g"], *state["g2"], state["lr"]], strict=True):
            mine.copy_(saved)

    @torch.no_grad()
    def step(self, mask: Tensor | None = None) -> None:
        for p, mem, g, g2 in zip(self.params, self.mem, self.g, self.g2, strict=True):
            grad = p.grad
            r = 1.0 / (mem + 1.0)
            g_new = (1 - r) * g + r * grad
            g2_new = (1 - r) * g2 + r * grad * grad
            x = g_new * g_new / (g2_new + self.eps)
            mem_new = 1.0 + mem * (1.0 - x)
            lr = _per_realization(self.lr, p).to(p.device)
            p_new = p - torch.minimum(x, lr) * grad / (g2_new.sqrt() + self.eps)
            keep = None if mask is None else mask.to(p.device).view(-1, *[1] * (p.dim() - 1))
            for old, new in ((mem, mem_new), (g, g_new), (g2, g2_new), (p, p_new)):
                old.copy_(new if keep is None else torch.where(keep, new, old))


def clip_per_realization(params: Sequence[Tensor], threshold: float) -> None:
    """Scale each realization's gradient of each array to norm ≤ threshold (Flux's ClipNorm, per array)."""
    for p in params:
        norms = p.grad.flatten(1).norm(dim=1)
        factor = (threshold / norms).clamp(max=1.0)
        p.grad.mul_(factor.view(-1, *([1] * (p.dim() - 1))))


def finite_per_realization(loss: Tensor, params: Sequence[Tensor]) -> Tensor:
    """(R,) bool: the realization's loss and every entry of its gradients are finite."""
    ok = torch.isfinite(loss)
    for p in params:
        ok &= torch.isfinite(p.grad.flatten(1)).all(dim=1)
    return ok
