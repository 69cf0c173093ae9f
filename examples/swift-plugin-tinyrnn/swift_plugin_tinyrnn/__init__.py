"""An example swift plugin: a model architecture that transformers does not know.

It registers three things through swift's hooks:

* the model family ``tinyrnn``, which claims any model directory whose ``config.json`` says
  ``"model_type": "tinyrnn"`` and loads it with the code in :mod:`swift_plugin_tinyrnn.model`;
* its default LoRA targets (the block's linear layers);
* a command, ``swift tinyrnn-create``, that writes a randomly initialised model directory.
"""
from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any

from swift import hookimpl
from swift.errors import SwiftError
from swift.registry import Command, LoadedModel, ModelFamily

MODEL_TYPE = "tinyrnn"


def load(model_dir: str, cfg: Any, load_kwargs: dict[str, Any]) -> LoadedModel:
    """Build the module from config.json, load its safetensors weights, and the tokenizer beside them."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from swift_plugin_tinyrnn.model import TinyRNNConfig, TinyRNNForCausalLM

    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as fh:
        config = TinyRNNConfig.from_dict(json.load(fh))
    model = TinyRNNForCausalLM(config)
    weights = os.path.join(model_dir, "model.safetensors")
    if not os.path.isfile(weights):
        raise SwiftError(f"{model_dir}: model.safetensors is missing")
    model.load_state_dict(load_file(weights))
    dtype = load_kwargs.get("dtype")
    if isinstance(dtype, torch.dtype):
        model = model.to(dtype)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return LoadedModel(model=model, processor=tokenizer, model_dir=model_dir)


def create_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="swift tinyrnn-create",
                                     description="Write a randomly initialised TinyRNN model directory.")
    parser.add_argument("output_dir")
    parser.add_argument("--tokenizer", required=True, help="directory holding the tokenizer to use")
    parser.add_argument("--hidden_size", type=int, default=128)
    parser.add_argument("--num_layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from transformers import AutoTokenizer

    from swift_plugin_tinyrnn.model import save_random_model

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    save_random_model(args.output_dir, tokenizer, hidden_size=args.hidden_size, num_layers=args.num_layers,
                      seed=args.seed)
    print(f"wrote a random TinyRNN to {args.output_dir}")
    return 0


@hookimpl
def swift_register_models(register: Callable[[ModelFamily], None]) -> None:
    register(ModelFamily(
        MODEL_TYPE, load, modality="text", model_types=(MODEL_TYPE,), priority=10,
        template="chatml",  # used when the tokenizer has no chat template of its own
        lora_target_modules=["in_proj", "out_proj"],
        supports_packing=False,  # the GRU would carry state from one packed row into the next
        help="TinyRNN: a GRU language model (example plugin)",
    ))


@hookimpl
def swift_register_commands(register: Callable[[Command], None]) -> None:
    register(Command("tinyrnn-create", create_command, help="write a random TinyRNN model directory"))
