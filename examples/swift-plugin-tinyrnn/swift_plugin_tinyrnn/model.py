"""TinyRNN: a plain ``torch.nn.Module`` language model (a GRU followed by residual MLP blocks).

What swift needs from a model, and all this module provides:

* ``forward(input_ids, attention_mask=None, **kwargs)`` returning a dict with ``logits`` of shape
  ``(batch, sequence, vocab)``; swift computes the loss itself;
* weights in ``model.safetensors`` next to a ``config.json`` whose ``model_type`` the family claims.

Generation works without ``transformers``' ``generate``: the pt backend falls back to a sampling loop.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn as nn


@dataclass
class TinyRNNConfig:
    vocab_size: int
    hidden_size: int = 128
    num_layers: int = 2
    model_type: str = "tinyrnn"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TinyRNNConfig:
        return cls(**{k: data[k] for k in ("vocab_size", "hidden_size", "num_layers") if k in data})


class Block(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.in_proj = nn.Linear(hidden, 4 * hidden)
        self.out_proj = nn.Linear(4 * hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.out_proj(torch.nn.functional.gelu(self.in_proj(self.norm(x))))


class TinyRNNForCausalLM(nn.Module):
    def __init__(self, config: TinyRNNConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.rnn = nn.GRU(config.hidden_size, config.hidden_size, batch_first=True)
        self.blocks = nn.ModuleList(Block(config.hidden_size) for _ in range(config.num_layers))
        # No final norm: with a frozen LayerNorm in front of a frozen head, an adapter could not raise
        # the logits' scale, and the model could never become confident.
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                **kwargs: Any) -> dict[str, torch.Tensor]:
        # Right padding only follows the real tokens, so a causal GRU never reads it for them.
        x, _ = self.rnn(self.embed(input_ids))
        for block in self.blocks:
            x = block(x)
        return {"logits": self.lm_head(x)}


def save_random_model(out_dir: str, tokenizer: Any, hidden_size: int = 128, num_layers: int = 2,
                      seed: int = 0) -> str:
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    config = TinyRNNConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, num_layers=num_layers)
    model = TinyRNNForCausalLM(config)
    os.makedirs(out_dir, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(out_dir, "model.safetensors"))
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as fh:
        json.dump(asdict(config), fh, indent=2)
    tokenizer.save_pretrained(out_dir)
    return out_dir
