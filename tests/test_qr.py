"""The thin QR of the Lyapunov engine (sgtheory.functional.lyapunov.qr): each matrix's factors are torch.linalg.qr's of
that matrix alone, bit for bit; its gradient is torch's QR autograd to round-off and finite differences (gradcheck);
and a realization gets bit-identical factors and gradients alone (R = 1) and in a batch of R = 9.

The shapes are odd on purpose: there torch's batched QR and batched GEMM round some matrices differently with R.
"""

import pytest
import torch

from sgtheory.functional.lyapunov import qr

R = 9
SHAPES = [(13, 3), (7, 7), (80, 75), (33, 5)]


def _random(*shape, dtype, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _loss(q, r, weight):
    """log|diag R| (what the exponents accumulate) plus a random linear function of Q (the next step's tangents)."""
    return torch.log(torch.diagonal(r, dim1=-2, dim2=-1).abs()).sum() + (q * weight).sum()


def _with_grad(qr_fn, A, weight):
    A = A.clone().requires_grad_()
    q, r = qr_fn(A)
    _loss(q, r, weight).backward()
    return q.detach(), r.detach(), A.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("D", "k"), SHAPES)
def test_factors_are_torch_qr_of_each_matrix_alone_and_gradient_its_autograd(dtype, D, k):
    A = _random(R, D, k, dtype=dtype, seed=1)
    weight = _random(R, D, k, dtype=dtype, seed=2)
    q, r, grad = _with_grad(qr, A, weight)
    assert q.shape == (R, D, k) and r.shape == (R, k, k)
    for i in range(R):
        q_ref, r_ref, grad_ref = _with_grad(torch.linalg.qr, A[i], weight[i])
        assert torch.equal(q[i], q_ref) and torch.equal(r[i], r_ref)
        torch.testing.assert_close(grad[i], grad_ref, rtol=0, atol=50 * torch.finfo(dtype).eps * grad_ref.abs().max())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("D", "k"), SHAPES)
def test_each_realization_gets_its_factors_and_gradient_alone(dtype, D, k):
    A = _random(R, D, k, dtype=dtype, seed=3)
    weight = _random(R, D, k, dtype=dtype, seed=4)
    q, r, grad = _with_grad(qr, A, weight)
    for i in range(R):
        alone = _with_grad(qr, A[i:i + 1], weight[i:i + 1])
        assert torch.equal(q[i], alone[0][0]) and torch.equal(r[i], alone[1][0])
        assert torch.equal(grad[i], alone[2][0])


@pytest.mark.parametrize("output", ["Q", "R", "both"])
def test_gradient_matches_finite_differences(output):
    A = _random(2, 3, 6, 4, dtype=torch.float64, seed=5).requires_grad_()

    def f(a):
        q, r = qr(a)
        return {"Q": (q,), "R": (r,), "both": (q, r)}[output]

    assert torch.autograd.gradcheck(f, (A,))


def test_leading_dimensions_and_a_single_matrix():
    A = _random(2, 3, 6, 4, dtype=torch.float64, seed=6)
    q, r = qr(A)
    assert q.shape == A.shape and r.shape == (2, 3, 4, 4)
    assert torch.equal(q[1, 2], torch.linalg.qr(A[1, 2]).Q) and torch.equal(r[1, 2], torch.linalg.qr(A[1, 2]).R)
    q1, r1 = qr(A[0, 0])
    assert torch.equal(q1, q[0, 0]) and torch.equal(r1, r[0, 0])


def test_wide_matrix_is_refused():
    with pytest.raises(ValueError, match="at least as many rows as columns"):
        qr(torch.zeros(3, 5))
