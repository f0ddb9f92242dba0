"""Interview reports: per-dimension scores, delivery figures and the narrative (strengths, weaknesses,
recommendations) from the LLM layer. Cached on `interviews.report`, keyed by `interviews.version`."""
from __future__ import annotations

from statistics import mean
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.clock import iso, utcnow
from core.models import Interview
from jobs import interviews as iv
from jobs.context import JobContext
from jobs.llm import LLM, llm_for_user


class Narrative(BaseModel):
    strengths: list[str] = Field(default_factory=list, max_length=6)
    weaknesses: list[str] = Field(default_factory=list, max_length=6)
    recommendations: list[str] = Field(default_factory=list, max_length=8)


def _avg(values: list[float]) -> float | None:
    return round(mean(values), 1) if values else None


def delivery_figures(deliveries: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not deliveries:
        return None
    return {
        "words_per_minute": _avg([d.get("words_per_minute") or 0 for d in deliveries]),
        "fillers_per_minute": _avg([(d.get("fillers") or {}).get("per_minute", 0) for d in deliveries]),
        "filler_count": sum((d.get("fillers") or {}).get("count", 0) for d in deliveries),
        "long_pauses": sum((d.get("pauses") or {}).get("count_3s", 0) for d in deliveries),
        "speaking_seconds": round(sum(d.get("duration_seconds") or 0 for d in deliveries), 1),
    }


def local_narrative(dims: dict[str, float | None], per_answer: list[dict[str, Any]],
                    delivery: dict[str, Any] | None) -> Narrative:
    """Rule-based narrative: strongest and weakest dimensions, and the rubric's own feedback sentences."""
    ranked = sorted(((v, k) for k, v in dims.items() if v is not None), reverse=True)
    strengths = [f"{k.title()} is your strongest dimension ({v:.0f}/100)." for v, k in ranked[:2] if v >= 60]
    weaknesses = [f"{k.title()} needs the most work ({v:.0f}/100)." for v, k in ranked[-1:] if v < 75]
    recs = [s[d]["feedback"] for s in per_answer for d in iv.DIMENSIONS
            if isinstance(s.get(d), dict) and s[d].get("score", 100) < 65 and s[d].get("feedback")]
    if delivery and (delivery.get("fillers_per_minute") or 0) > 2:
        recs.append(f"Cut filler words: {delivery['fillers_per_minute']} per minute; pause silently instead.")
    if not per_answer:
        recs.append("Answer at least one question so there is something to assess.")
    if not strengths and ranked:
        strengths.append(f"You completed {len(per_answer)} answer(s); keep practising to build consistency.")
    return Narrative(strengths=strengths, weaknesses=weaknesses, recommendations=list(dict.fromkeys(recs))[:6])


def narrative(llm: LLM, transcript_text: str, dims: dict[str, float | None], per_answer: list[dict[str, Any]],
              delivery: dict[str, Any] | None) -> Narrative:
    return llm.structured("narrative", [{"role": "user", "content": (
        "You are an interview coach. From this transcript and these scores, list the candidate's strengths, "
        "weaknesses and concrete recommendations (short sentences).\n"
        f"Scores per dimension (0-100): {dims}\nDelivery figures: {delivery or 'n/a'}\n"
        f"Transcript:\n{transcript_text}")}], Narrative,
        local=lambda: local_narrative(dims, per_answer, delivery))


def build_report(session: Session, ctx: JobContext, interview_id: str, version: int | None = None) -> dict[str, Any]:
    """`version` is the one the request saw (it keys deduplication); the report records the one it read."""
    interview = iv.load(session, interview_id)
    version = interview.version
    ctx.progress("report", 0.1)
    todo = iv.answers(session, interview)
    llm = llm_for_user(session, ctx, interview.user_id)
    # Stored scores first (voice turns, AI or manual scoring); unscored answers get the rubric now.
    per_answer = []
    for a in todo:
        per_answer.append(a.scores if a.scores and "overall" in a.scores else iv.score_one(llm, a))
    if interview.scores and interview.scores.get("source") == "manual":
        dims, overall = interview.scores["dimensions"], interview.scores.get("overall")
    else:
        agg = iv.aggregate(per_answer, "ai")
        dims, overall = agg["dimensions"], agg["overall"]
    delivery = delivery_figures([a.delivery for a in todo if a.delivery])
    ctx.progress("narrative", 0.6, provider=llm.name)
    story = narrative(llm, iv.as_chat(iv.transcript(session, interview)), dims, per_answer, delivery)
    ctx.progress("report", 0.95)
    report = {
        "interview_id": interview.id, "mode": interview.mode, "title": interview.title,
        "overall_score": overall, "dimensions": dims, "delivery": delivery,
        **story.model_dump(),
        "answers": [{"question": a.question.get("text"), "overall": s.get("overall"),
                     **{d: (s.get(d) or {}).get("score") for d in iv.DIMENSIONS}} for a, s in zip(todo, per_answer)],
        "answered": len(todo), "provider": llm.name, "version": version, "generated_at": iso(utcnow()),
    }
    interview.report = report
    interview.report_version = version
    return report


def fresh_report(interview: Interview) -> dict[str, Any] | None:
    if interview.report is not None and interview.report_version == interview.version:
        return interview.report
    return None
