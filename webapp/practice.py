"""Voice practice: start a session, post spoken answers, read, end and delete sessions."""
from __future__ import annotations

import os
from typing import Literal

from flask import Blueprint, Response, g, request
from pydantic import Field
from sqlalchemy import select

from core import tokens
from core.clock import utcnow
from core.errors import Conflict, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed
from core.ids import new_id
from core.models import Interview, Question, Turn, User
from core.principals import Principal
from jobs import practice, question_bank, resumes
from jobs.stt import probe_audio
from webapp.auth import Caller, authenticate, has_cookie_credentials, stream_url, user_for_claims
from webapp.billing import enforce_quota, meter
from webapp.enqueue import job_links, new_job, submit
from webapp.envelope import ok
from webapp.openapi import document
from webapp.sse import stream_response
from webapp.state import db, settings, state
from webapp.validation import Strict, json_body

bp = Blueprint("practice", __name__)

AUDIO_EXTENSIONS = {".wav", ".mp3", ".m4a", ".mp4", ".ogg", ".oga", ".opus", ".webm", ".flac", ".aac"}
AUDIO_TYPES = {"application/octet-stream", "video/webm", "video/mp4", "video/ogg"}


class StartSession(Strict):
    # Free text, as people type it (document 000: "Backend Engineer", "System Design"): mapped to the
    # nearest question-bank role and type; the person's words become the session's title. The bank's
    # own slugs (software_engineer, system_design, …) work too.
    job_type: str = Field(default="general", min_length=1, max_length=120,
                          examples=["Backend Engineer", *question_bank.list_roles()])
    focus_area: str = Field(default="behavioral", min_length=1, max_length=120,
                            examples=["System Design", *question_bank.list_types()])
    difficulty: Literal["easy", "medium", "hard"] = "medium"
    question_count: int = Field(default=5, ge=1, le=20)
    # Tailored practice (optional): questions drawn or generated for a job description and/or a resume.
    job_description: str | None = Field(default=None, max_length=resumes.MAX_JD_CHARS)
    resume_id: str | None = Field(default=None, min_length=1, max_length=40)


def _caller_or_guest() -> Principal:
    """Document 000 starts with `POST /session/start` and no credentials: where guests are allowed
    (embedded mode), a caller without any becomes a new guest (the answer carries its access token)."""
    has_credentials = (request.headers.get("Authorization") or request.headers.get("X-Session-Token")
                       or has_cookie_credentials())
    if has_credentials or not settings().allow_guest:
        return authenticate().principal
    subject = new_id("guest")
    user = user_for_claims({"sub": subject, "guest": True})
    g.guest_token = tokens.mint_access_token(settings(), subject, guest=True, ttl=7 * 24 * 3600)
    g.caller = Caller.of_user(user)
    return g.caller.principal


@bp.post("/session/start")
@document(status=201, summary="Start a voice practice session (free-text job_type and focus_area; without "
                              "credentials where guests are allowed, as a new guest)", data={
    "type": "object", "required": ["session_id", "token"], "properties": {
        "session_id": {"type": "string"}, "token": {"type": "string"}, "title": {"type": "string"},
        "access_token": {"type": "string", "description": "a new guest's bearer token"}}})
def start() -> Response:
    body = json_body(StartSession)
    user = _caller_or_guest()
    role_words, focus_words = body.job_type, body.focus_area
    body.job_type = question_bank.normalize_role(role_words)
    body.focus_area = question_bank.normalize_type(focus_words) or "mixed"
    session = db()
    resume = None
    if body.resume_id:
        resume = resumes.owned_resume(session, body.resume_id, user.id)
        if resume.status != "ready" or not (resume.text or "").strip():
            raise Conflict(f"resume {resume.id} is {resume.status} and has no text yet", stage="resume")
    enforce_quota(user.id, user.plan, "session", 1)
    interview, first = practice.start_session(session, user.id, job_type=body.job_type, focus_area=body.focus_area,
                                              difficulty=body.difficulty, question_count=body.question_count,
                                              job_description=body.job_description, resume=resume)
    interview.job_type = role_words[:60]  # the person's words; the bank role is normalize_role(job_type)
    interview.title = question_bank.title_for(role_words, focus_words)
    meter(user.id, "session", 1, subject_id=interview.id)
    session.commit()
    return ok({
        "session_id": interview.id,
        "token": tokens.mint_session_token(settings(), user.id, interview.id),
        "title": interview.title,
        "job_type": question_bank.normalize_role(role_words),
        "focus_area": body.focus_area,
        **({"access_token": g.guest_token} if g.get("guest_token") else {}),
        "first_question": practice.question_dict(first),
        "question_count": interview.question_count,
        "tailored": bool(interview.job_description or interview.resume_id),
        "stream_url": stream_url(f"/session/{interview.id}/events", user.id, interview.stream),
    }, status=201)


start.voicemock_guest = True  # type: ignore[attr-defined]  # webapp.pipeline: no credentials is a new guest


def _session_for_caller(session_id: str | None = None) -> Interview:
    caller = authenticate(allow_session=True)
    sid = session_id or caller.session_id or request.form.get("session_id")
    if not sid:
        # No session credential at all: an auth failure (401), like a missing token.
        raise Unauthorized("send X-Session-Token (or a bearer token with a session_id field)")
    if caller.session_id is not None and caller.session_id != sid:
        raise NotFound("session not found")
    return practice.get_owned(db(), sid, caller.user_id)


def _audio_upload() -> tuple[bytes, str]:
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise UnsupportedMediaType("send the answer as multipart/form-data with an 'audio' file part")
    file = request.files.get("audio")
    if file is None:
        raise ValidationFailed([{"path": "audio", "message": "an 'audio' file part is required"}], stage="upload")
    ext = os.path.splitext(file.filename or "")[1].lower()
    ctype = (file.mimetype or "application/octet-stream").lower()
    if not (ctype.startswith("audio/") or ctype in AUDIO_TYPES):
        raise UnsupportedMediaType(f"content type {ctype!r} is not audio; send wav, mp3, m4a, ogg or webm")
    if ext and ext not in AUDIO_EXTENSIONS:
        raise UnsupportedMediaType(f"file extension {ext!r} is not an accepted audio format")
    data = file.read(settings().max_audio_bytes + 1)
    if len(data) > settings().max_audio_bytes:
        raise PayloadTooLarge(f"audio is larger than {settings().max_audio_bytes} bytes")
    if not data:
        raise ValidationFailed([{"path": "audio", "message": "the audio file is empty"}], stage="upload")
    return data, ext or ".bin"


@bp.post("/turn")
@document(auth="session", status=202, multipart={"audio": "file", "question_id": "string", "session_id": "string"},
          summary="Post a spoken answer (X-Session-Token, or a bearer token with a session_id field)")
def post_turn() -> Response:
    interview = _session_for_caller()
    if interview.status != "active":
        raise Conflict("this session has ended", stage="session")
    session = db()
    question_id = request.form.get("question_id") or interview.current_question_id
    question = session.get(Question, question_id) if question_id else None
    if question is None or question.interview_id != interview.id:
        raise NotFound("question not found in this session", stage="validation")
    data, ext = _audio_upload()
    storage = state().runtime.storage
    turn_id = new_id("turn")
    key = f"audio/{interview.user_id}/{turn_id}{ext}"
    storage.save(key, data)
    try:
        info = probe_audio(str(storage.path(key)))
        if info.duration > settings().max_audio_seconds:
            raise PayloadTooLarge(f"audio is {info.duration:.0f} s; the limit is {settings().max_audio_seconds:.0f} s")
        owner = session.get(User, interview.user_id)
        enforce_quota(interview.user_id, owner.plan if owner else None, "audio_seconds", info.duration)
    except Exception:
        storage.delete(key)  # nothing half-written stays behind
        raise
    job = new_job("practice.turn", user_id=interview.user_id, args={"turn_id": turn_id}, subject_id=interview.id)
    session.flush()
    meter(interview.user_id, "audio_seconds", info.duration, job_id=job.id, subject_id=interview.id)
    session.add(Turn(id=turn_id, interview_id=interview.id, question_id=question.id, job_id=job.id, audio_key=key,
                     audio_format=info.codec, audio_seconds=info.duration, status="queued"))
    session.commit()
    submit(job)
    return ok({"turn_id": turn_id, "session_id": interview.id, "question_id": question.id,
               "audio_seconds": round(info.duration, 3), **job_links(job)}, status=202)


@bp.get("/session/<session_id>")
def get_session(session_id: str) -> Response:
    interview = _session_for_caller(session_id)
    return ok(practice.session_dict(db(), interview))


@bp.get("/session/<session_id>/events")
def session_events(session_id: str) -> Response:
    caller = authenticate(allow_session=True, stream=f"session:{session_id}")
    practice.get_owned(db(), session_id, caller.user_id)
    return stream_response(f"session:{session_id}", close_on_terminal=False)


@bp.post("/session/<session_id>/end")
def end_session(session_id: str) -> Response:
    interview = _session_for_caller(session_id)
    session = db()
    if interview.status != "completed":
        interview.status = "completed"
        interview.ended_at = utcnow()
        interview.version += 1
    job = new_job("practice.summary", user_id=interview.user_id, args={"interview_id": interview.id},
                  subject_id=interview.id)
    session.commit()
    submit(job)
    return ok({"session_id": interview.id, "status": interview.status, **job_links(job)}, status=202)


@bp.delete("/session/<session_id>")
def delete_session(session_id: str) -> Response:
    interview = _session_for_caller(session_id)
    session = db()
    interview.deleted_at = utcnow()
    interview.status = "completed"
    storage = state().runtime.storage
    for turn in session.execute(select(Turn).where(Turn.interview_id == interview.id)).scalars():
        if turn.audio_key:
            storage.delete(turn.audio_key)
            turn.audio_key = None
    session.commit()
    return ok({"session_id": interview.id, "deleted": True})
