"""Resolve ``--dataset`` / ``--val_dataset`` specs into canonical rows.

A spec is a local file (jsonl, json, csv, parquet) or a registered dataset name, optionally followed
by ``#N`` to sample N rows (seeded; N above the size repeats the data, as in ms-swift). The format of
each row is detected from its keys (the registered formats, highest priority first).
"""
from __future__ import annotations

import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from swift.data.readers import SUPPORTED_SUFFIXES, read_rows
from swift.errors import DataError, format_choices
from swift.registry import DatasetFormat, Registries


@dataclass
class Row:
    """A canonical row and where it came from (``file:line``)."""

    data: dict[str, Any]
    loc: str


_SAMPLE_RE = re.compile(r"^(.*)#(\d+)$")


def split_spec(spec: str) -> tuple[str, int | None]:
    """``"train.jsonl#100"`` -> ``("train.jsonl", 100)``; a ``#`` that is part of a file name stays."""
    m = _SAMPLE_RE.match(spec)
    if m and not os.path.exists(spec):
        return m.group(1), int(m.group(2))
    return spec, None


def detect_format(row: dict[str, Any], formats: Sequence[DatasetFormat]) -> DatasetFormat | None:
    for fmt in formats:
        if fmt.detect(row):
            return fmt
    return None


def convert_rows(raw: list[tuple[dict[str, Any], str]], formats: Sequence[DatasetFormat]) -> list[Row]:
    out = []
    for row, loc in raw:
        fmt = detect_format(row, formats)
        if fmt is None:
            expected = "; ".join(f"{f.name} {f.help}" for f in formats)
            raise DataError(f"{loc}: unknown row format: keys are {sorted(row)}",
                            hint=f"expected one of: {expected}")
        try:
            out.append(Row(fmt.convert(row), loc))
        except ValueError as exc:
            raise DataError(f"{loc}: {exc} (format '{fmt.name}')") from None
    return out


def load_spec(spec: str, registries: Registries, cfg: Any, seed: int) -> list[Row]:
    """Load one dataset spec into canonical rows."""
    source, n = split_spec(spec)
    formats = sorted(registries.dataset_formats, key=lambda f: -f.priority)
    if os.path.isfile(source):
        raw = list(read_rows(source))
    elif os.path.isdir(source):
        files = sorted(f for f in os.listdir(source) if f.endswith(SUPPORTED_SUFFIXES))
        if not files:
            raise DataError(f"{source}: directory holds no {'/'.join(SUPPORTED_SUFFIXES)} files")
        raw = [r for f in files for r in read_rows(os.path.join(source, f))]
    elif source in registries.datasets:
        named = registries.datasets.get(source)
        raw = [(row, f"{source} row {i}") for i, row in enumerate(named.load(cfg))]
    else:
        hint = (f"local files: {', '.join(SUPPORTED_SUFFIXES)}; `path#N` samples N rows; "
                f"registered datasets: {format_choices(registries.datasets.names())}")
        if source.endswith(SUPPORTED_SUFFIXES) or os.sep in source:
            raise DataError(f"dataset file not found: {source}", hint=hint)
        raise DataError(f"'{source}' is neither a local file nor a registered dataset", hint=hint)
    if not raw:
        raise DataError(f"{source}: no rows")
    rows = convert_rows(raw, formats)
    if n is not None:
        rows = sample_rows(rows, n, seed)
    return rows


def sample_rows(rows: list[Row], n: int, seed: int) -> list[Row]:
    rng = random.Random(seed)
    if n <= len(rows):
        return rng.sample(rows, n)
    repeats, rest = divmod(n, len(rows))
    return rows * repeats + rng.sample(rows, rest)


def load_datasets(specs: Sequence[str], registries: Registries, cfg: Any, seed: int) -> list[Row]:
    rows: list[Row] = []
    for spec in specs:
        rows.extend(load_spec(str(spec), registries, cfg, seed))
    return rows


def split_rows(rows: list[Row], ratio: float, seed: int) -> tuple[list[Row], list[Row]]:
    """Hold out ``ratio`` of the rows (at least one when ratio > 0), seeded."""
    if ratio <= 0:
        return rows, []
    if not 0 < ratio < 1:
        raise DataError(f"split_dataset_ratio must be in [0, 1), got {ratio}")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_val = max(1, int(round(len(rows) * ratio)))
    if n_val >= len(rows):
        raise DataError(f"split_dataset_ratio={ratio} leaves no training rows out of {len(rows)}")
    val = [rows[i] for i in sorted(order[:n_val])]
    train = [rows[i] for i in sorted(order[n_val:])]
    return train, val
