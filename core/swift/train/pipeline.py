"""The training pipeline behind ``swift sft`` and ``swift pt``.

config -> model family loads model + processor -> tuner prepares the model -> datasets load and encode
through the template (cached) -> strategy configures the trainer -> trainer runs with callbacks ->
adapter/model + resolved config + tokenizer saved atomically.
"""
from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, open_dict

from swift.data.collate import Collator
from swift.data.encode import describe_stats, encode_rows
from swift.data.loader import Row, load_datasets, split_rows, split_spec
from swift.errors import DataError, SwiftError
from swift.model import load_model, tokenizer_of
from swift.plugins import get_registries, hook
from swift.template import build_template
from swift.train.output import CONFIG_NAME, publish_directory, write_config

class TrainingInterrupted(SwiftError):
    """Training stopped on SIGINT/SIGTERM after saving a checkpoint."""

    def __init__(self, signum: int, checkpoint: str):
        self.signum = signum
        self.checkpoint = checkpoint
        super().__init__(f"training interrupted by {signal.Signals(signum).name}; checkpoint saved to {checkpoint}")

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


@dataclass
class TrainResult:
    output_dir: str
    metrics: dict[str, Any]
    log_history: list[dict[str, Any]]


def say(msg: str) -> None:
    print(f"[swift] {msg}", file=sys.stderr, flush=True)


# -------------------------------------------------------------------------------------------------
# Config finalisation
# -------------------------------------------------------------------------------------------------


def _abs_if_local(spec: str) -> str:
    source, n = split_spec(spec)
    if os.path.exists(os.path.expanduser(source)):
        source = os.path.abspath(os.path.expanduser(source))
    return source + (f"#{n}" if n is not None else "")


def finalize_config(cfg: DictConfig, kind: str, saves_adapter: bool, world_size: int = 1) -> None:
    """Resolve the defaults that depend on other settings, so config.yaml records what really ran."""
    with open_dict(cfg):
        t = cfg.train
        if t.learning_rate is None:
            t.learning_rate = 1e-4 if saves_adapter else 1e-5
        if t.gradient_accumulation_steps is None:
            t.gradient_accumulation_steps = max(1, math.ceil(16 / (t.per_device_train_batch_size * world_size)))
        if t.eval_steps is None:
            t.eval_steps = t.save_steps
        t.output_dir = os.path.abspath(os.path.expanduser(t.output_dir))
        if t.logging_dir is None:
            t.logging_dir = os.path.join(t.output_dir, "runs")
        if cfg.model.id and os.path.isdir(os.path.expanduser(cfg.model.id)):
            cfg.model.id = os.path.abspath(os.path.expanduser(cfg.model.id))
        cfg.data.dataset = [_abs_if_local(str(d)) for d in cfg.data.dataset]
        cfg.data.val_dataset = [_abs_if_local(str(d)) for d in cfg.data.val_dataset]
        if t.resume_from_checkpoint and t.resume_from_checkpoint != "last":
            t.resume_from_checkpoint = os.path.abspath(os.path.expanduser(t.resume_from_checkpoint))


def resolve_resume(cfg: DictConfig) -> str | None:
    value = cfg.train.resume_from_checkpoint
    if not value:
        return None
    if value == "last":
        from transformers.trainer_utils import get_last_checkpoint

        last = get_last_checkpoint(cfg.train.output_dir) if os.path.isdir(cfg.train.output_dir) else None
        if last is None:
            raise SwiftError(f"--resume_from_checkpoint last: no checkpoint in {cfg.train.output_dir}")
        return last
    if not os.path.isfile(os.path.join(value, "trainer_state.json")):
        raise SwiftError(f"--resume_from_checkpoint {value}: not a checkpoint directory (no trainer_state.json)",
                         hint="pass a checkpoint-N directory, or 'last'")
    return value


def check_output_dir(cfg: DictConfig) -> None:
    out = cfg.train.output_dir
    if cfg.train.resume_from_checkpoint or cfg.train.overwrite_output_dir:
        return
    if os.path.isfile(os.path.join(out, CONFIG_NAME)) or (
            os.path.isdir(out) and any(n.startswith("checkpoint-") for n in os.listdir(out))):
        raise SwiftError(
            f"{out} already holds a training run",
            hint="choose another --output_dir, continue it with --resume_from_checkpoint last, "
                 "or replace it with --overwrite_output_dir true",
        )


# -------------------------------------------------------------------------------------------------
# Data
# -------------------------------------------------------------------------------------------------


def load_rows(cfg: DictConfig) -> tuple[list[Row], list[Row]]:
    registries = get_registries()
    if not cfg.data.dataset:
        raise SwiftError("no training data", hint="pass --dataset FILE (jsonl, json, csv or parquet)")
    train = load_datasets(list(cfg.data.dataset), registries, cfg, cfg.data.seed)
    if cfg.data.val_dataset:
        val = load_datasets(list(cfg.data.val_dataset), registries, cfg, cfg.data.seed)
    else:
        train, val = split_rows(train, cfg.data.split_dataset_ratio, cfg.data.seed)
    return train, val


def encode_splits(cfg: DictConfig, template: Any, kind: str, train: list[Row], val: list[Row]) -> tuple[Any, Any]:
    common = dict(num_proc=cfg.data.num_proc, cache_dir=cfg.data.cache_dir, use_cache=cfg.data.cache)
    train_ds, stats = encode_rows(train, template, kind, desc="encoding train", **common)
    say(describe_stats(stats, template, "train"))
    eval_ds = None
    if val:
        try:
            eval_ds, vstats = encode_rows(val, template, kind, desc="encoding val", **common)
        except DataError as exc:
            raise DataError(f"validation data: {exc.message}", exc.hint) from None
        say(describe_stats(vstats, template, "val"))
    return train_ds, eval_ds


# -------------------------------------------------------------------------------------------------
# The run
# -------------------------------------------------------------------------------------------------


def resolve_packing(cfg: DictConfig, family: Any, model: Any) -> str | None:
    """Decide padding-free batches (``data.packing``) and switch the attention if needed.

    Returns the attention implementation to restore before saving, if it was switched.
    """
    import torch

    from swift.train.varlen_attention import auto_padding_free, use_varlen_attention

    requested = cfg.data.packing
    if requested and not family.supports_packing:
        raise SwiftError(f"--packing: model family '{family.name}' does not support packed sequences")
    if requested is None:
        on_cpu = not torch.cuda.is_available()
        attention = getattr(getattr(model, "config", None), "_attn_implementation", None)
        requested = family.supports_packing and auto_padding_free(model) and (
            on_cpu or attention.startswith("flash_attention"))
        with open_dict(cfg):
            cfg.data.packing = bool(requested)  # config.yaml records what ran
    return use_varlen_attention(model) if requested else None


def sampling_strategy(cfg: DictConfig) -> str:
    if not cfg.data.shuffle:
        return "sequential"
    # Packed batches carry no padding, so grouping by length would only make batches less random.
    return "group_by_length" if cfg.train.group_by_length and not cfg.data.packing else "random"


def training_arguments(cfg: DictConfig, has_eval: bool, strategy: Any) -> Any:
    import torch
    from transformers import TrainingArguments

    t = cfg.train
    report_to = [r for r in t.report_to if r not in ("tensorboard", "none")]
    kwargs: dict[str, Any] = dict(
        output_dir=t.output_dir,
        num_train_epochs=t.num_train_epochs,
        max_steps=t.max_steps,
        per_device_train_batch_size=t.per_device_train_batch_size,
        per_device_eval_batch_size=t.per_device_eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler_type,
        warmup_steps=t.warmup_steps if t.warmup_steps > 0 else t.warmup_ratio,
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        optim=t.optim,
        seed=t.seed,
        logging_steps=t.logging_steps,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        save_only_model=t.save_only_model,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=t.eval_steps if has_eval else None,
        prediction_loss_only=True,
        report_to=report_to or "none",
        dataloader_num_workers=t.dataloader_num_workers,
        remove_unused_columns=False,
        label_names=["labels"],
        train_sampling_strategy=sampling_strategy(cfg),
        disable_tqdm=t.disable_tqdm,
        use_cpu=not torch.cuda.is_available(),
        bf16=cfg.model.torch_dtype == "bfloat16" and torch.cuda.is_available(),
        fp16=cfg.model.torch_dtype == "float16" and torch.cuda.is_available(),
    )
    if t.gradient_checkpointing:
        kwargs["gradient_checkpointing"] = True
    if strategy.trainer_args is not None:
        kwargs.update(strategy.trainer_args(cfg))
    try:
        return TrainingArguments(**kwargs)
    except ValueError as exc:  # transformers validates combinations (e.g. an unknown scheduler)
        raise SwiftError(f"invalid training arguments: {exc}") from None


def run_training(cfg: DictConfig, kind: str, command: str | None = None) -> TrainResult:
    """Run a whole sft/pt training and return where its output went."""
    import transformers

    from swift.train.callbacks import SignalCheckpoint, tensorboard_callback
    from swift.train.trainer import SwiftTrainer, peak_rss_mb

    transformers.logging.set_verbosity_warning()
    registries = get_registries()
    tuner = registries.tuners.get(cfg.tuner.type)
    strategy = registries.strategies.get(cfg.train.strategy)
    finalize_config(cfg, kind, tuner.saves_adapter)
    check_output_dir(cfg)
    resume = resolve_resume(cfg)

    # Read the data before loading the model: a malformed row should fail in a second, not a minute.
    train_rows, val_rows = load_rows(cfg)

    transformers.set_seed(cfg.train.seed)
    loaded, family = load_model(cfg, tuner=tuner, registries=registries)
    tokenizer = tokenizer_of(loaded.processor)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    template = build_template(cfg, tokenizer, family, registries, required=kind == "sft")
    original_attention = resolve_packing(cfg, family, loaded.model)
    say(f"model: {loaded.model_dir} (family '{family.name}' from plugin '{family.plugin}'), "
        f"template: {template.name or 'the tokenizer chat template'}")

    model = tuner.prepare(loaded.model, cfg, family)
    hook().swift_post_tuner_prepare(cfg=cfg, model=model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    say(f"tuner '{tuner.name}': {trainable:,} of {total:,} parameters trainable ({100 * trainable / total:.2f}%)")

    train_ds, eval_ds = encode_splits(cfg, template, kind, train_rows, val_rows)
    args = training_arguments(cfg, eval_ds is not None, strategy)

    signals = SignalCheckpoint()
    callbacks: list[Any] = [signals]
    if "tensorboard" in cfg.train.report_to:
        callbacks.append(tensorboard_callback(cfg.train.logging_dir))
    for extra in hook().swift_add_callbacks(cfg=cfg):
        callbacks.extend(extra or [])

    # The Trainer saves the tokenizer with each checkpoint and aligns it with a transformers model's config;
    # a plain nn.Module has no such config, so for it swift saves the tokenizer itself.
    hf_model = isinstance(loaded.model, transformers.PreTrainedModel)

    def add_run_files(directory: str) -> None:
        if not hf_model:
            tokenizer.save_pretrained(directory)
        write_config(cfg, directory, command)

    trainer = SwiftTrainer(
        model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
        data_collator=Collator(tokenizer.pad_token_id, packing=cfg.data.packing),
        processing_class=tokenizer if hf_model else None, callbacks=callbacks, swift_cfg=cfg,
        on_checkpoint=add_run_files,
    )
    if resume:
        say(f"resuming from {resume}")
    start = time.perf_counter()
    signals.install()
    try:
        result = trainer.train(resume_from_checkpoint=resume)
    finally:
        signals.uninstall()
    wall = time.perf_counter() - start
    if signals.received is not None:
        checkpoint = os.path.join(cfg.train.output_dir, f"checkpoint-{trainer.state.global_step}")
        raise TrainingInterrupted(signals.received, checkpoint)

    out = cfg.train.output_dir
    metrics = dict(result.metrics)
    metrics["train_tokens"] = trainer.train_tokens
    metrics["train_tokens_per_second"] = trainer.train_tokens / max(wall, 1e-9)
    metrics["peak_rss_mb"] = peak_rss_mb()

    if original_attention is not None:  # saved configs name the implementation the model came with
        loaded.model.set_attn_implementation(original_attention)

    def write_final(staging: str) -> None:
        trainer.save_model(staging)
        base_config = os.path.join(loaded.model_dir, "config.json")
        if not tuner.saves_adapter and not os.path.exists(os.path.join(staging, "config.json")) \
                and os.path.isfile(base_config):
            # A plain nn.Module has no save_pretrained; keep its directory loadable by its family.
            shutil.copy2(base_config, os.path.join(staging, "config.json"))
        trainer.state.save_to_json(os.path.join(staging, "trainer_state.json"))
        with open(os.path.join(staging, "metrics.json"), "w", encoding="utf-8") as fh:
            json.dump(metrics, fh, indent=2)
        add_run_files(staging)

    publish_directory(out, write_final)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    loss_text = f"loss {losses[0]:.4f} -> {losses[-1]:.4f}, " if losses else ""
    say(f"trained {trainer.state.global_step} steps in {wall:.1f}s: {loss_text}"
        f"{metrics['train_tokens_per_second']:.0f} tokens/s, peak RSS {metrics['peak_rss_mb']:.0f} MB")
    what, flag = ("adapter", "--adapters") if tuner.saves_adapter else ("model", "--model")
    say(f"saved the {what}, tokenizer and config.yaml to {out}")
    say(f"chat with it: swift infer {flag} {shlex.quote(out)}")
    hook().swift_post_train(cfg=cfg, output_dir=out, trainer=trainer)
    return TrainResult(out, metrics, list(trainer.state.log_history))
