"""Live answers (issue 16): a live turn transcribed while it is recorded (jobs.live_turn)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import update

from core.models import Job, Turn
from jobs import live_turn
from workers import runtime
from workers.actors import job_actor
from workers.execution import run_job


@job_actor(live_turn.KIND, queue="stt", on_failure="practice.live_turn_failed")
def practice_live_turn(job_id: str) -> None:
    return run_job(job_id, live_turn.process_live_turn)


@job_actor("practice.live_turn_failed", queue="default")
def practice_live_turn_failed(message: dict, outcome: Any = None) -> None:
    """The job's writes rolled back with it: a live turn that failed for good is marked failed (no
    more chunks are taken) and its question stays open."""
    job_id = (message.get("kwargs") or {}).get("job_id")
    with runtime.get().db.session_scope() as s:
        job = s.get(Job, job_id or "")
        if job is None or job.status != "failed":
            return  # an attempt that will be retried
        s.execute(update(Turn).where(Turn.job_id == job.id, Turn.status.in_((live_turn.STATUS_LIVE,
                                                                              live_turn.STATUS_FINISHING)))
                  .values(status="failed").execution_options(synchronize_session=False))
