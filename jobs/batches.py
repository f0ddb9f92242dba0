"""Batches of jobs: counts by status, progress, per-item announcements and completion.

Each finished item is announced once (an `item` event stored together with `BatchItem.notified_at`),
and the batch completes once (a conditional UPDATE stored together with its final event) only when
it is closed and every item has been announced, so the final event is the last one on the stream.
"""
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


def item_event(session: Session, job_id: str) -> tuple[str, str, dict[str, Any]] | None:
    """(batch id, stream, event data) for a batch item whose job row is terminal and not yet announced."""
    row = session.execute(select(Job, BatchItem).join(BatchItem, BatchItem.job_id == Job.id)
                          .where(Job.id == job_id)).one_or_none()
    if row is None:
        return None
    job, item = row
    if job.status not in TERMINAL or item.notified_at is not None:
        return None  # a failed attempt that will be retried, or already announced
    c = counts(session, job.batch_id)
    data = {"job_id": job.id, "key": item.key, "status": job.status, "error": job.error,
            "done": sum(c[s] for s in TERMINAL), "counts": c}
    return job.batch_id, f"batch:{job.batch_id}", data


def mark_notified(session: Session, job_id: str) -> bool:
    """Claim the announcement of one item (False: another callback already announced it)."""
    return session.execute(update(BatchItem).where(BatchItem.job_id == job_id, BatchItem.notified_at.is_(None))
                           .values(notified_at=utcnow()).execution_options(synchronize_session=False)).rowcount == 1


def unannounced(session: Session, batch_id: str) -> list[str]:
    """Finished items nobody announced (their callback was lost, or the job was cancelled while queued)."""
    return list(session.execute(select(Job.id).join(BatchItem, BatchItem.job_id == Job.id)
                                .where(BatchItem.batch_id == batch_id, BatchItem.notified_at.is_(None),
                                       Job.status.in_(TERMINAL))).scalars())


def complete_into(session: Session, batch_id: str, out: dict[str, Any]) -> bool:
    """Mark the batch completed if it is closed and every item was announced; fill `out` with its
    summary. True only for the one caller whose UPDATE won (so the final event is written once)."""
    batch = session.get(Batch, batch_id)
    if batch is None or batch.status != "running" or not batch.closed:
        return False
    announced = session.execute(select(func.count()).select_from(BatchItem)
                                .where(BatchItem.batch_id == batch_id, BatchItem.notified_at.is_not(None))).scalar()
    if (announced or 0) < batch.total:
        return False
    won = session.execute(update(Batch).where(Batch.id == batch_id, Batch.status == "running")
                          .values(status="completed", finished_at=utcnow())
                          .execution_options(synchronize_session=False)).rowcount
    if not won:
        return False
    session.refresh(batch)
    out.update(summary(session, batch))
    return True
