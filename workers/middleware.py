"""Dramatiq middleware: the job row's lifecycle and its events, log context, retry policy."""
from __future__ import annotations

import gc
import logging
import time
from typing import Any, Callable

import dramatiq
import structlog
from dramatiq.middleware import SkipMessage
from sqlalchemy.exc import DBAPIError, OperationalError

from core import jobstore
from core.errors import JobCancelled, VoiceMockError
from workers import handover, metrics
from workers.leases import LeaseKeeper

log = logging.getLogger("voicemock.worker")

_TRANSIENT_BUILTINS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OperationalError)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        # Under the worker memory cap the same input needs the same memory again: never retried.
        return False
    if isinstance(exc, VoiceMockError):
        return exc.retryable
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc, OperationalError)
    try:  # provider clients: network trouble and 429/5xx are worth another try
        import openai

        if isinstance(exc, (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)):
            return True
    except ImportError:  # pragma: no cover - openai is a hard dependency
        pass
    try:
        import redis

        if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, _TRANSIENT_BUILTINS)


def should_retry(max_retries: int) -> Callable[[int, BaseException], bool]:
    def retry_when(retries: int, exc: BaseException) -> bool:
        return retries < max_retries and is_transient(exc)

    return retry_when


def _job_id(message: dramatiq.Message) -> str | None:
    return message.kwargs.get("job_id") if isinstance(message.kwargs, dict) else None


class LogContext(dramatiq.Middleware):
    """Bind message id, actor and (when the job says) request id into every log line."""

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(message_id=message.message_id, actor=message.actor_name,
                                               job_id=_job_id(message),
                                               request_id=message.options.get("request_id"))

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        structlog.contextvars.clear_contextvars()

    after_skip_message = after_process_message


class JobLifecycle(dramatiq.Middleware):
    """queued → running → succeeded | failed | cancelled, with one event per step.

    Messages that name a `job_id` are job messages; others (maintenance ticks) pass through.
    A message for a job that is finished, or running under a live lease elsewhere, or running in
    this very process, is skipped: delivery is at least once, the work happens once.

    The runtime (database, event log, transitions, settings) is attached by
    `workers.runtime.configure` once it is built: this module never imports the runtime, which
    builds the broker that holds this middleware.
    """

    def __init__(self) -> None:
        self._rt: Any = None

    def attach(self, rt: Any) -> None:
        self._rt = rt

    @property
    def rt(self) -> Any:
        if self._rt is None:
            raise RuntimeError("JobLifecycle has no runtime: workers.runtime.configure(settings) was not called")
        return self._rt

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        job_id = _job_id(message)
        if job_id is None:
            return
        rt = self.rt
        if LeaseKeeper.holds(job_id):
            # A thread of this process is running it (a sweeper re-send, a broker redelivery): it
            # will finish it, whatever its lease says. Its own message is still unacked, so a crash
            # of this process leaves the job to be redelivered as usual.
            raise SkipMessage(f"job {job_id} is running in this process")
        try:
            job = rt.transitions.claim(job_id, rt.settings.job_lease_seconds)
            if job is None:
                with rt.db.session_scope() as s:
                    cancelled = _cancel_if_requested(s, job_id)
                    lease_ms = 0 if cancelled else jobstore.live_lease_ms(s, job_id)
        except (OperationalError, DBAPIError) as exc:
            # The database is down: drop this delivery; the row is still queued and the sweeper
            # re-sends it once the database is back.
            log.warning("cannot claim %s (%s); leaving it to the sweeper", job_id, exc.__class__.__name__)
            raise SkipMessage("database unavailable") from exc
        if job is None:
            if cancelled:
                rt.events.emit(f"job:{job_id}", "cancelled", {})
            elif lease_ms:
                # Held under a live lease: either a duplicate (the holder will finish it) or the
                # broker redelivered a dead worker's message before the lease ran out. Look again
                # when the lease ends rather than dropping the message.
                broker.enqueue(message.copy(), delay=lease_ms + 1000)
            raise SkipMessage(f"job {job_id} is finished or held by a live worker")
        handover.give_claimed(job)
        handover.give_sealed_skill(message.options.get("tracked_skill"))
        message.options["job_started_at"] = time.monotonic()
        structlog.contextvars.bind_contextvars(request_id=job.request_id)

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        job_id = _job_id(message)
        if job_id is None:
            return
        rt = self.rt
        kind = message.actor_name
        elapsed = time.monotonic() - message.options.get("job_started_at", time.monotonic())
        outcome = handover.take_outcome()
        if exception is None:
            artifact = outcome.get("artifact") or {}
            _finish(rt, job_id, "succeeded", {"result": outcome.get("result")},
                    last_progress=outcome.get("last_progress"), progress=1.0, stage="done",
                    error=None, result=outcome.get("result"), usage=outcome.get("usage") or None,
                    artifact_key=artifact.get("key"), artifact_name=artifact.get("name"),
                    artifact_type=artifact.get("type"))
            metrics.observe_job(kind, "succeeded", elapsed)
            return
        if isinstance(exception, JobCancelled):
            _finish(rt, job_id, "cancelled", {}, stage="cancelled")
            metrics.observe_job(kind, "cancelled", elapsed)
            return
        error = _error_of(exception)
        if message.failed:
            _finish(rt, job_id, "failed", {"error": error, "stage": error["stage"]}, stage=error["stage"], error=error)
            metrics.observe_job(kind, "failed", elapsed)
            log.warning("job %s failed at %s: %s", job_id, error["stage"], error["message"])
        else:
            rt.events.emit(f"job:{job_id}", "progress", {"stage": "retrying", "pct": 0.0, "error": error,
                                                "attempt": message.options.get("retries", 0)},
                           also=lambda s: jobstore.requeue(s, job_id, stage="retrying", error=error))
            metrics.JOB_RETRIES.labels(kind=kind).inc()


_FINISH_PAUSES = (0.2, 1.0, 3.0)  # seconds between attempts to record an outcome


def _finish(rt: Any, job_id: str, status: str, event: dict, *, last_progress: dict | None = None,
            **values: Any) -> None:
    """Move the job to a terminal status and announce it, in one transaction (or not at all).

    The work is done: losing its outcome would leave the row running until its lease ran out and
    the sweeper re-ran it. A passing failure to record it (memory briefly exhausted by another
    job under the worker's cap, a dropped connection) is tried again a few times first."""
    for pause in (*_FINISH_PAUSES, None):
        try:
            rt.transitions.finish(job_id, status, event, last_progress=last_progress, **values)
            return
        except (MemoryError, DBAPIError) as exc:
            if pause is None:
                raise
            log.warning("could not record %s of %s (%s); trying again", status, job_id, type(exc).__name__)
            gc.collect()
            time.sleep(pause)


def _cancel_if_requested(session: Any, job_id: str) -> bool:
    from core.models import Job

    job = session.get(Job, job_id)
    if job is not None and job.cancel_requested and not job.finished:
        return jobstore.finish(session, job_id, "cancelled", stage="cancelled")
    return False


def _error_of(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, VoiceMockError):
        return {"stage": exc.stage, "message": exc.message, "type": type(exc).__name__}
    if isinstance(exc, MemoryError):
        return {"stage": "memory", "message": "the job needed more memory than a worker may use "
                "(VOICEMOCK_WORKER_MEMORY_MB)", "type": "MemoryError"}
    return {"stage": "internal", "message": f"{type(exc).__name__}: {exc}"[:500], "type": type(exc).__name__}
