"""The engine-independent part of the LLM layer: config, the `LLM` base class and JSON helpers."""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

from pydantic import BaseModel

from jobs.context import JobContext

T = TypeVar("T", bound=BaseModel)
Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


@dataclass(frozen=True)
class LLMConfig:
    provider: str
    model: str
    temperature: float


class LLM:
    """One interface over every engine. Subclasses implement `_structured`, `chat` and `stream_chat`."""

    name: str = "base"

    def __init__(self, config: LLMConfig, ctx: JobContext | None = None) -> None:
        self.config = config
        self.ctx = ctx

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def temperature(self) -> float:
        return self.config.temperature

    def structured(self, task: str, messages: list[Message], schema: type[T], *, local: Callable[[], T]) -> T:
        """A `schema` instance for `task`: from the model (openai) or from `local()` (local engine)."""
        return self._structured(task, messages, schema, local)

    def _structured(self, task: str, messages: list[Message], schema: type[T], local: Callable[[], T]) -> T:
        raise TypeError(f"{type(self).__name__} does not implement structured output")

    def chat(self, messages: list[Message], *, model: str | None = None, temperature: float | None = None) -> str:
        return "".join(self.stream_chat(messages, model=model, temperature=temperature))

    def stream_chat(self, messages: list[Message], *, model: str | None = None,
                    temperature: float | None = None) -> Iterator[str]:
        raise TypeError(f"{type(self).__name__} does not implement chat")

    def describe(self) -> dict[str, Any]:
        return {"provider": self.name, "model": self.model, "temperature": self.temperature}


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def extract_json(text: str) -> Any:
    """Parse a model's JSON answer, tolerating a Markdown code fence around it."""
    m = _FENCE.match(text or "")
    body = m.group(1) if m else (text or "").strip()
    if not body.startswith(("{", "[")):  # prose around the object: take the outermost braces
        start, end = body.find("{"), body.rfind("}")
        if start != -1 and end > start:
            body = body[start:end + 1]
    return json.loads(body)


@functools.lru_cache(maxsize=64)
def schema_instruction(schema: type[BaseModel]) -> str:
    """The system message asking for `schema` (built once per schema class: pydantic's JSON schema
    generation costs ~0.6 ms a call)."""
    return ("Reply with one JSON object only, no prose and no code fence, that validates against this JSON "
            f"schema:\n{json.dumps(schema.model_json_schema(), separators=(',', ':'))}")
