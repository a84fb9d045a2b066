"""Shared test settings: one intra-op thread (the machines running the suite are shared)."""

import torch

torch.set_num_threads(1)
