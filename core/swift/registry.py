"""Typed registries filled through the registration hooks.

Each kind of extension (model family, template, tuner, strategy, backend, trainer, dataset format,
named dataset, command, config section) has a dataclass describing one item and a :class:`Registry`
holding them by name. Lookups of unknown names raise :class:`PluginNotFoundError` naming the package
to install and the names that are available.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from swift.errors import PluginNotFoundError, SwiftError, did_you_mean, format_choices

if TYPE_CHECKING:
    from omegaconf import DictConfig


# -------------------------------------------------------------------------------------------------
# What plugins register
# -------------------------------------------------------------------------------------------------


@dataclass
class ConfigSection:
    """A dataclass schema mounted at ``path`` in the config tree (e.g. ``tuner.lora``)."""

    path: str
    schema: type
    #: ms-swift style flat flags this section answers to: ``{"lora_rank": "r"}`` makes ``--lora_rank 8``
    #: set ``<path>.r``.
    flags: Mapping[str, str] = field(default_factory=dict)
    help: str = ""
    plugin: str = ""

    @property
    def name(self) -> str:
        return self.path


@dataclass
class LoadedModel:
    """What a model family's loader returns."""

    model: Any
    #: a tokenizer for text models, a multimodal processor (with ``.tokenizer``) otherwise
    processor: Any
    #: the directory the weights came from (after any download)
    model_dir: str


@dataclass
class ModelFamily:
    """A model family or modality: how to recognise, load and template its models."""

    name: str
    #: ``load(model_dir, cfg, load_kwargs) -> LoadedModel``; ``load_kwargs`` already went through the
    #: ``swift_pre_model_load`` hook and the tuner's ``before_load``.
    load: Callable[[str, DictConfig, dict[str, Any]], LoadedModel]
    modality: str = "text"
    #: ``config.json`` ``model_type`` values this family claims
    model_types: Sequence[str] = ()
    #: ``config.json`` ``architectures`` entries this family claims
    architectures: Sequence[str] = ()
    #: a fallback predicate over the parsed ``config.json``
    matches: Callable[[dict[str, Any]], bool] | None = None
    #: higher wins when several families claim a model
    priority: int = 0
    #: template used when the tokenizer has no chat template
    template: str | None = None
    #: default ``target_modules`` for LoRA on this family
    lora_target_modules: str | Sequence[str] = "all-linear"
    #: whether the model keeps attention inside each row of a packed batch (``position_ids`` restarts)
    supports_packing: bool = True
    help: str = ""
    plugin: str = ""

    def claims(self, config: Mapping[str, Any]) -> int | None:
        """How strongly this family claims a model with this ``config.json`` (None: not at all)."""
        if config.get("model_type") in self.model_types:
            return 2
        if any(a in self.architectures for a in config.get("architectures") or ()):
            return 2
        if self.matches is not None and self.matches(dict(config)):
            return 1
        return None


@dataclass
class TemplateMeta:
    """A chat template for models whose tokenizer has none."""

    name: str
    #: a Jinja chat template in the Hugging Face ``chat_template`` format
    chat_template: str
    #: strings that end a reply (their token ids stop generation)
    stop_words: Sequence[str] = ()
    default_system: str | None = None
    help: str = ""
    plugin: str = ""


@dataclass
class Tuner:
    """A way to make a model trainable: LoRA, full, freeze, QLoRA, ReFT, ..."""

    name: str
    #: ``prepare(model, cfg, family) -> model`` returns the model to train
    prepare: Callable[[Any, DictConfig, ModelFamily], Any]
    #: ``load(base_model, output_dir, cfg) -> model``: reload a saved adapter for inference. None means
    #: the tuner saves full weights, which load as a model directory.
    load: Callable[[Any, str, DictConfig], Any] | None = None
    #: ``merge(model) -> model``: fold an adapter into the base weights
    merge: Callable[[Any], Any] | None = None
    #: ``before_load(cfg, load_kwargs)``: act before the model loads (e.g. add a quantisation config)
    before_load: Callable[[DictConfig, dict[str, Any]], None] | None = None
    #: ``wrap(model, config) -> model`` for the Python API ``SwiftModel(model, config=...)``
    wrap: Callable[[Any, Any], Any] | None = None
    help: str = ""
    plugin: str = ""

    @property
    def saves_adapter(self) -> bool:
        return self.load is not None


@dataclass
class Strategy:
    """How training processes start and how the trainer is configured for them."""

    name: str
    #: ``launch(cfg, argv) -> exit status | None``: start worker processes (e.g. under torchrun) and
    #: return their status, or return None to train in this process.
    launch: Callable[[DictConfig, list[str]], int | None] | None = None
    #: ``trainer_args(cfg) -> dict`` of extra ``TrainingArguments``
    trainer_args: Callable[[DictConfig], dict[str, Any]] | None = None
    help: str = ""
    plugin: str = ""


@dataclass
class Backend:
    """An inference backend."""

    name: str
    #: ``create(cfg) -> InferEngine``
    create: Callable[[DictConfig], Any]
    capabilities: frozenset[str] = frozenset()
    help: str = ""
    plugin: str = ""


@dataclass
class TrainerKind:
    """A kind of training run (``swift sft``, ``swift pt``, ``swift rlhf --rlhf_type dpo``, ...)."""

    name: str
    #: ``run(cfg) -> output_dir``
    run: Callable[[DictConfig], str]
    help: str = ""
    plugin: str = ""


@dataclass
class DatasetFormat:
    """A dataset row format, converted to the canonical ``{"messages": [...]}`` or ``{"text": ...}``."""

    name: str
    #: does a row (its keys) look like this format?
    detect: Callable[[Mapping[str, Any]], bool]
    #: ``convert(row) -> canonical row``; raise ``ValueError("what is wrong")`` on a malformed row
    convert: Callable[[Mapping[str, Any]], dict[str, Any]]
    #: higher is tried first
    priority: int = 0
    help: str = ""
    plugin: str = ""


@dataclass
class NamedDataset:
    """A dataset addressed by name (``--dataset NAME``)."""

    name: str
    #: ``load(cfg) -> list of rows`` in any registered format
    load: Callable[[DictConfig], list[dict[str, Any]]]
    help: str = ""
    plugin: str = ""


@dataclass
class Command:
    """A ``swift`` subcommand."""

    name: str
    run: Callable[[list[str]], int]
    help: str = ""
    #: the top-level config sections it reads (listed by ``swift --help``)
    sections: Sequence[str] = ()
    plugin: str = ""


# -------------------------------------------------------------------------------------------------
# Registries
# -------------------------------------------------------------------------------------------------

T = TypeVar("T")

#: Which package provides well-known names that are not installed (the default is swift-plugin-<name>).
KNOWN_PACKAGES: dict[tuple[str, str], str] = {
    ("tuner", "lora"): "swift-plugin-peft",
    ("tuner", "qlora"): "swift-plugin-peft",
    ("tuner", "dora"): "swift-plugin-peft",
    ("tuner", "adalora"): "swift-plugin-peft",
    ("model family", "qwen2_vl"): "swift-plugin-qwen-vl",
    ("model family", "qwen_vl"): "swift-plugin-qwen-vl",
    ("strategy", "zero1"): "swift-plugin-deepspeed",
    ("strategy", "zero2"): "swift-plugin-deepspeed",
    ("strategy", "zero3"): "swift-plugin-deepspeed",
    ("trainer", "dpo"): "swift-plugin-trl",
    ("trainer", "kto"): "swift-plugin-trl",
    ("trainer", "orpo"): "swift-plugin-trl",
    ("trainer", "grpo"): "swift-plugin-trl",
}


def default_package(kind: str, name: str) -> str:
    return KNOWN_PACKAGES.get((kind, name), "swift-plugin-" + name.replace("_", "-"))


class Registry(Generic[T]):
    """Items of one kind by name; every item records the plugin that registered it."""

    def __init__(self, kind: str, flag: str | None = None,
                 suggest_package: Callable[[str, str], str] | None = None):
        self.kind = kind
        self.flag = flag
        self._items: dict[str, T] = {}
        self._suggest_package = suggest_package or default_package

    def add(self, item: T, plugin: str) -> None:
        name = item.name  # type: ignore[attr-defined]
        if not isinstance(name, str) or not name:
            raise SwiftError(f"plugin '{plugin}' registered a {self.kind} without a name: {item!r}")
        previous = self._items.get(name)
        if previous is not None and previous.plugin != plugin:  # type: ignore[attr-defined]
            raise SwiftError(
                f"{self.kind} '{name}' is registered by two plugins: "
                f"'{previous.plugin}' and '{plugin}'",  # type: ignore[attr-defined]
                hint="uninstall one of them, or choose the plugins to load with SWIFT_PLUGINS=a,b",
            )
        item.plugin = plugin  # type: ignore[attr-defined]
        self._items[name] = item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            pass
        close = did_you_mean(name, self._items)
        package = self._suggest_package(self.kind, name)
        flag = f" ({self.flag} {name})" if self.flag else ""
        msg = f"no installed plugin provides {self.kind} '{name}'{flag}"
        hint = f"pip install {package}; available: {format_choices(self._items)}"
        if close:
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " + hint
        raise PluginNotFoundError(msg, hint)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Registries:
    """All registries, filled by one pass over the registration hooks."""

    config: Registry[ConfigSection]
    models: Registry[ModelFamily]
    templates: Registry[TemplateMeta]
    tuners: Registry[Tuner]
    strategies: Registry[Strategy]
    backends: Registry[Backend]
    trainers: Registry[TrainerKind]
    dataset_formats: Registry[DatasetFormat]
    datasets: Registry[NamedDataset]
    commands: Registry[Command]

    #: registration hook name -> registry attribute
    HOOKS = {
        "swift_register_config": "config",
        "swift_register_models": "models",
        "swift_register_templates": "templates",
        "swift_register_tuners": "tuners",
        "swift_register_strategies": "strategies",
        "swift_register_backends": "backends",
        "swift_register_trainers": "trainers",
        "swift_register_datasets": None,  # split by type into dataset_formats / datasets
        "swift_register_commands": "commands",
    }

    @classmethod
    def empty(cls, suggest_package: Callable[[str, str], str] | None = None) -> Registries:
        def reg(kind: str, flag: str | None = None) -> Registry[Any]:
            return Registry(kind, flag, suggest_package)

        return cls(
            config=reg("config section"),
            models=reg("model family", "--model_type"),
            templates=reg("template", "--template"),
            tuners=reg("tuner", "--tuner_type"),
            strategies=reg("strategy", "--strategy"),
            backends=reg("backend", "--infer_backend"),
            trainers=reg("trainer"),
            dataset_formats=reg("dataset format"),
            datasets=reg("dataset", "--dataset"),
            commands=reg("command"),
        )

    def add(self, hook: str, item: Any, plugin: str) -> None:
        attr = self.HOOKS[hook]
        if attr is None:
            attr = "dataset_formats" if isinstance(item, DatasetFormat) else "datasets"
        expected = {
            "config": ConfigSection, "models": ModelFamily, "templates": TemplateMeta, "tuners": Tuner,
            "strategies": Strategy, "backends": Backend, "trainers": TrainerKind,
            "dataset_formats": DatasetFormat, "datasets": NamedDataset, "commands": Command,
        }[attr]
        if not isinstance(item, expected):
            raise SwiftError(
                f"plugin '{plugin}' passed a {type(item).__name__} to {hook}; expected a {expected.__name__}"
            )
        getattr(self, attr).add(item, plugin)
