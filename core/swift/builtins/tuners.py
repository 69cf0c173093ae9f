"""Built-in tuners that need nothing beyond torch: ``full`` and ``freeze``.

Both train (some of) the model's own weights and save a full model directory, which
``swift infer --model OUTPUT_DIR`` loads like any other model.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from swift.config.schema import opt
from swift.errors import SwiftError
from swift.hookspecs import hookimpl
from swift.registry import ConfigSection, Tuner


@dataclass
class FreezeArgs:
    trainable_layers: int = opt(2, "train only the last N decoder layers", flags=("freeze_trainable_layers",))
    extra_modules: list[str] = opt([], "also train modules whose name ends with one of these (e.g. norm, lm_head)",
                                   flags=("freeze_extra_modules",))


def find_layer_stack(model: Any) -> tuple[str, Any]:
    """The model's main stack of repeated blocks: the longest ``ModuleList`` of one block class."""
    import torch.nn as nn

    best: tuple[str, Any] | None = None
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) > 0 and \
                len({type(m) for m in module}) == 1 and (best is None or len(module) > len(best[1])):
            best = (name, module)
    if best is None:
        raise SwiftError("freeze: cannot find the model's layer stack (no nn.ModuleList of repeated blocks)",
                         hint="use --tuner_type full or lora")
    return best


def prepare_full(model: Any, cfg: Any, family: Any) -> Any:
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def prepare_freeze(model: Any, cfg: Any, family: Any) -> Any:
    n = cfg.tuner.freeze.trainable_layers
    name, layers = find_layer_stack(model)
    if not 0 < n <= len(layers):
        raise SwiftError(f"freeze: trainable_layers={n}, but the model has {len(layers)} layers in '{name}'",
                         hint=f"choose 1..{len(layers)}")
    for p in model.parameters():
        p.requires_grad_(False)
    for layer in list(layers)[-n:]:
        for p in layer.parameters():
            p.requires_grad_(True)
    extras = tuple(cfg.tuner.freeze.extra_modules)
    if extras:
        matched = [m for mname, m in model.named_modules() if mname.endswith(extras)]
        if not matched:
            raise SwiftError(f"freeze: no module name ends with any of {list(extras)}")
        for module in matched:
            for p in module.parameters():
                p.requires_grad_(True)
    return model


@hookimpl
def swift_register_config(register: Callable) -> None:
    register(ConfigSection("tuner.freeze", FreezeArgs, help="--tuner_type freeze: which layers train"))


@hookimpl
def swift_register_tuners(register: Callable) -> None:
    register(Tuner("full", prepare_full, help="train every weight; saves a full model"))
    register(Tuner("freeze", prepare_freeze, help="train only the last N layers; saves a full model"))
