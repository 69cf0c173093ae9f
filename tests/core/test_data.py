"""Dataset files and formats: detection, conversion, sampling, splits and bad rows."""
from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from swift.data.loader import load_datasets, load_spec, split_rows
from swift.errors import DataError
from swift.plugins import get_registries
from tests.helpers import write_jsonl

CFG = OmegaConf.create({})


def load(spec) -> list:
    return [r.data for r in load_spec(str(spec), get_registries(), CFG, seed=0)]


EXPECTED = {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi\nthere"},
                         {"role": "assistant", "content": "hello"}]}


@pytest.mark.parametrize("row", [
    EXPECTED,
    {"system": "be brief", "conversations": [{"from": "human", "value": "hi\nthere"}, {"from": "gpt", "value": "hello"}]},
    {"system": "be brief", "instruction": "hi", "input": "there", "output": "hello"},
    {"system": "be brief", "query": "hi\nthere", "response": "hello"},
], ids=["messages", "sharegpt", "alpaca", "query_response"])
def test_formats_convert_to_messages(tmp_path, row):
    assert load(write_jsonl(tmp_path / "d.jsonl", [row])) == [EXPECTED]


def test_history_and_text_rows(tmp_path):
    rows = load(write_jsonl(tmp_path / "d.jsonl", [
        {"query": "q2", "response": "r2", "history": [["q1", "r1"]]},
        {"text": "raw text"},
    ]))
    assert [m["content"] for m in rows[0]["messages"]] == ["q1", "r1", "q2", "r2"]
    assert rows[1] == {"text": "raw text"}


def test_multimodal_fields_pass_through(tmp_path):
    row = {"messages": [{"role": "user", "content": "<image>what?"}, {"role": "assistant", "content": "a cat"}],
           "images": ["cat.png"]}
    assert load(write_jsonl(tmp_path / "d.jsonl", [row]))[0]["images"] == ["cat.png"]


def test_json_csv_parquet(tmp_path):
    rows = [{"query": f"q{i}", "response": f"r{i}"} for i in range(5)]
    (tmp_path / "d.json").write_text(json.dumps(rows, indent=2))
    assert len(load(tmp_path / "d.json")) == 5
    (tmp_path / "w.json").write_text(json.dumps({"data": rows}))
    assert len(load(tmp_path / "w.json")) == 5
    csv = "instruction,input,output\nadd,1 2,3\n\"multi\nline\",,ok\n"
    (tmp_path / "d.csv").write_text(csv)
    got = load(tmp_path / "d.csv")
    assert got[0]["messages"][0]["content"] == "add\n1 2" and got[1]["messages"][0]["content"] == "multi\nline"
    (tmp_path / "m.csv").write_text('messages\n"[{""role"": ""user"", ""content"": ""x""}]"\n')
    assert load(tmp_path / "m.csv")[0]["messages"][0]["content"] == "x"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    assert load(tmp_path / "d.parquet")[4]["messages"][1]["content"] == "r4"


def test_sampling_and_repeat(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [{"query": str(i), "response": "x"} for i in range(10)])
    sampled = load(f"{f}#4")
    assert len(sampled) == 4 and len({r["messages"][0]["content"] for r in sampled}) == 4
    assert sampled == load(f"{f}#4")  # seeded
    assert len(load(f"{f}#25")) == 25


def test_split_ratio_is_seeded_and_disjoint(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [{"query": str(i), "response": "x"} for i in range(100)])
    rows = load_datasets([str(f)], get_registries(), CFG, seed=0)
    train, val = split_rows(rows, 0.1, seed=1)
    assert len(val) == 10 and len(train) == 90
    assert {r.loc for r in train}.isdisjoint({r.loc for r in val})
    assert [r.loc for r in split_rows(rows, 0.1, seed=1)[1]] == [r.loc for r in val]


@pytest.mark.parametrize("content, expected", [
    ('{"messages": [{"role": "user", "content": "x"}]}\n{"messages": [{"role": "assistnt", "content": "y"}]}\n',
     r"d.jsonl:2: messages\[0\] has role 'assistnt'; allowed: system, user, assistant, tool \(format 'messages'\)"),
    ('{"query": "a", "response": "b"}\n\n{"query": 5, "response": "b"}\n',
     r"d.jsonl:3: 'query' must be a string, got int"),
    ('{"query": "a", "response": "b"}\n{"query": "a", "response": \n',
     r"d.jsonl:2: invalid JSON"),
    ('{"prompt": "a", "answer": "b"}\n',
     r"d.jsonl:1: unknown row format: keys are \['answer', 'prompt'\]"),
    ('[1, 2]\n', r"d.jsonl:1: each line must be a JSON object, got list"),
    ('{"conversations": [{"from": "human", "value": "a"}, {"from": "robot", "value": "b"}]}\n',
     r"d.jsonl:1: conversations\[1\] has from='robot'"),
    ('{"messages": []}\n', r"d.jsonl:1: 'messages' must be a non-empty list"),
    ('{"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}]}\n',
     r"d.jsonl:1: messages\[1\] is a system message; only the first message may be one"),
])
def test_bad_rows_name_file_line_and_problem(tmp_path, content, expected):
    f = tmp_path / "d.jsonl"
    f.write_text(content)
    with pytest.raises(DataError, match=expected):
        load(f)


def test_bad_json_array_item_has_line(tmp_path):
    f = tmp_path / "d.json"
    f.write_text('[\n  {"query": "a", "response": "b"},\n  {"query": ["x"], "response": "b"}\n]')
    with pytest.raises(DataError, match=r"d.json:3: 'query' must be a string"):
        load(f)


def test_missing_file_and_unknown_name(tmp_path):
    with pytest.raises(DataError, match="dataset file not found"):
        load(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="'alpaca-gpt4' is neither a local file nor a registered dataset"):
        load("alpaca-gpt4")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(DataError, match="unsupported file type '.txt'"):
        load(tmp_path / "x.txt")
