"""The default strategy: train in this one process (CPU or one GPU)."""
from __future__ import annotations

from collections.abc import Callable

from swift.hookspecs import hookimpl
from swift.registry import Strategy


@hookimpl
def swift_register_strategies(register: Callable) -> None:
    register(Strategy("single", help="one process on CPU or one GPU (the default)"))
