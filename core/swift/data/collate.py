"""Batch collation: right padding, or padding-free packing.

Packing lays the rows of a batch end to end in a single sequence with ``position_ids`` restarting at
each row and no attention mask. Transformers models detect the restarts and keep attention inside each
row (``masking_utils.find_packed_sequence_indices``), so no compute is spent on padding.
"""
from __future__ import annotations

from typing import Any

from swift.template import IGNORE_INDEX


class Collator:
    def __init__(self, pad_token_id: int, packing: bool = False):
        self.pad_token_id = pad_token_id
        self.packing = packing

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        if self.packing:
            input_ids: list[int] = []
            labels: list[int] = []
            position_ids: list[int] = []
            for f in features:
                ids = list(f["input_ids"])
                lab = list(f["labels"])
                lab[0] = IGNORE_INDEX  # never predict a row's first token from the previous row
                input_ids += ids
                labels += lab
                position_ids += range(len(ids))
            return {
                "input_ids": torch.tensor([input_ids], dtype=torch.long),
                "labels": torch.tensor([labels], dtype=torch.long),
                "position_ids": torch.tensor([position_ids], dtype=torch.long),
            }
        longest = max(len(f["input_ids"]) for f in features)
        batch_ids = torch.full((len(features), longest), self.pad_token_id, dtype=torch.long)
        batch_labels = torch.full((len(features), longest), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(features), longest), dtype=torch.long)
        for i, f in enumerate(features):
            n = len(f["input_ids"])
            batch_ids[i, :n] = torch.tensor(f["input_ids"], dtype=torch.long)
            batch_labels[i, :n] = torch.tensor(f["labels"], dtype=torch.long)
            mask[i, :n] = 1
        return {"input_ids": batch_ids, "labels": batch_labels, "attention_mask": mask}
