"""Built-in dataset row formats: messages, sharegpt, alpaca, query_response, text."""
from __future__ import annotations

from collections.abc import Callable

from swift.data.formats import BUILTIN_FORMATS
from swift.hookspecs import hookimpl


@hookimpl
def swift_register_datasets(register: Callable) -> None:
    for fmt in BUILTIN_FORMATS:
        register(fmt)
