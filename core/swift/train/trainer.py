"""The transformers ``Trainer`` with swift's loss, token accounting and atomic checkpoints.

Why a subclass:

* **Loss only where it counts.** The stock path computes logits over the whole vocabulary for every
  position, including prompt and padding positions whose labels are ignored, then throws them away.
  We pass the boolean mask of target positions as ``logits_to_keep`` (transformers >= 5 slices the
  hidden states before the LM head), so the LM head and the softmax run only on trained tokens. Models
  that do not accept ``logits_to_keep`` (e.g. a custom ``nn.Module``) fall back to full logits.
* **Token-level averaging across gradient accumulation**: the loss is a sum divided by
  ``num_items_in_batch``, the number of target tokens in the whole accumulated batch.
* **Atomic checkpoints**: a checkpoint is written to ``<output_dir>/.staging/`` and renamed to
  ``checkpoint-N`` only when complete, so ``--resume_from_checkpoint last`` never meets half a
  checkpoint.
* **Exact resume with length grouping**: ``--group_by_length`` draws its order from (seed, epoch).
"""
from __future__ import annotations

import inspect
import os
import shutil
from typing import Any

import torch
import torch.nn.functional as F
from transformers import Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices
from transformers.trainer_utils import rotate_checkpoints

from swift.template import IGNORE_INDEX


def accepts_logits_to_keep(model: Any) -> bool:
    """Whether the (possibly PEFT-wrapped) model's forward takes ``logits_to_keep``."""
    inner = model
    for attr in ("get_base_model",):
        if hasattr(inner, attr):
            inner = getattr(inner, attr)()
    try:
        return "logits_to_keep" in inspect.signature(inner.forward).parameters
    except (TypeError, ValueError):
        return False


class SwiftTrainer(Trainer):
    def __init__(self, *args: Any, swift_cfg: Any = None, on_checkpoint: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.swift_cfg = swift_cfg
        self.on_checkpoint = on_checkpoint  # callable(checkpoint_dir) that adds swift's files
        # We normalise the loss by num_items_in_batch ourselves, so the Trainer must not divide by the
        # accumulation steps again, and must count the items.
        self.model_accepts_loss_kwargs = True
        self._logits_to_keep = accepts_logits_to_keep(self.model)
        self._staging_root: str | None = None
        self.train_tokens = 0

    # -- loss -------------------------------------------------------------------------------------

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        inputs = dict(inputs)
        labels = inputs.pop("labels")
        if model.training:
            mask = inputs.get("attention_mask")
            self.train_tokens += int(mask.sum()) if mask is not None else int(inputs["input_ids"].numel())
        # The target of position t is the token at t + 1.
        targets = F.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)
        keep = targets != IGNORE_INDEX
        if self._logits_to_keep:
            outputs = model(**inputs, logits_to_keep=keep, use_cache=False)
            logits = outputs.logits.reshape(-1, outputs.logits.shape[-1])
        else:
            outputs = model(**inputs)
            logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
            logits = logits[keep]
        loss = F.cross_entropy(logits.float(), targets[keep], reduction="sum")
        if num_items_in_batch is not None:
            loss = loss / num_items_in_batch
            if self.args.average_tokens_across_devices:
                loss = loss * self.accelerator.num_processes
        else:
            loss = loss / keep.sum().clamp(min=1)
        return (loss, {}) if return_outputs else loss

    # -- atomic checkpoints -----------------------------------------------------------------------

    def _get_output_dir(self, trial: Any) -> str:
        return self._staging_root or super()._get_output_dir(trial)

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        out = self.args.output_dir
        name = f"checkpoint-{self.state.global_step}"
        staging_root = os.path.join(out, ".staging")
        if self.args.should_save:
            shutil.rmtree(staging_root, ignore_errors=True)
        self._staging_root = staging_root
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._staging_root = None
        if not self.args.should_save:
            return
        staged = os.path.join(staging_root, name)
        if self.on_checkpoint is not None:
            self.on_checkpoint(staged)
        final = os.path.join(out, name)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(staged, final)
        shutil.rmtree(staging_root, ignore_errors=True)
        rotate_checkpoints(output_dir=out, save_total_limit=self.args.save_total_limit,
                           best_model_checkpoint=self.state.best_model_checkpoint, use_mtime=False)

    # -- data order -------------------------------------------------------------------------------

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        if self.args.train_sampling_strategy != "group_by_length":
            return super()._get_train_sampler(train_dataset)
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        return SeededLengthGroupedSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps,
            lengths=list(dataset[self.args.length_column_name]), seed=self.args.seed,
        )


class SeededLengthGroupedSampler(LengthGroupedSampler):
    """transformers' length-grouped order, drawn from ``(seed, epoch)`` instead of the global RNG.

    The stock sampler draws its permutation from the global RNG when an epoch starts, whose state on
    resume differs from the original run's (the epochs before were skipped), so a resumed run would see
    the data in another order. Seeding by epoch makes the order a function of (seed, epoch) alone.
    """

    def __init__(self, batch_size: int, lengths: list[int], seed: int):
        super().__init__(batch_size, lengths=lengths)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Any:
        generator = torch.Generator()
        generator.manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


__all__ = ["SeededLengthGroupedSampler", "SwiftTrainer", "accepts_logits_to_keep", "peak_rss_mb"]
