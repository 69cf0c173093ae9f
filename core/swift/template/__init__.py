"""Chat templates: turn conversations into token ids and a label mask.

Every template is a Hugging Face Jinja chat template: the tokenizer's own when it has one, else a
registered :class:`swift.registry.TemplateMeta`. Training encodes a conversation by rendering it turn by
turn: the text each assistant turn adds (its content and end-of-turn marker) is trained on, the rest
(system, user, tool turns, role headers) is not. This works for any template that renders a
conversation's prefix as a prefix of the whole, which is what chat templates are built for; one that
does not is reported with a suggestion.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from swift.errors import SwiftError, format_choices

IGNORE_INDEX = -100

#: end-of-turn tokens that stop generation when the vocabulary has them
COMMON_STOP_WORDS = ("<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<|end|>", "</s>", "<end_of_turn>")


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False


@dataclass
class EncodeStats:
    rows: int = 0
    kept: int = 0
    deleted_too_long: int = 0
    truncated: int = 0
    no_target: int = 0
    tokens: int = 0
    target_tokens: int = 0
    max_len: int = 0
    from_cache: bool = False


class Template:
    """Encodes conversations for one tokenizer with one chat template."""

    def __init__(self, tokenizer: Any, chat_template: str, name: str | None = None,
                 stop_words: Sequence[str] = (), default_system: str | None = None,
                 max_length: int | None = None, truncation_strategy: str = "delete",
                 loss_on: str = "assistant"):
        self.tokenizer = tokenizer
        self.chat_template = chat_template
        self.name = name
        self.default_system = default_system
        self.max_length = max_length
        self.truncation_strategy = truncation_strategy
        self.loss_on = loss_on
        vocab = tokenizer.get_vocab()
        words = [*stop_words, *(w for w in COMMON_STOP_WORDS if w in vocab)]
        ids = {tokenizer.convert_tokens_to_ids(w) for w in words if w in vocab}
        if tokenizer.eos_token_id is not None:
            ids.add(tokenizer.eos_token_id)
        self.stop_token_ids = sorted(i for i in ids if i is not None)
        self.stop_words = [w for w in dict.fromkeys([*stop_words, *(w for w in COMMON_STOP_WORDS if w in vocab)])]

    # -- rendering --------------------------------------------------------------------------------

    def _with_system(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.default_system and (not messages or messages[0]["role"] != "system"):
            return [{"role": "system", "content": self.default_system}, *messages]
        return messages

    def render(self, messages: list[dict[str, Any]], add_generation_prompt: bool = False,
               tools: list[dict[str, Any]] | None = None) -> str:
        try:
            return self.tokenizer.apply_chat_template(
                messages, chat_template=self.chat_template, tokenize=False,
                add_generation_prompt=add_generation_prompt, tools=tools,
            )
        except Exception as exc:  # jinja raises TemplateError / its own raise_exception messages
            raise SwiftError(f"the chat template{f' {self.name!r}' if self.name else ''} cannot render "
                             f"this conversation: {exc}") from None

    def _tokens(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []

    # -- encoding ---------------------------------------------------------------------------------

    def encode_prompt(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> list[int]:
        """Token ids of a conversation followed by the assistant's generation prompt (for inference)."""
        messages = self._with_system(list(messages))
        ids = self._tokens(self.render(messages, add_generation_prompt=True, tools=tools))
        if self.max_length and len(ids) > self.max_length:
            ids = ids[-self.max_length:]  # keep the most recent turns
        return ids

    def encode_chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Encoded:
        """Input ids and labels of a conversation; labels are -100 outside trained assistant turns."""
        messages = self._with_system(list(messages))
        assistant_turns = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
        if not assistant_turns:
            raise ValueError("the conversation has no assistant message to train on")
        trained = set(assistant_turns if self.loss_on != "last" else assistant_turns[-1:])
        if self.loss_on == "all":
            text = self.render(messages, tools=tools)
            ids = self._tokens(text)
            return self._truncate(ids, list(ids))

        input_ids: list[int] = []
        labels: list[int] = []
        done = ""  # text encoded so far
        for i in assistant_turns:
            prefix = self.render(messages[:i], add_generation_prompt=True, tools=tools)
            full = self.render(messages[: i + 1], tools=tools)
            if not prefix.startswith(done) or not full.startswith(prefix):
                raise SwiftError(
                    f"the chat template{f' {self.name!r}' if self.name else ''} does not render turn {i} as a "
                    "continuation of the earlier turns, so the assistant tokens cannot be located",
                    hint="pass a registered template that renders turns incrementally, e.g. --template chatml",
                )
            context = self._tokens(prefix[len(done):])
            reply = self._tokens(full[len(prefix):])
            input_ids += context + reply
            labels += [IGNORE_INDEX] * len(context) + (reply if i in trained else [IGNORE_INDEX] * len(reply))
            done = full
        rest = self.render(messages, tools=tools)[len(done):]
        tail = self._tokens(rest)
        input_ids += tail
        labels += [IGNORE_INDEX] * len(tail)
        return self._truncate(input_ids, labels)

    def encode_text(self, text: str) -> Encoded:
        """Raw text for pre-training: every token is a target, and the text ends with EOS."""
        ids = self._tokens(text)
        if self.tokenizer.eos_token_id is not None:
            ids.append(self.tokenizer.eos_token_id)
        return self._truncate(ids, list(ids))

    def encode(self, row: dict[str, Any], kind: str) -> Encoded:
        if "text" in row and "messages" not in row:
            if kind == "sft":
                raise ValueError("the row has only 'text'; sft needs a conversation (use `swift pt` for raw text)")
            return self.encode_text(row["text"])
        if kind == "pt":
            ids = self._tokens(self.render(self._with_system(row["messages"]), tools=row.get("tools")))
            return self._truncate(ids, list(ids))
        return self.encode_chat(row["messages"], tools=row.get("tools"))

    def _truncate(self, input_ids: list[int], labels: list[int]) -> Encoded:
        limit = self.max_length
        if not limit or len(input_ids) <= limit:
            return Encoded(input_ids, labels)
        if self.truncation_strategy == "delete":
            return Encoded([], [], truncated=True)
        if self.truncation_strategy == "left":
            return Encoded(input_ids[-limit:], labels[-limit:], truncated=True)
        return Encoded(input_ids[:limit], labels[:limit], truncated=True)

    # -- identity ---------------------------------------------------------------------------------

    def fingerprint(self) -> str:
        """Changes whenever encoding could change: template, tokenizer, truncation, loss settings."""
        tok = self.tokenizer
        backend = getattr(tok, "backend_tokenizer", None)
        vocab = backend.to_str() if backend is not None else json.dumps(sorted(tok.get_vocab().items()))
        payload = json.dumps([
            self.chat_template, self.default_system, self.max_length, self.truncation_strategy, self.loss_on,
            hashlib.sha256(vocab.encode()).hexdigest(), tok.eos_token, tok.pad_token,
            sorted(map(str, tok.all_special_tokens)),
        ])
        return hashlib.sha256(payload.encode()).hexdigest()


def build_template(cfg: Any, tokenizer: Any, family: Any, registries: Any, required: bool = True) -> Template | None:
    """The run's template: ``--template NAME``, else the tokenizer's own, else the family's default."""
    tcfg = cfg.template
    meta = None
    if tcfg.name:
        meta = registries.templates.get(tcfg.name)
        chat_template, name = meta.chat_template, meta.name
    elif getattr(tokenizer, "chat_template", None):
        chat_template, name = tokenizer.chat_template, None
    elif family is not None and family.template:
        meta = registries.templates.get(family.template)
        chat_template, name = meta.chat_template, meta.name
    elif not required:
        chat_template, name = "{% for m in messages %}{{ m['content'] }}{% endfor %}", None
    else:
        raise SwiftError(
            "the tokenizer has no chat template and its model family names none",
            hint=f"pass --template NAME; registered: {format_choices(registries.templates.names())}",
        )
    return Template(
        tokenizer, chat_template, name=name,
        stop_words=tuple(meta.stop_words) if meta else (),
        default_system=tcfg.system if tcfg.system is not None else (meta.default_system if meta else None),
        max_length=tcfg.max_length, truncation_strategy=tcfg.truncation_strategy, loss_on=tcfg.loss_on,
    )


__all__ = ["IGNORE_INDEX", "Encoded", "EncodeStats", "Template", "build_template"]
