"""The one Adam of the package (sgtheory.optim): PyTorch's arithmetic, skipped realizations, per-realization lr."""

import pytest
import torch

from sgtheory.optim import Adam, clip_per_realization, finite_per_realization


def _grads(shape, steps, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g) * 10 ** torch.empty(1).uniform_(-3, 1, generator=g) for _ in range(steps)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bit_identical_to_torch_adam(dtype):
    start = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(1), dtype=dtype)
    ours, ref = start.clone().requires_grad_(), start.clone().requires_grad_()
    adam, torch_adam = Adam([ours], lr=3e-3), torch.optim.Adam([ref], lr=3e-3)
    for g in _grads((3, 4, 5), 200):
        ours.grad, ref.grad = g.to(dtype), g.to(dtype)
        adam.step()
        torch_adam.step()
    assert torch.equal(ours, ref)


def test_a_skipped_realization_is_as_if_it_were_alone():
    """Realization 1 skips steps 3-5: it ends where a lone Adam with its other grads ends; realization 0 is untouched
    by the skipping. Per-realization learning rates: realization r alone with lr[r]."""
    grads = _grads((2, 6), 10)
    lr = torch.tensor([1e-2, 3e-3])
    p = torch.ones(2, 6, requires_grad=True)
    adam = Adam([p], lr=lr)
    for i, g in enumerate(grads):
        p.grad = g
        adam.step(torch.tensor([True, not 3 <= i <= 5]))
    for r, used in ((0, grads), (1, grads[:3] + grads[6:])):
        q = torch.ones(1, 6, requires_grad=True)
        alone = torch.optim.Adam([q], lr=lr[r].item())
        for g in used:
            q.grad = g[r : r + 1].clone()
            alone.step()
        assert torch.equal(p[r], q[0]), r


def test_clipping_and_the_finite_check_act_per_realization():
    p = torch.zeros(3, 2, requires_grad=True)
    p.grad = torch.tensor([[3.0, 4.0], [0.3, 0.4], [float("nan"), 0.0]])
    loss = torch.tensor([1.0, float("inf"), 1.0])
    assert finite_per_realization(loss, [p]).tolist() == [True, False, False]
    clip_per_realization([p], 1.0)
    assert p.grad[0].tolist() == pytest.approx([0.6, 0.8]) and p.grad[1].tolist() == pytest.approx([0.3, 0.4])
