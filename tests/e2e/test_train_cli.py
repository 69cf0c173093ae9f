"""Training through the CLI on a tiny model: outputs, resume after SIGINT, tuners, packing, errors."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import chat, run_cli, write_jsonl


def echo_rows(n: int, seed: int = 0) -> list[dict]:
    import random

    rng = random.Random(seed)
    words = "the a of to and in is it you that he was for on are with as his they be at one have this".split()
    rows = []
    for _ in range(n):
        q = " ".join(rng.choice(words) for _ in range(rng.randint(2, 8)))
        rows.append(chat(f"Hello {q}", q))
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("data")
    write_jsonl(d / "train.jsonl", echo_rows(64))
    write_jsonl(d / "val.jsonl", echo_rows(8, seed=1))
    return d


def sft(model: Path, data: Path, out: Path, *extra: str, **kw) -> subprocess.CompletedProcess:
    return run_cli("sft", "--model", str(model), "--dataset", str(data / "train.jsonl"), "--output_dir", str(out),
                   "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "1",
                   "--learning_rate", "1e-3", "--disable_tqdm", "true", *extra, **kw)


def safetensors_state(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


def test_sft_lora_writes_a_complete_output(tiny_model_dir, data, tmp_path):
    out = tmp_path / "out"
    proc = sft(tiny_model_dir, data, out, "--val_dataset", str(data / "val.jsonl"), "--num_train_epochs", "1",
               "--save_steps", "8", "--save_total_limit", "1", "--logging_steps", "2", "--eval_steps", "8")
    for name in ("adapter_model.safetensors", "adapter_config.json", "config.yaml", "tokenizer.json",
                 "trainer_state.json", "metrics.json"):
        assert (out / name).is_file(), name
    assert [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-16"]  # rotation kept the newest
    assert (out / "checkpoint-16" / "config.yaml").is_file()
    assert not list(out.glob(".staging*"))
    assert list((out / "runs").iterdir()), "TensorBoard event files"
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["model"]["id"] == str(tiny_model_dir) and saved["tuner"]["type"] == "lora"
    assert saved["train"]["learning_rate"] == 1e-3 and saved["train"]["gradient_accumulation_steps"] == 1
    assert saved["data"]["packing"] is True  # padding-free batches are on for a Qwen2 model on CPU
    state = json.loads((out / "trainer_state.json").read_text())
    assert any("eval_loss" in h for h in state["log_history"])
    assert "tokens/s" in proc.stderr and "64 of 64 rows" in proc.stderr
    # A second run into the same directory refuses instead of mixing two runs.
    again = sft(tiny_model_dir, data, out, "--num_train_epochs", "1", check=False)
    assert again.returncode == 2 and "already holds a training run" in again.stderr


@pytest.mark.parametrize("order", ["random", "group_by_length"])
def test_interrupted_run_resumes_to_the_same_result(tiny_model_dir, data, tmp_path, order):
    """SIGINT saves a checkpoint and stops; resuming ends with the same weights and loss log (bit-exact)."""
    args = ["--num_train_epochs", "12", "--logging_steps", "1", "--save_steps", "20", "--lora_dropout", "0.1",
            "--group_by_length", str(order == "group_by_length").lower()]
    straight = tmp_path / "straight"
    sft(tiny_model_dir, data, straight, *args)

    interrupted = tmp_path / "interrupted"
    cmd = [sys.executable, "-m", "swift.cli.main", "sft", "--model", str(tiny_model_dir),
           "--dataset", str(data / "train.jsonl"), "--output_dir", str(interrupted),
           "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "1", "--learning_rate", "1e-3",
           "--disable_tqdm", "true", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not (interrupted / "checkpoint-20").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGINT, err
    assert "SIGINT received" in err and "resume with:" in err and "--resume_from_checkpoint" in err
    saved = sorted(int(p.name.split("-")[1]) for p in interrupted.glob("checkpoint-*"))
    assert saved[-1] > 20 and saved[-1] < 192, saved  # stopped mid-run, at the step after the signal
    assert not (interrupted / "adapter_model.safetensors").exists()

    sft(tiny_model_dir, data, interrupted, *args, "--resume_from_checkpoint", "last")
    a = safetensors_state(straight / "adapter_model.safetensors")
    b = safetensors_state(interrupted / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert (a[key] == b[key]).all(), key
    logs_a = [h["loss"] for h in json.loads((straight / "trainer_state.json").read_text())["log_history"] if "loss" in h]
    logs_b = [h["loss"] for h in json.loads((interrupted / "trainer_state.json").read_text())["log_history"] if "loss" in h]
    assert len(logs_a) == 192 and logs_a == logs_b


@pytest.mark.parametrize("tuner, extra", [("full", []), ("freeze", ["--freeze_trainable_layers", "1"])])
def test_full_and_freeze_save_a_loadable_model(tiny_model_dir, data, tmp_path, tuner, extra):
    from safetensors.torch import load_file

    out = tmp_path / tuner
    sft(tiny_model_dir, data, out, "--tuner_type", tuner, "--num_train_epochs", "1", "--learning_rate", "1e-2", *extra)
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    before = load_file(str(tiny_model_dir / "model.safetensors"))
    after = load_file(str(out / "model.safetensors"))
    changed = {k for k in before if not (before[k] == after[k]).all()}
    if tuner == "full":
        assert any("layers.0." in k for k in changed) and any("layers.1." in k for k in changed)
    else:  # only the last layer trained
        assert changed and all(k.startswith("model.layers.1.") for k in changed), changed
    result = tmp_path / "answers.jsonl"
    proc = run_cli("infer", "--model", str(out), "--max_new_tokens", "4", "--val_dataset", str(data / "val.jsonl"),
                   "--result_path", str(result))
    assert f"defaults from {out}/config.yaml" in proc.stderr
    answers = [json.loads(line) for line in result.read_text().splitlines()]
    assert len(answers) == 8 and all("response" in a and "labels" in a for a in answers)


def test_pt_trains_on_raw_text(tiny_model_dir, tmp_path):
    write_jsonl(tmp_path / "text.jsonl", [{"text": "the a of to and in is it you that " * 3}] * 16)
    out = tmp_path / "pt"
    proc = run_cli("pt", "--model", str(tiny_model_dir), "--dataset", str(tmp_path / "text.jsonl"), "--output_dir",
                   str(out), "--tuner_type", "full", "--num_train_epochs", "4", "--per_device_train_batch_size", "4",
                   "--gradient_accumulation_steps", "1",
                   "--learning_rate", "1e-2", "--logging_steps", "1", "--disable_tqdm", "true")
    losses = [h["loss"] for h in json.loads((out / "trainer_state.json").read_text())["log_history"] if "loss" in h]
    assert losses[-1] < losses[0] * 0.8, losses
    assert "# resolved config written by swift" in (out / "config.yaml").read_text() and "`swift pt`" in \
        (out / "config.yaml").read_text()
    assert proc.returncode == 0


def test_packing_trains_the_same_loss_as_padding(tiny_model_dir, data, tmp_path):
    """Packed rows keep attention within each row: the first step's loss equals the padded one."""
    losses = {}
    for packing in ("false", "true"):
        out = tmp_path / f"pack-{packing}"
        sft(tiny_model_dir, data, out, "--max_steps", "1", "--logging_steps", "1", "--packing", packing,
            "--lora_dropout", "0", "--group_by_length", "false")
        state = json.loads((out / "trainer_state.json").read_text())
        losses[packing] = state["log_history"][0]["loss"]
    assert losses["true"] == pytest.approx(losses["false"], rel=1e-4)


def test_bad_row_fails_with_file_and_line_before_loading_the_model(tiny_model_dir, tmp_path):
    bad = tmp_path / "bad.jsonl"
    write_jsonl(bad, [chat("a", "b"), {"messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]}])
    proc = run_cli("sft", "--model", str(tmp_path / "no-such-model"), "--dataset", str(bad), "--output_dir",
                   str(tmp_path / "o"), check=False)
    assert proc.returncode == 2
    assert f"{bad}:2: messages[1] has role 'bot'" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_model_directory(tmp_path):
    write_jsonl(tmp_path / "d.jsonl", [chat("a", "b")])
    proc = run_cli("sft", "--model", "./nope", "--dataset", str(tmp_path / "d.jsonl"), "--output_dir",
                   str(tmp_path / "o"), check=False, cwd=tmp_path)
    assert proc.returncode == 2 and "model directory not found: ./nope" in proc.stderr


def test_offline_hub_id_is_refused_quickly(tmp_path):
    write_jsonl(tmp_path / "d.jsonl", [chat("a", "b")])
    start = time.time()
    proc = run_cli("sft", "--model", "someone/not-cached-model", "--dataset", str(tmp_path / "d.jsonl"),
                   "--output_dir", str(tmp_path / "o"), check=False, env={"HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2 and "HF_HUB_OFFLINE=1 forbids downloading" in proc.stderr
    assert time.time() - start < 60


def test_local_model_needs_no_network(tiny_model_dir, data, tmp_path):
    """A local directory is used as is: with the hub unreachable and not marked offline, training still runs."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env.update({"HF_ENDPOINT": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"})
    out = tmp_path / "o"
    start = time.time()
    subprocess.run([sys.executable, "-m", "swift.cli.main", "sft", "--model", str(tiny_model_dir), "--dataset",
                    str(data / "train.jsonl"), "--output_dir", str(out), "--max_steps", "2", "--disable_tqdm", "true",
                    "--per_device_train_batch_size", "4"], env=env, check=True, capture_output=True, timeout=300)
    assert (out / "adapter_model.safetensors").is_file()
    assert time.time() - start < 120


def test_sigterm_saves_a_checkpoint_and_exits(tiny_model_dir, data, tmp_path):
    out = tmp_path / "term"
    cmd = [sys.executable, "-m", "swift.cli.main", "sft", "--model", str(tiny_model_dir), "--dataset",
           str(data / "train.jsonl"), "--output_dir", str(out), "--per_device_train_batch_size", "4",
           "--gradient_accumulation_steps", "1", "--num_train_epochs", "50", "--save_steps", "5",
           "--disable_tqdm", "true"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not (out / "checkpoint-5").exists():
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.02)
    proc.terminate()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err
    last = max(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*"))
    assert (out / f"checkpoint-{last}" / "trainer_state.json").is_file() and last < 800
    assert f"--resume_from_checkpoint {out}/checkpoint-{last}" in err


def test_parallel_encoding_matches_serial(tokenizer, tmp_path):
    from swift.data.encode import encode_rows
    from swift.data.loader import Row
    from swift.template import Template
    from swift_plugin_text import CHATML

    rows = [Row(r, f"f:{i}") for i, r in enumerate(echo_rows(300))]
    serial, _ = encode_rows(rows, Template(tokenizer, CHATML), "sft", num_proc=1, use_cache=False)
    parallel, stats = encode_rows(rows, Template(tokenizer, CHATML), "sft", num_proc=2, use_cache=False)
    assert stats.kept == 300 and parallel["input_ids"] == serial["input_ids"] and parallel["labels"] == serial["labels"]
