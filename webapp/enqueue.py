"""Creating jobs from a request: the row and its `queued` event commit together, then the message."""
from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy.exc import DBAPIError, OperationalError

from core.clock import utcnow
from core.ids import new_id
from core.events import Event
from core.models import Job
from core.transitions import Transitions
from webapp.auth import SYSTEM_SUBJECT, stream_url
from webapp.state import db, state
from webapp.tracking import sealed_for_job
from workers import actors, dispatch


def _job_row(kind: str, *, user_id: str, args: dict[str, Any] | None = None, subject_id: str | None = None,
             batch_id: str | None = None) -> Job:
    now = utcnow()
    return Job(id=new_id("job"), kind=kind, queue=actors.queue_of(kind), args=args or {}, user_id=user_id,
              subject_id=subject_id, batch_id=batch_id, request_id=getattr(g, "request_id", None),
              idempotency_key=getattr(g, "idempotency_key", None),
              tracked_skill_id_hash=getattr(g, "tracked_skill_id_hash", None), created_at=now, enqueued_at=now,
              status="queued", progress=0.0, attempts=0, cancel_requested=False)


def new_job(kind: str, *, user_id: str, args: dict[str, Any] | None = None, subject_id: str | None = None,
            batch_id: str | None = None) -> Job:
    """Add a job row and its `queued` event to the request's session (the caller commits, then
    calls `submit`). `enqueued_at` starts now; a send that fails clears it (workers.dispatch),
    so the sweeper's next round re-sends the job."""
    job = _job_row(kind, user_id=user_id, args=args, subject_id=subject_id, batch_id=batch_id)
    job.queued_event = state().runtime.transitions.create(db(), job, {"kind": kind})
    return job


def submit(job: Job) -> None:
    """After commit: publish `queued` and send (rows made by `new_job` carry their staged event; a row
    made elsewhere, e.g. by a job function, gets its event written now)."""
    dispatch.announce_and_send(job.id, job.kind, request_id=job.request_id,
                               staged=getattr(job, "queued_event", None), tracked_skill=sealed_for_job())


def job_links(job: Job) -> dict[str, str]:
    return {"job_id": job.id, "status_url": f"/api/jobs/{job.id}",
            "stream_url": stream_url(f"/api/jobs/{job.id}/events", job.user_id or SYSTEM_SUBJECT, job.stream)}


def enqueue_many(kind: str, *, user_id: str, args: list[dict[str, Any]]) -> list[Job]:
    """A burst of jobs of one kind: rows and `queued` events in one commit, messages in one send."""
    jobs = [_job_row(kind, user_id=user_id, args=a) for a in args]
    state().runtime.transitions.create_many(db(), jobs, {"kind": kind})
    db().commit()
    dispatch.send_many(jobs)
    return jobs


def _session_untouched() -> bool:
    """Nothing read or written yet in the request's session (no transaction, nothing pending)."""
    session = g.get("db")
    return session is None or not (session.in_transaction() or session.new or session.dirty or session.deleted)


LoneJob = tuple[Job, dict, "str | None"]  # a job row, its `queued` event's data, its sealed tracked skill


def write_lone_jobs(transitions: Transitions, items: list[LoneJob]) -> list[Event | Exception]:
    """The web process's group commit (`AppState.lone_jobs`): the jobs of the requests that wrote
    nothing else, queued while the previous batch was being written, go in one statement
    (`Transitions.create_alone_batch`: rows and events, one durable commit) and their messages in
    one broker round trip. A batch that one row spoils (a constraint it breaks) is written again a
    job at a time, so only that request fails; a database that does not answer fails them all."""
    pairs = [(job, data) for job, data, _ in items]
    outcomes: list[Event | Exception]
    try:
        outcomes = (transitions.create_alone_batch(pairs) if len(pairs) > 1
                    else [transitions.create_alone(*pairs[0])])
    except DBAPIError as exc:
        if len(pairs) == 1 or isinstance(exc, OperationalError) or exc.connection_invalidated:
            raise
        outcomes = []
        for job, data in pairs:
            try:
                outcomes.append(transitions.create_alone(job, data))
            except DBAPIError as one:
                outcomes.append(one)
    sent = [(job, skill) for (job, _, skill), outcome in zip(items, outcomes) if isinstance(outcome, Event)]
    if sent:  # a broker outage leaves them queued for the sweeper (dispatch.send_many)
        dispatch.send_many([job for job, _ in sent], [skill for _, skill in sent])
    return outcomes


def enqueue(kind: str, *, user_id: str, args: dict[str, Any] | None = None, subject_id: str | None = None,
            batch_id: str | None = None) -> Job:
    """Create a job (row and `queued` event, committed) and send it. A request that wrote nothing
    else (PostgreSQL) has them written by the process's group commit (`write_lone_jobs`: alone when
    the server is quiet, with the other requests' jobs when it is busy); otherwise they commit with
    the request's other changes."""
    app_state = state()
    if app_state.lone_jobs is not None and _session_untouched():
        job = _job_row(kind, user_id=user_id, args=args, subject_id=subject_id, batch_id=batch_id)
        job.queued_event = app_state.lone_jobs.submit((job, {"kind": kind}, sealed_for_job()))
        return job  # its message went with its batch
    job = new_job(kind, user_id=user_id, args=args, subject_id=subject_id, batch_id=batch_id)
    db().commit()
    submit(job)
    return job
