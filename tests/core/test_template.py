"""Templates: rendering, assistant-only label masks, multi-turn, truncation, registered templates."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from swift.data.encode import encode_rows
from swift.data.loader import Row
from swift.errors import SwiftError
from swift.plugins import get_registries
from swift.template import IGNORE_INDEX, Template, build_template
from swift_plugin_text import CHATML, LLAMA3


def trained_text(tok, enc) -> str:
    return tok.decode([t for t in enc.labels if t != IGNORE_INDEX])


def conv(*turns: str) -> list[dict]:
    roles = ["user", "assistant"]
    return [{"role": roles[i % 2], "content": t} for i, t in enumerate(turns)]


def test_single_turn_trains_only_the_reply(tokenizer):
    t = Template(tokenizer, CHATML)
    enc = t.encode_chat(conv("what is two plus two", "four"))
    assert tokenizer.decode(enc.input_ids) == \
        "<|im_start|>user\nwhat is two plus two<|im_end|>\n<|im_start|>assistant\nfour<|im_end|>\n"
    assert trained_text(tokenizer, enc) == "four<|im_end|>\n"
    assert len(enc.labels) == len(enc.input_ids)


def test_multi_turn_trains_every_reply_and_no_prompt(tokenizer):
    t = Template(tokenizer, CHATML)
    enc = t.encode_chat([{"role": "system", "content": "be kind"}, *conv("hi", "hello", "how are you", "good")])
    assert trained_text(tokenizer, enc) == "hello<|im_end|>\ngood<|im_end|>\n"
    last = Template(tokenizer, CHATML, loss_on="last").encode_chat(conv("hi", "hello", "how are you", "good"))
    assert trained_text(tokenizer, last) == "good<|im_end|>\n"
    every = Template(tokenizer, CHATML, loss_on="all").encode_chat(conv("hi", "hello"))
    assert every.labels == every.input_ids


def test_inference_prompt_matches_training_prefix(tokenizer):
    t = Template(tokenizer, CHATML)
    enc = t.encode_chat(conv("what is two plus two", "four"))
    prompt = t.encode_prompt(conv("what is two plus two"))
    assert enc.input_ids[: len(prompt)] == prompt
    assert all(label == IGNORE_INDEX for label in enc.labels[: len(prompt)])


def test_default_system_prompt_is_added(tokenizer):
    t = Template(tokenizer, CHATML, default_system="You are terse.")
    text = tokenizer.decode(t.encode_prompt(conv("hi")))
    assert text.startswith("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nhi")
    own = tokenizer.decode(t.encode_prompt([{"role": "system", "content": "mine"}, *conv("hi")]))
    assert "You are terse." not in own and "mine" in own


def test_truncation_strategies(tokenizer):
    msgs = conv("the a of to and in is it you that he was for on are with as his they be at", "one two three")
    full = Template(tokenizer, CHATML).encode_chat(msgs)
    n = len(full.input_ids) - 5
    assert Template(tokenizer, CHATML, max_length=n, truncation_strategy="delete").encode_chat(msgs).input_ids == []
    left = Template(tokenizer, CHATML, max_length=n, truncation_strategy="left").encode_chat(msgs)
    assert left.input_ids == full.input_ids[-n:] and left.labels == full.labels[-n:] and left.truncated
    right = Template(tokenizer, CHATML, max_length=n, truncation_strategy="right").encode_chat(msgs)
    assert right.input_ids == full.input_ids[:n]


def test_encode_rows_counts_truncation_and_caches(tokenizer, tmp_path):
    rows = [Row(m, f"f.jsonl:{i}") for i, m in enumerate([
        {"messages": conv("hi", "hello")},
        {"messages": conv("the a of to and in is it you that he was for on are with as his they be", "long one")},
    ])]
    t = Template(tokenizer, CHATML, max_length=20, truncation_strategy="delete")
    ds, stats = encode_rows(rows, t, "sft", cache_dir=str(tmp_path))
    assert (stats.rows, stats.kept, stats.deleted_too_long) == (2, 1, 1)
    ds2, stats2 = encode_rows(rows, t, "sft", cache_dir=str(tmp_path))
    assert stats2.from_cache and not stats.from_cache and ds2["input_ids"] == ds["input_ids"]
    t_left = Template(tokenizer, CHATML, max_length=20, truncation_strategy="left")
    _, stats3 = encode_rows(rows, t_left, "sft", cache_dir=str(tmp_path))
    assert (stats3.kept, stats3.truncated) == (2, 1)  # a different fingerprint, encoded afresh


def test_sft_row_without_reply_names_the_row(tokenizer, tmp_path):
    from swift.errors import DataError

    rows = [Row({"messages": conv("just a question")}, "train.jsonl:7")]
    with pytest.raises(DataError, match="train.jsonl:7: the conversation has no assistant message"):
        encode_rows(rows, Template(tokenizer, CHATML), "sft", use_cache=False)


def test_pretraining_text_targets_every_token(tokenizer):
    enc = Template(tokenizer, CHATML).encode({"text": "the a of"}, "pt")
    assert enc.labels == enc.input_ids and enc.input_ids[-1] == tokenizer.eos_token_id


def test_registered_templates_render(tokenizer):
    regs = get_registries()
    qwen = regs.templates.get("qwen")
    t = Template(tokenizer, qwen.chat_template, default_system=qwen.default_system)
    assert tokenizer.decode(t.encode_prompt(conv("hi"))).startswith(
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>")
    llama = Template(tokenizer, LLAMA3)
    text = llama.render(conv("hi", "yo"))
    assert text == ("<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
                    "<|start_header_id|>assistant<|end_header_id|>\n\nyo<|eot_id|>")
    enc = llama.encode_chat(conv("hi", "yo"))
    assert tokenizer.decode([x for x in enc.labels if x != IGNORE_INDEX]) == "yo<|eot_id|>"


def test_template_that_rewrites_history_is_reported(tokenizer):
    # Renders only the last two messages: earlier turns vanish, so turns are not incremental.
    bad = "{% for m in messages[-2:] %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    with pytest.raises(SwiftError, match="does not render turn 3 as a continuation"):
        Template(tokenizer, bad).encode_chat(conv("a", "b", "c", "d"))


def test_template_resolution(tokenizer):
    regs = get_registries()
    cfg = OmegaConf.create({"template": {"name": None, "system": None, "max_length": 64,
                                         "truncation_strategy": "delete", "loss_on": "assistant"}})
    assert build_template(cfg, tokenizer, None, regs).name is None  # the tokenizer's own
    cfg.template.name = "llama3"
    assert build_template(cfg, tokenizer, None, regs).chat_template == LLAMA3
    cfg.template.name = None
    saved = tokenizer.chat_template
    try:
        tokenizer.chat_template = None
        with pytest.raises(SwiftError, match="no chat template.*"):
            build_template(cfg, tokenizer, None, regs)
    finally:
        tokenizer.chat_template = saved
