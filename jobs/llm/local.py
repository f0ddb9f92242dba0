"""The built-in offline engine: structured output comes from the caller's `local` function (question
bank, rubric scorer, extractive summaries); chat replies are extractive and deterministic."""
from __future__ import annotations

import re
from typing import Callable, Iterator, TypeVar

from pydantic import BaseModel

from jobs.llm.base import LLM, Message

T = TypeVar("T", bound=BaseModel)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class LocalLLM(LLM):
    name = "local"

    def _structured(self, task: str, messages: list[Message], schema: type[T], local: Callable[[], T]) -> T:
        result = local()
        # Validate like the openai path does, so both engines hand callers the same guarantees.
        return schema.model_validate(result.model_dump()) if isinstance(result, BaseModel) else schema.model_validate(result)

    def stream_chat(self, messages: list[Message], *, model: str | None = None,
                    temperature: float | None = None) -> Iterator[str]:
        words = reply_for(messages).split(" ")
        for i, word in enumerate(words):
            yield word if i == 0 else " " + word


def reply_for(messages: list[Message]) -> str:
    """A templated reply that restates the last user message's key sentences (no model, no network)."""
    last = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    sentences = [s.strip() for s in _SENTENCE.split(last.strip()) if s.strip()]
    if not sentences:
        return "I'm the offline coach. Ask me about an interview question or paste an answer for feedback."
    # The longest sentences carry the most content: keep up to two, in their original order.
    keep = sorted(sorted(range(len(sentences)), key=lambda i: -len(sentences[i]))[:2])
    gist = " ".join(sentences[i] for i in keep)
    n_user = sum(1 for m in messages if m.get("role") == "user")
    return (f"(offline coach, message {n_user}) You said: {gist} "
            "To strengthen this, name the situation, what you did, and a measurable result.")
