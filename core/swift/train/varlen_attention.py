"""Padding-free attention for packed batches without flash-attention (CPUs, and GPUs without it).

A packed batch is one row holding several sequences, with ``position_ids`` restarting at each. With the
``sdpa`` or ``eager`` implementations transformers keeps attention inside each sequence by building a
dense block-diagonal mask over the whole packed row, so attention costs (sum of lengths)^2 instead of the
sum of length^2: on mixed-length data that made packing slower than padding. flash-attention's varlen
kernels avoid this on GPUs; this module does the same with one causal ``scaled_dot_product_attention`` per
sequence, registered in transformers' ``AttentionInterface`` as ``swift_varlen``. No library provides a
varlen attention for torch's CPU backend.

Outside packed batches it is plain causal SDPA: training batches are right-padded, and a causal model
never attends from a real token to the padding after it.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

NAME = "swift_varlen"
_registered = False


def sequence_bounds(position_ids: torch.Tensor) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` of the sequences in a packed row (position ids restart at 0)."""
    starts = (position_ids == 0).nonzero().flatten().tolist()
    if not starts or starts[0] != 0:
        starts = [0, *starts]
    ends = [*starts[1:], position_ids.numel()]
    return list(zip(starts, ends))


def _causal(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scaling: float | None, dropout: float,
            window: int | None) -> torch.Tensor:
    """Causal SDPA over one sequence (or a batch of equal-length ones), with an optional sliding window."""
    length = query.shape[2]
    if window is None or length <= window:
        return F.scaled_dot_product_attention(query, key, value, is_causal=length > 1, dropout_p=dropout, scale=scaling)
    i = torch.arange(length, device=query.device)
    mask = (i[None, :] <= i[:, None]) & (i[:, None] - i[None, :] < window)
    return F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout, scale=scaling)


def varlen_attention(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                     **kwargs: Any) -> tuple[torch.Tensor, None]:
    """Attention over ``query``/``key``/``value`` of shape (batch, heads, seq, head_dim)."""
    for unsupported in ("softcap", "s_aux"):
        if kwargs.get(unsupported) is not None:
            raise NotImplementedError(f"{NAME} attention does not implement '{unsupported}'; train without --packing")
    if key.shape[1] != query.shape[1]:  # grouped-query attention
        repeat = query.shape[1] // key.shape[1]
        key = key.repeat_interleave(repeat, dim=1)
        value = value.repeat_interleave(repeat, dim=1)
    window = kwargs.get("sliding_window")
    position_ids = kwargs.get("position_ids")
    packed = position_ids is not None and query.shape[0] == 1 and attention_mask is None
    bounds = sequence_bounds(position_ids[0]) if packed else []
    if len(bounds) > 1:
        parts = [_causal(query[:, :, s:e], key[:, :, s:e], value[:, :, s:e], scaling, dropout, window)
                 for s, e in bounds]
        out = torch.cat(parts, dim=2)
    elif attention_mask is not None and attention_mask.dim() == 4:
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=dropout,
                                             scale=scaling)
    else:
        out = _causal(query, key, value, scaling, dropout, window)
    return out.transpose(1, 2).contiguous(), None


def register() -> str:
    global _registered
    if not _registered:
        from transformers import AttentionInterface

        AttentionInterface.register(NAME, varlen_attention)
        _registered = True
    return NAME


#: model types whose attention is plain causal self-attention (optionally windowed) when they run on sdpa:
#: padding-free batches are turned on for them automatically.
PLAIN_ATTENTION = frozenset({"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "phi3",
                             "gemma", "olmo", "olmo2", "granite", "starcoder2"})


def auto_padding_free(model: Any) -> bool:
    """Whether padding-free batches are known to be exact for this model (see PLAIN_ATTENTION)."""
    config = getattr(model, "config", None)
    return (getattr(config, "model_type", None) in PLAIN_ATTENTION
            and getattr(config, "_attn_implementation", None) in ("sdpa", "flash_attention_2", "flash_attention_3"))


def use_varlen_attention(model: Any) -> str | None:
    """Switch a transformers model from sdpa/eager to ``swift_varlen``; returns the previous implementation.

    Returns None (and changes nothing) for other models or implementations (e.g. flash_attention_2, which
    handles packed rows itself).
    """
    config = getattr(model, "config", None)
    current = getattr(config, "_attn_implementation", None)
    if current not in ("sdpa", "eager") or not hasattr(model, "set_attn_implementation"):
        return None
    model.set_attn_implementation(register())
    return current
