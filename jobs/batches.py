"""Batches of jobs: counts by status, progress, and completion (decided once, by a conditional UPDATE)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.clock import iso, utcnow
from core.models import Batch, BatchItem, Job
from core.models.jobs import TERMINAL

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def counts(session: Session, batch_id: str) -> dict[str, int]:
    rows = session.execute(select(Job.status, func.count()).where(Job.batch_id == batch_id)
                           .group_by(Job.status)).all()
    out = {s: 0 for s in STATUSES}
    out.update({status: int(n) for status, n in rows})
    return out


def summary(session: Session, batch: Batch) -> dict[str, Any]:
    c = counts(session, batch.id)
    done = sum(c[s] for s in TERMINAL)
    total = max(batch.total, sum(c.values()))
    return {"id": batch.id, "kind": batch.kind, "status": batch.status, "closed": batch.closed, "total": total,
            "done": done, "counts": c, "progress": round(done / total, 4) if total else (1.0 if batch.closed else 0.0),
            "created_at": iso(batch.created_at), "finished_at": iso(batch.finished_at)}


def complete_if_done(session: Session, batch_id: str) -> dict[str, Any] | None:
    """Mark the batch completed when it is closed and every item is terminal; the summary only for the
    one caller whose UPDATE won (so the final event is emitted exactly once)."""
    batch = session.get(Batch, batch_id)
    if batch is None or batch.status != "running" or not batch.closed:
        return None
    c = counts(session, batch_id)
    if sum(c.values()) < batch.total or c["queued"] or c["running"]:
        return None
    won = session.execute(update(Batch).where(Batch.id == batch_id, Batch.status == "running")
                          .values(status="completed", finished_at=utcnow())
                          .execution_options(synchronize_session=False)).rowcount
    if not won:
        return None
    session.refresh(batch)
    return summary(session, batch)


def item_finished(session: Session, job_id: str) -> tuple[str, dict[str, Any], dict[str, Any] | None] | None:
    """For a batch item whose job row is terminal: (stream, item event data, completion summary or None)."""
    job = session.get(Job, job_id)
    if job is None or job.batch_id is None or job.status not in TERMINAL:
        return None  # not a batch job, or a failed attempt that will be retried
    key = session.execute(select(BatchItem.key).where(BatchItem.job_id == job_id)).scalar_one_or_none()
    c = counts(session, job.batch_id)
    item = {"job_id": job.id, "key": key, "status": job.status, "error": job.error,
            "done": sum(c[s] for s in TERMINAL), "counts": c}
    return f"batch:{job.batch_id}", item, complete_if_done(session, job.batch_id)
