"""Tests for sgtheory.tasks.delayed (flossing spec §7, decisions D7/D8).

The oracle is an independent numpy loop over the presented bits: y_t = σ_{t-d/2} xor σ_{t-d} (XOR) or
y_t = σ_{t-d} (copy) for every scored step t >= d, and 0 on the unscored prefix.
"""

import math

import numpy as np
import pytest
import torch

from sgtheory.tasks.delayed import delayed_task


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _bits(inputs: torch.Tensor, amplitude: float) -> np.ndarray:
    """Recover σ ∈ {0, 1} from the presented inputs, checking they are exactly {0, amplitude}."""
    x = inputs.numpy()
    amplitude = x.dtype.type(amplitude)  # the amplitude as the inputs' dtype represents it
    assert set(np.unique(x).tolist()) <= {0.0, amplitude}
    return (x == amplitude).astype(np.int64)


@pytest.mark.parametrize("delay", [2, 4, 10])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_xor_target_is_xor_of_the_two_delayed_bits(delay, dtype):
    T, B, amp = 37, 6, 1.7
    inputs, targets, scored = delayed_task("xor", delay, T, B, _gen(11), amp, dtype)
    assert inputs.shape == targets.shape == (T, B, 1)
    assert inputs.dtype == targets.dtype == dtype
    sigma = _bits(inputs, amp)
    y = targets.numpy()
    for t in range(T):
        for b in range(B):
            if t >= delay:
                expected = sigma[t - delay // 2, b, 0] ^ sigma[t - delay, b, 0]
            else:
                expected = 0
            assert y[t, b, 0] == expected, (t, b)


@pytest.mark.parametrize("delay", [1, 3, 8])
def test_copy_target_is_the_bit_delay_steps_ago(delay):
    T, B = 29, 5
    inputs, targets, _ = delayed_task("copy", delay, T, B, _gen(3), 1.0)
    sigma = _bits(inputs, 1.0)
    y = targets.numpy()
    for t in range(T):
        for b in range(B):
            expected = sigma[t - delay, b, 0] if t >= delay else 0
            assert y[t, b, 0] == expected, (t, b)


def test_xor_targets_are_not_a_copy():
    """Guard that the oracle above can tell XOR from copy: the two tasks give different targets."""
    xor = delayed_task("xor", 4, 50, 8, _gen(5))[1]
    copy = delayed_task("copy", 4, 50, 8, _gen(5))[1]
    assert not torch.equal(xor, copy)


@pytest.mark.parametrize("task", ["xor", "copy"])
@pytest.mark.parametrize("delay", [2, 6])
def test_scored_mask_is_t_ge_delay(task, delay):
    T = 15
    _, _, scored = delayed_task(task, delay, T, 2, _gen(0))
    assert scored.dtype == torch.bool and scored.shape == (T,)
    assert scored.tolist() == [t >= delay for t in range(T)]
    assert int(scored.sum()) == T - delay


@pytest.mark.parametrize("amp", [1.0, 0.25, 3.0])
def test_inputs_take_exactly_the_values_zero_and_amplitude(amp):
    inputs, targets, _ = delayed_task("xor", 4, 40, 10, _gen(1), amp)
    values = set(torch.unique(inputs).tolist())
    assert values == {0.0, amp}
    assert set(torch.unique(targets).tolist()) == {0.0, 1.0}


def test_amplitude_scales_inputs_only():
    a = delayed_task("xor", 4, 30, 3, _gen(8), 1.0)
    b = delayed_task("xor", 4, 30, 3, _gen(8), 2.5)
    assert torch.equal(b[0], 2.5 * a[0])
    assert torch.equal(a[1], b[1])


@pytest.mark.parametrize("task", ["xor", "copy"])
def test_same_seed_same_batch_different_seed_different_batch(task):
    a = delayed_task(task, 4, 25, 4, _gen(42))
    b = delayed_task(task, 4, 25, 4, _gen(42))
    c = delayed_task(task, 4, 25, 4, _gen(43))
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    assert not torch.equal(a[0], c[0])


def test_generator_advances_between_draws():
    g = _gen(7)
    first = delayed_task("copy", 2, 20, 4, g)[0]
    second = delayed_task("copy", 2, 20, 4, g)[0]
    assert not torch.equal(first, second)


def test_bits_are_fair():
    """Mean of n i.i.d. fair bits is 1/2 ± 5·sqrt(1/(4n)); the targets of XOR are fair too."""
    T, B = 200, 50
    inputs, targets, scored = delayed_task("xor", 10, T, B, _gen(123))
    n = T * B
    tol = 5 * math.sqrt(0.25 / n)
    assert abs(inputs.mean().item() - 0.5) < tol
    y = targets[scored]
    assert abs(y.mean().item() - 0.5) < 5 * math.sqrt(0.25 / y.numel())


def test_unknown_task_raises():
    with pytest.raises(ValueError, match="unknown task"):
        delayed_task("parity", 4, 10, 2, _gen(0))
