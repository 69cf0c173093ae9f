"""Find a model's files: a local directory as is, else a hub download (resumable).

A local directory never touches the network. With ``HF_HUB_OFFLINE=1`` a hub id is looked up in the
local cache only. Downloads take safetensors weights and skip pickle formats (``*.bin``, ``*.pt``,
``*.pth``): weights load from safetensors only.
"""
from __future__ import annotations

import os
from typing import Any

from swift.errors import SwiftError

PICKLE_PATTERNS = ["*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.msgpack", "*.h5"]


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def resolve_model_dir(model_id: str, revision: str | None = None, use_hf: bool = True,
                      token: str | None = None, cache_dir: str | None = None) -> str:
    """A local directory holding the model's files."""
    if not model_id:
        raise SwiftError("no model given", hint="pass --model DIR_OR_HUB_ID")
    expanded = os.path.expanduser(model_id)
    if os.path.isdir(expanded):
        return os.path.abspath(expanded)
    if os.path.exists(expanded):
        raise SwiftError(f"--model {model_id} is a file; it must be a model directory or a hub id")
    if model_id.startswith((".", "/", "~")) or model_id.count("/") > 1:
        raise SwiftError(f"model directory not found: {model_id}")
    if use_hf:
        return _from_hf(model_id, revision, token, cache_dir)
    return _from_modelscope(model_id, revision, token, cache_dir)


def _from_hf(model_id: str, revision: str | None, token: str | None, cache_dir: str | None) -> str:
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        raise SwiftError("downloading from the hub needs huggingface_hub", hint="pip install huggingface_hub") from None
    kwargs: dict[str, Any] = {"repo_id": model_id, "revision": revision, "token": token, "cache_dir": cache_dir}
    if offline():
        try:
            return snapshot_download(**kwargs, local_files_only=True)
        except LocalEntryNotFoundError:
            raise SwiftError(
                f"'{model_id}' is not a local directory and is not in the hub cache, and HF_HUB_OFFLINE=1 "
                "forbids downloading it",
                hint="pass a local directory, or unset HF_HUB_OFFLINE",
            ) from None
    try:
        # snapshot_download resumes partial files and skips complete ones.
        return snapshot_download(**kwargs, ignore_patterns=PICKLE_PATTERNS)
    except Exception as exc:  # network errors, 401/404 from the hub
        raise SwiftError(f"cannot download '{model_id}' from the Hugging Face hub: {type(exc).__name__}: {exc}",
                         hint="check the id and your network, or pass a local directory") from None


def _from_modelscope(model_id: str, revision: str | None, token: str | None, cache_dir: str | None) -> str:
    try:
        from modelscope import snapshot_download
    except ImportError:
        raise SwiftError("--use_hf false downloads from ModelScope, which is not installed",
                         hint="pip install modelscope, or download from Hugging Face with --use_hf true") from None
    if token:
        from modelscope.hub.api import HubApi

        HubApi().login(token)
    try:
        return snapshot_download(model_id, revision=revision, cache_dir=cache_dir, ignore_patterns=PICKLE_PATTERNS)
    except Exception as exc:
        raise SwiftError(f"cannot download '{model_id}' from ModelScope: {type(exc).__name__}: {exc}") from None
