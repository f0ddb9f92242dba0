"""Interviews: text interviews (`int_…`) and voice sessions (`sess_…`) under one API."""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated, Literal

from flask import Blueprint, Response, request
from pydantic import ConfigDict, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import iso, utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.ids import new_id
from core.models import Interview, Job, Message, Question
from jobs import interviews as iv
from jobs import question_bank, reports
from jobs.exports import FORMATS
from jobs.practice import add_question, question_dict
from webapp.auth import current_user_id, login_required
from webapp.enqueue import enqueue, job_links
from webapp.envelope import ok
from webapp.openapi import NOT_BLANK, document
from webapp.state import db, read_db, state
from webapp.validation import Strict, json_body, query

bp = Blueprint("interviews", __name__, url_prefix="/api/interviews")

Difficulty = Literal["easy", "medium", "hard"]


class ListQuery(Strict):
    page: int = Field(default=1, ge=1, le=10_000_000)  # page * per_page is an OFFSET: keep it in 64 bits
    per_page: int = Field(default=20, ge=1, le=100)
    mode: Literal["voice", "text"] | None = None


class CreateInterview(Strict):
    """Document 004: `{"role": "Software Engineer", "type": "technical", "difficulty": "medium"}`.
    `role` and `type` are free text, mapped to the nearest question-bank role and type; the person's
    words are kept (title, `role`). `job_type` / `focus_area` are the older names of the same fields."""

    role: str | None = Field(default=None, min_length=1, max_length=120, examples=["Software Engineer"])
    type: str | None = Field(default=None, min_length=1, max_length=120, examples=["technical", "System Design"])
    title: str | None = Field(default=None, max_length=200)
    job_type: str | None = Field(default=None, min_length=1, max_length=120, description="alias of role")
    focus_area: str | None = Field(default=None, min_length=1, max_length=120, description="alias of type")
    difficulty: Difficulty = "medium"
    question_count: int = Field(default=5, ge=1, le=20)


# Chat roles (document 004's `"role": "assistant"`) and the transcript's own names.
CHAT_ROLES = {"user": "candidate", "assistant": "interviewer", "system": "system"}
AS_CHAT_ROLE = {"candidate": "user", "interviewer": "assistant", "system": "system"}


class PostMessage(Strict):
    content: str = Field(min_length=1, max_length=20000)
    role: Literal["user", "assistant", "system", "candidate", "interviewer"] = "user"
    question_id: str | None = Field(default=None, max_length=40)


class QuestionsRequest(Strict):
    count: int = Field(default=3, ge=1, le=20)
    # Free text like the create request's `type`: mapped to the nearest bank type (any type when
    # nothing matches); a provider writes questions for the person's own words.
    type: str | None = Field(default=None, min_length=1, max_length=60, examples=["behavioral", "SQL"])


class DifficultyRequest(Strict):
    difficulty: Difficulty | None = None  # absent: adapt to the last answer's score


# Any name, e.g. "problem_solving"; it must hold a visible character (NOT_BLANK, as the spec says).
DimensionName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                                 pattern=NOT_BLANK)]
Score = Annotated[float, Field(ge=0, le=100)]


def _names_must_match(schema: dict) -> None:
    # pydantic states the name pattern as patternProperties; say that no other names are allowed.
    schema["properties"]["scores"]["anyOf"][0]["additionalProperties"] = False


class ScoreRequest(Strict):
    """Document 004: `{"scores": {"technical": 85, "communication": 90, "problem_solving": 80},
    "feedback": "…"}`: any dimension names, each 0-100. The report and exports use these dimensions."""

    model_config = ConfigDict(json_schema_extra=_names_must_match)

    scores: dict[DimensionName, Score] | None = Field(default=None, max_length=20)
    overall: Score | None = None
    feedback: str | None = Field(default=None, max_length=5000)


class ExportQuery(Strict):
    format: Literal["json", "text", "markdown", "pdf"] = "json"


# Response shapes document 004 prints (inside the envelope's `data`), for /openapi.json.
_STR, _NUM = {"type": "string"}, {"type": ["number", "null"]}
INTERVIEW_ITEM = {"type": "object", "required": ["id", "user_id", "role", "type", "status", "created_at"],
                  "properties": {"id": _STR, "user_id": _STR, "role": _STR, "type": _STR, "status": _STR,
                                 "created_at": {"type": "string", "format": "date-time"}, "title": _STR,
                                 "job_type": _STR, "focus_area": _STR, "difficulty": _STR}}
LIST_DATA = {"type": "object", "required": ["interviews"],
             "properties": {"interviews": {"type": "array", "items": INTERVIEW_ITEM}}}
_LINES = {"type": "array", "items": _STR}
REPORT_DATA = {"type": "object", "properties": {
    "overall_score": _NUM, "strengths": _LINES, "weaknesses": _LINES, "recommendations": _LINES,
    "dimensions": {"type": "object", "additionalProperties": _NUM}}}


def owned(interview_id: str, session: Session | None = None) -> Interview:
    """The caller's interview (NotFound otherwise), in `session` (the request's by default)."""
    interview = (session or db()).get(Interview, interview_id)
    if interview is None or interview.user_id != current_user_id() or interview.deleted_at is not None:
        raise NotFound("interview not found")
    return interview


def summary_dict(i: Interview) -> dict:
    # `role` / `type` are document 004's names: the person's words for the role, the bank type of the
    # focus area; `job_type` / `focus_area` are the bank role and type they map to.
    return {"id": i.id, "user_id": i.user_id, "role": i.job_type, "type": i.focus_area, "mode": i.mode,
            "title": i.title, "status": i.status, "job_type": question_bank.normalize_role(i.job_type),
            "focus_area": i.focus_area, "difficulty": i.difficulty, "question_count": i.question_count,
            "overall_score": (i.scores or {}).get("overall") if i.scores else (i.summary or {}).get("overall_score"),
            "version": i.version, "created_at": iso(i.created_at), "ended_at": iso(i.ended_at)}


def detail_dict(i: Interview) -> dict:
    session = db()
    qs = iv.questions_of(session, i)
    current = next((q for q in qs if q.id == i.current_question_id), None)
    return {**summary_dict(i), "questions": [question_dict(q) for q in qs],
            "current_question": question_dict(current) if current else None,
            "messages": iv.transcript(session, i), "scores": i.scores, "summary": i.summary,
            "report": reports.fresh_report(i)}


@bp.get("")
@document(data=LIST_DATA, summary="Your interviews (text and voice)")
@login_required
def list_interviews() -> Response:
    q = query(ListQuery)
    where = [Interview.user_id == current_user_id(), Interview.deleted_at.is_(None)]
    if q.mode:
        where.append(Interview.mode == q.mode)
    session = db()
    total = session.execute(select(func.count()).select_from(Interview).where(*where)).scalar() or 0
    rows = session.execute(select(Interview).where(*where).order_by(Interview.created_at.desc(), Interview.id.desc())
                           .offset((q.page - 1) * q.per_page).limit(q.per_page)).scalars().all()
    return ok({"interviews": [summary_dict(i) for i in rows], "page": q.page, "per_page": q.per_page,
               "total": total, "next_page": q.page + 1 if q.page * q.per_page < total else None})


@bp.post("")
@document(data=INTERVIEW_ITEM, status=201, summary="Create an interview (free-text role and type)")
@login_required
def create_interview() -> Response:
    body = json_body(CreateInterview, allow_empty=True)
    # Free text: the question bank maps the role (or falls back to general) and the type (or any type).
    role_words = body.role or body.job_type or "general"
    focus_words = body.type or body.focus_area or "behavioral"
    interview = Interview(id=new_id("int"), user_id=current_user_id(), mode="text", status="active",
                          title=body.title or question_bank.title_for(role_words, focus_words),
                          job_type=role_words[:60], focus_area=question_bank.normalize_type(focus_words) or "mixed",
                          difficulty=body.difficulty, question_count=body.question_count)
    session = db()
    session.add(interview)
    session.commit()
    return ok(detail_dict(interview), status=201)


@bp.get("/<interview_id>")
@login_required
def get_interview(interview_id: str) -> Response:
    return ok(detail_dict(owned(interview_id)))


@bp.delete("/<interview_id>")
@login_required
def delete_interview(interview_id: str) -> Response:
    interview = owned(interview_id)
    interview.deleted_at = utcnow()
    interview.status = "completed"
    db().commit()
    return ok({"id": interview.id, "deleted": True})


@bp.post("/<interview_id>/messages")
@login_required
def post_message(interview_id: str) -> Response:
    interview = owned(interview_id)
    body = json_body(PostMessage)
    if interview.mode == "voice":
        raise Conflict("a voice session's answers are spoken: post audio to /turn", stage="validation")
    if interview.status != "active":
        raise Conflict("this interview has ended", stage="interview")
    session = db()
    role = CHAT_ROLES.get(body.role, body.role)
    qid = body.question_id or (interview.current_question_id if role == "candidate" else None)
    question = session.get(Question, qid) if qid else None
    if qid and (question is None or question.interview_id != interview.id):
        raise NotFound("question not found in this interview", stage="validation")
    now = utcnow()
    if role == "interviewer" and question is None:
        # The interviewer asks: the message is the interview's next question, which the next answer answers.
        question = add_question(session, interview, {"text": body.content, "type": interview.focus_area
                                                     if interview.focus_area in question_bank.list_types()
                                                     else "behavioral", "difficulty": interview.difficulty,
                                                     "source": "interviewer"})
    if role == "candidate" and question is not None:
        asked = session.execute(select(Message.id).where(Message.interview_id == interview.id,
                                                         Message.role == "interviewer",
                                                         Message.question_id == question.id)).first()
        if asked is None:  # the transcript shows the question before its answer
            session.add(Message(interview_id=interview.id, role="interviewer", content=question.text,
                                question_id=question.id, created_at=now - timedelta(milliseconds=1)))
    msg = Message(interview_id=interview.id, role=role, content=body.content,
                  question_id=question.id if question else None, created_at=now)
    session.add(msg)
    session.flush()
    next_q = None
    if role == "candidate" and question is not None:
        answered = {m for (m,) in session.execute(select(Message.question_id).where(
            Message.interview_id == interview.id, Message.role == "candidate"))}
        next_q = next((q for q in iv.questions_of(session, interview) if q.id not in answered), None)
        interview.current_question_id = next_q.id if next_q else None
    interview.version += 1
    session.commit()
    message = {**iv.message_dict(msg), "chat_role": AS_CHAT_ROLE.get(msg.role, msg.role)}
    return ok({"id": msg.id, "role": body.role, "content": msg.content, "message": message,
               "next_question": question_dict(next_q) if next_q else None}, status=201)


@bp.post("/<interview_id>/questions")
@login_required
def generate_questions(interview_id: str) -> Response:
    interview = owned(interview_id, read_db())
    body = json_body(QuestionsRequest, allow_empty=True)
    job = enqueue("interviews.questions", user_id=interview.user_id, subject_id=interview.id,
                  args={"interview_id": interview.id, "count": body.count, "type": body.type})
    return ok({"interview_id": interview.id, **job_links(job)}, status=202)


@bp.post("/<interview_id>/difficulty")
@login_required
def set_difficulty(interview_id: str) -> Response:
    interview = owned(interview_id)
    body = json_body(DifficultyRequest, allow_empty=True)
    previous = interview.difficulty
    if body.difficulty is None:
        scored = [a.scores for a in iv.answers(db(), interview) if a.scores and "overall" in a.scores]
        body.difficulty = question_bank.adapt_difficulty(previous, scored[-1]["overall"] if scored else None)
    if body.difficulty != previous:
        interview.difficulty = body.difficulty
        interview.version += 1
        db().commit()
    return ok({"id": interview.id, "difficulty": interview.difficulty, "previous": previous})


@bp.post("/<interview_id>/score")
@login_required
def score(interview_id: str) -> Response:
    interview = owned(interview_id)
    body = json_body(ScoreRequest, allow_empty=True)
    given = {k: _number(v) for k, v in (body.scores or {}).items()}
    if not given and body.overall is None:  # nothing to store: let the AI score it
        job = enqueue("interviews.score", user_id=interview.user_id, subject_id=interview.id,
                      args={"interview_id": interview.id})
        return ok({"interview_id": interview.id, **job_links(job)}, status=202)
    overall = _number(body.overall) if body.overall is not None else round(sum(given.values()) / len(given), 1)
    interview.scores = {"dimensions": given, "overall": overall, "source": "manual", "feedback": body.feedback}
    interview.version += 1
    db().commit()
    return ok({"id": interview.id, "interview_id": interview.id, "scores": given, "overall_score": overall,
               "feedback": body.feedback, "source": "manual"})


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _pending(interview: Interview, kind: str) -> Job | None:
    jobs = db().execute(select(Job).where(Job.subject_id == interview.id, Job.kind == kind,
                                          Job.status.in_(("queued", "running")))
                        .order_by(Job.created_at.desc())).scalars()
    return next((j for j in jobs if (j.args or {}).get("version") == interview.version), None)


# How long GET …/report waits for a report job before answering 202 with the job. Document 004 shows
# the report itself as the answer, so a client that reads it once usually gets it; `Prefer:
# respond-async` (RFC 7240) answers 202 at once.
REPORT_WAIT_SECONDS = 10.0


def _wait_finished(job_id: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    database = state().runtime.db
    while time.monotonic() < deadline:
        with database.reader() as s:
            status = s.execute(select(Job.status).where(Job.id == job_id)).scalar()
        if status in ("succeeded", "failed", "cancelled"):
            return True
        time.sleep(0.05)
    return False


@bp.get("/<interview_id>/report")
@document(data=REPORT_DATA, summary="The interview's report (202 with its job while computed; Prefer: "
                                    "respond-async answers that at once)")
@login_required
def get_report(interview_id: str) -> Response:
    interview = owned(interview_id)
    cached = reports.fresh_report(interview)
    if cached is not None:
        return ok(cached)
    # One job per interview version: concurrent readers share it.
    job = _pending(interview, "interviews.report") or enqueue(
        "interviews.report", user_id=interview.user_id, subject_id=interview.id,
        args={"interview_id": interview.id, "version": interview.version})
    if "respond-async" not in request.headers.get("Prefer", "") and _wait_finished(job.id, REPORT_WAIT_SECONDS):
        db().refresh(interview)
        cached = reports.fresh_report(interview)
        if cached is not None:
            return ok(cached)
    return ok({"interview_id": interview.id, "status": "computing", **job_links(job)}, status=202,
              headers={"Retry-After": "1"})


@bp.post("/<interview_id>/export")
@login_required
def export(interview_id: str) -> Response:
    interview = owned(interview_id, read_db())
    q = query(ExportQuery)
    job = enqueue("interviews.export", user_id=interview.user_id, subject_id=interview.id,
                  args={"interview_id": interview.id, "format": q.format})
    ctype, ext = FORMATS[q.format]
    return ok({"interview_id": interview.id, "format": q.format, "content_type": ctype,
               "artifact_url": f"/api/jobs/{job.id}/artifact", **job_links(job)}, status=202)
