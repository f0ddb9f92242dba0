"""Usage ledger vs job records vs plan quotas, per month and plan, with every mismatch listed.

Checks, per user and month: each transcription job has exactly one `audio_seconds` ledger row and the
metered amount matches the job's measured usage (within a tolerance for decoder rounding); every
ledger row names a job that exists; the `session` rows match the voice sessions started; usage stays
within the plan's quota. The plan is the user's current plan (plans are not versioned by period).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.models import Interview, Job, UsageLedger, User
from core.plans import get_plan

AUDIO_TOLERANCE_SECONDS = 1.0
METERED_KINDS = ("practice.turn",)


def _period(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def reconcile(session: Session, settings: Settings, start: datetime, end: datetime,
              user_id: str | None = None) -> dict[str, Any]:
    """Every user's figures, or one user's (`user_id`: a user's own dashboard)."""
    mine = (lambda col: col == user_id) if user_id else (lambda col: True)  # noqa: E731
    ledger = session.execute(select(UsageLedger).where(UsageLedger.at >= start, UsageLedger.at < end,
                                                       mine(UsageLedger.user_id))).scalars().all()
    jobs = session.execute(select(Job).where(Job.kind.in_(METERED_KINDS), Job.created_at >= start,
                                             Job.created_at < end, mine(Job.user_id))).scalars().all()
    sessions = session.execute(select(Interview.id, Interview.user_id, Interview.created_at).where(
        Interview.mode == "voice", Interview.created_at >= start, Interview.created_at < end,
        mine(Interview.user_id))).all()
    user_ids = {r.user_id for r in ledger} | {j.user_id for j in jobs if j.user_id} | {s.user_id for s in sessions}
    plans = {u.id: u.plan for u in session.execute(select(User).where(User.id.in_(user_ids))).scalars()} \
        if user_ids else {}

    mismatches: list[dict[str, Any]] = []
    audio_rows: dict[str, list[UsageLedger]] = defaultdict(list)
    per_user: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in ledger:
        key = (_period(row.at), row.user_id)
        per_user[key][f"ledger_{row.kind}"] += row.amount
        if row.kind == "audio_seconds":
            if row.job_id:
                audio_rows[row.job_id].append(row)
            else:
                mismatches.append({"type": "ledger_row_without_job", "ledger_id": row.id, "user_id": row.user_id,
                                   "period": key[0], "kind": row.kind, "amount": row.amount})
    job_ids = {j.id for j in jobs}
    for job_id, rows in audio_rows.items():
        if job_id not in job_ids and session.get(Job, job_id) is None:
            for row in rows:
                mismatches.append({"type": "ledger_row_for_missing_job", "ledger_id": row.id, "job_id": job_id,
                                   "user_id": row.user_id, "period": _period(row.at), "amount": row.amount})
    for job in jobs:
        key = (_period(job.created_at), job.user_id or "")
        per_user[key]["jobs"] += 1
        measured = float((job.usage or {}).get("audio_seconds") or 0.0)
        if job.status == "succeeded":
            per_user[key]["jobs_succeeded"] += 1
            per_user[key]["job_audio_seconds"] += measured
        rows = audio_rows.get(job.id, [])
        base = {"job_id": job.id, "user_id": job.user_id, "period": key[0], "status": job.status}
        if not rows:
            mismatches.append({"type": "job_without_ledger_row", **base, "measured_seconds": measured})
        elif len(rows) > 1:
            mismatches.append({"type": "job_metered_more_than_once", **base, "rows": len(rows)})
        elif job.status == "succeeded" and abs(rows[0].amount - measured) > AUDIO_TOLERANCE_SECONDS:
            mismatches.append({"type": "metered_amount_differs", **base, "metered_seconds": rows[0].amount,
                               "measured_seconds": measured})
    for s in sessions:
        per_user[(_period(s.created_at), s.user_id)]["voice_sessions"] += 1

    periods: dict[tuple[str, str], dict[str, Any]] = {}
    for (period, user_id), figures in sorted(per_user.items()):
        plan = get_plan(plans.get(user_id), settings)
        sessions_metered = figures.get("ledger_session", 0.0)
        if int(sessions_metered) != int(figures.get("voice_sessions", 0)):
            mismatches.append({"type": "session_count_differs", "user_id": user_id, "period": period,
                               "metered": int(sessions_metered), "started": int(figures.get("voice_sessions", 0))})
        audio_minutes = figures.get("ledger_audio_seconds", 0.0) / 60
        for what, spent, limit in (("sessions", sessions_metered, plan.sessions_per_month),
                                   ("audio_minutes", audio_minutes, plan.audio_minutes_per_month)):
            if limit is not None and spent > limit:
                mismatches.append({"type": "over_quota", "user_id": user_id, "period": period, "plan": plan.name,
                                   "quota": what, "used": round(spent, 3), "limit": limit})
        agg = periods.setdefault((period, plan.name), {
            "period": period, "plan": plan.name, "users": 0,
            "quota": {"sessions": plan.sessions_per_month, "audio_minutes": plan.audio_minutes_per_month},
            "ledger": {"sessions": 0.0, "audio_seconds": 0.0, "llm_tokens": 0.0},
            "jobs": {"transcriptions": 0, "succeeded": 0, "audio_seconds": 0.0}, "voice_sessions": 0,
            "mismatches": 0})
        agg["users"] += 1
        agg["ledger"]["sessions"] += sessions_metered
        agg["ledger"]["audio_seconds"] += figures.get("ledger_audio_seconds", 0.0)
        agg["ledger"]["llm_tokens"] += figures.get("ledger_llm_tokens", 0.0)
        agg["jobs"]["transcriptions"] += int(figures.get("jobs", 0))
        agg["jobs"]["succeeded"] += int(figures.get("jobs_succeeded", 0))
        agg["jobs"]["audio_seconds"] += figures.get("job_audio_seconds", 0.0)
        agg["voice_sessions"] += int(figures.get("voice_sessions", 0))
    for m in mismatches:
        plan_name = get_plan(plans.get(m.get("user_id") or ""), settings).name
        m.setdefault("plan", plan_name)
        if (m["period"], plan_name) in periods:
            periods[(m["period"], plan_name)]["mismatches"] += 1
    for agg in periods.values():
        agg["ledger"]["audio_seconds"] = round(agg["ledger"]["audio_seconds"], 3)
        agg["jobs"]["audio_seconds"] = round(agg["jobs"]["audio_seconds"], 3)
    return {"periods": list(periods.values()), "mismatches": mismatches, "mismatch_count": len(mismatches)}
