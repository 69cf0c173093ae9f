"""Writing run outputs atomically: config.yaml, the final adapter/model, result files."""
from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from swift.version import __version__

CONFIG_NAME = "config.yaml"


def config_yaml(cfg: DictConfig, command: str | None = None) -> str:
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    head = f"# resolved config written by swift {__version__}" + (f" `swift {command}`" if command else "")
    head += f" on {stamp}\n# `swift infer --adapters DIR` (or `--model DIR`) reads it back.\n"
    return head + OmegaConf.to_yaml(cfg)


def write_text_atomic(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_config(cfg: DictConfig, directory: str, command: str | None = None) -> str:
    path = os.path.join(directory, CONFIG_NAME)
    write_text_atomic(path, config_yaml(cfg, command))
    return path


def publish_directory(directory: str, write: Callable[[str], None], marker: str = CONFIG_NAME) -> None:
    """Fill ``directory`` through a staging directory next to it.

    ``write(staging_dir)`` writes every file; each is then moved into ``directory`` with an atomic rename,
    ``marker`` last, so a reader that finds the marker finds the complete set.
    """
    os.makedirs(directory, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".staging-", dir=directory)
    try:
        write(staging)
        names = sorted(os.listdir(staging), key=lambda n: n == marker)
        for name in names:
            target = os.path.join(directory, name)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            os.replace(os.path.join(staging, name), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_saved_config(directory: str) -> dict[str, Any] | None:
    """The config.yaml a swift run saved in ``directory`` (or None)."""
    path = os.path.join(directory, CONFIG_NAME)
    if not os.path.isfile(path):
        return None
    loaded = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    return loaded if isinstance(loaded, dict) else None
