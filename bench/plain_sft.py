"""The plain alternative swift is measured against: a LoRA SFT script on transformers + peft alone.

It is what a careful user writes by hand: the tokenizer's chat template, loss only on the reply,
``DataCollatorForSeq2Seq`` padding, PEFT LoRA on every linear layer, the stock ``Trainer``. It trains on
the same JSONL ({"messages": [...]}) with the same hyper-parameters as the swift run it is compared to,
and writes its metrics as JSON.

    OMP_NUM_THREADS=1 python bench/plain_sft.py --model DIR --data train.jsonl --out OUT --metrics m.json
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lora_rank", type=int, default=8)
    p.add_argument("--lora_alpha", type=int, default=32)
    p.add_argument("--lora_dropout", type=float, default=0.05)
    p.add_argument("--max_length", type=int, default=2048)
    args = p.parse_args()
    start = time.perf_counter()

    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import (AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer,
                              TrainingArguments)

    torch.manual_seed(42)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=args.lora_rank, lora_alpha=args.lora_alpha,
                                             lora_dropout=args.lora_dropout, target_modules="all-linear",
                                             task_type="CAUSAL_LM"))

    rows = [json.loads(line) for line in open(args.data, encoding="utf-8") if line.strip()]

    def encode(row: dict) -> dict:
        messages = row["messages"]
        prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = tokenizer(full, add_special_tokens=False)["input_ids"][: args.max_length]
        labels = [-100] * len(prompt_ids) + ids[len(prompt_ids):]
        return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels[: len(ids)]}

    dataset = Dataset.from_list([encode(r) for r in rows])
    train_tokens = sum(len(x) for x in dataset["input_ids"])

    training_args = TrainingArguments(
        output_dir=args.out, num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
        learning_rate=args.lr, lr_scheduler_type="cosine", weight_decay=0.1, logging_steps=5,
        save_strategy="no", report_to="none", use_cpu=True, seed=42, disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=training_args, train_dataset=dataset,
                      data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True))
    result = trainer.train()
    model.save_pretrained(args.out)
    runtime = result.metrics["train_runtime"]
    metrics = {
        "train_runtime": runtime,
        "train_tokens": int(train_tokens * args.epochs),
        "train_tokens_per_second": train_tokens * args.epochs / runtime,
        "train_samples_per_second": result.metrics["train_samples_per_second"],
        "final_loss": [h["loss"] for h in trainer.state.log_history if "loss" in h][-1],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "script_seconds": time.perf_counter() - start,
    }
    with open(args.metrics, "w", encoding="utf-8") as fh:
        json.dump(metrics, fh, indent=2)
    print(json.dumps(metrics))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
