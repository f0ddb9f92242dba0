"""End-of-session summary: per-dimension averages, delivery figures across turns, and what to work on."""
from __future__ import annotations

from statistics import mean
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import BadInput
from core.models import Interview, Turn
from jobs.context import JobContext

DIMENSIONS = ("content", "structure", "delivery")


def _avg(values: list[float]) -> float | None:
    return round(mean(values), 1) if values else None


def aggregate(turns: list[Turn]) -> dict[str, Any]:
    scored = [t for t in turns if t.status == "succeeded" and t.scores]
    dims = {d: _avg([t.scores[d]["score"] for t in scored if d in t.scores]) for d in DIMENSIONS}
    overall = _avg([t.scores.get("overall", 0) for t in scored])
    deliveries = [t.delivery for t in scored if t.delivery]
    delivery = {
        "words_per_minute": _avg([d.get("words_per_minute", 0) for d in deliveries]),
        "fillers_per_minute": _avg([d.get("fillers", {}).get("per_minute", 0) for d in deliveries]),
        "filler_count": sum(d.get("fillers", {}).get("count", 0) for d in deliveries),
        "long_pauses": sum(d.get("pauses", {}).get("count_3s", 0) for d in deliveries),
        "speaking_seconds": round(sum(d.get("duration_seconds", 0) or 0 for d in deliveries), 1),
    }
    ranked = sorted(((v, k) for k, v in dims.items() if v is not None), reverse=True)
    strengths = [f"{k.title()} is your strongest dimension ({v:.0f}/100)." for v, k in ranked[:1] if v >= 60]
    weaknesses = [f"{k.title()} needs the most work ({v:.0f}/100)." for v, k in ranked[-1:] if v < 75]
    feedback = [t.scores[d]["feedback"] for t in scored for d in DIMENSIONS if d in t.scores and t.scores[d]["score"] < 60]
    return {"answered": len(scored), "overall_score": overall, "dimensions": dims, "delivery": delivery,
            "strengths": strengths, "weaknesses": weaknesses, "recommendations": list(dict.fromkeys(feedback))[:5]}


def summarize_session(session: Session, ctx: JobContext, interview_id: str) -> dict[str, Any]:
    interview = session.get(Interview, interview_id)
    if interview is None:
        raise BadInput(f"session {interview_id} does not exist", stage="lookup")
    ctx.progress("summary", 0.2)
    turns = list(session.execute(select(Turn).where(Turn.interview_id == interview_id)
                                 .order_by(Turn.created_at)).scalars())
    summary = {"session_id": interview_id, **aggregate(turns)}
    summary.update(_narrative(session, ctx, interview, turns, summary))
    interview.summary = summary
    ctx.after_commit(interview.stream, "summary", summary)
    return summary


def _narrative(session: Session, ctx: JobContext, interview: Interview, turns: list[Turn],
               summary: dict[str, Any]) -> dict[str, Any]:
    """Strengths, weaknesses and recommendations from the user's LLM engine (local: the rules above)."""
    from jobs import interviews, reports
    from jobs.llm import llm_for_user

    llm = llm_for_user(session, ctx, interview.user_id)
    local = reports.Narrative(strengths=summary["strengths"], weaknesses=summary["weaknesses"],
                              recommendations=summary["recommendations"])
    if llm.name == "local" or not summary["answered"]:
        return {"provider": "local"}
    story = llm.structured("summary", [{"role": "user", "content": (
        "Summarise this practice interview for the candidate: strengths, weaknesses and concrete "
        f"recommendations (short sentences).\nScores per dimension: {summary['dimensions']}\n"
        f"Delivery figures: {summary['delivery']}\n"
        f"Transcript:\n{interviews.as_chat(interviews.transcript(session, interview))}")}],
        reports.Narrative, local=lambda: local)
    return {**story.model_dump(), "provider": llm.name}
