"""Built-in commands: ``swift sft``, ``swift pt``, ``swift infer``, ``swift plugins``."""
from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Mapping
from typing import Any

from swift.hookspecs import hookimpl
from swift.registry import Command

TRAIN_SECTIONS = ("model", "template", "data", "tuner", "train")
INFER_SECTIONS = ("model", "template", "tuner", "infer", "data")


def parse_config(argv: list[str], command: str, summary: str, sections: tuple[str, ...],
                 extra_flags: Mapping[str, bool] = {}, base: dict[str, Any] | None = None) -> Any:
    """Parse argv into a config; prints help or the config and returns None when asked to."""
    from swift.config import build_schema, compose, parse_argv, to_yaml
    from swift.config.help import command_help

    schema = build_schema()
    parsed = parse_argv(argv, schema, extra_flags)
    if parsed.help:
        print(command_help(schema, command, summary, sections))
        return None
    cfg = compose(schema, parsed.files, parsed.overrides, base=base)
    if parsed.print_config:
        print(to_yaml(cfg), end="")
        return None
    return cfg


def train_command(kind: str, summary: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        from swift.plugins import get_registries
        from swift.train.pipeline import TrainingInterrupted

        cfg = parse_config(argv, kind, summary, TRAIN_SECTIONS)
        if cfg is None:
            return 0
        registries = get_registries()
        strategy = registries.strategies.get(cfg.train.strategy)
        if strategy.launch is not None:
            status = strategy.launch(cfg, [kind, *argv])
            if status is not None:
                return status
        trainer = registries.trainers.get(kind)
        try:
            trainer.run(cfg)
        except TrainingInterrupted as exc:
            again = list(argv)
            if "--resume_from_checkpoint" in again:
                i = again.index("--resume_from_checkpoint")
                del again[i:i + 2]
            again = [a for a in again if not a.startswith(("--resume_from_checkpoint=", "train.resume_from_checkpoint="))]
            print(f"swift {kind}: {exc.message}", file=sys.stderr)
            print("resume with:\n  " + shlex.join(["swift", kind, *again, "--resume_from_checkpoint", exc.checkpoint]),
                  file=sys.stderr)
            return exc.exit_status
        return 0

    return run


def infer_run(argv: list[str]) -> int:
    from swift.infer.cli import run_infer

    return run_infer(argv)


def plugins_run(argv: list[str]) -> int:
    from swift.plugins import get_registries, plugin_infos

    if argv and argv[0] in ("-h", "--help"):
        print("usage: swift plugins [--json]\n\nList the loaded plugins, their versions, hooks and what each "
              "registers.\nSWIFT_PLUGINS=a,b limits which installed plugins load (empty: none).")
        return 0
    unknown = [a for a in argv if a != "--json"]
    if unknown:
        from swift.errors import ConfigError

        raise ConfigError(f"swift plugins: unknown argument {unknown[0]!r}", hint="usage: swift plugins [--json]")
    registries = get_registries()
    infos = plugin_infos()
    provides: dict[str, dict[str, list[str]]] = {i.name: {} for i in infos}
    kinds = {"config": "config", "models": "models", "templates": "templates", "tuners": "tuners",
             "strategies": "strategies", "backends": "backends", "trainers": "trainers",
             "dataset_formats": "dataset_formats", "datasets": "datasets", "commands": "commands"}
    for attr, label in kinds.items():
        for item in getattr(registries, attr):
            provides.setdefault(item.plugin, {}).setdefault(label, []).append(item.name)
    rows = [{
        "name": i.name, "version": i.version, "distribution": i.distribution, "builtin": i.builtin,
        "module": i.module, "hooks": i.hooks, "registers": provides.get(i.name, {}),
    } for i in infos]
    if "--json" in argv:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'plugin':<14} {'version':<9} {'package':<22} registers")
    for r in rows:
        what = "; ".join(f"{k}: {', '.join(v)}" for k, v in r["registers"].items()) or "(lifecycle hooks only)"
        package = r["distribution"] or ("swift-core (built-in)" if r["builtin"] else r["module"])
        print(f"{r['name']:<14} {r['version'] or '-':<9} {package:<22} {what}")
    return 0


@hookimpl
def swift_register_commands(register: Callable) -> None:
    register(Command("sft", train_command("sft", "Supervised fine-tuning: train on conversations, loss on replies."),
                     help="supervised fine-tuning (LoRA, full, freeze, ...)", sections=TRAIN_SECTIONS))
    register(Command("pt", train_command("pt", "Continued pre-training: loss on every token of raw text."),
                     help="continued pre-training on raw text", sections=TRAIN_SECTIONS))
    register(Command("infer", infer_run, help="chat with a model or answer a dataset (--val_dataset)",
                     sections=INFER_SECTIONS))
    register(Command("plugins", plugins_run, help="list loaded plugins and what they register (--json)"))


@hookimpl
def swift_run_command(name: str, argv: list[str]) -> int:
    from swift.plugins import get_registries

    return get_registries().commands.get(name).run(argv)
