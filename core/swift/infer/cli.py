"""``swift infer``: chat in the terminal, or answer every row of a dataset into a JSONL file.

A training output directory (``--adapters DIR`` or, for full fine-tunes, ``--model DIR``) carries the
run's ``config.yaml``; its model, template and tuner settings become the defaults here, so nothing has to
be repeated. Anything given on the command line still wins.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from swift.errors import DataError, SwiftError
from swift.infer.protocol import InferRequest, RequestConfig
from swift.train.output import read_saved_config, write_text_atomic

SUMMARY = ("Chat with a model (interactive; lines on stdin when it is not a terminal), or answer every row of "
           "--val_dataset into --result_path.")

#: sections of a saved training config that inference inherits
INHERITED = ("model", "template", "tuner")


def saved_base(cfg: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The saved training config that this inference run should start from, and where it came from."""
    if cfg.infer.adapters:
        first = os.path.expanduser(str(cfg.infer.adapters[0]))
        if not os.path.isdir(first):
            raise SwiftError(f"--adapters {first}: not a directory")
        saved = read_saved_config(first)
        if saved is None:
            return _plain_peft_base(first), os.path.join(first, "adapter_config.json")
        return {k: saved[k] for k in INHERITED if k in saved}, os.path.join(first, "config.yaml")
    model_id = cfg.model.id
    if model_id and os.path.isfile(os.path.join(os.path.expanduser(model_id), "adapter_config.json")) and \
            not os.path.isfile(os.path.join(os.path.expanduser(model_id), "config.json")):
        raise SwiftError(f"--model {model_id} holds an adapter, not a model",
                         hint=f"pass --adapters {model_id} (the base model comes from its config)")
    if model_id and os.path.isdir(os.path.expanduser(model_id)):
        saved = read_saved_config(os.path.expanduser(model_id))
        if saved is not None:
            base = {k: saved[k] for k in ("model", "template") if k in saved}
            base.get("model", {}).pop("id", None)  # the directory itself holds the fine-tuned weights
            return base, os.path.join(model_id, "config.yaml")
    return None, None


def _plain_peft_base(adapter_dir: str) -> dict[str, Any] | None:
    """An adapter saved by PEFT directly (no config.yaml): take its base model from adapter_config.json."""
    path = os.path.join(adapter_dir, "adapter_config.json")
    if not os.path.isfile(path):
        raise SwiftError(f"--adapters {adapter_dir}: neither a swift output (config.yaml) nor a PEFT adapter "
                         "(adapter_config.json)")
    with open(path, encoding="utf-8") as fh:
        base = json.load(fh).get("base_model_name_or_path")
    return {"model": {"id": base}} if base else None


def resolve_infer_config(argv: list[str], extra_flags: dict[str, bool] | None = None) -> Any:
    """Compose the config for an inference command, layered over a saved training config."""
    from swift.builtins.commands import INFER_SECTIONS, parse_config
    from swift.config import build_schema, compose, parse_argv

    schema = build_schema()
    parsed = parse_argv(argv, schema, extra_flags or {})
    first = None if parsed.help else compose(schema, parsed.files, parsed.overrides)
    base, source = saved_base(first) if first is not None else (None, None)
    cfg = parse_config(argv, "infer", SUMMARY, INFER_SECTIONS, extra_flags or {}, base=base)
    if cfg is not None and not cfg.model.id:
        raise SwiftError("no model given", hint="pass --model DIR_OR_HUB_ID, or --adapters OUTPUT_DIR of a swift run")
    if cfg is not None and source:
        print(f"[swift] defaults from {source}", file=sys.stderr)
    return cfg


def request_config(cfg: Any, stream: bool = False) -> RequestConfig:
    i = cfg.infer
    return RequestConfig(max_tokens=i.max_new_tokens, temperature=i.temperature, top_p=i.top_p, top_k=i.top_k,
                         repetition_penalty=i.repetition_penalty, seed=i.seed, stream=stream)


def create_engine(cfg: Any) -> Any:
    from swift.plugins import get_registries

    backend = get_registries().backends.get(cfg.infer.backend)
    return backend.create(cfg)


def run_infer(argv: list[str]) -> int:
    cfg = resolve_infer_config(argv)
    if cfg is None:
        return 0
    if cfg.data.val_dataset:
        if not cfg.infer.result_path:
            raise SwiftError("--val_dataset needs --result_path OUT.jsonl to write the answers to")
        return batch_infer(cfg)
    return interactive(cfg)


# -------------------------------------------------------------------------------------------------
# Batch
# -------------------------------------------------------------------------------------------------


def rows_to_requests(rows: list[Any]) -> list[tuple[InferRequest, str | None]]:
    """Each row's conversation without its final reply, and that reply as the reference label."""
    out = []
    for row in rows:
        data = row.data
        if "messages" not in data:
            raise DataError(f"{row.loc}: inference needs a conversation; this row has only 'text'")
        messages = list(data["messages"])
        label = None
        if messages and messages[-1]["role"] == "assistant":
            label = messages.pop()["content"]
        if not messages or messages[-1]["role"] == "system":
            raise DataError(f"{row.loc}: nothing to answer (no user message)")
        out.append((InferRequest(messages=messages, tools=data.get("tools"),
                                 images=data.get("images") or [], audios=data.get("audios") or [],
                                 videos=data.get("videos") or []), label))
    return out


def batch_infer(cfg: Any) -> int:
    from tqdm import tqdm

    from swift.data.loader import load_datasets
    from swift.plugins import get_registries

    rows = load_datasets(list(cfg.data.val_dataset), get_registries(), cfg, cfg.data.seed)
    pairs = rows_to_requests(rows)
    engine = create_engine(cfg)
    rc = request_config(cfg)
    lines, correct, labelled = [], 0, 0
    start = time.perf_counter()
    size = max(1, cfg.infer.max_batch_size)
    try:
        with tqdm(total=len(pairs), desc="inference", disable=None) as bar:
            for i in range(0, len(pairs), size):
                chunk = pairs[i:i + size]
                responses = engine.infer([req for req, _ in chunk], rc)
                for (req, label), resp in zip(chunk, responses):
                    text = resp.choices[0].message.content
                    record: dict[str, Any] = {"messages": req.messages, "response": text}
                    if label is not None:
                        record["labels"] = label
                        labelled += 1
                        correct += int(text.strip() == str(label).strip())
                    lines.append(json.dumps(record, ensure_ascii=False))
                bar.update(len(chunk))
    finally:
        engine.close()
    write_text_atomic(cfg.infer.result_path, "\n".join(lines) + "\n")
    took = time.perf_counter() - start
    msg = f"[swift] wrote {len(lines)} answers to {cfg.infer.result_path} in {took:.1f}s"
    if labelled:
        msg += f"; exact match with labels: {correct / labelled:.3f} ({correct}/{labelled})"
    print(msg, file=sys.stderr)
    return 0


# -------------------------------------------------------------------------------------------------
# Interactive
# -------------------------------------------------------------------------------------------------


def interactive(cfg: Any) -> int:
    engine = create_engine(cfg)
    tty = sys.stdin.isatty()
    stream = bool(cfg.infer.stream) and "stream" in engine.capabilities
    history: list[dict[str, Any]] = []
    if tty:
        print("[swift] chat with the model: 'clear' forgets the conversation, 'exit' or Ctrl-D quits", file=sys.stderr)
    try:
        while True:
            try:
                query = input("<<< " if tty else "")
            except EOFError:
                break
            if not query.strip():
                continue
            if query.strip() in ("exit", "quit"):
                break
            if query.strip() == "clear":
                history.clear()
                continue
            history.append({"role": "user", "content": query})
            request = InferRequest(messages=list(history))
            if tty:
                print(">>> ", end="", flush=True)
            if stream:
                parts = []
                for chunk in engine.infer([request], request_config(cfg, stream=True))[0]:
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    if delta:
                        parts.append(delta)
                        print(delta, end="", flush=True)
                print(flush=True)
                reply = "".join(parts)
            else:
                reply = engine.infer([request], request_config(cfg))[0].choices[0].message.content
                print(reply, flush=True)
            history.append({"role": "assistant", "content": reply})
    except KeyboardInterrupt:
        print(file=sys.stderr)
    finally:
        engine.close()
    return 0
