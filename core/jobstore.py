"""Job row transitions. Every transition is one conditional UPDATE, so two processes racing on the
same job (a redelivered message, a sweeper re-send) cannot both win."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import Conflict, NotFound
from core.models import Job
from core.models.jobs import TERMINAL


def claim(session: Session, job_id: str, lease_seconds: int) -> Job | None:
    """queued → running (or take over a running job whose lease ran out: its worker died)."""
    now = utcnow()
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.cancel_requested.is_(False),
               or_(Job.status == "queued", (Job.status == "running") & (Job.lease_until < now)))
        .values(status="running", attempts=Job.attempts + 1, started_at=now, stage="started",
                lease_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount != 1:
        return None
    return session.get(Job, job_id, populate_existing=True)


def live_lease_ms(session: Session, job_id: str) -> int:
    """Milliseconds left on a running job's lease (0 when it is not running under a live lease)."""
    row = session.execute(select(Job.status, Job.lease_until).where(Job.id == job_id)).one_or_none()
    if row is None or row.status != "running" or row.lease_until is None:
        return 0
    return max(0, int((row.lease_until - utcnow()).total_seconds() * 1000))


def renew(session: Session, job_id: str, lease_seconds: int, *, stage: str | None = None,
          progress: float | None = None) -> None:
    values: dict[str, Any] = {"lease_until": utcnow() + timedelta(seconds=lease_seconds)}
    if stage is not None:
        values["stage"] = stage
    if progress is not None:
        values["progress"] = progress
    session.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(**values)
                    .execution_options(synchronize_session=False))


def renew_many(session: Session, job_ids: list[str], lease_seconds: int) -> None:
    """Extend the leases of running jobs (one worker process's background keeper)."""
    session.execute(update(Job).where(Job.id.in_(job_ids), Job.status == "running")
                    .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
                    .execution_options(synchronize_session=False))


def finish(session: Session, job_id: str, status: str, **values: Any) -> bool:
    """running/queued → a terminal status; False when the job had already finished."""
    assert status in TERMINAL
    stmt = (update(Job).where(Job.id == job_id, Job.status.not_in(TERMINAL))
            .values(status=status, finished_at=utcnow(), lease_until=None, **values)
            .execution_options(synchronize_session=False))
    return session.execute(stmt).rowcount == 1


def requeue(session: Session, job_id: str, *, stage: str, error: dict | None = None) -> None:
    session.execute(update(Job).where(Job.id == job_id, Job.status == "running")
                    .values(status="queued", stage=stage, error=error, lease_until=None, enqueued_at=utcnow())
                    .execution_options(synchronize_session=False))


def mark_enqueued(session: Session, job_id: str) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(enqueued_at=utcnow())
                    .execution_options(synchronize_session=False))


def mark_unsent(session: Session, job_ids: list[str]) -> None:
    """The broker refused these queued jobs' messages: clear `enqueued_at` (never sent), so the
    sweeper's next round re-sends them instead of waiting out its staleness interval."""
    session.execute(update(Job).where(Job.id.in_(job_ids), Job.status == "queued").values(enqueued_at=None)
                    .execution_options(synchronize_session=False))


def stale(session: Session, older_than_seconds: int, limit: int = 500) -> list[Job]:
    """Jobs the broker may have lost: queued and not sent for a while, or running with a dead lease."""
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    q = (select(Job).where(or_(
        (Job.status == "queued") & or_(Job.enqueued_at.is_(None), Job.enqueued_at < cutoff),
        (Job.status == "running") & (Job.lease_until < now),
    )).order_by(Job.created_at).limit(limit))
    return list(session.execute(q).scalars())


RETRYABLE = ("failed", "cancelled")


def retry(session: Session, job_id: str) -> Job:
    """failed/cancelled → queued, for an operator re-driving a dead letter (CLI and /api/ops share this).

    One conditional UPDATE: two operators pressing retry at once re-queue the job once. The caller
    commits, then emits `queued` and sends the message (workers.dispatch.retry does all three)."""
    stmt = (update(Job).where(Job.id == job_id, Job.status.in_(RETRYABLE))
            .values(status="queued", stage="retry", error=None, finished_at=None, lease_until=None,
                    cancel_requested=False, progress=0.0, enqueued_at=None)
            .execution_options(synchronize_session=False))
    if session.execute(stmt).rowcount != 1:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}", stage="retry")
        raise Conflict(f"job {job_id} is {job.status}; only failed or cancelled jobs are retried", stage="retry")
    return session.get(Job, job_id, populate_existing=True)
