"""swift plugin ``text``: transformers causal language models and the common chat templates.

Heavy imports (torch, transformers) happen inside the loaders, so listing plugins and ``--help`` stay fast.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from swift import hookimpl
from swift.errors import SwiftError
from swift.registry import Command, LoadedModel, ModelFamily, TemplateMeta

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

LLAMA3 = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

TEMPLATES = (
    TemplateMeta("chatml", CHATML, stop_words=("<|im_end|>",), help="ChatML (<|im_start|>role ... <|im_end|>)"),
    TemplateMeta("qwen", CHATML, stop_words=("<|im_end|>", "<|endoftext|>"),
                 default_system="You are a helpful assistant.", help="Qwen / Qwen2 (ChatML with a default system)"),
    TemplateMeta("llama3", LLAMA3, stop_words=("<|eot_id|>",), help="Llama 3 / 3.1 / 3.2 instruct"),
)


def is_causal_lm(config: dict[str, Any]) -> bool:
    """Any model transformers can load as a causal LM."""
    if any(str(a).endswith("ForCausalLM") for a in config.get("architectures") or ()):
        return True
    model_type = config.get("model_type")
    if not model_type:
        return False
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES


def load_text_model(model_dir: str, cfg: Any, load_kwargs: dict[str, Any]) -> LoadedModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    trust = bool(load_kwargs.get("trust_remote_code"))
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=trust)
        model = AutoModelForCausalLM.from_pretrained(model_dir, use_safetensors=True, **load_kwargs)
    except (OSError, ValueError) as exc:
        text = str(exc)
        if "trust_remote_code" in text:
            raise SwiftError(f"{model_dir} needs its own Python code to load, and trust_remote_code is off",
                             hint="pass --trust_remote_code true only if you trust that code") from None
        if "safetensors" in text.lower() or "no file named" in text.lower():
            raise SwiftError(f"{model_dir}: no safetensors weights found; swift loads weights from safetensors "
                             "only (pickle formats can run code when loaded)",
                             hint="convert the checkpoint to safetensors first") from None
        raise SwiftError(f"cannot load the model in {model_dir}: {text.splitlines()[0]}") from None
    if getattr(model, "generation_config", None) is not None and tokenizer.pad_token_id is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return LoadedModel(model=model, processor=tokenizer, model_dir=model_dir)


def quickstart(argv: list[str]) -> int:
    from swift_plugin_text.quickstart import main

    return main(argv)


@hookimpl
def swift_register_models(register: Callable[[ModelFamily], None]) -> None:
    register(ModelFamily(
        "text", load_text_model, modality="text", matches=is_causal_lm, priority=0,
        help="any transformers causal LM (*ForCausalLM), from a local directory or a hub id",
    ))


@hookimpl
def swift_register_templates(register: Callable[[TemplateMeta], None]) -> None:
    for meta in TEMPLATES:
        register(meta)


@hookimpl
def swift_register_commands(register: Callable[[Command], None]) -> None:
    register(Command("quickstart", quickstart,
                     help="build a tiny model and a task locally, fine-tune it and show accuracy before/after"))
