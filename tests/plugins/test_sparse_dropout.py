"""The sparse LoRA dropout draws the same distribution as nn.Dropout."""
from __future__ import annotations

import torch

from swift_plugin_peft.dropout import SparseDropout, bernoulli_positions, use_sparse_dropout


def test_positions_are_sorted_unique_and_at_rate_p():
    torch.manual_seed(0)
    counts = []
    for _ in range(200):
        pos = bernoulli_positions(10_000, 0.05)
        assert (pos[1:] > pos[:-1]).all() and int(pos.min()) >= 0 and int(pos.max()) < 10_000
        counts.append(pos.numel())
    mean = sum(counts) / len(counts)
    assert abs(mean - 500) < 5  # binomial(10000, 0.05): sd of the mean over 200 draws is about 1.5


def test_every_position_is_equally_likely():
    torch.manual_seed(1)
    hits = torch.zeros(50)
    for _ in range(4000):
        hits[bernoulli_positions(50, 0.1)] += 1
    assert torch.allclose(hits / 4000, torch.full((50,), 0.1), atol=0.02)


def test_module_scales_survivors_and_passes_gradients():
    torch.manual_seed(2)
    x = torch.randn(8, 30, 64, requires_grad=True)
    drop = SparseDropout(0.1).train()
    y = drop(x)
    kept = y != 0
    assert abs(1 - kept.float().mean().item() - 0.1) < 0.01
    assert torch.allclose(y[kept], x[kept] / 0.9)
    y.sum().backward()
    assert torch.allclose(x.grad[kept], torch.full_like(x.grad[kept], 1 / 0.9))
    assert (x.grad[~kept] == 0).all()
    assert drop.eval()(x) is x


def test_swaps_peft_dropout_modules(tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)),
                           LoraConfig(r=4, lora_dropout=0.05, target_modules=["q_proj", "v_proj"]))
    assert use_sparse_dropout(model) == 4  # q and v in each of the 2 layers
    drops = [d for m in model.modules() if isinstance(getattr(m, "lora_dropout", None), torch.nn.ModuleDict)
             for d in m.lora_dropout.values()]
    assert len(drops) == 4 and all(type(d) is SparseDropout and d.p == 0.05 for d in drops)
