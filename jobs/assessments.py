"""Assessments: a session scored against one skill's rubric (criteria with evidence from the answers)."""
from __future__ import annotations

import re
from statistics import mean
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.errors import BadInput
from jobs import interviews as iv
from jobs.context import JobContext
from jobs.llm import llm_for_user

# skill -> criterion -> cue words an answer that meets it tends to use
RUBRICS: dict[str, dict[str, tuple[str, ...]]] = {
    "communication": {"clarity": ("first", "then", "finally", "because", "so"),
                      "concision": (), "audience awareness": ("explain", "stakeholder", "team", "customer")},
    "problem_solving": {"diagnosis": ("root cause", "investigat", "measur", "data", "debug"),
                        "options considered": ("option", "alternative", "trade", "instead", "compare"),
                        "outcome": ("result", "reduced", "improved", "%", "percent", "saved")},
    "leadership": {"ownership": ("i led", "i owned", "i decided", "responsib", "accountab"),
                   "influence": ("align", "convinc", "persuad", "stakeholder", "buy-in"),
                   "developing others": ("mentor", "coach", "feedback", "grew", "hired")},
    "technical_depth": {"specifics": ("api", "database", "cache", "latency", "queue", "index"),
                        "trade-offs": ("trade", "cost", "consisten", "availability", "scal"),
                        "verification": ("test", "benchmark", "monitor", "metric", "rollback")},
}
DEFAULT_SKILL = "communication"


class Criterion(BaseModel):
    name: str
    score: int = Field(ge=0, le=100)
    evidence: str = Field(default="", max_length=500)


class Assessment(BaseModel):
    score: int = Field(ge=0, le=100)
    level: str = Field(max_length=40)
    criteria: list[Criterion] = Field(min_length=1, max_length=10)
    summary: str = Field(max_length=1500)


def _level(score: float) -> str:
    return "strong" if score >= 80 else "proficient" if score >= 60 else "developing" if score >= 40 else "beginner"


def _local(skill: str, answers: list[iv.Answer]) -> Assessment:
    text = " ".join(a.text for a in answers).lower()
    words = len(re.findall(r"\w+", text))
    criteria = []
    for name, cues in RUBRICS[skill].items():
        if cues:
            hits = [c for c in cues if c in text]
            score = min(100, 35 + 20 * len(hits))
            evidence = f"mentions {', '.join(repr(h) for h in hits[:3])}" if hits else "no clear evidence in the answers"
        else:  # concision: answers of 60-250 words per question read best
            per = words / max(1, len(answers))
            score = 85 if 60 <= per <= 250 else 55 if per > 250 else 40
            evidence = f"about {per:.0f} words per answer"
        criteria.append(Criterion(name=name, score=score, evidence=evidence))
    stored = [a.scores["overall"] for a in answers if a.scores and "overall" in a.scores]
    overall = round(mean([c.score for c in criteria] + stored))
    return Assessment(score=overall, level=_level(overall), criteria=criteria,
                      summary=f"{skill.replace('_', ' ').title()}: {_level(overall)} across {len(answers)} answer(s).")


def run_assessment(session: Session, ctx: JobContext, session_id: str, skill: str | None = None) -> dict[str, Any]:
    skill = (skill or DEFAULT_SKILL).strip().lower().replace(" ", "_").replace("-", "_")
    if skill not in RUBRICS:
        raise BadInput(f"unknown skill {skill!r}; use one of: {', '.join(RUBRICS)}", stage="assessment")
    interview = iv.load(session, session_id)
    answers = iv.answers(session, interview)
    if not answers:
        raise BadInput("this session has no answers to assess yet", stage="assessment")
    llm = llm_for_user(session, ctx, interview.user_id)
    ctx.progress("assessment", 0.3, provider=llm.name)
    out = llm.structured("assessment", [{"role": "user", "content": (
        f"Assess the candidate's {skill.replace('_', ' ')} against these criteria: {', '.join(RUBRICS[skill])}. "
        "Score each 0-100 with a short piece of evidence quoted or paraphrased from the answers, give an overall "
        f"score, a level (beginner|developing|proficient|strong) and a summary.\n"
        f"Transcript:\n{iv.as_chat(iv.transcript(session, interview))}")}], Assessment,
        local=lambda: _local(skill, answers))
    return {"session_id": interview.id, "skill": skill, "provider": llm.name,
            "tracked_skill_id_hash": ctx.tracked_skill_id_hash, **out.model_dump()}
