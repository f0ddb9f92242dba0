"""Interview reports: per-dimension scores, delivery figures and the narrative (strengths, weaknesses,
recommendations) from the LLM layer, the per-question breakdown and job-description coverage
(`jobs.breakdown`). Cached on `interviews.report`, keyed by `interviews.version`."""
from __future__ import annotations

import re
from statistics import mean
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.clock import iso, utcnow
from core.models import Interview
from jobs import breakdown as bd
from jobs import interviews as iv
from jobs import judge
from jobs.context import JobContext
from jobs.llm import LLM, llm_for_user


class Narrative(BaseModel):
    strengths: list[str] = Field(default_factory=list, max_length=6)
    weaknesses: list[str] = Field(default_factory=list, max_length=6)
    recommendations: list[str] = Field(default_factory=list, max_length=8)


def delivery_figures(deliveries: list[dict[str, Any]]) -> dict[str, Any] | None:
    return bd.delivery_figures(deliveries)


def local_narrative(dims: dict[str, float | None], per_answer: list[dict[str, Any]],
                    delivery: dict[str, Any] | None, rows: list[dict[str, Any]] | None = None) -> Narrative:
    """Rule-based narrative: the strongest and the weakest dimension, and ranked, de-duplicated advice."""
    strongest, weakest = bd.extremes(dims)
    s_line, w_line = bd.extreme_sentences(strongest, weakest)
    strengths = [s_line] if s_line and strongest and strongest["score"] >= 60 else []
    if not strengths and per_answer:
        strengths.append(f"You completed {len(per_answer)} answer(s); keep practising to build consistency.")
    weaknesses = [w_line] if w_line else []
    recs = bd.ranked_recommendations(rows or [], per_answer, delivery) if rows is not None else []
    return Narrative(strengths=strengths, weaknesses=weaknesses, recommendations=recs)


def narrative(llm: LLM, transcript_text: str, dims: dict[str, float | None], per_answer: list[dict[str, Any]],
              delivery: dict[str, Any] | None, rows: list[dict[str, Any]] | None = None) -> tuple[Narrative, str]:
    """(narrative, engine): from the user's engine, the local rules when it is local or fails."""
    story, engine, _ = judge.structured_or_local(llm, "narrative", [{"role": "user", "content": (
        "You are an interview coach. From this transcript and these scores, list the candidate's strengths, "
        "weaknesses and concrete recommendations (short sentences, most important first, each point once).\n"
        f"Scores per dimension (0-100): {dims}\nDelivery figures: {delivery or 'n/a'}\n"
        f"Transcript:\n{transcript_text}")}], Narrative,
        lambda: local_narrative(dims, per_answer, delivery, rows))
    return story, engine


def one_voice(story: Narrative, dims: dict[str, float | None]) -> dict[str, Any]:
    """The narrative with exactly one strongest and one weakest dimension (from the numbers, never two)
    and recommendations said once, most important first."""
    strongest, weakest = bd.extremes(dims)
    s_line, w_line = bd.extreme_sentences(strongest, weakest)
    claims = re.compile(r"\b(strongest|best|weakest|needs the most work|lowest)\b", re.I)
    strengths = [x for x in story.strengths if not claims.search(x)]
    weaknesses = [x for x in story.weaknesses if not claims.search(x)]
    if s_line and strongest and strongest["score"] >= 60:
        strengths.insert(0, s_line)
    if w_line:
        weaknesses.insert(0, w_line)
    return {"strongest": strongest, "weakest": weakest, "strengths": bd.dedupe(strengths, 4),
            "weaknesses": bd.dedupe(weaknesses, 4), "recommendations": bd.dedupe(story.recommendations, 6)}


def build_report(session: Session, ctx: JobContext, interview_id: str, version: int | None = None) -> dict[str, Any]:
    """`version` is the one the request saw (it keys deduplication); the report records the one it read."""
    interview = iv.load(session, interview_id)
    version = interview.version
    ctx.progress("report", 0.1)
    todo = iv.answers(session, interview)
    llm = llm_for_user(session, ctx, interview.user_id)
    # Stored scores first (voice turns, AI or manual scoring); unscored answers are scored now.
    per_answer = []
    for a in todo:
        per_answer.append(a.scores if a.scores and "overall" in a.scores else iv.score_one(llm, a))
    if interview.scores and interview.scores.get("source") == "manual":  # any dimension names
        dims, overall = dict(interview.scores.get("dimensions") or {}), interview.scores.get("overall")
    else:
        dims = bd.average_dimensions(per_answer)
        overall = round(mean(float(s["overall"]) for s in per_answer), 1) if per_answer else None
    delivery = delivery_figures([a.delivery for a in todo if a.delivery])
    rows = bd.question_breakdown(todo, per_answer)
    ctx.progress("narrative", 0.6, provider=llm.name)
    story, engine = narrative(llm, iv.as_chat(iv.transcript(session, interview)), dims, per_answer, delivery, rows)
    ctx.progress("report", 0.95)
    report = {
        "interview_id": interview.id, "mode": interview.mode, "title": interview.title,
        "job_type": interview.job_type, "focus_area": interview.focus_area, "difficulty": interview.difficulty,
        "overall_score": overall, "dimensions": dims, "delivery": delivery,
        "delivery_readable": [{"label": k, "value": v} for k, v in bd.readable_delivery(delivery)],
        **one_voice(story, dims),
        "answers": rows,
        "job_description_coverage": bd.jd_coverage(getattr(interview, "job_description", None),
                                                   [a.text for a in todo]),
        "answered": len(todo), "provider": engine, "version": version, "generated_at": iso(utcnow()),
    }
    interview.report = report
    interview.report_version = version
    return report


def fresh_report(interview: Interview) -> dict[str, Any] | None:
    if interview.report is not None and interview.report_version == interview.version:
        return interview.report
    return None
