"""The `openai` engine: the official SDK against OpenAI or any compatible server (OPENAI_BASE_URL).

Every call carries the request id and tracked-skill headers, records token usage on the job, and maps
provider failures onto the platform's errors: 429/5xx/timeouts/connection → TransientError (the job is
retried with backoff), other 4xx → BadInput (the job fails at once).
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterator, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from core.config import Settings
from core.errors import BadInput, TransientError
from jobs.context import JobContext
from jobs.llm.base import LLM, LLMConfig, Message, extract_json, schema_instruction

T = TypeVar("T", bound=BaseModel)

_clients: dict[tuple, openai.OpenAI] = {}
_clients_lock = threading.Lock()


def client_for(settings: Settings) -> openai.OpenAI:
    """One SDK client (and so one connection pool) per endpoint per process."""
    key = (settings.openai_api_key, settings.openai_base_url, settings.llm_timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = openai.OpenAI(api_key=settings.openai_api_key, base_url=settings.openai_base_url,
                                   timeout=settings.llm_timeout, max_retries=2)
            _clients[key] = client
        return client


def _map_error(exc: openai.OpenAIError) -> Exception:
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError)):
        return TransientError(f"LLM provider unreachable: {exc}", stage="llm")
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429 or exc.status_code >= 500:
            return TransientError(f"LLM provider answered {exc.status_code}", stage="llm",
                                  details={"status": exc.status_code})
        return BadInput(f"LLM provider rejected the request ({exc.status_code}): {exc.message}", stage="llm",
                        details={"status": exc.status_code})
    return TransientError(f"LLM provider error: {exc}", stage="llm")


class OpenAILLM(LLM):
    name = "openai"

    def __init__(self, settings: Settings, config: LLMConfig, ctx: JobContext | None = None, *,
                 tracked_skill_id: str | None = None) -> None:
        super().__init__(config, ctx)
        self.client = client_for(settings)
        self.tracked_skill_id = tracked_skill_id or (getattr(ctx, "tracked_skill_id", None) if ctx else None)

    def headers(self) -> dict[str, str]:
        h: dict[str, str] = {}
        if self.ctx is not None and self.ctx.request_id:
            h["X-Request-ID"] = self.ctx.request_id
        if self.ctx is not None and self.ctx.tracked_skill_id_hash:
            h["X-Tracked-Skill-Id-Hash"] = self.ctx.tracked_skill_id_hash
        if self.tracked_skill_id:
            h["X-Tracked-Skill-Id"] = self.tracked_skill_id
        return h

    def _record(self, usage: Any) -> None:
        if self.ctx is None:
            return
        self.ctx.add_usage(prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                           completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0), llm_calls=1)

    def _complete(self, messages: list[Message], *, model: str | None, temperature: float | None,
                  json_mode: bool = False) -> str:
        kw: dict[str, Any] = {"response_format": {"type": "json_object"}} if json_mode else {}
        try:
            resp = self.client.chat.completions.create(
                model=model or self.model, messages=messages,  # type: ignore[arg-type]
                temperature=self.temperature if temperature is None else temperature,
                extra_headers=self.headers(), **kw)
        except openai.OpenAIError as exc:
            raise _map_error(exc) from exc
        self._record(resp.usage)
        if not resp.choices:
            raise TransientError("LLM provider returned no choices", stage="llm")
        return resp.choices[0].message.content or ""

    def chat(self, messages: list[Message], *, model: str | None = None, temperature: float | None = None) -> str:
        return self._complete(messages, model=model, temperature=temperature)

    def stream_chat(self, messages: list[Message], *, model: str | None = None,
                    temperature: float | None = None) -> Iterator[str]:
        try:
            stream = self.client.chat.completions.create(
                model=model or self.model, messages=messages,  # type: ignore[arg-type]
                temperature=self.temperature if temperature is None else temperature, stream=True,
                stream_options={"include_usage": True}, extra_headers=self.headers())
            usage = None
            for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
        except openai.OpenAIError as exc:
            raise _map_error(exc) from exc
        self._record(usage)

    def _structured(self, task: str, messages: list[Message], schema: type[T], local: Callable[[], T]) -> T:
        convo: list[Message] = [{"role": "system", "content": schema_instruction(schema)}, *messages]
        text = self._complete(convo, model=None, temperature=None, json_mode=True)
        try:
            return schema.model_validate(extract_json(text))
        except (ValueError, ValidationError) as first:
            # One repair round: show the model its answer and what was wrong with it.
            convo += [{"role": "assistant", "content": text},
                      {"role": "user", "content": f"That reply was invalid for task {task!r}: {_brief(first)}. "
                                                  "Reply again with the corrected JSON object only."}]
        text = self._complete(convo, model=None, temperature=None, json_mode=True)
        try:
            return schema.model_validate(extract_json(text))
        except (ValueError, ValidationError) as second:
            raise TransientError(f"LLM output for {task!r} did not match its schema after one repair: "
                                 f"{_brief(second)}", stage="llm") from second


def _brief(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'root'}: {e['msg']}" for e in exc.errors()[:8])
    return str(exc)[:300]
