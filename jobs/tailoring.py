"""Tailored practice: questions for a pasted job description and/or an uploaded resume.

The local engine draws from the curated bank, ranking the candidates it would have asked anyway by how
much of the job description's (and resume's) vocabulary they touch. With a provider configured the next
questions are generated for the job description (structured output), the local draw as the fallback.
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from jobs import question_bank
from jobs.resumes import keywords

MAX_CONTEXT_CHARS = 4000
_POOL = 12  # how many bank candidates the local draw ranks


class TailoredQuestion(BaseModel):
    text: str = Field(min_length=5, max_length=500)
    type: str = Field(default="behavioral", max_length=40)
    key_points: list[str] = Field(default_factory=list, max_length=6)


def terms_for(job_description: str | None, resume_text: str | None = None, limit: int = 20) -> list[str]:
    """The salient terms of the job description, then of the resume (job description first)."""
    out: list[str] = []
    for text, n in ((job_description, limit), (resume_text, limit // 2)):
        for k in keywords(text or "", n):
            if k.lower() not in {o.lower() for o in out}:
                out.append(k)
    return out


def _stem(word: str) -> str:
    return word.lower()[:5]


def overlap(question: dict[str, Any], terms: list[str]) -> int:
    """How many of the terms the question's text and key points touch (5-letter stems)."""
    words = re.findall(r"[a-z][a-z0-9+#]*", " ".join([question.get("text", ""), *question.get("key_points", [])]).lower())
    stems = {_stem(w) for w in words if len(w) > 2}
    return sum(1 for t in terms if _stem(t) in stems)


def draw(job_type: str, focus_area: str, difficulty: str, *, exclude_ids: list[str], terms: list[str],
         seed: Any = None, last_scores: Any = None) -> dict[str, Any] | None:
    """The bank question (unasked, adapted difficulty) that touches the most terms; ties keep the bank's order."""
    target = question_bank.adapt_difficulty(difficulty, question_bank._last_overall(last_scores))
    pool = question_bank.pick_questions(job_type, focus_area, target, _POOL, exclude_ids=exclude_ids, seed=seed)
    if not pool:
        return None
    if not terms:
        return pool[0]
    best = max(range(len(pool)), key=lambda i: (overlap(pool[i], terms), -i))
    return pool[best]


def generate(llm: Any, *, job_type: str, focus_area: str, difficulty: str, job_description: str | None,
             resume_text: str | None, asked: list[str], local: Any) -> dict[str, Any] | None:
    """One question written for the job description by the provider; `local()` (a bank draw) otherwise."""
    used: list[dict[str, Any]] = []

    def fallback() -> TailoredQuestion:
        picked = local()
        if picked is None:
            raise LookupError("no bank question left")
        used.append(picked)
        return TailoredQuestion(text=picked["text"], type=picked.get("type", focus_area),
                                key_points=picked.get("key_points") or [])

    if llm.name == "local":
        return local()
    context = f"Job description:\n{(job_description or '(none)')[:MAX_CONTEXT_CHARS]}\n"
    if resume_text:
        context += f"Candidate's resume:\n{resume_text[:MAX_CONTEXT_CHARS]}\n"
    asked_text = "\n".join(f"- {a}" for a in asked) or "(none yet)"
    try:
        q = llm.structured("questions", [{"role": "user", "content": (
            f"Write one {focus_area.replace('_', ' ')} interview question at {difficulty} difficulty for a "
            f"{job_type.replace('_', ' ')} candidate applying to this job, about what the job asks for. "
            f"List the key points a strong answer covers.\n{context}Do not repeat these questions:\n{asked_text}")}],
            TailoredQuestion, local=fallback)
    except LookupError:
        return None
    if used:  # the provider failed: the bank question itself, with its id (so it is not asked again)
        return used[0]
    return {"id": None, "text": q.text, "type": question_bank.normalize_type(q.type) or focus_area,
            "difficulty": difficulty, "key_points": q.key_points, "source": "llm"}
