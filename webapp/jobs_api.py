"""The jobs API: poll, stream, download, cancel, list."""
from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from flask import Blueprint, Response, request, send_file
from pydantic import Field
from sqlalchemy import and_, or_, select

from core import jobstore, tokens
from core.clock import iso
from core.errors import Conflict, NotFound, ValidationFailed
from core.models import Job
from webapp.auth import SYSTEM_SUBJECT, authenticate, current_user_id, login_required, stream_url
from webapp.envelope import ok
from webapp.errors import scrub_paths
from webapp.openapi import document
from webapp.retention_api import cron_secret_given
from webapp.sse import stream_response
from webapp.state import db, settings, state
from webapp.validation import Strict, query

bp = Blueprint("jobs", __name__, url_prefix="/api/jobs")


def job_dict(job: Job) -> dict:
    return {
        "id": job.id, "kind": job.kind, "queue": job.queue, "status": job.status,
        "progress": round(job.progress or 0.0, 4), "stage": job.stage, "attempts": job.attempts,
        "result": job.result, "error": scrub_paths(job.error), "subject_id": job.subject_id, "batch_id": job.batch_id,
        "request_id": job.request_id, "idempotency_key": job.idempotency_key, "usage": job.usage,
        "artifact": ({"name": job.artifact_name, "content_type": job.artifact_type,
                      "url": f"/api/jobs/{job.id}/artifact"} if job.artifact_key else None),
        "created_at": iso(job.created_at), "started_at": iso(job.started_at), "finished_at": iso(job.finished_at),
        "status_url": f"/api/jobs/{job.id}",
        "stream_url": stream_url(f"/api/jobs/{job.id}/events", job.user_id or SYSTEM_SUBJECT, job.stream),
    }


def owned_job(job_id: str, user_id: str) -> Job:
    job = db().get(Job, job_id)
    if job is None or job.user_id != user_id:
        raise NotFound("job not found")
    return job


def _followed_job(job_id: str, *, stream: str | None = None) -> Job:
    """A job as whoever started it may follow it: its user (bearer token, or the X-Session-Token of the
    session the job works on, as `/turn`'s `status_url` is used), its stream token, or, for the
    system jobs `POST /api/cron/*` starts, the cron secret."""
    job = db().get(Job, job_id)
    if job is None and cron_secret_given():
        raise NotFound("job not found")
    if job is not None and job.user_id is None:
        if cron_secret_given() or (stream and _system_stream_token(stream)):
            return job
        authenticate(allow_session=True, stream=stream)  # without any credentials: 401, as for any job
        raise NotFound("job not found")
    caller = authenticate(allow_session=True, stream=stream)
    if job is None or job.user_id != caller.user_id:
        raise NotFound("job not found")
    if caller.session_id is not None and job.subject_id != caller.session_id:
        raise NotFound("job not found")
    return job


def _system_stream_token(stream: str) -> bool:
    token = request.args.get("st")
    if not token:
        return False
    tokens.verify_stream_token(settings(), token, stream)  # 401 when forged, expired or for another stream
    return True


@bp.get("/<job_id>")
@document(auth="bearer", summary="A job's status (bearer token, the X-Session-Token of its session, or "
                                 "the cron secret for a cron job)")
def get_job(job_id: str) -> Response:
    job = _followed_job(job_id)
    headers = {} if job.finished else {"Retry-After": "1"}
    return ok(job_dict(job), headers=headers)


@bp.get("/<job_id>/events")
def job_events(job_id: str) -> Response:
    _followed_job(job_id, stream=f"job:{job_id}")
    return stream_response(f"job:{job_id}")


@bp.get("/<job_id>/artifact")
@login_required
def job_artifact(job_id: str) -> Response:
    job = owned_job(job_id, current_user_id())
    if job.status != "succeeded":
        raise Conflict(f"job is {job.status}; the artifact is ready when it has succeeded", stage="artifact")
    if not job.artifact_key:
        raise NotFound("this job has no artifact", stage="artifact")
    storage = state().runtime.storage
    if not storage.exists(job.artifact_key):
        raise NotFound("the artifact has expired", stage="artifact")
    resp = send_file(storage.path(job.artifact_key), as_attachment=True,
                     download_name=job.artifact_name or job.artifact_key.rsplit("/", 1)[-1])
    # Set as stored ("text/plain; charset=utf-8"): send_file's mimetype would add a second charset.
    resp.headers["Content-Type"] = job.artifact_type or "application/octet-stream"
    return resp


@bp.delete("/<job_id>")
@login_required
def cancel_job(job_id: str) -> Response:
    session = db()
    job = owned_job(job_id, current_user_id())
    if job.finished:
        raise Conflict(f"job already {job.status}", stage="cancel")
    if job.status == "queued":
        if jobstore.finish(session, job.id, "cancelled", stage="cancelled", cancel_requested=True):
            session.commit()
            state().runtime.events.emit(job.stream, "cancelled", {})
    else:
        job.cancel_requested = True
        session.commit()
    session.refresh(job)
    return ok(job_dict(job), status=202 if not job.finished else 200)


class JobListQuery(Strict):
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"] | None = None
    kind: str | None = None
    batch_id: str | None = None
    limit: int = Field(default=20, ge=1, le=100)  # bounds in the model, so /openapi.json states them
    cursor: str | None = None


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, job_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), job_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed([{"path": "cursor", "message": "invalid cursor"}]) from exc


def _encode_cursor(job: Job) -> str:
    return base64.urlsafe_b64encode(f"{job.created_at.isoformat()}|{job.id}".encode()).decode()


@bp.get("")
@login_required
def list_jobs() -> Response:
    q = query(JobListQuery)
    stmt = select(Job).where(Job.user_id == current_user_id())
    if q.status:
        stmt = stmt.where(Job.status == q.status)
    if q.kind:
        stmt = stmt.where(Job.kind == q.kind)
    if q.batch_id:
        stmt = stmt.where(Job.batch_id == q.batch_id)
    if q.cursor:
        created, job_id = _decode_cursor(q.cursor)
        stmt = stmt.where(or_(Job.created_at < created, and_(Job.created_at == created, Job.id < job_id)))
    rows = db().execute(stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(q.limit + 1)).scalars().all()
    page = rows[: q.limit]
    return ok({"jobs": [job_dict(j) for j in page],
               "next_cursor": _encode_cursor(page[-1]) if len(rows) > q.limit else None})
