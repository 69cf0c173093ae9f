"""The contract between the swift host and its plugins: every hook, typed and documented.

A plugin is any module or object with functions marked ``@swift.hookimpl`` whose names match the
specs below. Installed plugins are found through the ``swift`` entry-point group; the host's own
built-ins go through the same hooks.

Registration hooks receive a ``register`` callback (one plugin may register several things) and are
``historic``: a plugin registered late still sees the call. Lifecycle hooks are called at a fixed moment
of a run with the objects of that moment.

All ``cfg`` arguments are the resolved :class:`omegaconf.DictConfig` of the run (see
``docs/configuration.md``); treat it as read-only unless a hook says otherwise.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from swift.registry import (
        Backend,
        Command,
        ConfigSection,
        DatasetFormat,
        ModelFamily,
        NamedDataset,
        Strategy,
        TemplateMeta,
        TrainerKind,
        Tuner,
    )

hookspec = pluggy.HookspecMarker("swift")
hookimpl = pluggy.HookimplMarker("swift")


# -------------------------------------------------------------------------------------------------
# Registration hooks
# -------------------------------------------------------------------------------------------------


@hookspec(historic=True)
def swift_register_config(register: Callable[[ConfigSection], None]) -> None:
    """Mount a plugin's configuration section into the config tree.

    :param register: call with a :class:`swift.registry.ConfigSection`: the dotted path it mounts at
        (e.g. ``"tuner.lora"``), a dataclass that is its schema, and the ms-swift style flat flags
        it answers to (e.g. ``{"lora_rank": "r"}``).

    Every field of the dataclass becomes a config key with its type, default and help (from
    ``field(metadata={"help": ...})``) shown in ``swift <cmd> --help``. Unknown keys under the section
    fail at once with the valid names listed.

    Use in plugins: mount exactly one section per concern, under the core section it belongs to
    (``tuner.<name>``, ``infer.<backend>``, ``train.<strategy>``, ``model.<family>``).
    """


@hookspec(historic=True)
def swift_register_models(register: Callable[[ModelFamily], None]) -> None:
    """Register model families (architectures and modalities).

    :param register: call with a :class:`swift.registry.ModelFamily` per family. A family says how to
        recognise a model directory (``config.json`` ``model_type`` / ``architectures``, or a predicate),
        its modality, how to load model and processor, its default template and default LoRA targets.

    When several families claim a model, the one with the highest ``priority`` wins; the generic text
    family has the lowest, so a specialised plugin (e.g. a vision-language one) takes over its models.
    """


@hookspec(historic=True)
def swift_register_templates(register: Callable[[TemplateMeta], None]) -> None:
    """Register chat templates for models whose tokenizer has none (or a wrong one).

    :param register: call with a :class:`swift.registry.TemplateMeta`: a name, a Jinja chat template in
        the Hugging Face format, the stop words that end a reply, and an optional default system prompt.

    The tokenizer's own chat template is preferred when present; a registered template is used when the
    user asks for it (``--template NAME``) or the model family names it as its default.
    """


@hookspec(historic=True)
def swift_register_tuners(register: Callable[[Tuner], None]) -> None:
    """Register tuners (``--tuner_type NAME``): LoRA, QLoRA, full, freeze, ReFT, ...

    :param register: call with a :class:`swift.registry.Tuner`. A tuner may act before the model loads
        (``before_load``: e.g. 4-bit quantisation adds a quantisation config to the load arguments),
        prepares the loaded model for training (``prepare``), and reloads its output for inference
        (``load``) or merges it (``merge``).
    """


@hookspec(historic=True)
def swift_register_strategies(register: Callable[[Strategy], None]) -> None:
    """Register parallel training strategies (``train.strategy``): ddp, fsdp, zero2, megatron, ...

    :param register: call with a :class:`swift.registry.Strategy`. A strategy decides how processes start
        (``launch``: e.g. re-exec the command under ``torchrun``) and how the trainer is configured
        (``trainer_args``: extra ``TrainingArguments`` such as a DeepSpeed config).
    """


@hookspec(historic=True)
def swift_register_backends(register: Callable[[Backend], None]) -> None:
    """Register inference backends (``--infer_backend NAME``): pt, vllm, sglang, lmdeploy, ...

    :param register: call with a :class:`swift.registry.Backend` whose ``create(cfg)`` returns an object
        implementing :class:`swift.infer.protocol.InferEngine`, plus its capabilities (``"stream"``,
        ``"lora"``, ``"multi_lora"``, ``"logprobs"``, ...).
    """


@hookspec(historic=True)
def swift_register_trainers(register: Callable[[TrainerKind], None]) -> None:
    """Register training kinds: sft, pt, dpo, kto, orpo, grpo, ...

    :param register: call with a :class:`swift.registry.TrainerKind` whose ``run(cfg)`` performs the whole
        training run for that kind and returns the output directory.
    """


@hookspec(historic=True)
def swift_register_datasets(register: Callable[[DatasetFormat | NamedDataset], None]) -> None:
    """Register dataset row formats and named datasets.

    :param register: call with a :class:`swift.registry.DatasetFormat` (how to recognise a row's format
        from its keys and convert it to the canonical ``messages`` form) or a
        :class:`swift.registry.NamedDataset` (``--dataset NAME`` resolves to rows through its loader).
    """


@hookspec(historic=True)
def swift_register_commands(register: Callable[[Command], None]) -> None:
    """Add ``swift`` subcommands.

    :param register: call with a :class:`swift.registry.Command`: its name, one-line help, and
        ``run(argv) -> exit status``.
    """


# -------------------------------------------------------------------------------------------------
# Lifecycle hooks (called during a run, in this order)
# -------------------------------------------------------------------------------------------------


@hookspec
def swift_pre_model_load(cfg: DictConfig, load_kwargs: dict[str, Any]) -> None:
    """Called just before the model family loads the model.

    :param cfg: the resolved config.
    :param load_kwargs: keyword arguments the family passes to its ``from_pretrained`` (``torch_dtype``,
        ``device_map``, ``attn_implementation``, ...). Mutate it to change how the model loads (e.g. add
        ``quantization_config``).
    """


@hookspec
def swift_post_model_load(cfg: DictConfig, model: Any, processor: Any) -> None:
    """Called after the model and its processor are loaded, before any tuner touches the model.

    :param cfg: the resolved config.
    :param model: the loaded ``torch.nn.Module``.
    :param processor: the tokenizer or multimodal processor.
    """


@hookspec
def swift_post_tuner_prepare(cfg: DictConfig, model: Any) -> None:
    """Called after the tuner prepared the model for training (adapters added, layers frozen).

    :param cfg: the resolved config.
    :param model: the model that will be trained (e.g. a ``peft.PeftModel``).
    """


@hookspec
def swift_add_callbacks(cfg: DictConfig) -> list[Any] | None:
    """Return ``transformers.TrainerCallback`` instances to add to the trainer.

    :param cfg: the resolved config.

    All results are collected (a list per plugin).
    """


@hookspec
def swift_post_train(cfg: DictConfig, output_dir: str, trainer: Any) -> None:
    """Called after training finished and the final output was saved.

    :param cfg: the resolved config.
    :param output_dir: the directory holding the saved adapter or model and ``config.yaml``.
    :param trainer: the trainer object that ran.
    """


@hookspec(firstresult=True)
def swift_suggest_package(kind: str, name: str) -> str | None:
    """Name the pip package that would provide ``name`` of ``kind`` when no installed plugin does.

    :param kind: ``"model family"``, ``"tuner"``, ``"strategy"``, ``"backend"``, ``"trainer"``, ...
    :param name: what the user asked for.

    Stops at the first non-None result. The host's default answer is ``swift-plugin-<name>``.
    """


@hookspec(firstresult=True)
def swift_run_command(name: str, argv: list[str]) -> int | None:
    """Run a ``swift`` subcommand and return its exit status; a place for cross-cutting concerns.

    :param name: the subcommand (``"sft"``, ``"infer"``, ...).
    :param argv: its arguments.

    The host implements this hook to run the command. Plugins wrap it for timing, profiling or advice
    with a new-style wrapper: ``@hookimpl(wrapper=True)``, ``status = yield`` runs the command (or the
    next wrapper), then return the status. Exceptions propagate through ``yield``.
    Stops at the first non-None result.
    """
