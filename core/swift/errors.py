"""User-facing errors.

Everything the user can fix (a bad flag, a malformed dataset row, a missing plugin) is raised as a
:class:`SwiftError`; the CLI prints its message without a traceback and exits with status 2.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class SwiftError(Exception):
    """An error the user can act on. ``str(err)`` is the whole message, hint included."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message}\n  hint: {hint}")


class ConfigError(SwiftError):
    """A configuration key or value is wrong."""


class DataError(SwiftError):
    """A dataset file or row is malformed."""


class PluginNotFoundError(SwiftError):
    """No installed plugin provides the requested model family, tuner, strategy, backend, ..."""


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The closest names to ``word`` among ``choices`` (case-insensitive), best first."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    # A key that is a suffix of a dotted path is a likely intent too ("lr" -> "train.lr").
    suffix = [c for c in choices if c.lower().endswith("." + word.lower())]
    out: list[str] = []
    for c in [*suffix, *(lowered[c] for c in close)]:
        if c not in out:
            out.append(c)
    return out[:n]


def format_choices(choices: Iterable[str], limit: int = 30) -> str:
    items = sorted(set(choices))
    if not items:
        return "(none)"
    text = ", ".join(items[:limit])
    return text + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")
