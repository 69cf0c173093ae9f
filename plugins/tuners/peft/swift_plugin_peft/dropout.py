"""A faster LoRA dropout for CPUs: sample where the zeros go instead of drawing a full mask.

Why this exists: PEFT applies ``nn.Dropout`` to the input of every LoRA module. On a CPU, drawing a
Bernoulli mask is bound by the random-number generator (about 8 ns per element on the machines swift is
tested on): for a small model it cost more than the matrix multiply it guards, and about a fifth of each
LoRA training step. With the usual drop rates (0.05-0.1) almost every element is kept, so we draw the
gaps between dropped elements instead: the gaps of a Bernoulli(p) sequence are i.i.d. Geometric(p), so
sampling them gives exactly the same distribution as a dense mask (every element is dropped
independently with probability p, survivors are scaled by 1/(1-p)) from p·N random numbers instead of N.
No library offers this; torch's dropout always draws the dense mask.

On GPUs, and for large drop rates, the dense ``torch.nn.functional.dropout`` is used.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

#: above this drop rate the sparse sampler stops paying off
SPARSE_MAX_P = 0.25


def bernoulli_positions(n: int, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices in ``[0, n)`` of the successes of ``n`` independent Bernoulli(p) trials, in increasing order."""
    log_keep = math.log1p(-p)
    expected = n * p
    batch = int(expected + 6.0 * math.sqrt(expected * (1.0 - p)) + 16)
    chunks = []
    last = -1
    while True:
        u = torch.rand(batch, dtype=torch.float64, generator=generator)
        # Failures before the next success: floor(log(U) / log(1-p)) with U = 1-u in (0, 1].
        gaps = torch.floor(torch.log1p(-u) / log_keep).to(torch.long)
        positions = last + torch.cumsum(gaps + 1, dim=0)
        inside = positions[positions < n]
        chunks.append(inside)
        if inside.numel() < positions.numel():
            break
        last = int(positions[-1])
    return torch.cat(chunks) if len(chunks) > 1 else chunks[0]


class SparseDropout(nn.Module):
    """``nn.Dropout(p)`` with the same distribution, faster on CPU for small ``p``."""

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu" or self.p > SPARSE_MAX_P:
            return F.dropout(x, self.p, training=True)
        dropped = bernoulli_positions(x.numel(), self.p).to(x.device)
        scaled = x * (1.0 / (1.0 - self.p))
        return scaled.reshape(-1).index_fill(0, dropped, 0.0).view_as(x)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def use_sparse_dropout(model: Any) -> int:
    """Swap PEFT's LoRA ``nn.Dropout`` modules for :class:`SparseDropout`; returns how many were swapped."""
    swapped = 0
    for module in model.modules():
        drops = getattr(module, "lora_dropout", None)
        if not isinstance(drops, nn.ModuleDict):
            continue
        for name, drop in list(drops.items()):
            if type(drop) is nn.Dropout and drop.p > 0:
                drops[name] = SparseDropout(drop.p)
                swapped += 1
    return swapped
