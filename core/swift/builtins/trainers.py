"""Built-in training kinds: ``sft`` (supervised fine-tuning) and ``pt`` (continued pre-training)."""
from __future__ import annotations

from collections.abc import Callable

from swift.hookspecs import hookimpl
from swift.registry import TrainerKind


def _run(kind: str) -> Callable:
    def run(cfg):  # type: ignore[no-untyped-def]
        from swift.train.pipeline import run_training

        return run_training(cfg, kind, command=kind).output_dir

    return run


@hookimpl
def swift_register_trainers(register: Callable) -> None:
    register(TrainerKind("sft", _run("sft"), help="supervised fine-tuning on conversations (loss on replies)"))
    register(TrainerKind("pt", _run("pt"), help="continued pre-training on raw text (loss on every token)"))
