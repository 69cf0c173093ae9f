"""Model resolution: local directories, the Hugging Face cache (offline), ModelScope."""
from __future__ import annotations

import shutil

import pytest

from swift.errors import SwiftError
from swift.hub import resolve_model_dir


def fake_hf_cache(root, repo_id: str, source_dir) -> str:
    """The layout huggingface_hub keeps: models--org--name/{refs/main, snapshots/<commit>/...}."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = root / "hub" / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(source_dir, repo / "snapshots" / commit)
    return str(repo / "snapshots" / commit)


def test_local_directory_is_used_as_is(tiny_model_dir):
    assert resolve_model_dir(str(tiny_model_dir)) == str(tiny_model_dir)


def test_hub_id_resolves_from_the_cache_offline(tiny_model_dir, tmp_path, monkeypatch):
    expected = fake_hf_cache(tmp_path, "swift-test/tiny", tiny_model_dir)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model_dir("swift-test/tiny", cache_dir=str(tmp_path / "hub")) == expected


def test_hub_id_trains_from_the_cache(tiny_model_dir, tmp_path):
    from tests.helpers import chat, run_cli, write_jsonl

    fake_hf_cache(tmp_path, "swift-test/tiny", tiny_model_dir)
    data = write_jsonl(tmp_path / "d.jsonl", [chat("a", "b")] * 4)
    run_cli("sft", "--model", "swift-test/tiny", "--dataset", str(data), "--output_dir", str(tmp_path / "o"),
            "--max_steps", "1", "--disable_tqdm", "true", env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)})
    assert (tmp_path / "o" / "adapter_model.safetensors").is_file()


def test_uncached_hub_id_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SwiftError, match="HF_HUB_OFFLINE=1 forbids downloading"):
        resolve_model_dir("nobody/nothing", cache_dir=str(tmp_path))


def test_modelscope_needs_its_package(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_modelscope(name, *args, **kwargs):
        if name == "modelscope" or name.startswith("modelscope."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_modelscope)
    with pytest.raises(SwiftError, match="pip install modelscope"):
        resolve_model_dir("qwen/Qwen2.5-0.5B-Instruct", use_hf=False)


def test_paths_that_look_local_never_reach_the_hub(tmp_path):
    with pytest.raises(SwiftError, match="model directory not found"):
        resolve_model_dir(str(tmp_path / "missing"))
    with pytest.raises(SwiftError, match="is a file"):
        (tmp_path / "f").write_text("x")
        resolve_model_dir(str(tmp_path / "f"))
