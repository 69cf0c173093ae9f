"""Padding-free attention: per-sequence SDPA equals attention under a block-diagonal causal mask."""
from __future__ import annotations

import torch

from swift.train.varlen_attention import sequence_bounds, varlen_attention


def test_sequence_bounds():
    assert sequence_bounds(torch.tensor([0, 1, 2, 0, 1, 0])) == [(0, 3), (3, 5), (5, 6)]


def test_matches_block_diagonal_masked_attention():
    torch.manual_seed(0)
    lengths = [5, 1, 9, 3]
    total = sum(lengths)
    q = torch.randn(1, 4, total, 8)
    k = torch.randn(1, 2, total, 8)  # grouped-query: 2 kv heads for 4 query heads
    v = torch.randn(1, 2, total, 8)
    position_ids = torch.cat([torch.arange(n) for n in lengths]).unsqueeze(0)
    out, _ = varlen_attention(None, q, k, v, None, scaling=0.5, position_ids=position_ids)

    seq = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths))
    mask = (seq[:, None] == seq[None, :]) & torch.ones(total, total, dtype=torch.bool).tril()
    ref = torch.nn.functional.scaled_dot_product_attention(
        q, k.repeat_interleave(2, dim=1), v.repeat_interleave(2, dim=1), attn_mask=mask, scale=0.5)
    assert out.shape == (1, total, 4, 8)
    assert torch.allclose(out, ref.transpose(1, 2), atol=1e-6)


def test_unpacked_batch_is_causal_attention():
    q, k, v = (torch.randn(2, 2, 6, 4) for _ in range(3))
    out, _ = varlen_attention(None, q, k, v, None, position_ids=torch.arange(6).expand(2, 6))
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(out, ref.transpose(1, 2), atol=1e-6)


def test_sliding_window_inside_long_sequences():
    torch.manual_seed(1)
    q, k, v = (torch.randn(1, 2, 10, 4) for _ in range(3))
    position_ids = torch.tensor([[0, 1, 2, 3, 4, 5, 6, 0, 1, 2]])
    out, _ = varlen_attention(None, q, k, v, None, position_ids=position_ids, sliding_window=3)
    i = torch.arange(7)
    band = (i[None, :] <= i[:, None]) & (i[:, None] - i[None, :] < 3)
    first = torch.nn.functional.scaled_dot_product_attention(q[:, :, :7], k[:, :, :7], v[:, :, :7], attn_mask=band)
    assert torch.allclose(out[:, :7], first.transpose(1, 2), atol=1e-6)


def test_auto_padding_free_only_for_known_attention(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from swift.train.varlen_attention import auto_padding_free

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    assert auto_padding_free(model)  # qwen2 on sdpa
    model.set_attn_implementation("eager")
    assert not auto_padding_free(model)
