"""The LLM layer: one interface (`LLM`), two engines (`openai`, `local`), chosen by configuration.

    llm = get_llm(settings, user.llm_settings, ctx)
    plan = llm.structured("questions", messages, QuestionPlan, local=lambda: plan_from_bank(...))
    text = llm.chat(messages)
    for delta in llm.stream_chat(messages): ...

`structured` is how job code stays engine-agnostic: the openai engine asks the model for JSON matching
the pydantic schema (one repair retry), the local engine calls the `local` callable, which computes the
same shape offline (question bank, rubric scorer, extractive summaries).

Engine choice: the user's `llm_settings["provider"]` when set, else `settings.llm_provider` ("openai" when
OPENAI_API_KEY is set, else "local"). The openai engine always takes its key and base URL from Settings
(OPENAI_API_KEY / OPENAI_BASE_URL): users choose provider, model and temperature, never an endpoint, so
nobody can point a worker at an internal address.
"""
from __future__ import annotations

from typing import Any, Mapping

from core.config import Settings
from core.errors import BadInput
from jobs.context import JobContext
from jobs.llm.base import LLM, LLMConfig, Message
from jobs.llm.local import LocalLLM

PROVIDERS = ("local", "openai")

__all__ = ["LLM", "LLMConfig", "Message", "PROVIDERS", "get_llm", "llm_for_user", "resolve_config", "openai_available"]


def openai_available(settings: Settings) -> bool:
    return bool(settings.openai_api_key)


def resolve_config(settings: Settings, user_settings: Mapping[str, Any] | None = None) -> LLMConfig:
    """The effective {provider, model, temperature}: the user's choices over the installation's."""
    us = dict(user_settings or {})
    provider = us.get("provider") or settings.llm_provider or "local"
    if provider not in PROVIDERS:
        raise BadInput(f"unknown LLM provider {provider!r}; use one of: {', '.join(PROVIDERS)}", stage="llm")
    temperature = us.get("temperature")
    return LLMConfig(provider=provider, model=us.get("model") or settings.llm_model,
                     temperature=float(settings.llm_temperature if temperature is None else temperature))


def get_llm(settings: Settings, user_settings: Mapping[str, Any] | None = None, ctx: JobContext | None = None,
            *, tracked_skill_id: str | None = None) -> LLM:
    """The engine for this user and job. `tracked_skill_id` is the raw header value, when a job carries it."""
    config = resolve_config(settings, user_settings)
    if config.provider == "openai":
        if not openai_available(settings):
            raise BadInput("the openai LLM provider is selected but OPENAI_API_KEY is not configured on this server",
                           stage="llm")
        from jobs.llm.openai_engine import OpenAILLM

        return OpenAILLM(settings, config, ctx, tracked_skill_id=tracked_skill_id)
    return LocalLLM(config, ctx)


def llm_for_user(session: Any, ctx: JobContext, user_id: str | None = None) -> LLM:
    """The engine a job uses: the job's user's `llm_settings` over the installation's defaults."""
    from core.models import User

    user = session.get(User, user_id or ctx.user_id) if (user_id or ctx.user_id) else None
    return get_llm(ctx.settings, user.llm_settings if user is not None else None, ctx)
