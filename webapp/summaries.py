"""Session summaries (written by the `practice.summary` job) and skill assessments."""
from __future__ import annotations

from flask import Blueprint, Response, g, request
from pydantic import Field
from sqlalchemy import select

from core.errors import NotFound, ValidationFailed
from core.models import Interview, Job
from jobs import practice
from jobs.assessments import RUBRICS
from webapp.auth import authenticate
from webapp.enqueue import enqueue, job_links
from webapp.envelope import ok
from webapp.openapi import document
from webapp.state import db, read_db
from webapp.validation import Strict, json_body, query

bp = Blueprint("summaries", __name__)


class SummaryQuery(Strict):
    session_id: str = Field(min_length=1, max_length=40)


class AssessmentRequest(Strict):
    """Every field is optional: document 001's example sends no body at all. Without `session_id`, the
    session of the X-Session-Token, else the caller's latest session; without `skill`, the one the
    X-Tracked-Skill-Id names when it names a rubric (`skill_leadership`), else communication."""

    session_id: str | None = Field(default=None, min_length=1, max_length=40)
    skill: str | None = Field(default=None, max_length=60, json_schema_extra={"enum": [*RUBRICS, None]})


# Tracked skills that name a rubric by another word (document 001's `skill_public_speaking`).
_SKILL_ALIASES = {"public_speaking": "communication", "presentation": "communication", "speaking": "communication",
                  "problem": "problem_solving", "technical": "technical_depth", "management": "leadership"}


def _skill_of_tracked(raw: str | None) -> str | None:
    if not raw:
        return None
    name = raw.strip().lower().replace("-", "_").replace(" ", "_")
    name = name[len("skill_"):] if name.startswith("skill_") else name
    return name if name in RUBRICS else _SKILL_ALIASES.get(name)


def _latest_session(user_id: str) -> Interview:
    interview = read_db().execute(select(Interview).where(Interview.user_id == user_id, Interview.deleted_at.is_(None))
                             .order_by(Interview.created_at.desc(), Interview.id.desc()).limit(1)).scalar()
    if interview is None:
        raise NotFound("you have no practice session to assess yet: start one with POST /session/start "
                       "(or POST /api/interviews), answer a question, then run the assessment", stage="assessment")
    return interview


@bp.after_request
def _echo_idempotency_key(resp: Response) -> Response:
    """Document 001: `GET /api/v1/session-summary` echoes the client's Idempotency-Key, on every
    answer of it (an error too: a 400, a 401, a 429)."""
    key = request.headers.get("Idempotency-Key")
    if key and request.endpoint == "summaries.session_summary":
        resp.headers["Idempotency-Key"] = key
    return resp


@bp.get("/api/v1/session-summary")
def session_summary() -> Response:
    caller = authenticate(allow_session=True)
    q = query(SummaryQuery)
    if caller.session_id is not None and caller.session_id != q.session_id:
        raise NotFound("session not found")
    interview = practice.get_owned(db(), q.session_id, caller.user_id)
    if interview.summary is not None:
        return ok(interview.summary)
    job = db().execute(select(Job).where(Job.subject_id == interview.id, Job.kind == "practice.summary",
                                         Job.status.in_(("queued", "running")))
                       .order_by(Job.created_at.desc())).scalars().first()
    if job is None:
        raise NotFound("this session has no summary yet: end it with POST /session/{id}/end", stage="summary")
    return ok({"session_id": interview.id, "status": "computing", **job_links(job)}, status=202,
              headers={"Retry-After": "1"})


@bp.route("/api/assessments/run", methods=["GET", "POST"])
@document(body=AssessmentRequest, status=202, tags=["summaries"], auth="bearer",
          summary="Assess a skill on a session (document 001's curl example: a GET with no body works; "
                  "X-Tracked-Skill-Id names the skill, only its SHA-256 is stored or logged)")
def run_assessment() -> Response:
    caller = authenticate(allow_session=True)
    body = json_body(AssessmentRequest, allow_empty=True)
    skill = (body.skill or _skill_of_tracked(g.get("tracked_skill_id")) or "communication")
    skill = skill.strip().lower().replace(" ", "_").replace("-", "_")
    if skill not in RUBRICS:
        raise ValidationFailed([{"path": "skill", "message": f"must be one of: {', '.join(RUBRICS)}"}])
    sid = body.session_id or caller.session_id
    if caller.session_id is not None and sid != caller.session_id:
        raise NotFound("session not found")
    interview = practice.get_owned(read_db(), sid, caller.user_id) if sid else _latest_session(caller.user_id)
    job = enqueue("assessments.run", user_id=interview.user_id, subject_id=interview.id,
                  args={"session_id": interview.id, "skill": skill})
    return ok({"session_id": interview.id, "skill": skill, "tracked_skill_id_hash": g.get("tracked_skill_id_hash"),
               **job_links(job)}, status=202)
