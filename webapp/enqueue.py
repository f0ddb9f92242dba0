"""Creating jobs from a request: the row and its `queued` event commit together, then the message."""
from __future__ import annotations

import logging
from typing import Any

from flask import g

from core.clock import utcnow
from core.ids import new_id
from core.models import Job
from webapp.auth import stream_url
from webapp.state import db, state
from workers import actors, dispatch

log = logging.getLogger(__name__)


def new_job(kind: str, *, user_id: str, args: dict[str, Any] | None = None, subject_id: str | None = None,
            batch_id: str | None = None) -> Job:
    """Add a job row and its `queued` event to the request's session (the caller commits, then
    calls `submit`). `enqueued_at` starts now: the sweeper waits its full interval before it
    re-sends a job whose first send failed."""
    now = utcnow()
    job = Job(id=new_id("job"), kind=kind, queue=actors.queue_of(kind), args=args or {}, user_id=user_id,
              subject_id=subject_id, batch_id=batch_id, request_id=getattr(g, "request_id", None),
              idempotency_key=getattr(g, "idempotency_key", None),
              tracked_skill_id_hash=getattr(g, "tracked_skill_id_hash", None), created_at=now, enqueued_at=now)
    session = db()
    session.add(job)
    job.queued_event = state().runtime.events.stage_first(session, job.stream, "queued", {"kind": kind})
    return job


def submit(job: Job) -> None:
    """After commit: publish `queued` and send. A broker outage leaves the job queued for the sweeper."""
    rt = state().runtime
    staged = getattr(job, "queued_event", None)
    if staged is not None:
        rt.events.publish(staged)
    else:  # a job row made elsewhere (e.g. by a job function): its event is written now
        try:
            rt.events.emit(job.stream, "queued", {"kind": job.kind})
        except Exception as exc:  # noqa: BLE001 - the row is committed; the event is a courtesy
            log.warning("could not record queued event for %s: %s", job.id, exc)
    dispatch.send(job.id, job.kind, request_id=job.request_id, mark=staged is None)


def job_links(job: Job) -> dict[str, str]:
    return {"job_id": job.id, "status_url": f"/api/jobs/{job.id}",
            "stream_url": stream_url(f"/api/jobs/{job.id}/events", job.user_id or "", job.stream)}


def enqueue(kind: str, *, user_id: str, args: dict[str, Any] | None = None, subject_id: str | None = None,
            batch_id: str | None = None) -> Job:
    job = new_job(kind, user_id=user_id, args=args, subject_id=subject_id, batch_id=batch_id)
    db().commit()
    submit(job)
    return job
