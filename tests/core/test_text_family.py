"""The text family's safety rules: safetensors only, no remote code unless asked."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from swift.errors import SwiftError
from swift_plugin_text import load_text_model


def test_pickle_only_weights_are_refused(tiny_model_dir, tmp_path):
    from safetensors.torch import load_file

    target = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, target)
    torch.save(load_file(str(target / "model.safetensors")), target / "pytorch_model.bin")
    (target / "model.safetensors").unlink()
    with pytest.raises(SwiftError, match="no safetensors weights"):
        load_text_model(str(target), None, {"dtype": torch.float32, "trust_remote_code": False})


def test_remote_code_needs_consent(tiny_model_dir, tmp_path):
    target = tmp_path / "remote"
    shutil.copytree(tiny_model_dir, target)
    config = json.loads((target / "config.json").read_text())
    config.update(model_type="mystery", architectures=["MysteryForCausalLM"],
                  auto_map={"AutoConfig": "modeling_mystery.MysteryConfig",
                            "AutoModelForCausalLM": "modeling_mystery.MysteryForCausalLM"})
    (target / "config.json").write_text(json.dumps(config))
    (target / "modeling_mystery.py").write_text("raise SystemExit('remote code ran')\n")
    with pytest.raises(SwiftError, match="trust_remote_code is off"):
        load_text_model(str(target), None, {"dtype": torch.float32, "trust_remote_code": False})
