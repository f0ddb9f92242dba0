"""OpenAI-compatible endpoints: `POST /v1/chat/completions` and `GET /v1/models[/{id}]`.

Any OpenAI client works with `base_url=<server>/v1` and a VoiceMock access token as its API key. The
request goes through the same engine as `POST /api/llm` (the caller's provider, model and temperature
settings; the same rate-limit bucket, request id and tracked-skill headers), and answers in OpenAI's
shapes: `chat.completion`, or streamed `chat.completion.chunk` lines ending `data: [DONE]`; errors are
OpenAI's `{"error": {message, type, param, code}}` (with VoiceMock's `request_id` and `stage` beside it).

Request fields are those OpenAI documents. Honoured: `messages` (roles `system`, `developer` (read as
system), `user`, `assistant`, `tool`/`function` (read as user text); string or text-part `content`),
`model`, `temperature`, `n`, `stream`, `stream_options.include_usage`, `max_tokens` /
`max_completion_tokens` and `stop` (applied to the reply here, so both engines obey them). Accepted
and ignored, as OpenAI allows for models that lack them: tools and function calling, logprobs,
penalties, `seed`, `top_p`, `response_format`, `user`, `metadata`, `store` and the rest listed below.
Non-text content parts (images, audio, files) are refused with 400: no engine here reads them.
"""
from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any, Iterator, Literal

from flask import Blueprint, Response, current_app, g
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.exceptions import HTTPException

from core.errors import VoiceMockError
from jobs.llm import get_llm, resolve_config
from webapp.auth import current_user, login_required
from webapp.envelope import request_id
from webapp.llm_api import _ctx
from webapp.openapi import document
from webapp.state import settings
from webapp.validation import json_body

bp = Blueprint("openai_compat", __name__, url_prefix="/v1")

_MODEL = r"^[A-Za-z0-9._:/\-]{1,100}$"
_WORD = re.compile(r"\S+")


class _Open(BaseModel):
    # OpenAI's own objects: documented fields only (an unknown one is a 400, as OpenAI answers).
    model_config = ConfigDict(extra="forbid")


class ContentPart(BaseModel):
    # Text parts only (both engines are text models); the spec says so, so an image part is a
    # validation error naming the part, as a schema-valid request is never refused.
    model_config = ConfigDict(extra="allow")
    type: Literal["text", "input_text"]
    text: str = Field(max_length=50_000)


class OpenAIChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = Field(default=None, max_length=64)
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    function_call: dict[str, Any] | None = None
    refusal: str | None = None
    audio: dict[str, Any] | None = None


class StreamOptions(_Open):
    include_usage: bool = False
    include_obfuscation: bool | None = None


class ChatCompletionRequest(_Open):
    messages: list[OpenAIChatMessage] = Field(min_length=1, max_length=100)
    model: str = Field(pattern=_MODEL)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    n: int | None = Field(default=1, ge=1, le=8)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    # accepted, not used by either engine (OpenAI documents each as optional)
    top_p: float | None = Field(default=None, ge=0, le=1)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    seed: int | None = None
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    prediction: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    verbosity: str | None = None
    web_search_options: dict[str, Any] | None = None


class OpenAIError(VoiceMockError):
    status = 400
    stage = "validation"


def _text(m: OpenAIChatMessage, index: int) -> str:
    if m.content is None or isinstance(m.content, str):
        return m.content or ""
    parts = []
    for j, part in enumerate(m.content):
        if part.type not in ("text", "input_text") or part.text is None:
            raise OpenAIError(f"content part type {part.type!r} is not supported: send text parts only",
                              details=[{"path": f"messages.{index}.content.{j}.type",
                                        "message": "only text content parts are supported"}])
        parts.append(part.text)
    return "\n".join(parts)


def _messages(body: ChatCompletionRequest) -> list[dict[str, str]]:
    roles = {"developer": "system", "tool": "user", "function": "user"}
    return [{"role": roles.get(m.role, m.role), "content": _text(m, i)} for i, m in enumerate(body.messages)]


def _tokens(text: str) -> int:
    return len(_WORD.findall(text or ""))


class _Cut:
    """Applies `stop` sequences and the token cap to a stream of deltas, holding back just enough
    text that a stop sequence split across deltas is never half sent."""

    def __init__(self, stop: list[str], max_tokens: int | None) -> None:
        self.stop, self.max_tokens = [s for s in stop if s], max_tokens
        self.held, self.sent = "", ""
        self.finish: str | None = None

    def feed(self, delta: str) -> str:
        if self.finish:
            return ""
        self.held += delta
        for s in self.stop:
            if (at := (self.sent + self.held).find(s, max(0, len(self.sent) - len(s)))) != -1:
                self.held = (self.sent + self.held)[len(self.sent):at]
                self.finish = "stop"
                return self._take(len(self.held))
        keep = max((len(s) - 1 for s in self.stop), default=0)
        return self._take(max(0, len(self.held) - keep))

    def _take(self, n: int) -> str:
        out, self.held = self.held[:n], self.held[n:]
        if self.max_tokens is not None:
            words = list(re.finditer(r"\s*\S+", self.sent + out))
            if len(words) > self.max_tokens:
                out = (self.sent + out)[: words[self.max_tokens - 1].end()][len(self.sent):]
                self.finish, self.held = "length", ""
        self.sent += out
        return out

    def close(self) -> str:
        rest = self._take(len(self.held)) if not self.finish else ""
        self.finish = self.finish or "stop"
        return rest


def _error_body(message: str, status: int, stage: str, param: str | None = None,
                code: str | None = None) -> dict[str, Any]:
    kind = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
            404: "not_found_error", 409: "conflict_error", 413: "invalid_request_error",
            415: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_error"}
    return {"error": {"message": message, "type": kind.get(status, "api_error" if status >= 500 else
                                                         "invalid_request_error"),
                      "param": param, "code": code or stage},
            "request_id": request_id(), "stage": stage}


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = current_app.response_class(json.dumps(body, default=str), status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


@bp.errorhandler(VoiceMockError)
def _voicemock_error(exc: VoiceMockError) -> Response:
    param = None
    if isinstance(exc.details, list) and exc.details and isinstance(exc.details[0], dict):
        param = exc.details[0].get("path")
    resp = _json(_error_body(exc.message, exc.status, exc.stage, param), exc.status, exc.headers)
    resp.headers["X-Stage"] = exc.stage
    return resp


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    stage = {401: "auth", 403: "auth", 404: "routing", 405: "routing", 413: "upload"}.get(status, "http")
    resp = _json(_error_body(exc.description or exc.name, status, stage), status)
    resp.headers["X-Stage"] = stage
    return resp


def _usage(ctx_usage: dict, prompt: list[dict[str, str]], completions: list[str]) -> dict[str, int]:
    # The provider's own counts when it reported them; otherwise (the local engine) words as tokens.
    if ctx_usage.get("prompt_tokens") or ctx_usage.get("completion_tokens"):
        p, c = int(ctx_usage.get("prompt_tokens", 0)), int(ctx_usage.get("completion_tokens", 0))
    else:
        p = sum(_tokens(m["content"]) for m in prompt) * len(completions)
        c = sum(_tokens(x) for x in completions)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


_COMPLETION_EXAMPLE = {
    "id": "chatcmpl-3f1c2b6e", "object": "chat.completion", "created": 1764520000, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                 "message": {"role": "assistant", "content": "Lead with the result, then the situation.",
                             "refusal": None}}],
    "usage": {"prompt_tokens": 21, "completion_tokens": 8, "total_tokens": 29},
}


@bp.post("/chat/completions")
@document(body=ChatCompletionRequest, status=200, tags=["openai-compatible"],
          summary="Chat completion (OpenAI-compatible; streams with stream: true)",
          description="Point any OpenAI client at `<server>/v1` with a VoiceMock access token as the API key. "
                      "Without `stream` the answer is a `chat.completion` object (not the envelope); with "
                      "`stream: true` it is `text/event-stream` of `chat.completion.chunk` objects ending "
                      "`data: [DONE]`. Shares the `/api/llm` rate limit.",
          content="text/event-stream", envelope=False, data={"type": "object"},
          example={"model": "gpt-4o-mini", "messages": [
              {"role": "developer", "content": "You are an interview coach."},
              {"role": "user", "content": "How do I answer 'tell me about a failure'?"}], "max_tokens": 200},
          response_example=_COMPLETION_EXAMPLE,
          responses={400: "Invalid request (OpenAI error object)", 401: "Missing or invalid API key",
                     422: "The provider refused the request", 429: "Rate limited (Retry-After)",
                     503: "The provider is unavailable"})
@login_required
def chat_completions() -> Response:
    body = json_body(ChatCompletionRequest)
    user = current_user()
    ctx = _ctx(user.id)
    # the raw X-Tracked-Skill-Id travels to the provider with its hash (the hash alone is what is kept)
    llm = get_llm(settings(), user.llm_settings, ctx, tracked_skill_id=g.get("tracked_skill_id"))
    messages = _messages(body)
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    cap = body.max_completion_tokens or body.max_tokens
    n = body.n or 1
    cid = "chatcmpl-" + (request_id() or "").replace("-", "")[:24]
    created = int(time.time())
    if not body.stream:
        choices, texts = [], []
        for i in range(n):
            cut = _Cut(stop, cap)
            text = cut.feed(llm.chat(messages, model=body.model, temperature=body.temperature)) + cut.close()
            texts.append(text)
            choices.append({"index": i, "message": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None, "finish_reason": cut.finish})
        return _json({"id": cid, "object": "chat.completion", "created": created, "model": body.model,
                      "system_fingerprint": None, "choices": choices,
                      "usage": _usage(ctx.usage, messages, texts)})

    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": body.model,
            "system_fingerprint": None}
    first_stream = llm.stream_chat(messages, model=body.model, temperature=body.temperature)
    first = next(first_stream, None)  # a provider refusal before the first token still gets its status

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        payload = {**base, "choices": choices, **({"usage": None} if include_usage else {}), **extra}
        return f"data: {json.dumps(payload)}\n\n"

    def events() -> Iterator[str]:
        texts: list[str] = []
        try:
            for i in range(n):
                deltas = first_stream if i == 0 else llm.stream_chat(messages, model=body.model,
                                                                     temperature=body.temperature)
                pending = [first] if i == 0 and first is not None else []
                cut = _Cut(stop, cap)
                yield chunk([{"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                              "finish_reason": None}])
                for piece in itertools.chain(pending, deltas):
                    out = cut.feed(piece)
                    if out:
                        yield chunk([{"index": i, "delta": {"content": out}, "logprobs": None,
                                      "finish_reason": None}])
                    if cut.finish:
                        break
                rest = cut.close()
                if rest:
                    yield chunk([{"index": i, "delta": {"content": rest}, "logprobs": None, "finish_reason": None}])
                texts.append(cut.sent)
                yield chunk([{"index": i, "delta": {}, "logprobs": None, "finish_reason": cut.finish}])
        except VoiceMockError as exc:  # mid-stream: the status is sent already; OpenAI clients raise on this
            yield f"data: {json.dumps(_error_body(exc.message, exc.status, exc.stage))}\n\n"
            return
        if include_usage:
            payload = {**base, "choices": [], "usage": _usage(ctx.usage, messages, texts)}
            yield f"data: {json.dumps(payload)}\n\n"
        yield "data: [DONE]\n\n"

    return Response(events(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _models() -> list[dict[str, Any]]:
    s = settings()
    user = current_user()
    mine = resolve_config(s, user.llm_settings)
    seen: dict[str, dict[str, Any]] = {}
    for model_id, owner in ((mine.model, mine.provider), (s.llm_model, s.llm_provider)):
        seen.setdefault(model_id, {"id": model_id, "object": "model", "created": 0, "owned_by": owner})
    return list(seen.values())


@bp.get("/models")
@document(summary="Models this key can use (OpenAI-compatible list)", tags=["openai-compatible"],
          envelope=False, data={"type": "object"}, response_example={"object": "list", "data": [
              {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "local"}]},
          responses={401: "Missing or invalid API key", 429: "Rate limited (Retry-After)"})
@login_required
def models() -> Response:
    return _json({"object": "list", "data": _models()})


@bp.get("/models/<model_id>")
@document(summary="One model (OpenAI-compatible)", tags=["openai-compatible"],
          envelope=False, data={"type": "object"},
          response_example={"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "local"},
          responses={401: "Missing or invalid API key", 404: "No such model here"})
@login_required
def model(model_id: str) -> Response:
    found = next((m for m in _models() if m["id"] == model_id), None)
    if found is None:
        raise OpenAIError(f"The model {model_id!r} does not exist", status=404, stage="routing")
    return _json(found)
