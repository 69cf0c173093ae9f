"""Encode canonical rows through a template, in parallel, with an on-disk cache.

Encoding runs through ``datasets.Dataset.map`` (``num_proc`` processes). The result is cached under a
key made of the rows themselves, the template fingerprint (chat template, tokenizer, max_length,
truncation, loss settings) and the training kind, so a second run with the same inputs loads it
instead of encoding again. The cache is written to a temporary directory and renamed into place.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from typing import Any

from swift.data.loader import Row
from swift.errors import DataError, SwiftError
from swift.template import EncodeStats, Template
from swift.version import __version__

def default_cache_dir() -> str:
    root = os.environ.get("SWIFT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "swift")
    return os.path.join(root, "datasets")


class _Encoder:
    """Picklable batch function for ``Dataset.map``."""

    def __init__(self, template: Template, kind: str):
        self.template = template
        self.kind = kind

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"input_ids": [], "labels": [], "length": [], "truncated": []}
        for row_json, loc in zip(batch["row"], batch["loc"]):
            try:
                enc = self.template.encode(json.loads(row_json), self.kind)
            except ValueError as exc:
                raise DataError(f"{loc}: {exc}") from None
            except SwiftError as exc:
                raise DataError(f"{loc}: {exc.message}", exc.hint) from None
            out["input_ids"].append(enc.input_ids)
            out["labels"].append(enc.labels)
            out["length"].append(len(enc.input_ids))
            out["truncated"].append(enc.truncated)
        return out


def cache_key(rows: list[Row], template: Template, kind: str) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([__version__, kind, template.fingerprint()]).encode())
    for row in rows:
        h.update(json.dumps(row.data, sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()[:32]


def encode_rows(rows: list[Row], template: Template, kind: str, num_proc: int = 1,
                cache_dir: str | None = None, use_cache: bool = True, desc: str = "encoding") -> tuple[Any, EncodeStats]:
    """Encode rows to a ``datasets.Dataset`` with ``input_ids``, ``labels`` and ``length`` columns.

    Rows dropped by truncation (``delete``) or left without any target token are removed and counted.
    """
    import datasets

    datasets.disable_caching()  # our own cache below; no stray cache files next to nothing
    key = cache_key(rows, template, kind)
    root = cache_dir or default_cache_dir()
    path = os.path.join(root, key)
    if use_cache and os.path.isdir(path):
        try:
            ds = datasets.load_from_disk(path)
            with open(os.path.join(path, "swift_stats.json"), encoding="utf-8") as fh:
                stats = EncodeStats(**json.load(fh))
            stats.from_cache = True
            return ds, stats
        except Exception:  # a damaged cache entry is rebuilt
            shutil.rmtree(path, ignore_errors=True)

    table = datasets.Dataset.from_dict({
        "row": [json.dumps(r.data, ensure_ascii=False) for r in rows],
        "loc": [r.loc for r in rows],
    })
    num_proc = max(1, min(num_proc, len(rows) // 64 or 1))
    encoded = table.map(_Encoder(template, kind), batched=True, batch_size=256, num_proc=num_proc if num_proc > 1 else None,
                        remove_columns=["row", "loc"], desc=desc)
    lengths = encoded["length"]
    truncated = encoded["truncated"]
    labels = encoded["labels"]
    keep, stats = [], EncodeStats(rows=len(rows))
    for i, (n, cut, lab) in enumerate(zip(lengths, truncated, labels)):
        targets = sum(1 for t in lab[1:] if t != -100)
        if n == 0:
            stats.deleted_too_long += 1
        elif targets == 0:
            stats.no_target += 1
        else:
            keep.append(i)
            stats.truncated += int(cut)
            stats.tokens += n
            stats.target_tokens += targets
            stats.max_len = max(stats.max_len, n)
    stats.kept = len(keep)
    ds = encoded.select(keep).remove_columns(["truncated"]) if len(keep) != len(encoded) else \
        encoded.remove_columns(["truncated"])
    if stats.kept == 0:
        raise DataError(
            f"no trainable rows left after encoding {stats.rows} rows "
            f"({stats.deleted_too_long} longer than max_length={template.max_length}, "
            f"{stats.no_target} without target tokens)",
            hint="raise --max_length or use --truncation_strategy left",
        )
    if use_cache:
        os.makedirs(root, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".tmp-", dir=root)
        datasets.disable_progress_bars()  # bookkeeping, not work the user waits for
        try:
            ds = ds.flatten_indices()
            ds.save_to_disk(tmp)
        finally:
            datasets.enable_progress_bars()
        with open(os.path.join(tmp, "swift_stats.json"), "w", encoding="utf-8") as fh:
            json.dump({k: v for k, v in stats.__dict__.items() if k != "from_cache"}, fh)
        try:
            os.replace(tmp, path)
        except OSError:  # another process cached the same key first
            shutil.rmtree(tmp, ignore_errors=True)
        ds = datasets.load_from_disk(path) if os.path.isdir(path) else ds
    return ds, stats


def describe_stats(stats: EncodeStats, template: Template, what: str) -> str:
    parts = [f"{what}: {stats.kept} of {stats.rows} rows, {stats.tokens} tokens "
             f"({stats.target_tokens} trained), longest {stats.max_len}"
             + (" (encoded earlier: from the cache)" if stats.from_cache else "")]
    if stats.deleted_too_long:
        parts.append(f"{stats.deleted_too_long} rows longer than max_length={template.max_length} were dropped "
                     "(truncation_strategy=delete)")
    if stats.truncated:
        parts.append(f"{stats.truncated} rows were cut to max_length={template.max_length} "
                     f"(truncation_strategy={template.truncation_strategy})")
    if stats.no_target:
        parts.append(f"{stats.no_target} rows had no trained tokens left and were dropped")
    return "; ".join(parts)
