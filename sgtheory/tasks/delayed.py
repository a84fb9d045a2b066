"""Delayed XOR and copy tasks (Engelken, NeurIPS 2023; flossing spec §7, decisions D7/D8).

Inputs are i.i.d. fair bits σ_t ∈ {0, 1} presented as s_t = amplitude·σ_t, t = 0..T-1. With the
paper's delay d:

- XOR:  y_t = σ_{t-d/2} ⊕ σ_{t-d}   (d even; the reference code's ``delay`` is d/2)
- copy: y_t = σ_{t-d}

Only steps whose operands were all presented are scored (D8): t ≥ d, i.e. T - d scored steps.
"""

from __future__ import annotations

import torch


def delayed_task(
    task: str,
    delay: int,
    T: int,
    batch: int,
    generator: torch.Generator,
    amplitude: float = 1.0,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw one batch.

    Returns ``inputs`` (T, batch, 1), ``targets`` (T, batch, 1) in {0, 1}, and ``scored`` (T,) bool.
    """
    bits = torch.randint(0, 2, (T, batch, 1), generator=generator).to(dtype)
    targets = torch.zeros_like(bits)
    if task == "xor":
        targets[delay:] = (bits[delay // 2 : T - delay // 2] != bits[: T - delay]).to(dtype)
    elif task == "copy":
        targets[delay:] = bits[: T - delay]
    else:
        raise ValueError(f"unknown task {task!r}; allowed: xor, copy")
    scored = torch.arange(T) >= delay
    return amplitude * bits, targets, scored
