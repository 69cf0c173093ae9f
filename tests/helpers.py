"""Helpers shared by the tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def chat(user: str, assistant: str | None = None, system: str | None = None) -> dict:
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    if assistant is not None:
        messages.append({"role": "assistant", "content": assistant})
    return {"messages": messages}


def run_cli(*args: str, env: dict | None = None, timeout: float = 600, cwd: str | os.PathLike | None = None,
            input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``swift ARGS`` in a fresh process (the real console entry point)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "swift.cli.main", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=cwd, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"swift {' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
                             f"\n--- stderr\n{proc.stderr[-8000:]}")
    return proc
