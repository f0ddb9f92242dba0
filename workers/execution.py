"""Run a job function inside an actor: build its context, own its transaction, shape its outcome."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core.errors import BadInput
from core.sealed import unseal
from core.models import Job
from core.transitions import ClaimedJob
from jobs.context import JobContext
from workers import handover, runtime
from workers.event_lanes import JobEvents, frozen
from workers.leases import LeaseKeeper

JobFn = Callable[..., Any]
log = logging.getLogger(__name__)


def _write(rt: runtime.Runtime, job_id: str, stream: str, type: str, data: dict) -> None:
    if stream == f"job:{job_id}" and type == "progress":  # the lease renewal rides with the event
        rt.transitions.progress(job_id, data, rt.settings.job_lease_seconds)
    else:
        rt.events.emit(stream, type, data)


def _reporter(rt: runtime.Runtime, job_id: str, session: Session, deferred: list,
              lane: JobEvents | None) -> Callable[[str, str, dict], None]:
    if lane is not None:  # PostgreSQL: written on the job's lane, in order, while the job goes on
        # A copy: the job may change its dicts after reporting them; the event says what was reported.
        return lambda stream, type, data: lane.submit(_write, rt, job_id, stream, type, frozen(data))
    # SQLite has one writer: once the job's own transaction has written (flushed), an event written
    # from another connection would wait on it forever. From then on events queue up and go out,
    # in order, right after the job's commit. PostgreSQL locks rows, so it never needs this.
    wrote = {"flag": False}
    if rt.db.is_sqlite:
        event.listen(session, "after_flush", lambda *_: wrote.update(flag=True))

    def report(stream: str, type: str, data: dict) -> None:
        if wrote["flag"]:
            deferred.append((stream, type, data))
            return
        _write(rt, job_id, stream, type, data)

    return report


def _cancel_checker(rt: runtime.Runtime, job_id: str) -> Callable[[], bool]:
    # The claim has just checked the flag: the first look in the database is due in half a second.
    state = {"at": time.monotonic(), "value": False}

    def cancelled() -> bool:
        now = time.monotonic()
        if not state["value"] and now - state["at"] > 0.5:
            with rt.db.Session() as s:
                state["value"] = bool(s.execute(select(Job.cancel_requested).where(Job.id == job_id)).scalar())
            state["at"] = now
        return state["value"]

    return cancelled


def run_job(job_id: str, fn: JobFn) -> None:
    """Call `fn(session, ctx, **job.args)` in one transaction; hand JobLifecycle what it records."""
    rt = runtime.get()
    handover.give_outcome(None)
    sealed_skill = handover.take_sealed_skill()
    job: ClaimedJob | Job | None = handover.take_claimed(job_id)
    claimed = job is not None  # JobLifecycle claimed it and will record its outcome
    with rt.db.session_scope() as s:
        if job is None:  # called outside JobLifecycle (a test, a direct call): read the row
            job = s.get(Job, job_id)
        if job is None:
            raise BadInput(f"job {job_id} does not exist", stage="lookup")
        ctx = JobContext(job_id=job.id, kind=job.kind, settings=rt.settings, storage=rt.storage,
                         user_id=job.user_id, request_id=job.request_id,
                         tracked_skill_id_hash=job.tracked_skill_id_hash, attempt=job.attempts,
                         tracked_skill_id=unseal(rt.settings.secret_key, sealed_skill)
                         if job.tracked_skill_id_hash else None,
                         cancelled=_cancel_checker(rt, job_id))
        lane = None if rt.db.is_sqlite else JobEvents(job_id)
        ctx.reporter = _reporter(rt, job_id, s, ctx.deferred, lane)
        with LeaseKeeper(rt, job_id):
            try:
                result = fn(s, ctx, **(job.args or {}))
            except BaseException:
                if lane is not None:
                    lane.flush(raise_error=False)  # its own error wins; its events still precede `failed`
                raise
            last_progress = None
            if lane is not None:  # before the commit: a report that failed fails the job, as in line
                last_progress = _write_unwritten(lane, job_id, fold=claimed)
    for stream, type, data in ctx.deferred:
        rt.events.emit(stream, type, data)
    handover.give_outcome({"result": result, "artifact": ctx.artifact, "usage": ctx.usage or None,
                           "last_progress": last_progress})


def _write_unwritten(lane: JobEvents, job_id: str, *, fold: bool) -> dict | None:
    """Do the job's reports its lane has not written yet, here, in order; when the last of them is
    a progress report of the job itself and JobLifecycle will record the outcome (`fold`), return
    its data instead of writing it: the finish stores it with the terminal event, one statement
    instead of two (the usual case of a job whose last step reports and returns)."""
    rest = lane.take_unwritten()
    last = None
    if fold and rest and rest[-1][0] is _write:
        _, (_, _, stream, type, data) = rest[-1]  # _write(rt, job_id, stream, type, data), as `_reporter` queues it
        if stream == f"job:{job_id}" and type == "progress":
            last = data
            rest.pop()
    for write, args in rest:
        write(*args)
    return last
