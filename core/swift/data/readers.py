"""Read local dataset files row by row, remembering where each row came from.

Every row is returned with a location string (``train.jsonl:17``, ``data.parquet row 3``) so that a
malformed row can be reported by file and line. Parsing is done here rather than by ``datasets`` because
its errors name neither.
"""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from typing import Any

from swift.errors import DataError

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")

Row = dict[str, Any]


def read_rows(path: str) -> Iterator[tuple[Row, str]]:
    """Yield ``(row, location)`` for every row of a jsonl/json/csv/parquet file."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".jsonl":
        yield from _read_jsonl(path)
    elif suffix == ".json":
        yield from _read_json(path)
    elif suffix == ".csv":
        yield from _read_csv(path)
    elif suffix == ".parquet":
        yield from _read_parquet(path)
    else:
        raise DataError(f"{path}: unsupported file type '{suffix or '(none)'}'",
                        hint=f"use one of: {', '.join(SUPPORTED_SUFFIXES)}")


def _read_jsonl(path: str) -> Iterator[tuple[Row, str]]:
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            loc = f"{path}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{loc}: invalid JSON: {exc.msg} (column {exc.colno})") from None
            if not isinstance(row, dict):
                raise DataError(f"{loc}: each line must be a JSON object, got {type(row).__name__}")
            yield row, loc


def _read_json(path: str) -> Iterator[tuple[Row, str]]:
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if pos < len(text) and text[pos] == "{":
        # A single object holding the rows under one list-valued key is common ({"data": [...]}).
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        lists = [k for k, v in obj.items() if isinstance(v, list)]
        if len(lists) == 1 and all(isinstance(r, dict) for r in obj[lists[0]]):
            for i, row in enumerate(obj[lists[0]]):
                yield row, f"{path} item {i}"
            return
        raise DataError(f"{path}: expected a JSON array of rows (or an object with one list of rows)")
    if pos >= len(text) or text[pos] != "[":
        raise DataError(f"{path}: expected a JSON array of rows")
    pos += 1
    index = 0
    while True:
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            row, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        loc = f"{path}:{line}"
        if not isinstance(row, dict):
            raise DataError(f"{loc}: item {index} must be a JSON object, got {type(row).__name__}")
        yield row, loc
        index += 1
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "]":
            return
        else:
            raise DataError(f"{path}:{text.count(chr(10), 0, pos) + 1}: expected ',' or ']' after item {index - 1}")


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _read_csv(path: str) -> Iterator[tuple[Row, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise DataError(f"{path}: empty CSV file (no header row)")
        for row in reader:
            loc = f"{path}:{reader.line_num}"
            if None in row:
                raise DataError(f"{loc}: more values than the {len(reader.fieldnames)} header columns")
            # Nested fields (messages, conversations, history) are stored as JSON text in CSV cells.
            parsed: Row = {}
            for key, value in row.items():
                if isinstance(value, str) and value[:1] in "[{" and key in _JSON_COLUMNS:
                    try:
                        value = json.loads(value)
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{loc}: column '{key}' is not valid JSON: {exc.msg}") from None
                parsed[key] = value
            yield parsed, loc


_JSON_COLUMNS = {"messages", "conversations", "history", "tools", "images", "audios", "videos"}


def _read_parquet(path: str) -> Iterator[tuple[Row, str]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow comes with datasets
        raise DataError(f"{path}: reading parquet needs pyarrow", hint="pip install pyarrow") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataError(f"{path}: cannot read parquet: {exc}") from None
    for i, row in enumerate(table.to_pylist()):
        yield row, f"{path} row {i}"
