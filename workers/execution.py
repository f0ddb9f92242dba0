"""Run a job function inside an actor: build its context, own its transaction, shape its outcome."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core import jobstore
from core.errors import BadInput
from core.models import Job
from core.transitions import ClaimedJob
from jobs.context import JobContext
from workers import runtime

JobFn = Callable[..., Any]
log = logging.getLogger(__name__)

# The outcome travels from the actor to JobLifecycle in the same worker thread; returning it from
# the actor would make Dramatiq warn about a discarded result on every job.
_local = threading.local()


def hand_over(job: ClaimedJob) -> None:
    """JobLifecycle passes the row it claimed to the actor in the same thread (no second read)."""
    _local.claimed = job


def _take_claimed(job_id: str) -> ClaimedJob | None:
    job = getattr(_local, "claimed", None)
    _local.claimed = None
    return job if job is not None and job.id == job_id else None


def take_outcome() -> dict[str, Any]:
    outcome = getattr(_local, "outcome", None) or {}
    _local.outcome = None
    return outcome


def _reporter(rt: runtime.Runtime, job_id: str, session: Session,
              deferred: list) -> Callable[[str, str, dict], None]:
    job_stream = f"job:{job_id}"
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
        if stream == job_stream and type == "progress":  # the lease renewal rides with the event
            rt.transitions.progress(job_id, data, rt.settings.job_lease_seconds)
        else:
            rt.events.emit(stream, type, data)

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


class _LeaseKeeper:
    """Renews the leases of the jobs this process is running, in the background and in one
    statement per round, so a job that is busy for a long time between progress reports (one long
    provider call, a long transcription) keeps its claim, and the lease can stay short enough that a
    dead worker's job is taken over quickly. One thread per process, started with its first job."""

    _lock = threading.Lock()
    _running: dict[str, int] = {}  # job id -> how many threads of this process run it (normally 1)
    _thread: threading.Thread | None = None

    def __init__(self, rt: runtime.Runtime, job_id: str) -> None:
        self.rt, self.job_id = rt, job_id

    def __enter__(self) -> "_LeaseKeeper":
        # SQLite (embedded mode) has one process and one writer: no other worker can take over.
        if self.rt.db.is_sqlite:
            return self
        cls = type(self)
        with cls._lock:
            cls._running[self.job_id] = cls._running.get(self.job_id, 0) + 1
            if cls._thread is None or not cls._thread.is_alive():
                cls._thread = threading.Thread(target=cls._run, name="lease-keeper", daemon=True)
                cls._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        cls = type(self)
        with cls._lock:
            left = cls._running.get(self.job_id, 0) - 1
            if left > 0:
                cls._running[self.job_id] = left
            else:
                cls._running.pop(self.job_id, None)

    @classmethod
    def _run(cls) -> None:
        while True:
            rt = runtime.get()  # looked up each round: tests re-configure the runtime
            time.sleep(max(1.0, rt.settings.job_lease_seconds / 3))
            with cls._lock:
                ids = list(cls._running)
            if not ids:
                continue
            try:
                with rt.db.session_scope() as s:
                    jobstore.renew_many(s, ids, rt.settings.job_lease_seconds)
            except Exception as exc:  # noqa: BLE001 - a missed renewal only shortens the lease
                log.warning("could not renew the leases of %d jobs: %s", len(ids), exc)


def run_job(job_id: str, fn: JobFn) -> None:
    """Call `fn(session, ctx, **job.args)` in one transaction; hand JobLifecycle what it records."""
    rt = runtime.get()
    _local.outcome = None
    job: ClaimedJob | Job | None = _take_claimed(job_id)
    with rt.db.session_scope() as s:
        if job is None:  # called outside JobLifecycle (a test, a direct call): read the row
            job = s.get(Job, job_id)
        if job is None:
            raise BadInput(f"job {job_id} does not exist", stage="lookup")
        ctx = JobContext(job_id=job.id, kind=job.kind, settings=rt.settings, storage=rt.storage,
                         user_id=job.user_id, request_id=job.request_id,
                         tracked_skill_id_hash=job.tracked_skill_id_hash, attempt=job.attempts,
                         cancelled=_cancel_checker(rt, job_id))
        ctx.reporter = _reporter(rt, job_id, s, ctx.deferred)
        with _LeaseKeeper(rt, job_id):
            result = fn(s, ctx, **(job.args or {}))
    for stream, type, data in ctx.deferred:
        rt.events.emit(stream, type, data)
    _local.outcome = {"result": result, "artifact": ctx.artifact, "usage": ctx.usage or None}
