"""Scoring an answer with the configured engine: the provider when one is configured (structured
output), the local rubric (`jobs.scoring`) otherwise and whenever the provider fails.

Voice turns, text interviews, reports and summaries all go through here, so a configured provider
judges every answer the same way and an outage degrades to the local engine instead of failing the job.
The result always has the local scorer's shape: `content`/`structure`/`delivery` ({score, feedback}),
`overall`, `fix` (the one thing to change), `outline` (a stronger answer) and `engine`.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, TypeVar

from pydantic import BaseModel, Field

from core.errors import VoiceMockError
from jobs import scoring

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)


class DimensionScore(BaseModel):
    score: int = Field(ge=0, le=100)
    feedback: str = Field(max_length=1000)


class AnswerScore(BaseModel):
    content: DimensionScore
    structure: DimensionScore
    delivery: DimensionScore
    overall: int = Field(ge=0, le=100)
    on_topic: bool = True  # False when the answer addresses a different question
    fix: str = Field(default="", max_length=500)
    outline: list[str] = Field(default_factory=list, max_length=8)


def structured_or_local(llm: Any, task: str, messages: list[dict[str, str]], schema: type[T],
                        local: Callable[[], T]) -> tuple[T, str, str | None]:
    """(result, engine, why the provider was not used). The local engine answers when the provider fails."""
    if getattr(llm, "name", "local") == "local":
        return llm.structured(task, messages, schema, local=local), "local", None
    try:
        return llm.structured(task, messages, schema, local=local), llm.name, None
    except VoiceMockError as exc:  # unreachable, 4xx/5xx, or output that never matched the schema
        log.warning("LLM %s failed for %s, local engine used instead: %s", llm.name, task, exc)
        return local(), "local", f"{llm.name} failed: {exc.message}"[:300]


def score(llm: Any, question: Mapping[str, Any], text: str, delivery: Mapping[str, Any] | None) -> dict[str, Any]:
    """One answer's scores from `llm` (any engine), the local rubric as the fallback."""
    rubric = scoring.score_answer(question, text, delivery)
    if getattr(llm, "name", "local") == "local" or not (text or "").strip():
        return rubric
    figures = ""
    if delivery:
        figures = (f"\nDelivery figures: {delivery.get('words_per_minute')} words per minute, "
                   f"{(delivery.get('fillers') or {}).get('count', 0)} filler words, "
                   f"{(delivery.get('pauses') or {}).get('count_1_5s', 0)} pauses of 1.5 s or more, "
                   f"answer length {scoring.answer_seconds(delivery)} s.")
    messages = [{"role": "user", "content": (
        "You are an interview coach. Score this answer 0-100 on content (does it answer the question asked, "
        "with the substance a strong answer has; an answer to a different question scores under 20), "
        "structure and delivery, each with one specific sentence of feedback, and an overall score; set on_topic "
        "to false when the answer addresses a different question. "
        "Then give `fix`, the single most valuable change, and `outline`, 3-6 short steps of a stronger answer.\n"
        f"Question: {question.get('text')}\n"
        f"Key points: {', '.join(question.get('key_points') or []) or 'n/a'}\nAnswer: {text}{figures}")}]

    def local() -> AnswerScore:
        return AnswerScore.model_validate({**rubric, "on_topic": rubric["content"].get("on_topic", True)})

    out, engine, why = structured_or_local(llm, "score", messages, AnswerScore, local)
    if engine == "local":
        return {**rubric, "fallback": why}
    result = out.model_dump()
    result["content"]["on_topic"] = result.pop("on_topic")
    # Figures measured from the audio stay with the delivery score, whoever wrote its sentence.
    result["delivery"].update({k: v for k, v in rubric["delivery"].items() if k not in ("score", "feedback")})
    result["fix"] = result["fix"] or rubric["fix"]
    result["outline"] = result["outline"] or rubric["outline"]
    result["content"]["length_seconds"] = rubric["content"].get("length_seconds")
    return {**result, "engine": engine, "model": getattr(llm, "model", None)}
