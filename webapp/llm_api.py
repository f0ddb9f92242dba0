"""The LLM proxy (`POST /api/llm`, JSON or SSE of token deltas) and per-user LLM settings."""
from __future__ import annotations

import json
from typing import Iterator, Literal

from flask import Blueprint, Response, g
from pydantic import Field

from core.errors import Unprocessable, VoiceMockError
from jobs.context import JobContext
from jobs.llm import PROVIDERS, get_llm, openai_available, resolve_config
from webapp.auth import current_user, login_required
from webapp.envelope import ok
from webapp.openapi import document
from webapp.state import db, settings, state
from webapp.validation import Strict, json_body

bp = Blueprint("llm", __name__, url_prefix="/api")

_MODEL = r"^[A-Za-z0-9._:/\-]{1,100}$"


class ChatMessage(Strict):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=50_000)


class ProxyRequest(Strict):
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    model: str | None = Field(default=None, pattern=_MODEL)
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=2)


class LLMSettings(Strict):
    """A partial update (document 004: `{"model": "gpt-4-turbo", "temperature": 0.5}`): only the fields
    sent change; a field sent as null goes back to the installation's default."""

    provider: Literal["local", "openai"] | None = None
    model: str | None = Field(default=None, pattern=_MODEL)
    temperature: float | None = Field(default=None, ge=0, le=2)


def _ctx(user_id: str) -> JobContext:
    # The proxy runs in the request (no job row), but a context still carries the request id and the
    # tracked-skill hash into the provider headers, and collects the token usage we report back.
    return JobContext(job_id="", kind="llm.proxy", settings=settings(), storage=state().runtime.storage,
                      user_id=user_id, request_id=getattr(g, "request_id", None),
                      tracked_skill_id_hash=getattr(g, "tracked_skill_id_hash", None),
                      tracked_skill_id=getattr(g, "tracked_skill_id", None))


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@bp.post("/llm")
@document(status=200, summary="Chat through the configured LLM provider (JSON, or SSE deltas with stream: true)",
          content="text/event-stream", responses={400: "Invalid messages", 401: "Not signed in",
                                                  422: "The provider refused the request", 429: "Rate limited"},
          example={"messages": [{"role": "user", "content": "How should I structure a STAR answer?"}],
                   "model": "gpt-4o-mini"},
          response_example={"content": "Situation, Task, Action, Result: …", "provider": "local",
                            "model": "gpt-4o-mini", "usage": None})
@login_required
def proxy() -> Response:
    body = json_body(ProxyRequest)
    user = current_user()
    ctx = _ctx(user.id)
    llm = get_llm(settings(), user.llm_settings, ctx)
    messages = [m.model_dump() for m in body.messages]
    model = body.model or llm.model
    if not body.stream:
        content = llm.chat(messages, model=body.model, temperature=body.temperature)
        return ok({"content": content, "provider": llm.name, "model": model, "usage": ctx.usage or None})
    deltas = llm.stream_chat(messages, model=body.model, temperature=body.temperature)
    first = next(deltas, None)  # provider errors before the first token still get a proper status code

    def events() -> Iterator[str]:
        parts: list[str] = []
        try:
            for delta in ([first] if first is not None else []):
                parts.append(delta)
                yield _sse("delta", {"delta": delta})
            for delta in deltas:
                parts.append(delta)
                yield _sse("delta", {"delta": delta})
        except VoiceMockError as exc:  # mid-stream: the status is sent already, so say it in the stream
            yield _sse("error", {"error": exc.message, "stage": exc.stage})
            return
        yield _sse("done", {"content": "".join(parts), "provider": llm.name, "model": model,
                            "usage": ctx.usage or None})

    return Response(events(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _effective(user_settings: dict | None) -> dict:
    cfg = resolve_config(settings(), user_settings)
    return {"provider": cfg.provider, "model": cfg.model, "temperature": cfg.temperature,
            "source": "user" if user_settings else "default",
            "available_providers": [p for p in PROVIDERS if p != "openai" or openai_available(settings())]}


_SETTINGS_DATA = {"type": "object", "required": ["provider", "model", "temperature"], "properties": {
    "provider": {"type": "string"}, "model": {"type": "string"}, "temperature": {"type": "number"}}}


@bp.get("/settings/llm")
@document(data=_SETTINGS_DATA, summary="Your effective LLM settings")
@login_required
def get_settings() -> Response:
    return ok(_effective(current_user().llm_settings))


@bp.put("/settings/llm")
@document(data=_SETTINGS_DATA, summary="Change your LLM settings (only the fields sent)")
@login_required
def put_settings() -> Response:
    body = json_body(LLMSettings)
    if body.provider == "openai" and not openai_available(settings()):
        raise Unprocessable("the openai provider is not configured on this server (OPENAI_API_KEY)",
                            details=[{"path": "provider", "message": "openai is not available"}])
    user = current_user()
    merged = {**(user.llm_settings or {}), **body.model_dump(exclude_unset=True)}
    user.llm_settings = {k: v for k, v in merged.items() if v is not None} or None
    db().commit()
    return ok(_effective(user.llm_settings))
