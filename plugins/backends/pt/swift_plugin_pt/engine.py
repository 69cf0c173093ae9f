"""PtEngine: the InferEngine protocol on a PyTorch model in this process."""
from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import torch

from swift.errors import SwiftError
from swift.infer.protocol import InferRequest, RequestConfig, make_chunk, make_completion, new_id


class _Cancelled(Exception):
    pass


class PtEngine:
    """Batched generation with ``transformers`` (or a plain loop for models without ``generate``)."""

    capabilities = frozenset({"batch", "stream", "lora"})

    def __init__(self, model: Any, tokenizer: Any, template: Any, model_name: str, default_max_tokens: int = 512):
        from transformers import GenerationMixin

        self.model = model.eval()
        self.tokenizer = tokenizer
        self.template = template
        self.model_name = model_name
        self.default_max_tokens = default_max_tokens
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self._hf_generate = isinstance(base, GenerationMixin)
        self._lock = threading.Lock()
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else template.stop_token_ids[0]
        vocab = tokenizer.get_vocab()
        # Stop words that are not single tokens are matched as strings by generate.
        self._stop_strings = [w for w in template.stop_words if w not in vocab]

    # -- generation core --------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _sampling(self, config: RequestConfig) -> dict[str, Any]:
        temperature = 1.0 if config.temperature is None else config.temperature
        do_sample = temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": config.max_tokens or self.default_max_tokens,
            "do_sample": do_sample,
            "repetition_penalty": config.repetition_penalty or 1.0,
        }
        if do_sample:
            kwargs.update(temperature=temperature, top_p=config.top_p if config.top_p is not None else 1.0,
                          top_k=config.top_k if config.top_k is not None else 0)
        return kwargs

    def _generate(self, prompts: list[list[int]], config: RequestConfig,
                  on_token: Any = None) -> list[tuple[list[int], str]]:
        """Generated ids (stop token excluded) and finish reason per prompt."""
        sampling = self._sampling(config)
        with self._lock, torch.inference_mode():
            if config.seed is not None:
                torch.manual_seed(config.seed)
            if not self._hf_generate:
                return [self._loop_generate(p, sampling, on_token) for p in prompts]
            return self._hf(prompts, sampling, config, on_token)

    def _hf(self, prompts: list[list[int]], sampling: dict[str, Any], config: RequestConfig,
            on_token: Any) -> list[tuple[list[int], str]]:
        from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList
        from transformers.generation.streamers import BaseStreamer

        longest = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), longest), self.pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, p in enumerate(prompts):  # left padding, so every row's next token lines up
            ids[i, longest - len(p):] = torch.tensor(p, dtype=torch.long)
            mask[i, longest - len(p):] = 1
        gen = GenerationConfig(eos_token_id=self.template.stop_token_ids, pad_token_id=self.pad_id, **sampling)
        extra: dict[str, Any] = {}
        stop_strings = self._stop_strings + list(config.stop or [])
        if stop_strings:
            gen.stop_strings = stop_strings
            extra["tokenizer"] = self.tokenizer
        if on_token is not None:
            class Streamer(BaseStreamer):
                first = True

                def put(self, value: torch.Tensor) -> None:
                    if self.first:  # the prompt
                        self.first = False
                        return
                    on_token(int(value.reshape(-1)[0]))

                def end(self) -> None:
                    pass

            class Cancel(StoppingCriteria):
                def __call__(self, input_ids: torch.Tensor, scores: Any, **kw: Any) -> torch.Tensor:
                    return torch.full((input_ids.shape[0],), on_token.cancelled, dtype=torch.bool)

            extra["streamer"] = Streamer()
            extra["stopping_criteria"] = StoppingCriteriaList([Cancel()])
        out = self.model.generate(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                  generation_config=gen, **extra)
        results = []
        stops = set(self.template.stop_token_ids)
        for row in out[:, longest:].tolist():
            tokens, finish = [], "length"
            for t in row:
                if t in stops:
                    finish = "stop"
                    break
                tokens.append(t)
            if finish == "length" and len(tokens) < sampling["max_new_tokens"]:
                finish = "stop"  # ended by a stop string
            results.append((self._cut_stop_strings(tokens, stop_strings), finish))
        return results

    def _cut_stop_strings(self, tokens: list[int], stop_strings: list[str]) -> list[int]:
        if not stop_strings:
            return tokens
        text = self.tokenizer.decode(tokens)
        cut = min((text.find(s) for s in stop_strings if s in text), default=-1)
        if cut < 0:
            return tokens
        while tokens and len(self.tokenizer.decode(tokens)) > cut:
            tokens = tokens[:-1]
        return tokens

    def _loop_generate(self, prompt: list[int], sampling: dict[str, Any], on_token: Any) -> tuple[list[int], str]:
        """Sampling for models without ``generate`` (a custom nn.Module): no KV cache, one row at a time."""
        from transformers import (LogitsProcessorList, RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper,
                                  TopKLogitsWarper, TopPLogitsWarper)

        processors = LogitsProcessorList()
        if sampling["repetition_penalty"] != 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(sampling["repetition_penalty"]))
        if sampling["do_sample"]:
            processors.append(TemperatureLogitsWarper(sampling["temperature"]))
            if sampling["top_k"]:
                processors.append(TopKLogitsWarper(sampling["top_k"]))
            if sampling["top_p"] < 1.0:
                processors.append(TopPLogitsWarper(sampling["top_p"]))
        ids = torch.tensor([prompt], dtype=torch.long, device=self.device)
        stops = set(self.template.stop_token_ids)
        tokens: list[int] = []
        for _ in range(sampling["max_new_tokens"]):
            out = self.model(input_ids=ids)
            logits = (out["logits"] if isinstance(out, dict) else getattr(out, "logits", out[0]))[:, -1, :]
            scores = processors(ids, logits.float())
            if sampling["do_sample"]:
                nxt = int(torch.multinomial(torch.softmax(scores, -1), 1)[0, 0])
            else:
                nxt = int(scores.argmax(-1)[0])
            if nxt in stops:
                return tokens, "stop"
            tokens.append(nxt)
            if on_token is not None:
                on_token(nxt)
                if on_token.cancelled:
                    return tokens, "stop"
            ids = torch.cat([ids, torch.tensor([[nxt]], device=ids.device)], dim=1)
        return tokens, "length"

    def _decode(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=True)

    def _check(self, adapter: str | None, config: RequestConfig) -> None:
        if adapter is not None and adapter != self.model_name:
            raise SwiftError(f"the pt backend serves only the adapters it was started with ({self.model_name})")
        if config.n != 1:
            raise SwiftError("the pt backend answers with one choice per request (n=1)")

    # -- the protocol -----------------------------------------------------------------------------

    def infer(self, requests: Sequence[InferRequest], config: RequestConfig | None = None, *,
              adapter: str | None = None, use_tqdm: bool = False) -> list[Any]:
        config = config or RequestConfig()
        self._check(adapter, config)
        if config.stream:
            return [self._stream(r, config) for r in requests]
        prompts = [self.template.encode_prompt(r.messages, r.tools) for r in requests]
        if not prompts:
            return []
        results = self._generate(prompts, config)
        return [make_completion(self.model_name, self._decode(tokens), finish, len(p), len(tokens))
                for p, (tokens, finish) in zip(prompts, results)]

    def _stream(self, request: InferRequest, config: RequestConfig) -> Iterator[Any]:
        prompt = self.template.encode_prompt(request.messages, request.tools)
        rid, created = new_id(), int(time.time())
        q: queue.Queue[Any] = queue.Queue()

        class OnToken:
            cancelled = False

            def __call__(self, token: int) -> None:
                q.put(("token", token))

        on_token = OnToken()
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                result["value"] = self._generate([prompt], config, on_token)[0]
            except BaseException as exc:  # handed to the consumer
                result["error"] = exc
            finally:
                q.put(("done", None))

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        yield make_chunk(self.model_name, rid, created, content="", role="assistant")
        tokens: list[int] = []
        sent = ""
        stops = set(self.template.stop_token_ids)
        try:
            while True:
                kind, value = q.get()
                if kind == "done":
                    break
                if value in stops:
                    continue
                tokens.append(value)
                text = self._decode(tokens)
                if text.endswith("\ufffd"):  # an incomplete UTF-8 sequence; wait for the next token
                    continue
                if len(text) > len(sent) and text.startswith(sent):
                    delta, sent = text[len(sent):], text
                    yield make_chunk(self.model_name, rid, created, content=delta)
        finally:
            on_token.cancelled = True
            thread.join()
        if "error" in result:
            raise result["error"]
        final_tokens, finish = result["value"]
        text = self._decode(final_tokens)
        if len(text) > len(sent) and text.startswith(sent):
            yield make_chunk(self.model_name, rid, created, content=text[len(sent):])
        yield make_chunk(self.model_name, rid, created, finish_reason=finish, usage=(len(prompt), len(final_tokens)))

    async def infer_async(self, request: InferRequest, config: RequestConfig | None = None, *,
                          adapter: str | None = None) -> Any:
        config = config or RequestConfig()
        self._check(adapter, config)
        if not config.stream:
            return (await asyncio.to_thread(self.infer, [request], config))[0]
        return self._astream(request, config)

    async def _astream(self, request: InferRequest, config: RequestConfig) -> AsyncIterator[Any]:
        iterator = self._stream(request, config)
        done = object()
        try:
            while True:
                chunk = await asyncio.to_thread(next, iterator, done)
                if chunk is done:
                    return
                yield chunk
        finally:
            iterator.close()

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
