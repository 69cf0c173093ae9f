"""The README's quick start, end to end through the CLI: accuracy from ~0 to >= 0.8, and the saved adapter,
loaded by plain PEFT, lowers the held-out answer loss."""
from __future__ import annotations

import json

import torch

from tests.helpers import run_cli


def answer_loss(model, tokenizer, rows: list[dict]) -> float:
    """Mean cross-entropy of the reference reply (and its end-of-turn token) given the prompt."""
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for row in rows:
            prompt = tokenizer.apply_chat_template(row["messages"][:-1], add_generation_prompt=True, tokenize=False)
            prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            answer_ids = tokenizer(row["messages"][-1]["content"] + "<|im_end|>", add_special_tokens=False)["input_ids"]
            ids = torch.tensor([prompt_ids + answer_ids])
            logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1:-1]
            total += torch.nn.functional.cross_entropy(logits, torch.tensor(answer_ids), reduction="sum").item()
            count += len(answer_ids)
    return total / count


def test_quickstart(tmp_path):
    out = tmp_path / "quickstart"
    proc = run_cli("quickstart", "--output_dir", str(out), timeout=1200)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accuracy_before"] <= 0.05, summary
    assert summary["accuracy_after"] >= 0.8, summary
    # It shows the commands it ran and what to run next.
    assert "$ swift sft --model" in proc.stdout and "$ swift infer --adapters" in proc.stdout
    assert f"swift infer --adapters {out / 'lora'}" in proc.stdout
    assert "swift sft --model Qwen/Qwen2.5-0.5B-Instruct" in proc.stdout

    # The adapter is a standard PEFT adapter: plain peft loads it, and it clearly lowers the held-out loss.
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    rows = [json.loads(line) for line in (out / "data" / "test.jsonl").read_text().splitlines()][:100]
    tokenizer = AutoTokenizer.from_pretrained(str(out / "model"))
    base = AutoModelForCausalLM.from_pretrained(str(out / "model"))
    base_loss = answer_loss(base, tokenizer, rows)
    tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(out / "model")), str(out / "lora"))
    tuned_loss = answer_loss(tuned, tokenizer, rows)
    assert tuned_loss < 0.2 * base_loss, (base_loss, tuned_loss)
