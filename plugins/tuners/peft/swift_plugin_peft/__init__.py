"""swift plugin ``peft``: LoRA through Hugging Face PEFT."""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from swift import hookimpl
from swift.config.schema import opt
from swift.errors import SwiftError
from swift.registry import ConfigSection, Tuner


@dataclass
class LoraArgs:
    r: int = opt(8, "LoRA rank", flags=("lora_rank",))
    alpha: int = opt(32, "LoRA alpha (the update is scaled by alpha / r)", flags=("lora_alpha",))
    dropout: float = opt(0.05, "dropout on the LoRA input", flags=("lora_dropout",))
    target_modules: list[str] = opt(["all-linear"], "modules that get LoRA: names, or all-linear (every linear "
                                    "layer but the output head)", flags=("target_modules",))
    bias: str = opt("none", "train biases too", flags=("lora_bias",), choices=("none", "all", "lora_only"))
    use_rslora: bool = opt(False, "rank-stabilised scaling alpha / sqrt(r)")
    use_dora: bool = opt(False, "DoRA: weight-decomposed LoRA")
    modules_to_save: list[str] = opt([], "modules trained in full and saved with the adapter (e.g. lm_head)")


#: what people write for LoraConfig fields (swift's own config names, ms-swift flags)
SYNONYMS = {"rank": "r", "lora_rank": "r", "alpha": "lora_alpha", "dropout": "lora_dropout"}


def _is_transformers_model(model: Any) -> bool:
    try:
        from transformers import PreTrainedModel
    except ImportError:  # pragma: no cover
        return False
    return isinstance(model, PreTrainedModel)


def _all_linear(model: Any) -> list[str]:
    """Leaf names of every nn.Linear except the output head (PEFT's all-linear needs a transformers model)."""
    import torch.nn as nn

    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    names = set()
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and module is not head and not name.endswith(("lm_head", "output_head")):
            names.add(name.rsplit(".", 1)[-1])
    if not names:
        raise SwiftError("LoRA: the model has no linear layers to adapt", hint="pass --target_modules NAME ...")
    return sorted(names)


def _targets(model: Any, requested: list[str], family_default: Any) -> Any:
    if list(requested) == ["all-linear"] and family_default not in (None, "all-linear"):
        requested = list(family_default) if not isinstance(family_default, str) else [family_default]
    if list(requested) == ["all-linear"]:
        return "all-linear" if _is_transformers_model(model) else _all_linear(model)
    return list(requested)


def _peft_wrap(model: Any, config: Any) -> Any:
    from peft import get_peft_model

    try:
        return get_peft_model(model, config)
    except ValueError as exc:  # e.g. target modules not found
        raise SwiftError(f"LoRA: {exc}", hint="check --target_modules against the model's module names") from None


def prepare(model: Any, cfg: Any, family: Any) -> Any:
    from peft import LoraConfig, TaskType

    lc = cfg.tuner.lora
    config = LoraConfig(
        r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout,
        target_modules=_targets(model, list(lc.target_modules), getattr(family, "lora_target_modules", None)),
        bias=lc.bias, use_rslora=lc.use_rslora, use_dora=lc.use_dora,
        modules_to_save=list(lc.modules_to_save) or None,
        task_type=TaskType.CAUSAL_LM if _is_transformers_model(model) else None,
    )
    from swift_plugin_peft.dropout import use_sparse_dropout

    model = _peft_wrap(model, config)
    use_sparse_dropout(model)  # same distribution as PEFT's nn.Dropout, a fraction of the cost on CPU
    return model


def wrap(model: Any, options: Any) -> Any:
    """``SwiftModel(model, config=...)``: a dict of ``peft.LoraConfig`` fields, or any PEFT config."""
    from peft import LoraConfig, PeftConfig, TaskType

    if isinstance(options, PeftConfig):
        return _peft_wrap(model, options)
    options = dict(options)
    valid = {f.name for f in dataclasses.fields(LoraConfig)}
    unknown = sorted(set(options) - valid)
    if unknown:
        from swift.errors import did_you_mean

        guesses = [SYNONYMS.get(u) or next(iter(did_you_mean(u, valid)), None) for u in unknown]
        close = [g for g in guesses if g]
        raise SwiftError(f"unknown LoRA option(s): {', '.join(unknown)}",
                         hint=(f"did you mean {', '.join(close)}? " if close else "") + "see peft.LoraConfig")
    if "task_type" not in options and _is_transformers_model(model):
        options["task_type"] = TaskType.CAUSAL_LM
    options.setdefault("target_modules", _targets(model, ["all-linear"], None))
    return _peft_wrap(model, LoraConfig(**options))


def load(model: Any, adapter_dir: str, cfg: Any) -> Any:
    from peft import PeftModel

    if not os.path.isfile(os.path.join(adapter_dir, "adapter_config.json")):
        raise SwiftError(f"{adapter_dir} holds no PEFT adapter (adapter_config.json is missing)")
    return PeftModel.from_pretrained(model, adapter_dir, is_trainable=False)


def merge(model: Any) -> Any:
    return model.merge_and_unload()


@hookimpl
def swift_register_config(register: Callable[[ConfigSection], None]) -> None:
    register(ConfigSection("tuner.lora", LoraArgs, help="--tuner_type lora: LoRA options"))


@hookimpl
def swift_register_tuners(register: Callable[[Tuner], None]) -> None:
    register(Tuner("lora", prepare, load=load, merge=merge, wrap=wrap,
                   help="LoRA through PEFT; saves a standard PEFT adapter"))
