"""swift plugin ``pt``: the PyTorch inference backend (``--infer_backend pt``)."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from swift import hookimpl
from swift.errors import SwiftError
from swift.registry import Backend


def create(cfg: Any) -> Any:
    """Load the model (and its adapters) named by ``cfg`` and wrap it in a :class:`PtEngine`."""
    import torch

    from swift.model import load_model, tokenizer_of
    from swift.plugins import get_registries
    from swift.template import build_template
    from swift_plugin_pt.engine import PtEngine

    registries = get_registries()
    loaded, family = load_model(cfg, registries=registries)
    model = loaded.model
    adapters = [os.path.expanduser(str(a)) for a in cfg.infer.adapters]
    if adapters:
        tuner = registries.tuners.get(cfg.tuner.type)
        if tuner.load is None:
            raise SwiftError(f"tuner '{tuner.name}' saves full models, not adapters",
                             hint=f"pass --model {adapters[0]} instead of --adapters")
        for i, adapter in enumerate(adapters):
            model = tuner.load(model, adapter, cfg)
            if i < len(adapters) - 1:  # several adapters stack: fold each into the weights before the next
                if tuner.merge is None:
                    raise SwiftError(f"tuner '{tuner.name}' cannot stack several adapters")
                model = tuner.merge(model)
    if torch.cuda.is_available() and not cfg.model.device_map:
        model = model.to("cuda")
    tokenizer = tokenizer_of(loaded.processor)
    template = build_template(cfg, tokenizer, family, registries)
    name = os.path.basename(os.path.normpath(adapters[-1])) if adapters else os.path.basename(
        os.path.normpath(str(cfg.model.id)))
    return PtEngine(model, tokenizer, template, name, cfg.infer.max_new_tokens or 512)


@hookimpl
def swift_register_backends(register: Callable[[Backend], None]) -> None:
    caps = frozenset({"batch", "stream", "lora"})
    register(Backend("pt", create, caps, help="PyTorch / transformers generate in this process"))
    register(Backend("transformers", create, caps, help="the same backend under ms-swift 4's name"))
