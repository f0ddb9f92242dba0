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
from jobs.context import JobContext
from workers import runtime

JobFn = Callable[..., Any]
log = logging.getLogger(__name__)

# The outcome travels from the actor to JobLifecycle in the same worker thread; returning it from
# the actor would make Dramatiq warn about a discarded result on every job.
_local = threading.local()


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
        also = None
        if stream == job_stream and type == "progress":
            def also(s):  # noqa: ANN001, ANN202 - the lease renewal rides in the event's transaction
                jobstore.renew(s, job_id, rt.settings.job_lease_seconds, stage=data.get("stage"),
                               progress=data.get("pct"))
        rt.events.emit(stream, type, data, also=also)

    return report


def _cancel_checker(rt: runtime.Runtime, job_id: str) -> Callable[[], bool]:
    state = {"at": 0.0, "value": False}

    def cancelled() -> bool:
        now = time.monotonic()
        if not state["value"] and now - state["at"] > 0.5:
            with rt.db.Session() as s:
                state["value"] = bool(s.execute(select(Job.cancel_requested).where(Job.id == job_id)).scalar())
            state["at"] = now
        return state["value"]

    return cancelled


class _LeaseKeeper:
    """Renews a running job's lease in the background, so a job that is busy for a long time
    between progress reports (one long provider call, a long transcription) keeps its claim, and
    the lease can stay short enough that a dead worker's job is taken over quickly."""

    def __init__(self, rt: runtime.Runtime, job_id: str) -> None:
        self.rt, self.job_id = rt, job_id
        self.stop = threading.Event()
        self.interval = max(1.0, rt.settings.job_lease_seconds / 3)
        self.thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                with self.rt.db.session_scope() as s:
                    jobstore.renew(s, self.job_id, self.rt.settings.job_lease_seconds)
            except Exception as exc:  # noqa: BLE001 - a missed renewal only shortens the lease
                log.warning("could not renew the lease of %s: %s", self.job_id, exc)

    def __enter__(self) -> "_LeaseKeeper":
        # SQLite (embedded mode) has one process and one writer: no other worker can take over.
        if not self.rt.db.is_sqlite:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()


def run_job(job_id: str, fn: JobFn) -> None:
    """Call `fn(session, ctx, **job.args)` in one transaction; hand JobLifecycle what it records."""
    rt = runtime.get()
    _local.outcome = None
    with rt.db.session_scope() as s:
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
