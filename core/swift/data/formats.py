"""The built-in row formats and their conversion to the canonical form.

Canonical rows are ``{"messages": [{"role": ..., "content": ...}, ...]}`` for conversations and
``{"text": ...}`` for raw text (``swift pt``). Multimodal fields (``images``, ``audios``, ``videos``),
``tools`` and ``objects`` pass through unchanged for the plugins that use them.
Converters raise ``ValueError`` with what is wrong; the loader adds the file and line.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from swift.registry import DatasetFormat

ROLES = ("system", "user", "assistant", "tool")
PASSTHROUGH = ("images", "audios", "videos", "tools", "objects")

SHAREGPT_ROLES = {
    "system": "system",
    "human": "user", "user": "user",
    "gpt": "assistant", "assistant": "assistant", "model": "assistant", "bot": "assistant",
    "function_call": "assistant",
    "observation": "tool", "tool": "tool", "function": "tool",
}


def _passthrough(row: Mapping[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    for key in PASSTHROUGH:
        if row.get(key) is not None:
            out[key] = row[key]
    return out


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    return value


def _content(value: Any, what: str) -> Any:
    """Message content: a string, or a list of typed parts (text parts are joined for text models)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, Mapping) and "type" in p for p in value):
        if all(p["type"] == "text" for p in value):
            return "".join(_text(p.get("text"), f"{what} text part") for p in value)
        return [dict(p) for p in value]
    if value is None:
        raise ValueError(f"{what} is missing or null")
    raise ValueError(f"{what} must be a string or a list of {{type, ...}} parts, got {type(value).__name__}")


def _history(row: Mapping[str, Any]) -> list[dict[str, str]]:
    history = row.get("history") or []
    if not isinstance(history, list):
        raise ValueError(f"'history' must be a list of [query, response] pairs, got {type(history).__name__}")
    out = []
    for i, pair in enumerate(history):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise ValueError(f"history[{i}] must be a [query, response] pair")
        out.append({"role": "user", "content": _text(pair[0], f"history[{i}][0]")})
        out.append({"role": "assistant", "content": _text(pair[1], f"history[{i}][1]")})
    return out


def _system(row: Mapping[str, Any]) -> list[dict[str, str]]:
    system = row.get("system")
    if system in (None, ""):
        return []
    return [{"role": "system", "content": _text(system, "'system'")}]


def convert_messages(row: Mapping[str, Any]) -> dict[str, Any]:
    messages = row["messages"]
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list of {role, content} objects")
    out = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping):
            raise ValueError(f"messages[{i}] must be an object with 'role' and 'content', got {type(msg).__name__}")
        role = msg.get("role")
        if role not in ROLES:
            raise ValueError(f"messages[{i}] has role {role!r}; allowed: {', '.join(ROLES)}")
        if role == "system" and i != 0:
            raise ValueError(f"messages[{i}] is a system message; only the first message may be one")
        clean = {k: v for k, v in msg.items() if k != "content"}
        if role == "assistant" and msg.get("content") is None and msg.get("tool_calls"):
            clean["content"] = ""
        else:
            clean["content"] = _content(msg.get("content"), f"messages[{i}].content")
        out.append(clean)
    if isinstance(row.get("system"), str) and out[0]["role"] != "system":
        out = _system(row) + out
    return _passthrough(row, {"messages": out})


def convert_sharegpt(row: Mapping[str, Any]) -> dict[str, Any]:
    turns = row["conversations"]
    if not isinstance(turns, list) or not turns:
        raise ValueError("'conversations' must be a non-empty list of {from, value} objects")
    out = _system(row)
    for i, turn in enumerate(turns):
        if not isinstance(turn, Mapping) or "from" not in turn or "value" not in turn:
            raise ValueError(f"conversations[{i}] must be an object with 'from' and 'value'")
        role = SHAREGPT_ROLES.get(str(turn["from"]).lower())
        if role is None:
            raise ValueError(f"conversations[{i}] has from={turn['from']!r}; allowed: "
                             f"{', '.join(sorted(SHAREGPT_ROLES))}")
        if role == "system" and out:
            raise ValueError(f"conversations[{i}] is a system turn; only the first turn may be one")
        out.append({"role": role, "content": _text(turn["value"], f"conversations[{i}].value")})
    return _passthrough(row, {"messages": out})


def convert_alpaca(row: Mapping[str, Any]) -> dict[str, Any]:
    instruction = _text(row["instruction"], "'instruction'")
    extra = row.get("input")
    query = instruction if extra in (None, "") else f"{instruction}\n{_text(extra, chr(39) + 'input' + chr(39))}"
    messages = _system(row) + _history(row) + [{"role": "user", "content": query}]
    output = row.get("output")
    if output is not None:
        messages.append({"role": "assistant", "content": _text(output, "'output'")})
    return _passthrough(row, {"messages": messages})


def convert_query_response(row: Mapping[str, Any]) -> dict[str, Any]:
    messages = _system(row) + _history(row) + [{"role": "user", "content": _text(row["query"], "'query'")}]
    response = row.get("response")
    if response is not None:
        messages.append({"role": "assistant", "content": _text(response, "'response'")})
    return _passthrough(row, {"messages": messages})


def convert_text(row: Mapping[str, Any]) -> dict[str, Any]:
    return _passthrough(row, {"text": _text(row["text"], "'text'")})


BUILTIN_FORMATS = (
    DatasetFormat("messages", lambda r: "messages" in r, convert_messages, priority=40,
                  help="{messages: [{role, content}, ...]} (OpenAI chat)"),
    DatasetFormat("sharegpt", lambda r: "conversations" in r, convert_sharegpt, priority=30,
                  help="{conversations: [{from, value}, ...], system?}"),
    DatasetFormat("alpaca", lambda r: "instruction" in r, convert_alpaca, priority=20,
                  help="{instruction, input?, output, system?, history?}"),
    DatasetFormat("query_response", lambda r: "query" in r, convert_query_response, priority=10,
                  help="{query, response, system?, history?}"),
    DatasetFormat("text", lambda r: "text" in r, convert_text, priority=0,
                  help="{text} (raw text for swift pt)"),
)
