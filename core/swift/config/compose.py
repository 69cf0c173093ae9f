"""Compose a run's config: schema defaults < saved config < YAML files < command-line overrides.

Command-line grammar (hydra's, plus ms-swift's flags):

* ``cfg.yaml``            a config file (nested sections, dotted keys, or ms-swift's flat keys)
* ``a.b=v``               set a key that the schema (or an open dict) has
* ``+a.b=v``              add a key your files have not set yet (error if they did)
* ``++a.b=v``             set or add, whatever is there
* ``~a.b`` / ``~a.b=v``   remove a key you set (back to its default); with ``=v`` only if it equals v
* ``--flag v``            an ms-swift flag (``--learning_rate 1e-4``) or a dotted key (``--train.seed 1``);
  list keys take several values (``--dataset a.jsonl b.jsonl``), bool keys may stand alone (``--packing``)

Values are YAML: ``1e-4``, ``true``, ``null``, ``[a,b]``, ``{k: v}``, quoted strings, ``${oc.env:VAR}``.
"""
from __future__ import annotations

import collections
import copy
import dataclasses
import os
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from swift.config.schema import SwiftConfig
from swift.errors import ConfigError, did_you_mean, format_choices
from swift.registry import ConfigSection

_NO_VALUE = object()


# -------------------------------------------------------------------------------------------------
# Schema introspection
# -------------------------------------------------------------------------------------------------


@dataclass
class FieldInfo:
    path: str
    type_name: str
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    flags: tuple[str, ...] = ()
    is_list: bool = False
    is_bool: bool = False
    is_dict: bool = False
    section: str = ""
    plugin: str = ""


@dataclass
class SectionInfo:
    path: str
    help: str
    plugin: str = ""
    fields: list[FieldInfo] = field(default_factory=list)


_UNIONS = (typing.Union, types.UnionType)


def _type_name(tp: Any) -> str:
    if isinstance(tp, str):
        return tp
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if origin in _UNIONS:
        inner = " | ".join(_type_name(a) for a in args)
        return inner + " | None" if len(args) < len(typing.get_args(tp)) else inner
    if origin is list:
        return f"list[{_type_name(args[0])}]" if args else "list"
    if origin is dict:
        return "dict"
    return getattr(tp, "__name__", str(tp))


#: Leaf names too generic to stand alone as flags (``--name``?); they are reached by their dotted path.
GENERIC_LEAVES = frozenset({"id", "name", "type", "r", "alpha", "dropout", "bias", "backend", "cache", "shuffle",
                            "seed", "path", "enabled"})


class ConfigSchema:
    """The full schema: the host's sections plus every mounted plugin section."""

    def __init__(self, sections: Iterable[ConfigSection] = ()):
        self.root: DictConfig = OmegaConf.structured(SwiftConfig)
        self.sections: dict[str, SectionInfo] = {}
        self.fields: dict[str, FieldInfo] = {}
        self.flags: dict[str, str] = {}
        explicit_flags: dict[str, str] = {}

        hints = typing.get_type_hints(SwiftConfig)
        for f in dataclasses.fields(SwiftConfig):
            self._add_dataclass(f.name, hints[f.name], f.metadata.get("help", ""), "", explicit_flags)
        for section in sections:
            if section.path in self.fields or section.path in self.sections:
                raise ConfigError(f"plugin '{section.plugin}' mounts config section '{section.path}', "
                                  "which already exists")
            parent = section.path.rsplit(".", 1)[0] if "." in section.path else None
            if parent is not None and parent not in self.sections:
                raise ConfigError(f"plugin '{section.plugin}' mounts '{section.path}' under unknown section "
                                  f"'{parent}'; sections: {format_choices(self.sections)}")
            node = OmegaConf.structured(section.schema)
            with open_dict(self.root):
                OmegaConf.update(self.root, section.path, node, force_add=True)
            self._add_dataclass(section.path, section.schema, section.help, section.plugin, explicit_flags)
            for flag, name in section.flags.items():
                explicit_flags[flag] = f"{section.path}.{name}"
        OmegaConf.set_struct(self.root, True)

        # Every leaf answers to its own name as a flat flag when that name is unique (ms-swift style),
        # and to the explicit flags declared in the schema.
        counts = collections.Counter(path.rsplit(".", 1)[1] for path in self.fields)
        for path in self.fields:
            leaf = path.rsplit(".", 1)[1]
            if counts[leaf] == 1 and leaf not in GENERIC_LEAVES:
                self.flags.setdefault(leaf, path)
        self.flags.update(explicit_flags)
        for flag, path in self.flags.items():
            if path not in self.fields:
                raise ConfigError(f"flag --{flag} points at unknown key '{path}'")
            if flag not in self.fields[path].flags:
                self.fields[path].flags = (*self.fields[path].flags, flag)

    def _add_dataclass(self, path: str, schema: Any, help: str, plugin: str,
                       explicit_flags: dict[str, str]) -> None:
        info = SectionInfo(path=path, help=help, plugin=plugin)
        self.sections[path] = info
        hints = typing.get_type_hints(schema)
        for f in dataclasses.fields(schema):
            tp = hints[f.name]
            fpath = f"{path}.{f.name}"
            if dataclasses.is_dataclass(tp):
                self._add_dataclass(fpath, tp, f.metadata.get("help", ""), plugin, explicit_flags)
                continue
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
            origin = typing.get_origin(tp)
            args = typing.get_args(tp)
            base = [a for a in args if a is not type(None)]
            core_tp = base[0] if origin in _UNIONS and len(base) == 1 else tp
            fi = FieldInfo(
                path=fpath, type_name=_type_name(tp), default=default, help=f.metadata.get("help", ""),
                choices=tuple(f.metadata.get("choices", ())), is_list=typing.get_origin(core_tp) is list,
                is_bool=core_tp is bool, is_dict=typing.get_origin(core_tp) is dict or core_tp is dict,
                section=path, plugin=plugin,
            )
            self.fields[fpath] = fi
            info.fields.append(fi)
            for flag in f.metadata.get("flags", ()):
                explicit_flags[flag] = fpath

    # -- lookups ----------------------------------------------------------------------------------

    def open_dict_of(self, path: str) -> str | None:
        """The dict-typed field that ``path`` lies inside (``model.model_kwargs.x`` -> ``model.model_kwargs``)."""
        parts = path.split(".")
        for i in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:i])
            if prefix in self.fields and self.fields[prefix].is_dict:
                return prefix
        return None

    def check_key(self, path: str, source: str) -> None:
        """Fail with the closest valid names unless ``path`` is a key of the schema."""
        if path in self.fields or path in self.sections or self.open_dict_of(path):
            return
        parent = path.rsplit(".", 1)[0] if "." in path else ""
        candidates = list(self.fields) + list(self.flags)
        close = did_you_mean(path, candidates) or did_you_mean(path.rsplit(".", 1)[-1], candidates)
        msg = f"unknown config key '{path}' ({source})"
        if parent in self.sections:
            keys = [p.rsplit(".", 1)[1] for p in self.fields if p.rsplit(".", 1)[0] == parent]
            keys += [p.rsplit(".", 1)[1] for p in self.sections if p.rsplit(".", 1)[0] == parent and p != parent]
            hint = f"valid keys under '{parent}': {format_choices(keys, 60)}"
        else:
            hint = f"sections: {format_choices(s for s in self.sections if '.' not in s)}"
        if close:
            hint = f"did you mean {' or '.join(repr(self._display(c)) for c in close)}? " + hint
        raise ConfigError(msg, hint)

    def _display(self, candidate: str) -> str:
        return f"--{candidate}" if candidate in self.flags else candidate

    def field_for_flag(self, flag: str) -> FieldInfo | None:
        path = self.flags.get(flag) or (flag if flag in self.fields else None)
        return self.fields.get(path) if path else None


# -------------------------------------------------------------------------------------------------
# Parsing the command line
# -------------------------------------------------------------------------------------------------


class YamlLoader(yaml.SafeLoader):
    """YAML 1.1 as PyYAML reads it, plus YAML 1.2 floats: ``1e-4`` is a float, not the string '1e-4'."""


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+][0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def parse_value(text: str) -> Any:
    """Parse a command-line value as YAML (so ``1e-4`` is a float and ``[a,b]`` a list)."""
    if text == "":
        return ""
    try:
        return yaml.load(text, Loader=YamlLoader)
    except yaml.YAMLError:
        return text


@dataclass
class Override:
    op: str  # "set" | "add" | "upsert" | "delete"
    key: str
    value: Any
    source: str


@dataclass
class ParsedArgs:
    files: list[str] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    print_config: bool = False
    help: bool = False
    #: flags a command handles itself (e.g. ``--json`` for ``swift plugins``)
    extra: dict[str, Any] = field(default_factory=dict)


_BOOL_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "1", "0"})

_OVERRIDE_RE = re.compile(r"^(\+\+|\+|~)?([A-Za-z_][\w.\-]*)(=(.*))?$", re.S)


def _looks_like_override(token: str) -> bool:
    m = _OVERRIDE_RE.match(token)
    return bool(m) and (m.group(1) is not None or m.group(3) is not None)


def parse_argv(argv: Sequence[str], schema: ConfigSchema, extra_flags: Mapping[str, bool] = {}) -> ParsedArgs:
    """Split argv into config files, overrides (in order) and special flags.

    :param extra_flags: command-specific flags, name -> whether it takes a value.
    """
    out = ParsedArgs()
    i = 0
    argv = list(argv)
    while i < len(argv):
        token = argv[i]
        i += 1
        if token in ("-h", "--help"):
            out.help = True
            continue
        if token in ("--print-config", "--print_config", "--cfg"):
            out.print_config = True
            continue
        if token.startswith("--"):
            name, eq, inline = token[2:].partition("=")
            if name in extra_flags:
                takes_value = extra_flags[name]
                if takes_value and not eq:
                    if i >= len(argv):
                        raise ConfigError(f"--{name} needs a value")
                    inline, i = argv[i], i + 1
                out.extra[name] = inline if takes_value else True
                continue
            info = schema.field_for_flag(name)
            if info is None:
                path = name
                schema.check_key(path, f"from --{name}")  # raises with suggestions
                raise ConfigError(f"--{name} is a section, not a key")  # pragma: no cover
            if eq:
                values = [inline]
            elif info.is_bool:
                # `--packing` alone means true; only a boolean word after it is its value.
                values = []
                if i < len(argv) and argv[i].lower() in _BOOL_WORDS:
                    values, i = [argv[i]], i + 1
            else:
                values = []
                while i < len(argv) and not argv[i].startswith("--") and (
                        info.is_list or not values) and not (values and _looks_like_override(argv[i])):
                    values.append(argv[i])
                    i += 1
                    if not info.is_list:
                        break
            if not values:
                if info.is_bool:
                    values = ["true"]
                elif info.is_list:
                    values = []
                else:
                    raise ConfigError(f"--{name} needs a value ({info.type_name})")
            if info.is_list and not eq:
                parsed: Any = [parse_value(v) for v in values]
                if len(parsed) == 1 and isinstance(parsed[0], list):
                    parsed = parsed[0]
            elif info.is_list:
                parsed = parse_value(values[0])
                parsed = parsed if isinstance(parsed, list) else [parsed]
            else:
                parsed = parse_value(values[0])
            out.overrides.append(Override("upsert", info.path, parsed, f"--{name}"))
            continue
        m = _OVERRIDE_RE.match(token)
        if m and (m.group(1) or m.group(3) is not None):
            prefix, key, value = m.group(1) or "", m.group(2), m.group(4)
            op = {"": "set", "+": "add", "++": "upsert", "~": "delete"}[prefix]
            if op != "delete" and value is None:
                raise ConfigError(f"'{token}' needs a value: {prefix}{key}=VALUE")
            parsed = _NO_VALUE if value is None else parse_value(value)
            out.overrides.append(Override(op, key, parsed, f"'{token}' on the command line"))
            continue
        if token.endswith((".yaml", ".yml", ".json")) or os.path.isfile(token):
            out.files.append(token)
            continue
        raise ConfigError(
            f"don't know what to do with '{token}'",
            hint="pass config files (.yaml/.json), overrides like train.learning_rate=1e-4, or --flags",
        )
    return out


# -------------------------------------------------------------------------------------------------
# Composing
# -------------------------------------------------------------------------------------------------


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


class UserLayer:
    """The keys the user set (files and overrides), with where each came from."""

    def __init__(self, schema: ConfigSchema):
        self.schema = schema
        self.values: dict[str, Any] = {}
        self.sources: dict[str, str] = {}

    def _normalise(self, key: str, value: Any, source: str) -> list[tuple[str, Any]]:
        """Map a key (dotted, flat ms-swift flag, or section) to schema leaf paths."""
        schema = self.schema
        if key in schema.sections and isinstance(value, Mapping):
            pairs = []
            for sub, v in value.items():
                pairs.extend(self._normalise(f"{key}.{sub}", v, source))
            return pairs
        if key in schema.fields or schema.open_dict_of(key):
            if key in schema.fields and schema.fields[key].is_dict and isinstance(value, Mapping):
                return [(key, dict(value))]
            return [(key, value)]
        if "." not in key and key in schema.flags:  # flat ms-swift key, e.g. `learning_rate: 1e-4`
            info = schema.fields[schema.flags[key]]
            if info.is_list and not isinstance(value, list) and value is not None:
                value = [value]
            return [(info.path, value)]
        if key in schema.sections:
            raise ConfigError(f"'{key}' is a section; give it a mapping of keys ({source})",
                              hint=f"keys: {format_choices(f.path for f in schema.sections[key].fields)}")
        schema.check_key(key, source)
        return []  # pragma: no cover - check_key raised

    def load_mapping(self, data: Mapping[str, Any], source: str) -> None:
        for key, value in data.items():
            if key == "swift_version":
                continue
            for path, v in self._normalise(str(key), value, source):
                self.values[path] = v
                self.sources[path] = source

    def load_file(self, path: str) -> None:
        if not os.path.isfile(path):
            raise ConfigError(f"config file not found: {path}")
        try:
            with open(path, encoding="utf-8") as fh:
                data = yaml.load(fh, Loader=YamlLoader)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML/JSON: {exc}") from None
        if data is None:
            return
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path} must hold a mapping of keys, not a {type(data).__name__}")
        self.load_mapping(data, path)

    def apply(self, ov: Override) -> None:
        schema = self.schema
        key, value = ov.key, ov.value
        if ov.op != "delete" and "." not in key and key not in schema.fields and key in schema.flags \
                and not (key in schema.sections and isinstance(value, Mapping)):
            key = schema.flags[key]  # `learning_rate=1e-4` means the flag's key
        if ov.op == "delete":
            self._delete(key, value, ov.source)
            return
        pairs = self._normalise(key, value, ov.source)
        for path, v in pairs:
            inside_dict = schema.open_dict_of(path)
            if ov.op == "add" and path in self.values:
                raise ConfigError(
                    f"cannot add '{path}' ({ov.source}): it is already set by {self.sources[path]}",
                    hint=f"use {path}=VALUE to change it, or ++{path}=VALUE to set it either way",
                )
            if ov.op == "set" and inside_dict and path not in self.values and \
                    not _dict_has(schema.fields[inside_dict].default, path[len(inside_dict) + 1:]):
                raise ConfigError(
                    f"'{path}' is not in '{inside_dict}' yet ({ov.source})",
                    hint=f"use +{path}=VALUE to add it",
                )
            self.values[path] = v
            self.sources[path] = ov.source

    def _delete(self, key: str, value: Any, source: str) -> None:
        if "." not in key and key not in self.schema.sections:
            key = self.schema.flags.get(key, key)
        matched = [p for p in self.values if p == key or p.startswith(key + ".")]
        if not matched:
            self.schema.check_key(key, source)
            raise ConfigError(f"cannot remove '{key}' ({source}): your config does not set it",
                              hint="`~key` removes a key you set in a file or an earlier override")
        for p in matched:
            if value is not _NO_VALUE and self.values[p] != value:
                raise ConfigError(f"cannot remove '{p}={value}' ({source}): its value is {self.values[p]!r}")
            del self.values[p]
            del self.sources[p]


def _dict_has(d: Any, dotted: str) -> bool:
    cur = d
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return False
        cur = cur[part]
    return True


def compose(schema: ConfigSchema, files: Sequence[str] = (), overrides: Sequence[Override] = (),
            base: Mapping[str, Any] | None = None, base_source: str = "saved config") -> DictConfig:
    """Build the run's config and validate every key and value.

    :param base: a lower layer under the user's files and overrides (e.g. a training run's saved
        config when ``swift infer`` reloads its output).
    """
    layer = UserLayer(schema)
    for f in files:
        layer.load_file(f)
    for ov in overrides:
        layer.apply(ov)

    cfg = copy.deepcopy(schema.root)
    ordered: list[tuple[str, Any, str]] = []
    if base:
        base_layer = UserLayer(schema)
        base_layer.load_mapping(base, base_source)
        ordered += [(p, v, base_layer.sources[p]) for p, v in base_layer.values.items() if p not in layer.values]
    ordered += [(p, v, layer.sources[p]) for p, v in layer.values.items()]
    for path, value, source in ordered:
        _set(cfg, schema, path, value, source)
    try:
        OmegaConf.resolve(cfg)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"cannot resolve an interpolation: {_omegaconf_msg(exc)}") from None
    for path, info in schema.fields.items():
        if info.choices:
            value = OmegaConf.select(cfg, path)
            if value is not None and value not in info.choices:
                raise ConfigError(f"{path}={value!r} is not allowed ({layer.sources.get(path, 'config')})",
                                  hint=f"allowed: {', '.join(map(str, info.choices))}")
    return cfg


def _set(cfg: DictConfig, schema: ConfigSchema, path: str, value: Any, source: str) -> None:
    inside_dict = schema.open_dict_of(path)
    try:
        if inside_dict:
            node = OmegaConf.select(cfg, inside_dict)
            container = OmegaConf.to_container(node) or {}
            cur = container
            parts = path[len(inside_dict) + 1:].split(".")
            for part in parts[:-1]:
                cur = cur.setdefault(part, {})
            cur[parts[-1]] = value
            OmegaConf.update(cfg, inside_dict, container, merge=False)
        else:
            info = schema.fields.get(path)
            if info is not None and info.is_list and value is not None and not isinstance(value, list):
                value = [value]
            OmegaConf.update(cfg, path, value, merge=False)
    except OmegaConfBaseException as exc:
        info = schema.fields.get(path)
        expected = f" (expected {info.type_name})" if info else ""
        raise ConfigError(f"bad value for '{path}' from {source}: {value!r}{expected}",
                          hint=_omegaconf_msg(exc)) from None


def _omegaconf_msg(exc: Exception) -> str:
    return str(exc).split("\n")[0]


def to_yaml(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg)
