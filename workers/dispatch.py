"""Send job messages. The caller has committed the job row first; a failed send loses nothing,
because the sweeper re-sends jobs left queued."""
from __future__ import annotations

import logging
from contextlib import nullcontext

from sqlalchemy.orm import Session

from core import jobstore
from core.events import Event
from core.models import Job
from workers import actors, runtime

log = logging.getLogger(__name__)


def send(job_id: str, kind: str, *, request_id: str | None = None, delay_ms: int | None = None,
         mark: bool = True, tracked_skill: str | None = None) -> bool:
    """Send the message for a committed job; False (and a warning) when the broker is down.
    `mark` records the send time (re-sends do; a new job's row already carries it). `tracked_skill`
    is the request's raw X-Tracked-Skill-Id sealed (core/sealed.py): it travels only in the message."""
    rt = runtime.get()
    actor = actors.ACTORS[kind]
    extra = {"tracked_skill": tracked_skill} if tracked_skill else {}
    try:
        actor.send_with_options(kwargs={"job_id": job_id}, request_id=request_id, delay=delay_ms, **extra)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the row stays queued for the sweeper
        log.warning("could not send %s (%s): %s; the sweeper will re-send it", job_id, kind, exc)
        _mark_unsent([job_id])
        return False
    if not mark:
        return True
    try:
        with rt.db.session_scope() as s:
            jobstore.mark_enqueued(s, job_id)
    except Exception as exc:  # noqa: BLE001 - enqueued_at only tunes the sweeper
        log.warning("could not mark %s enqueued: %s", job_id, exc)
    return True


def send_many(jobs: list[Job], tracked_skills: list[str | None] | None = None) -> bool:
    """Send the messages of committed new jobs, in one broker round trip where the broker allows it
    (Redis); False (and a warning) when the broker is down: the sweeper re-sends them.
    `tracked_skills`: each job's sealed X-Tracked-Skill-Id (see `send`), when the jobs come from
    several requests."""
    rt = runtime.get()
    batched = getattr(rt.broker, "batched", None)
    skills = tracked_skills or [None] * len(jobs)
    try:
        with batched() if batched is not None else nullcontext():
            for job, skill in zip(jobs, skills):
                extra = {"tracked_skill": skill} if skill else {}
                actors.ACTORS[job.kind].send_with_options(kwargs={"job_id": job.id}, request_id=job.request_id,
                                                          **extra)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the rows stay queued for the sweeper
        log.warning("could not send %d jobs: %s; the sweeper will re-send them", len(jobs), exc)
        _mark_unsent([job.id for job in jobs])
        return False
    return True


def _mark_unsent(job_ids: list[str]) -> None:
    """A send failed: the sweeper's next round (every minute, and at once when the scheduler sees
    Redis come back) re-sends these jobs, rather than after its staleness interval."""
    try:
        with runtime.get().db.session_scope() as s:
            jobstore.mark_unsent(s, job_ids)
    except Exception as exc:  # noqa: BLE001 - the rows stay queued either way; this only speeds recovery
        log.warning("could not mark %d unsent job(s): %s", len(job_ids), exc)


def announce_and_send(job_id: str, kind: str, *, request_id: str | None = None,
                      staged: Event | None = None, tracked_skill: str | None = None) -> bool:
    """For a committed job: make sure its `queued` event exists (`staged`: written with its row, and
    unheard of until now, so there is no one to publish it to), then send its message. A broker
    outage leaves the job queued for the sweeper."""
    rt = runtime.get()
    if staged is None:
        try:
            rt.events.emit(f"job:{job_id}", "queued", {"kind": kind})
        except Exception as exc:  # noqa: BLE001 - the row is committed; the event is a courtesy
            log.warning("could not record queued event for %s: %s", job_id, exc)
    return send(job_id, kind, request_id=request_id, mark=staged is None, tracked_skill=tracked_skill)


def retry(job_id: str) -> tuple[Job, bool]:
    """Re-drive a failed or cancelled job: re-queue its row (committed), emit `queued`, send the message.

    Returns the job and whether the broker took the message (when it did not, the sweeper will).
    Raises core.errors.NotFound / Conflict for an unknown job or one that is not failed/cancelled."""
    rt = runtime.get()
    requeued: list[Job] = []
    data: dict = {"retry": True}

    def requeue(s: Session) -> None:  # runs in the event's transaction: row and event commit together
        job = jobstore.retry(s, job_id)
        data["kind"] = job.kind
        s.expunge(job)
        requeued.append(job)

    rt.events.emit(f"job:{job_id}", "queued", data, also=requeue)
    job = requeued[0]
    return job, send(job.id, job.kind, request_id=job.request_id)
