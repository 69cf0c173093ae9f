"""swift: a small pluggy host for the whole life of a large language model.

Public API::

    from swift import hookimpl            # mark a plugin's hook implementations
    from swift import SwiftModel          # SwiftModel(model, config={...}) adds a tuner (LoRA by default)
"""
from __future__ import annotations

from typing import Any

from swift.hookspecs import hookimpl, hookspec
from swift.version import __version__

__all__ = ["SwiftModel", "__version__", "hookimpl", "hookspec"]


class SwiftModel:
    """Make a loaded model trainable with a registered tuner, in Python.

    ``SwiftModel(model, config=cfg)`` returns the tuned model itself: for LoRA (the default) a
    ``peft.PeftModel`` whose LoRA weights alone are trainable and whose ``save_pretrained`` writes a
    standard PEFT adapter. ``config`` is a dict of the tuner's options (for LoRA, the ``peft.LoraConfig``
    fields: ``r``, ``lora_alpha``, ``lora_dropout``, ``target_modules``, ...) or a PEFT config object; a
    ``"tuner"`` key in the dict picks another tuner (``{"tuner": "dora", ...}``).
    """

    def __new__(cls, model: Any, config: Any = None, tuner: str | None = None) -> Any:  # type: ignore[misc]
        from swift.plugins import get_registries

        options = dict(config) if isinstance(config, dict) else config
        if isinstance(options, dict):
            tuner = options.pop("tuner", tuner)
        entry = get_registries().tuners.get(tuner or "lora")
        if entry.wrap is None:
            from swift.errors import SwiftError

            raise SwiftError(f"tuner '{entry.name}' cannot wrap a model from Python")
        return entry.wrap(model, options or {})

    @staticmethod
    def from_pretrained(model: Any, adapter_dir: str, tuner: str = "lora", **kwargs: Any) -> Any:
        """Load a saved adapter onto ``model`` (for LoRA: ``peft.PeftModel.from_pretrained``)."""
        from omegaconf import OmegaConf

        from swift.plugins import get_registries

        entry = get_registries().tuners.get(tuner)
        if entry.load is None:
            from swift.errors import SwiftError

            raise SwiftError(f"tuner '{tuner}' saves full models; load them with from_pretrained directly")
        return entry.load(model, adapter_dir, OmegaConf.create(kwargs))
