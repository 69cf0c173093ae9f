"""The tutorial's plugin, installed with pip, driven through the CLI: a custom nn.Module fine-tuned with LoRA."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.helpers import REPO, chat, run_cli, write_jsonl

EXAMPLE = REPO / "examples" / "swift-plugin-tinyrnn"
WITH_PLUGIN = {"SWIFT_PLUGINS": "text,peft,pt,tinyrnn"}


@pytest.fixture(scope="module")
def installed_example():
    """pip-install the example plugin into this environment (and remove it afterwards if it was not there)."""
    was_installed = importlib.util.find_spec("swift_plugin_tinyrnn") is not None
    if not was_installed:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(EXAMPLE)],
                       check=True, timeout=600)
    yield
    if not was_installed:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes", "swift-plugin-tinyrnn"],
                       check=True, timeout=600)


def yes_rows(n: int, seed: int) -> list[dict]:
    import random

    rng = random.Random(seed)
    words = "the a of to and in is it you that he was for on are with as his they be at one have this".split()
    return [chat(f"Is it {' '.join(rng.choice(words) for _ in range(3))}?", "yes") for _ in range(n)]


def test_example_plugin_is_discovered_and_fine_tuned(installed_example, tiny_model_dir, tmp_path):
    listing = json.loads(run_cli("plugins", "--json", env=WITH_PLUGIN).stdout)
    tinyrnn = next(p for p in listing if p["name"] == "tinyrnn")
    assert tinyrnn["distribution"] == "swift-plugin-tinyrnn"
    assert tinyrnn["registers"] == {"models": ["tinyrnn"], "commands": ["tinyrnn-create"]}

    model = tmp_path / "rnn"
    run_cli("tinyrnn-create", str(model), "--tokenizer", str(tiny_model_dir), "--hidden_size", "64", env=WITH_PLUGIN)
    assert json.loads((model / "config.json").read_text())["model_type"] == "tinyrnn"

    # Without the plugin allowed, nothing recognises the model: the test guard works.
    train = write_jsonl(tmp_path / "train.jsonl", yes_rows(64, 0))
    val = write_jsonl(tmp_path / "val.jsonl", yes_rows(10, 1))
    blocked = run_cli("sft", "--model", str(model), "--dataset", str(train), "--output_dir", str(tmp_path / "x"),
                      check=False)
    assert blocked.returncode == 2 and "no installed plugin recognises the model" in blocked.stderr
    assert "model_type 'tinyrnn'" in blocked.stderr

    before = tmp_path / "before.jsonl"
    run_cli("infer", "--model", str(model), "--val_dataset", str(val), "--result_path", str(before),
            "--max_new_tokens", "3", env=WITH_PLUGIN)
    assert all(json.loads(line)["response"] != "yes" for line in before.read_text().splitlines())

    out = tmp_path / "out"
    run_cli("sft", "--model", str(model), "--dataset", str(train), "--output_dir", str(out), "--num_train_epochs", "4",
            "--per_device_train_batch_size", "8", "--gradient_accumulation_steps", "1", "--learning_rate", "5e-3",
            "--logging_steps", "4", "--disable_tqdm", "true", env=WITH_PLUGIN)
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert sorted(adapter["target_modules"]) == ["in_proj", "out_proj"]  # the family's LoRA targets
    losses = [h["loss"] for h in json.loads((out / "trainer_state.json").read_text())["log_history"] if "loss" in h]
    assert losses[-1] < losses[0] / 3, losses

    after = tmp_path / "after.jsonl"
    proc = run_cli("infer", "--adapters", str(out), "--val_dataset", str(val), "--result_path", str(after),
                   "--max_new_tokens", "3", env=WITH_PLUGIN)
    answers = [json.loads(line)["response"] for line in after.read_text().splitlines()]
    assert answers.count("yes") >= 9, answers
    assert "exact match with labels" in proc.stderr
