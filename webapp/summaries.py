"""Session summaries (written by the `practice.summary` job) and skill assessments."""
from __future__ import annotations

from flask import Blueprint, Response, request
from pydantic import Field
from sqlalchemy import select

from core.errors import NotFound, ValidationFailed
from core.models import Job
from jobs import practice
from jobs.assessments import RUBRICS
from webapp.auth import authenticate, current_user, login_required
from webapp.enqueue import enqueue, job_links
from webapp.envelope import ok
from webapp.state import db
from webapp.validation import Strict, json_body, query

bp = Blueprint("summaries", __name__)


class SummaryQuery(Strict):
    session_id: str = Field(min_length=1, max_length=40)


class AssessmentRequest(Strict):
    session_id: str = Field(min_length=1, max_length=40)
    skill: str | None = Field(default=None, max_length=60, json_schema_extra={"enum": [*RUBRICS, None]})


def _echo() -> dict[str, str]:
    key = request.headers.get("Idempotency-Key")
    return {"Idempotency-Key": key} if key else {}


@bp.get("/api/v1/session-summary")
def session_summary() -> Response:
    caller = authenticate(allow_session=True)
    q = query(SummaryQuery)
    if caller.session_id is not None and caller.session_id != q.session_id:
        raise NotFound("session not found")
    interview = practice.get_owned(db(), q.session_id, caller.user.id)
    if interview.summary is not None:
        return ok(interview.summary, headers=_echo())
    job = db().execute(select(Job).where(Job.subject_id == interview.id, Job.kind == "practice.summary",
                                         Job.status.in_(("queued", "running")))
                       .order_by(Job.created_at.desc())).scalars().first()
    if job is None:
        raise NotFound("this session has no summary yet: end it with POST /session/{id}/end", stage="summary",
                       headers=_echo())
    return ok({"session_id": interview.id, "status": "computing", **job_links(job)}, status=202,
              headers={**_echo(), "Retry-After": "1"})


@bp.post("/api/assessments/run")
@login_required
def run_assessment() -> Response:
    body = json_body(AssessmentRequest)
    skill = (body.skill or "communication").strip().lower().replace(" ", "_").replace("-", "_")
    if skill not in RUBRICS:
        raise ValidationFailed([{"path": "skill", "message": f"must be one of: {', '.join(RUBRICS)}"}])
    interview = practice.get_owned(db(), body.session_id, current_user().id)
    job = enqueue("assessments.run", user_id=interview.user_id, subject_id=interview.id,
                  args={"session_id": interview.id, "skill": skill})
    return ok({"session_id": interview.id, "skill": skill, **job_links(job)}, status=202)
