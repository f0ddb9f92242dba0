"""End-of-session summary: per-dimension averages, delivery figures across turns, and what to work on."""
from __future__ import annotations

from statistics import mean
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import BadInput
from core.models import Interview, Turn
from jobs import breakdown as bd
from jobs.context import JobContext

DIMENSIONS = ("content", "structure", "delivery")


def aggregate(turns: list[Turn], answers: list[Any] | None = None) -> dict[str, Any]:
    """Scores, delivery and advice over the session's scored answers: one strongest and one weakest
    dimension, recommendations said once and ranked, a per-question breakdown (`jobs.breakdown`)."""
    from jobs import reports

    scored = [t for t in turns if t.status == "succeeded" and t.scores]
    per_answer = [t.scores for t in scored]
    dims = bd.average_dimensions(per_answer)
    overall = round(mean(float(s.get("overall", 0)) for s in per_answer), 1) if per_answer else None
    delivery = bd.delivery_figures([t.delivery for t in scored if t.delivery]) or {}
    rows = bd.question_breakdown(answers, per_answer) if answers is not None else []
    story = reports.local_narrative(dims, per_answer, delivery, rows)
    strongest, weakest = bd.extremes(dims)
    return {"answered": len(scored), "overall_score": overall, "dimensions": dims, "delivery": delivery,
            "strongest": strongest, "weakest": weakest, **story.model_dump(), "questions": rows}


def summarize_session(session: Session, ctx: JobContext, interview_id: str) -> dict[str, Any]:
    from jobs import interviews

    interview = session.get(Interview, interview_id)
    if interview is None:
        raise BadInput(f"session {interview_id} does not exist", stage="lookup")
    ctx.progress("summary", 0.2)
    turns = list(session.execute(select(Turn).where(Turn.interview_id == interview_id)
                                 .order_by(Turn.created_at)).scalars())
    answers = [a for a in interviews.answers(session, interview) if a.scores]
    summary = {"session_id": interview_id, **aggregate(turns, answers)}
    summary["job_description_coverage"] = bd.jd_coverage(getattr(interview, "job_description", None),
                                                         [a.text for a in answers])
    summary.update(_narrative(session, ctx, interview, turns, summary))
    interview.summary = summary
    ctx.after_commit(interview.stream, "summary", summary)
    return summary


def _narrative(session: Session, ctx: JobContext, interview: Interview, turns: list[Turn],
               summary: dict[str, Any]) -> dict[str, Any]:
    """Strengths, weaknesses and recommendations from the user's LLM engine (local: the rules above;
    also when the provider fails)."""
    from jobs import interviews, judge, reports
    from jobs.llm import llm_for_user

    llm = llm_for_user(session, ctx, interview.user_id)
    local = reports.Narrative(strengths=summary["strengths"], weaknesses=summary["weaknesses"],
                              recommendations=summary["recommendations"])
    if llm.name == "local" or not summary["answered"]:
        return {"provider": "local"}
    story, engine, _ = judge.structured_or_local(llm, "summary", [{"role": "user", "content": (
        "Summarise this practice interview for the candidate: strengths, weaknesses and concrete "
        "recommendations (short sentences, most important first, each point once).\n"
        f"Scores per dimension: {summary['dimensions']}\nDelivery figures: {summary['delivery']}\n"
        f"Transcript:\n{interviews.as_chat(interviews.transcript(session, interview))}")}],
        reports.Narrative, lambda: local)
    voice = reports.one_voice(story, summary["dimensions"])
    return {**{k: voice[k] for k in ("strengths", "weaknesses", "recommendations")}, "provider": engine}
