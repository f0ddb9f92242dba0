"""Operator endpoints (admins only): the canary, queue depths, jobs of every user, retries."""
from __future__ import annotations

from typing import Any, Literal

import dramatiq
from dramatiq.common import dq_name, xq_name
from flask import Blueprint, Response
from pydantic import Field
from sqlalchemy import func, select

from core.clock import iso
from core.errors import ServiceUnavailable
from core.models import Job, User
from webapp.auth import admin_required, current_user_id
from webapp.enqueue import enqueue, enqueue_many, job_links
from webapp.envelope import ok
from webapp.state import db, state
from webapp.validation import Strict, json_body, query
from workers import dispatch
from workers.broker import QUEUES

bp = Blueprint("ops", __name__, url_prefix="/api/ops")


class CanaryRequest(Strict):
    sleep_seconds: float = Field(default=0.0, ge=0, le=300)
    steps: int = Field(default=1, ge=1, le=100)
    fail_attempts: int = Field(default=0, ge=0, le=10)
    bad_input: bool = False
    payload: Any = None


@bp.post("/canary")
@admin_required
def canary() -> Response:
    body = json_body(CanaryRequest, allow_empty=True)
    job = enqueue("ops.canary", user_id=current_user_id(), args=body.model_dump())
    return ok(job_links(job), status=202)


class CanaryBurst(CanaryRequest):
    count: int = Field(ge=1, le=500)


@bp.post("/canaries")
@admin_required
def canaries() -> Response:
    """A burst of identical canaries (load-testing a deployment): one commit, one broker round trip."""
    body = json_body(CanaryBurst)
    args = body.model_dump(exclude={"count"})
    jobs = enqueue_many("ops.canary", user_id=current_user_id(), args=[dict(args) for _ in range(body.count)])
    return ok({"count": len(jobs), "jobs": [job_links(j) for j in jobs]}, status=202)


def broker_depths(broker: dramatiq.Broker) -> tuple[str, dict[str, dict[str, int | None]]]:
    """Messages waiting per queue, read without touching them: (broker kind, {queue: {ready, delayed, dead}})."""
    from dramatiq.brokers.stub import StubBroker

    if isinstance(broker, StubBroker):
        return "stub", {q: {"ready": broker.queues[q].qsize() if q in broker.queues else 0,
                            "delayed": broker.queues[dq_name(q)].qsize() if dq_name(q) in broker.queues else 0,
                            "dead": len(broker.dead_letters_by_queue.get(q, []))} for q in QUEUES}
    client = getattr(broker, "client", None)
    namespace = getattr(broker, "namespace", None)
    if client is None or namespace is None:
        # RabbitMQ's counting call declares queues (it is meant for tests): do not call it on a live system.
        return type(broker).__name__, {q: {"ready": None, "delayed": None, "dead": None} for q in QUEUES}
    # Only LLEN / ZCARD: nothing here may move or expire a message.
    pipe = client.pipeline(transaction=False)
    for q in QUEUES:
        pipe.llen(f"{namespace}:{q}")
        pipe.llen(f"{namespace}:{dq_name(q)}")
        pipe.zcard(f"{namespace}:{xq_name(q)}")
    try:
        counts = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - any Redis failure is "the broker is down" to an operator
        raise ServiceUnavailable(f"the broker does not answer: {exc.__class__.__name__}", stage="broker") from exc
    return "redis", {q: {"ready": counts[3 * i], "delayed": counts[3 * i + 1], "dead": counts[3 * i + 2]}
                     for i, q in enumerate(QUEUES)}


@bp.get("/queues")
@admin_required
def queues() -> Response:
    kind, depths = broker_depths(state().runtime.broker)
    rows = db().execute(select(Job.queue, Job.status, func.count()).where(Job.status.in_(("queued", "running")))
                        .group_by(Job.queue, Job.status)).all()
    by_db: dict[str, dict[str, int]] = {}
    for queue, status, n in rows:
        by_db.setdefault(queue, {})[status] = n
    return ok({"broker": kind, "queues": [
        {"name": q, **depths[q], "jobs_queued": by_db.get(q, {}).get("queued", 0),
         "jobs_running": by_db.get(q, {}).get("running", 0)} for q in QUEUES]})


def ops_job_dict(job: Job, email: str | None) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "queue": job.queue, "status": job.status, "stage": job.stage,
            "progress": round(job.progress or 0.0, 4), "attempts": job.attempts, "error": job.error,
            "user_id": job.user_id, "user_email": email, "request_id": job.request_id,
            "created_at": iso(job.created_at), "started_at": iso(job.started_at),
            "finished_at": iso(job.finished_at)}


class OpsJobsQuery(Strict):
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"] = "failed"
    kind: str | None = Field(default=None, max_length=60)
    limit: int = Field(default=50, ge=1, le=200)


@bp.get("/jobs")
@admin_required
def jobs() -> Response:
    q = query(OpsJobsQuery)
    stmt = (select(Job, User.email).outerjoin(User, User.id == Job.user_id).where(Job.status == q.status))
    if q.kind:
        stmt = stmt.where(Job.kind == q.kind)
    newest = Job.finished_at if q.status in ("succeeded", "failed", "cancelled") else Job.created_at
    rows = db().execute(stmt.order_by(newest.desc(), Job.id.desc()).limit(q.limit)).all()
    return ok({"status": q.status, "jobs": [ops_job_dict(job, email) for job, email in rows]})


@bp.post("/jobs/<job_id>/retry")
@admin_required
def retry(job_id: str) -> Response:
    """What `voicemock jobs retry ID` does, for any user's failed or cancelled job."""
    job, sent = dispatch.retry(job_id)
    data = {**ops_job_dict(job, None), "sent": sent,
            "note": None if sent else "the broker did not take the message; the sweeper will send it"}
    return ok(data, status=202)
