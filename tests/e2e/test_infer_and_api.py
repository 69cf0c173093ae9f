"""Inference (the pt engine, `swift infer`) and the Python API on the tiny model."""
from __future__ import annotations

import asyncio
import json

import pytest
import torch
from omegaconf import OmegaConf

from swift.config import build_schema, compose, parse_argv
from swift.infer.protocol import InferEngine, InferRequest, RequestConfig
from tests.helpers import chat, run_cli, write_jsonl


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    from swift_plugin_pt import create

    schema = build_schema()
    parsed = parse_argv(["--model", str(tiny_model_dir)], schema)
    eng = create(compose(schema, parsed.files, parsed.overrides))
    yield eng
    eng.close()


def test_engine_follows_the_protocol(engine):
    assert isinstance(engine, InferEngine)
    assert {"batch", "stream"} <= engine.capabilities


def test_batch_greedy_matches_plain_generate(engine, tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    requests = [InferRequest([{"role": "user", "content": q}]) for q in ("the a of", "hello you that he was for on")]
    out = engine.infer(requests, RequestConfig(max_tokens=6, temperature=0))
    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    for req, resp in zip(requests, out):
        ids = tok.apply_chat_template(req.messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        gen = model.generate(**ids, max_new_tokens=6, do_sample=False, eos_token_id=[tok.convert_tokens_to_ids("<|im_end|>")])
        expected = tok.decode(gen[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        assert resp.choices[0].message.content == expected
        usage = resp.usage
        assert usage.prompt_tokens == ids["input_ids"].shape[1]
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
        assert resp.choices[0].finish_reason in ("stop", "length") and resp.object == "chat.completion"


def test_stream_chunks_add_up_to_the_batch_answer(engine):
    req = InferRequest([{"role": "user", "content": "the a of"}])
    full = engine.infer([req], RequestConfig(max_tokens=8, temperature=0))[0]
    chunks = list(engine.infer([req], RequestConfig(max_tokens=8, temperature=0, stream=True))[0])
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks].count(None) == len(chunks) - 1
    assert chunks[-1].choices[0].finish_reason == full.choices[0].finish_reason
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == full.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == full.usage.completion_tokens
    assert len({c.id for c in chunks}) == 1


def test_async_and_sampling_seed(engine):
    req = InferRequest([{"role": "user", "content": "the a of"}])
    cfg = RequestConfig(max_tokens=8, temperature=1.0, top_p=0.9, seed=123)

    async def both():
        one = await engine.infer_async(req, cfg)
        stream = await engine.infer_async(req, RequestConfig(max_tokens=8, temperature=1.0, top_p=0.9, seed=123,
                                                             stream=True))
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
        return one, text

    one, streamed = asyncio.run(both())
    again = engine.infer([req], cfg)[0]
    assert one.choices[0].message.content == again.choices[0].message.content == streamed


def test_cli_chat_streams_from_stdin(tiny_model_dir, engine):
    """Each stdin line is a user turn; replies stream to stdout; 'clear' starts a new conversation."""
    proc = run_cli("infer", "--model", str(tiny_model_dir), "--max_new_tokens", "5",
                   input="the a of\nyou that\nclear\nhello\n")
    greedy = RequestConfig(max_tokens=5, temperature=0)
    first = engine.infer([InferRequest([{"role": "user", "content": "the a of"}])], greedy)[0].choices[0].message.content
    second = engine.infer([InferRequest([{"role": "user", "content": "the a of"}, {"role": "assistant", "content": first},
                                         {"role": "user", "content": "you that"}])], greedy)[0].choices[0].message.content
    fresh = engine.infer([InferRequest([{"role": "user", "content": "hello"}])], greedy)[0].choices[0].message.content
    assert proc.stdout == f"{first}\n{second}\n{fresh}\n"


def test_cli_batch_writes_answers_atomically(tiny_model_dir, tmp_path):
    data = write_jsonl(tmp_path / "val.jsonl", [chat("the a of", "x"), {"query": "hello", "response": "y"},
                                                {"query": "no label"}])
    result = tmp_path / "out" / "answers.jsonl"
    proc = run_cli("infer", "--model", str(tiny_model_dir), "--val_dataset", str(data), "--result_path", str(result),
                   "--max_new_tokens", "3", "--max_batch_size", "2")
    rows = [json.loads(line) for line in result.read_text().splitlines()]
    assert [r.get("labels") for r in rows] == ["x", "y", None]
    assert all(isinstance(r["response"], str) for r in rows)
    assert rows[0]["messages"] == [{"role": "user", "content": "the a of"}]
    assert "exact match with labels" in proc.stderr
    assert [p.name for p in result.parent.iterdir()] == ["answers.jsonl"]


def test_infer_needs_a_model(tmp_path):
    proc = run_cli("infer", check=False)
    assert proc.returncode == 2 and "no model given" in proc.stderr


# -------------------------------------------------------------------------------------------------
# Python API
# -------------------------------------------------------------------------------------------------


def test_swift_model_snippet_from_the_issue(tiny_model_dir, tmp_path):
    """The README snippet, verbatim: only LoRA weights train, it trains, save_pretrained writes an adapter."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    path = str(tiny_model_dir)
    from swift import SwiftModel
    from transformers import AutoModelForCausalLM  # noqa: F811 (as in the snippet)
    model = AutoModelForCausalLM.from_pretrained(path)
    lora_config = {"r": 8, "target_modules": ["q_proj", "v_proj"], "lora_alpha": 16, "lora_dropout": 0.1}
    model = SwiftModel(model, config=lora_config)

    assert isinstance(model, PeftModel)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert any("q_proj" in n for n in trainable) and not any("k_proj" in n for n in trainable)
    ids = torch.randint(0, 300, (4, 16))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-2)
    model.train()
    losses = []
    for _ in range(30):
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.3, losses
    model.save_pretrained(tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 8 and sorted(config["target_modules"]) == ["q_proj", "v_proj"]
    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(path), tmp_path / "adapter")
    reloaded.eval(), model.eval()
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=ids).logits, model(input_ids=ids).logits, atol=1e-5)


def test_swift_model_rejects_unknown_options(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from swift import SwiftModel
    from swift.errors import SwiftError

    with pytest.raises(SwiftError, match=r"(?s)unknown LoRA option.*rank.*did you mean r\?"):
        SwiftModel(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)), config={"rank": 8})


def test_adapter_only_config_needs_base(tmp_path):
    """A plain PEFT adapter directory (no config.yaml) takes its base model from adapter_config.json."""
    from swift.infer.cli import saved_base

    (tmp_path / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/models/base"}))
    base, source = saved_base(OmegaConf.create({"infer": {"adapters": [str(tmp_path)]}, "model": {"id": None}}))
    assert base == {"model": {"id": "/models/base"}} and source.endswith("adapter_config.json")


def test_model_flag_on_an_adapter_directory_says_what_to_do(tmp_path):
    (tmp_path / "adapter_config.json").write_text("{}")
    proc = run_cli("infer", "--model", str(tmp_path), check=False)
    assert proc.returncode == 2 and "holds an adapter, not a model" in proc.stderr and "--adapters" in proc.stderr
