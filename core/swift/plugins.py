"""The plugin manager: built-ins plus installed plugins found through the ``swift`` entry-point group.

Nothing is imported until the first call to :func:`get_plugin_manager` or :func:`get_registries`.

``SWIFT_PLUGINS`` is an allow-list of entry-point names (or distribution names): unset loads every
installed plugin, ``SWIFT_PLUGINS=text,peft`` loads only those, ``SWIFT_PLUGINS=`` loads none (the
built-ins always load). The test suite sets it so stray installed plugins never leak into tests.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os
from dataclasses import dataclass, field
from typing import Any

import pluggy

from swift import hookspecs
from swift.errors import SwiftError
from swift.registry import Registries, default_package

ENTRY_POINT_GROUP = "swift"
ALLOW_ENV = "SWIFT_PLUGINS"

#: The host's own plugins; they go through the same hooks as installed ones.
BUILTIN_PLUGINS = (
    "swift.builtins.datasets",
    "swift.builtins.tuners",
    "swift.builtins.strategies",
    "swift.builtins.trainers",
    "swift.builtins.commands",
)


@dataclass
class PluginInfo:
    name: str
    module: str
    version: str | None = None
    distribution: str | None = None
    builtin: bool = False
    hooks: list[str] = field(default_factory=list)


_pm: pluggy.PluginManager | None = None
_infos: dict[str, PluginInfo] = {}
_registries: Registries | None = None


def _allow_list() -> set[str] | None:
    value = os.environ.get(ALLOW_ENV)
    if value is None:
        return None
    return {v.strip() for v in value.split(",") if v.strip()}


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created and loaded on first use."""
    global _pm
    if _pm is None:
        pm = pluggy.PluginManager("swift")
        pm.add_hookspecs(hookspecs)
        for module_name in BUILTIN_PLUGINS:
            module = importlib.import_module(module_name)
            name = module_name.rsplit(".", 1)[1]
            pm.register(module, name=name)
            _infos[name] = PluginInfo(name=name, module=module_name, builtin=True)
        _load_entry_points(pm)
        _check_pending(pm)
        _pm = pm
    return _pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    allowed = _allow_list()
    seen: set[str] = set()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        if allowed is not None and ep.name not in allowed and dist_name not in allowed:
            continue
        if pm.has_plugin(ep.name):
            continue
        seen.update({ep.name, dist_name or ep.name})
        try:
            plugin = ep.load()
        except Exception as exc:  # an import error inside a third-party plugin
            raise SwiftError(
                f"plugin '{ep.name}' ({dist_name or ep.value}) failed to import: {type(exc).__name__}: {exc}",
                hint=f"reinstall or upgrade it, or load only the plugins you need with {ALLOW_ENV}=a,b",
            ) from exc
        pm.register(plugin, name=ep.name)
        _infos[ep.name] = PluginInfo(
            name=ep.name, module=ep.value, version=dist.version if dist is not None else None,
            distribution=dist_name,
        )
    if allowed:
        missing = sorted(allowed - seen)
        if missing:
            raise SwiftError(
                f"{ALLOW_ENV} names {', '.join(repr(m) for m in missing)}, but no installed plugin has that name",
                hint=f"installed plugins: {', '.join(sorted(installed_entry_points())) or '(none)'}",
            )


def _check_pending(pm: pluggy.PluginManager) -> None:
    """Fail on a hook implementation whose name matches no hook spec (usually a typo)."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise SwiftError(f"plugin '{name}' implements a hook swift does not define: {exc}",
                         hint="hook names are listed in swift/hookspecs.py (docs/plugins.md)") from None


def installed_entry_points() -> dict[str, str]:
    """Entry-point name -> distribution name of every installed swift plugin (loaded or not)."""
    out = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        out[ep.name] = dist.metadata["Name"] if dist is not None else ep.value
    return out


def register(plugin: Any, name: str) -> None:
    """Register a plugin object at run time (tests, notebooks, a script's own hooks)."""
    pm = get_plugin_manager()
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:  # a hook with the wrong arguments
        raise SwiftError(f"plugin '{name}' does not match swift's hook specs: {exc}") from None
    try:
        _check_pending(pm)
    except SwiftError:
        pm.unregister(name=name)
        raise
    _infos[name] = PluginInfo(name=name, module=getattr(plugin, "__name__", type(plugin).__name__))
    _invalidate()


def unregister(name: str) -> None:
    pm = get_plugin_manager()
    if pm.has_plugin(name):
        pm.unregister(name=name)
    _infos.pop(name, None)
    _invalidate()


def reset() -> None:
    """Forget every loaded plugin; the next use loads them again (honours a changed SWIFT_PLUGINS)."""
    global _pm
    _pm = None
    _infos.clear()
    _invalidate()


def _invalidate() -> None:
    global _registries
    _registries = None


def hook() -> Any:
    """``get_plugin_manager().hook``: call lifecycle hooks as ``hook().swift_post_train(...)``."""
    return get_plugin_manager().hook


def _suggest_package(kind: str, name: str) -> str:
    answer = get_plugin_manager().hook.swift_suggest_package(kind=kind, name=name)
    return answer or default_package(kind, name)


def get_registries() -> Registries:
    """All registries, filled by calling every registration hook once per plugin.

    Each implementation is called on its own so that every registered item records which plugin
    registered it (``swift plugins`` shows this).
    """
    global _registries
    if _registries is not None:
        return _registries
    pm = get_plugin_manager()
    registries = Registries.empty(_suggest_package)
    for info in _infos.values():
        info.hooks = []
    for hook_name in Registries.HOOKS:
        caller = getattr(pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            plugin_name = pm.get_name(impl.plugin) or "?"

            def register_item(item: Any, _plugin: str = plugin_name, _hook: str = hook_name) -> None:
                registries.add(_hook, item, _plugin)

            kwargs = {"register": register_item}
            impl.function(*[kwargs[a] for a in impl.argnames])
    for plugin_name, info in _infos.items():
        plugin = pm.get_plugin(plugin_name)
        if plugin is None:
            continue
        info.hooks = sorted(
            caller.name for caller in pm.get_hookcallers(plugin) or []
        )
    _registries = registries
    return registries


def plugin_infos() -> list[PluginInfo]:
    get_registries()
    return list(_infos.values())
