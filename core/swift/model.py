"""Resolve a model's family from its files and load it through that family's plugin."""
from __future__ import annotations

import json
import os
from typing import Any

from swift.errors import SwiftError, format_choices
from swift.hub import resolve_model_dir
from swift.plugins import get_registries, hook
from swift.registry import LoadedModel, ModelFamily, Registries, Tuner


def read_model_config(model_dir: str) -> dict[str, Any]:
    path = os.path.join(model_dir, "config.json")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise SwiftError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None


def resolve_family(model_dir: str, model_type: str | None, registries: Registries) -> ModelFamily:
    """The family named by ``--model_type``, else the best claim on ``config.json``."""
    config = read_model_config(model_dir)
    if model_type:
        if model_type in registries.models:
            return registries.models.get(model_type)
        config = {**config, "model_type": model_type}  # an HF model_type such as "qwen2"
    elif not config:
        raise SwiftError(
            f"{model_dir} has no config.json, so its model family cannot be detected",
            hint=f"pass --model_type; families: {format_choices(registries.models.names())}",
        )
    claims = []
    for family in registries.models:
        strength = family.claims(config)
        if strength is not None:
            claims.append((strength, family.priority, family.name, family))
    if not claims:
        what = f"model_type '{config.get('model_type')}'" + (
            f", architectures {config.get('architectures')}" if config.get("architectures") else "")
        if model_type:
            registries.models.get(model_type)  # raises with the pip hint and available names
        raise SwiftError(
            f"no installed plugin recognises the model in {model_dir} ({what})",
            hint=f"install the plugin for this family, or pass --model_type; families: "
                 f"{format_choices(registries.models.names())}",
        )
    claims.sort(key=lambda c: (c[0], c[1]), reverse=True)
    return claims[0][3]


def resolve_dtype(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.float32 if not torch.cuda.is_available() else "auto"
    return getattr(torch, name)


def load_model(cfg: Any, model_id: str | None = None, tuner: Tuner | None = None,
               registries: Registries | None = None) -> tuple[LoadedModel, ModelFamily]:
    """Find, download if needed, and load the model of ``cfg`` (or ``model_id``) through its family."""
    registries = registries or get_registries()
    mcfg = cfg.model
    model_dir = resolve_model_dir(model_id or mcfg.id, mcfg.revision, mcfg.use_hf, mcfg.hub_token, mcfg.cache_dir)
    family = resolve_family(model_dir, mcfg.model_type, registries)
    load_kwargs: dict[str, Any] = {
        "dtype": resolve_dtype(mcfg.torch_dtype),
        "trust_remote_code": bool(mcfg.trust_remote_code),
    }
    if mcfg.attn_impl:
        load_kwargs["attn_implementation"] = mcfg.attn_impl
    if mcfg.device_map:
        load_kwargs["device_map"] = mcfg.device_map
    load_kwargs.update(dict(mcfg.model_kwargs or {}))
    if tuner is not None and tuner.before_load is not None:
        tuner.before_load(cfg, load_kwargs)
    hook().swift_pre_model_load(cfg=cfg, load_kwargs=load_kwargs)
    loaded = family.load(model_dir, cfg, load_kwargs)
    hook().swift_post_model_load(cfg=cfg, model=loaded.model, processor=loaded.processor)
    return loaded, family


def tokenizer_of(processor: Any) -> Any:
    """The tokenizer inside a processor (or the processor itself for text models)."""
    return getattr(processor, "tokenizer", None) or processor
