"""Tiny random models with locally trained tokenizers: for tests, benchmarks and the quick start.

Nothing here downloads anything. ``build_tokenizer`` trains a byte-level BPE tokenizer (digits split one
per token, as Qwen's tokenizer does) on a given corpus and attaches a ChatML chat template;
``build_tiny_qwen2`` saves a randomly initialised Qwen2-style model next to it, in safetensors.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from swift_plugin_text import CHATML

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def build_tokenizer(corpus: Iterable[str], vocab_size: int = 2048) -> Any:
    """A byte-level BPE tokenizer trained on ``corpus``, as a transformers fast tokenizer with ChatML."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(list(corpus), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token=None,
        additional_special_tokens=["<|im_start|>"], model_max_length=4096,
    )
    fast.chat_template = CHATML
    return fast


def tiny_qwen2_config(vocab_size: int, hidden_size: int = 256, num_layers: int = 4, intermediate_size: int = 768,
                      num_heads: int = 4, num_kv_heads: int = 2, max_position_embeddings: int = 2048,
                      eos_token_id: int | None = None, pad_token_id: int | None = None,
                      initializer_range: float = 0.02) -> Any:
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size,
        num_hidden_layers=num_layers, num_attention_heads=num_heads, num_key_value_heads=num_kv_heads,
        max_position_embeddings=max_position_embeddings, tie_word_embeddings=True,
        eos_token_id=eos_token_id, pad_token_id=pad_token_id, bos_token_id=None,
        rope_theta=10000.0, use_sliding_window=False, initializer_range=initializer_range,
    )


def build_tiny_qwen2(out_dir: str, tokenizer: Any, seed: int = 0, **config_kwargs: Any) -> str:
    """Save a randomly initialised Qwen2-style causal LM plus ``tokenizer`` to ``out_dir``."""
    import torch
    from transformers import GenerationConfig, Qwen2ForCausalLM

    config = tiny_qwen2_config(
        vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        **config_kwargs,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).to(torch.float32)
    model.generation_config = GenerationConfig(
        eos_token_id=[tokenizer.eos_token_id], pad_token_id=tokenizer.pad_token_id, do_sample=False,
    )
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def parameter_count(model_dir: str) -> int:
    from safetensors import safe_open

    total = 0
    for name in os.listdir(model_dir):
        if name.endswith(".safetensors"):
            with safe_open(os.path.join(model_dir, name), "pt") as fh:
                for key in fh.keys():
                    total += _numel(fh.get_slice(key).get_shape())
    return total


def _numel(shape: list[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
