"""The InferEngine protocol: one request/response contract for every inference backend.

Offline inference (``swift infer``), the OpenAI-compatible server, evaluation and RL rollouts all talk to
backends through it. Responses are the official ``openai`` types (``ChatCompletion`` and
``ChatCompletionChunk``), so what an engine returns is exactly what the server sends.

An engine offers three ways in:

* ``infer(requests, config)``: a batch, synchronously; with ``config.stream`` each item is an iterator
  of chunks;
* ``infer_async(request, config)``: one request from an event loop; with ``config.stream`` an async
  iterator of chunks;
* ``close()``: release the model.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion, ChatCompletionChunk


@dataclass
class InferRequest:
    """One conversation to answer."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    images: list[Any] = field(default_factory=list)
    audios: list[Any] = field(default_factory=list)
    videos: list[Any] = field(default_factory=list)


@dataclass
class RequestConfig:
    """Sampling and output options (the OpenAI request fields an engine must honour or reject)."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    stream: bool = False
    n: int = 1
    logprobs: bool = False
    top_logprobs: int | None = None


@runtime_checkable
class InferEngine(Protocol):
    """What a backend's ``create(cfg)`` returns."""

    #: the name the model is served under
    model_name: str
    #: what this engine supports: "stream", "lora", "multi_lora", "logprobs", "batch", ...
    capabilities: frozenset[str]

    def infer(self, requests: Sequence[InferRequest], config: RequestConfig | None = None, *,
              adapter: str | None = None, use_tqdm: bool = False,
              ) -> list[ChatCompletion | Iterator[ChatCompletionChunk]]:
        """Answer a batch of requests (each item an iterator of chunks when ``config.stream``)."""

    async def infer_async(self, request: InferRequest, config: RequestConfig | None = None, *,
                          adapter: str | None = None) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        """Answer one request from an event loop (an async iterator of chunks when ``config.stream``)."""

    def close(self) -> None:
        """Release the model and any worker threads or processes."""


# -------------------------------------------------------------------------------------------------
# Response builders shared by the engines
# -------------------------------------------------------------------------------------------------


def new_id(prefix: str = "chatcmpl") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def make_completion(model: str, text: str, finish_reason: str, prompt_tokens: int, completion_tokens: int,
                    request_id: str | None = None) -> ChatCompletion:
    from openai.types.chat import ChatCompletion, ChatCompletionMessage
    from openai.types.chat.chat_completion import Choice
    from openai.types.completion_usage import CompletionUsage

    return ChatCompletion(
        id=request_id or new_id(), object="chat.completion", created=int(time.time()), model=model,
        choices=[Choice(index=0, finish_reason=finish_reason,
                        message=ChatCompletionMessage(role="assistant", content=text))],
        usage=CompletionUsage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                              total_tokens=prompt_tokens + completion_tokens),
    )


def make_chunk(model: str, request_id: str, created: int, content: str | None = None, role: str | None = None,
               finish_reason: str | None = None, usage: tuple[int, int] | None = None) -> ChatCompletionChunk:
    from openai.types.chat import ChatCompletionChunk
    from openai.types.chat.chat_completion_chunk import Choice, ChoiceDelta
    from openai.types.completion_usage import CompletionUsage

    return ChatCompletionChunk(
        id=request_id, object="chat.completion.chunk", created=created, model=model,
        choices=[Choice(index=0, delta=ChoiceDelta(role=role, content=content), finish_reason=finish_reason)],
        usage=None if usage is None else CompletionUsage(
            prompt_tokens=usage[0], completion_tokens=usage[1], total_tokens=usage[0] + usage[1]),
    )
