"""The per-realization arithmetic of sgtheory.functional.realizations: each realization of a batch gets exactly the
numbers (values and gradients) it gets alone, and those numbers are the ordinary product / QR / mean.

The shapes are odd on purpose: there torch.bmm and a batched QR round some realizations differently with R.
"""

import pytest
import torch

from sgtheory.functional.realizations import matmul, per_realization, realization_mean

R = 9


def _random(*shape, dtype, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _matmul_with_grads(a, b, weight):
    a, b = a.clone().requires_grad_(), b.clone().requires_grad_()
    out = matmul(a, b)
    (out * weight).sum().backward()
    return out.detach(), a.grad, b.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("lead", "m", "k", "n"), [((), 3, 13, 13), ((), 13, 5, 13), ((), 5, 16, 5), ((7,), 3, 2, 13),
                                                   ((3,), 1, 23, 23)])
def test_matmul_gives_each_realization_its_product_alone(dtype, lead, m, k, n):
    a = _random(*lead, R, m, k, dtype=dtype, seed=1)
    b = _random(R, k, n, dtype=dtype, seed=2)
    weight = _random(*lead, R, m, n, dtype=dtype, seed=3)
    out, grad_a, grad_b = _matmul_with_grads(a, b, weight)
    torch.testing.assert_close(out, a @ b)
    for r in range(R):
        alone = _matmul_with_grads(a[..., r:r + 1, :, :], b[r:r + 1], weight[..., r:r + 1, :, :])
        assert torch.equal(out[..., r, :, :], alone[0][..., 0, :, :])
        assert torch.equal(grad_a[..., r, :, :], alone[1][..., 0, :, :])
        assert torch.equal(grad_b[r], alone[2][0])


def test_matmul_shares_an_operand_of_leading_size_one():
    x = _random(1, 11, 7, dtype=torch.float32, seed=4)
    W = _random(R, 7, 5, dtype=torch.float32, seed=5).requires_grad_()
    out = matmul(x, W)
    torch.testing.assert_close(out, x @ W)
    out.sum().backward()
    for r in range(R):
        assert torch.equal(out[r], matmul(x, W[r:r + 1].detach())[0])


def _qr_with_grad(A, weight):
    A = A.clone().requires_grad_()
    q, r = per_realization(torch.linalg.qr, A)
    (torch.log(torch.diagonal(r, dim1=-2, dim2=-1).abs()).sum() + (q * weight).sum()).backward()
    return q.detach(), r.detach(), A.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("D", "k"), [(13, 3), (7, 7), (80, 75)])
def test_per_realization_qr_gives_each_realization_its_factors_and_gradient_alone(dtype, D, k):
    A = _random(R, D, k, dtype=dtype, seed=6)
    weight = _random(R, D, k, dtype=dtype, seed=7)
    q, r, grad = _qr_with_grad(A, weight)
    reference = torch.linalg.qr(A)
    torch.testing.assert_close(q, reference.Q)
    torch.testing.assert_close(r, reference.R)
    for i in range(R):
        alone = _qr_with_grad(A[i:i + 1], weight[i:i + 1])
        assert torch.equal(q[i], alone[0][0]) and torch.equal(r[i], alone[1][0])
        assert torch.equal(grad[i], alone[2][0])


def test_realization_mean_is_each_realizations_mean_alone():
    x = _random(37, R, 5, dtype=torch.float32, seed=8)
    means = realization_mean(x, dim=1)
    torch.testing.assert_close(means, x.mean(dim=(0, 2)))
    for r in range(R):
        assert torch.equal(means[r], realization_mean(x[:, r:r + 1].clone(), dim=1)[0])
