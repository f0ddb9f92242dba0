from __future__ import annotations

from typing import Any

from sqlalchemy import update

from core.models import Job, Turn
from jobs import practice
from workers import runtime
from workers.actors import job_actor
from workers.execution import run_job


@job_actor("practice.turn", queue="stt", on_failure="practice.turn_failed")
def practice_turn(job_id: str) -> None:
    return run_job(job_id, practice.process_turn)


@job_actor("practice.turn_failed", queue="default")
def practice_turn_failed(message: dict, outcome: Any = None) -> None:
    """The turn job's writes rolled back with it: mark the turn failed (a refused answer, e.g. no speech)
    so the session does not show it as queued forever; its question stays open."""
    job_id = (message.get("kwargs") or {}).get("job_id")
    with runtime.get().db.session_scope() as s:
        job = s.get(Job, job_id or "")
        if job is None or job.status != "failed":
            return  # an attempt that will be retried
        s.execute(update(Turn).where(Turn.job_id == job.id, Turn.status.in_(("queued", "running")))
                  .values(status="failed").execution_options(synchronize_session=False))


@job_actor("practice.summary", queue="llm")
def practice_summary(job_id: str) -> None:
    from jobs import summary

    return run_job(job_id, summary.summarize_session)
