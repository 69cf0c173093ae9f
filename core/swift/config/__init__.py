"""Configuration: structured schema, hydra-style overrides, ms-swift flags, help."""
from __future__ import annotations

from typing import Any

from swift.config.compose import ConfigSchema, compose, parse_argv, to_yaml

_cached: tuple[Any, ConfigSchema] | None = None


def build_schema() -> ConfigSchema:
    """The schema of the host plus every loaded plugin's sections (rebuilt when the plugins change)."""
    global _cached
    from swift.plugins import get_registries

    registries = get_registries()
    if _cached is None or _cached[0] is not registries:
        _cached = (registries, ConfigSchema(registries.config))
    return _cached[1]


__all__ = ["ConfigSchema", "build_schema", "compose", "parse_argv", "to_yaml"]
