"""Progress over time: each scored session's dimension scores and delivery figures, oldest first, and
the trend of every figure (first-to-last delta and least-squares slope per session)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import iso
from core.models import Interview
from jobs import interviews as iv
from jobs import reports

_FIGURES = ("overall", "content", "structure", "delivery", "words_per_minute", "fillers_per_minute", "long_pauses")


def _slope(ys: list[float]) -> float | None:
    n = len(ys)
    if n < 2:
        return None
    mx, my = (n - 1) / 2, sum(ys) / n
    den = sum((i - mx) ** 2 for i in range(n))
    return round(sum((i - mx) * (y - my) for i, y in enumerate(ys)) / den, 3)


def _point(session: Session, interview: Interview) -> dict[str, Any] | None:
    answers = iv.answers(session, interview)
    scored = [a.scores for a in answers if a.scores and "overall" in a.scores]
    if interview.scores and interview.scores.get("source") == "manual":
        dims, overall = interview.scores.get("dimensions") or {}, interview.scores.get("overall")
    elif scored:
        agg = iv.aggregate(scored, "ai")
        dims, overall = agg["dimensions"], agg["overall"]
    else:
        return None
    delivery = reports.delivery_figures([a.delivery for a in answers if a.delivery]) or {}
    return {"interview_id": interview.id, "mode": interview.mode, "title": interview.title,
            "created_at": iso(interview.created_at), "answered": len(answers), "overall": overall,
            **{d: dims.get(d) for d in iv.DIMENSIONS},
            "words_per_minute": delivery.get("words_per_minute"), "fillers_per_minute": delivery.get("fillers_per_minute"),
            "long_pauses": delivery.get("long_pauses")}


def progress(session: Session, user_id: str, limit: int = 200) -> dict[str, Any]:
    rows = session.execute(select(Interview).where(Interview.user_id == user_id, Interview.deleted_at.is_(None))
                           .order_by(Interview.created_at.desc()).limit(limit)).scalars().all()
    points = [p for p in (_point(session, i) for i in reversed(rows)) if p is not None]
    trend = {}
    for f in _FIGURES:
        ys = [float(p[f]) for p in points if p.get(f) is not None]
        trend[f] = {"first": ys[0] if ys else None, "last": ys[-1] if ys else None,
                    "delta": round(ys[-1] - ys[0], 1) if len(ys) >= 2 else None, "slope": _slope(ys)}
    return {"sessions": points, "count": len(points), "trend": trend}
