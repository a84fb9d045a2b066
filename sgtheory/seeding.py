"""Explicit random streams derived from a run seed (no global seeding anywhere).

Each purpose gets its own stream, like the reference code's separate seeds for the network,
the initial condition, the inputs and the orthonormal system: ``stream(seed, "net")``,
``stream(seed, "ic")``, ``stream(seed, "input", epoch)``, ``stream(seed, "ons")``.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch


def stream_seed(seed: int, purpose: str, *index: int) -> int:
    """A 64-bit integer seed for (run seed, purpose, index...), stable across platforms and versions."""
    entropy = [seed, zlib.crc32(purpose.encode()), *index]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0])


def stream(seed: int, purpose: str, *index: int) -> torch.Generator:
    """A fresh CPU ``torch.Generator`` for (run seed, purpose, index...)."""
    return torch.Generator().manual_seed(stream_seed(seed, purpose, *index))
