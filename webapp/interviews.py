"""Interviews: text interviews (`int_…`) and voice sessions (`sess_…`) under one API."""
from __future__ import annotations

from datetime import timedelta
from typing import Literal

from flask import Blueprint, Response
from pydantic import Field
from sqlalchemy import func, select

from core.clock import iso, utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.ids import new_id
from core.models import Interview, Job, Message, Question
from jobs import interviews as iv
from jobs import question_bank, reports
from jobs.exports import FORMATS
from jobs.practice import question_dict
from webapp.auth import current_user, login_required
from webapp.enqueue import enqueue, job_links
from webapp.envelope import ok
from webapp.state import db
from webapp.validation import Strict, json_body, query

bp = Blueprint("interviews", __name__, url_prefix="/api/interviews")

Difficulty = Literal["easy", "medium", "hard"]


class ListQuery(Strict):
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=20, ge=1, le=100)
    mode: Literal["voice", "text"] | None = None


class CreateInterview(Strict):
    title: str | None = Field(default=None, max_length=200)
    job_type: str = Field(default="general", min_length=1, max_length=60)
    # The view also takes aliases ("system design", "Behavioral"); the spec lists the canonical types.
    focus_area: str = Field(default="behavioral", min_length=1, max_length=60,
                            json_schema_extra={"enum": question_bank.list_types()})
    difficulty: Difficulty = "medium"
    question_count: int = Field(default=5, ge=1, le=20)


class PostMessage(Strict):
    content: str = Field(min_length=1, max_length=20000)
    role: Literal["candidate", "interviewer"] = "candidate"
    question_id: str | None = Field(default=None, max_length=40)


class QuestionsRequest(Strict):
    count: int = Field(default=3, ge=1, le=20)
    type: str | None = Field(default=None, max_length=60,
                             json_schema_extra={"enum": [*question_bank.list_types(), None]})


class DifficultyRequest(Strict):
    difficulty: Difficulty | None = None  # absent: adapt to the last answer's score


class DimensionScores(Strict):
    content: int | None = Field(default=None, ge=0, le=100)
    structure: int | None = Field(default=None, ge=0, le=100)
    delivery: int | None = Field(default=None, ge=0, le=100)


class ScoreRequest(Strict):
    scores: DimensionScores | None = None
    overall: int | None = Field(default=None, ge=0, le=100)
    feedback: str | None = Field(default=None, max_length=5000)


class ExportQuery(Strict):
    format: Literal["json", "text", "markdown", "pdf"] = "json"


def owned(interview_id: str) -> Interview:
    interview = db().get(Interview, interview_id)
    if interview is None or interview.user_id != current_user().id or interview.deleted_at is not None:
        raise NotFound("interview not found")
    return interview


def summary_dict(i: Interview) -> dict:
    return {"id": i.id, "mode": i.mode, "title": i.title, "status": i.status, "job_type": i.job_type,
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
@login_required
def list_interviews() -> Response:
    q = query(ListQuery)
    where = [Interview.user_id == current_user().id, Interview.deleted_at.is_(None)]
    if q.mode:
        where.append(Interview.mode == q.mode)
    session = db()
    total = session.execute(select(func.count()).select_from(Interview).where(*where)).scalar() or 0
    rows = session.execute(select(Interview).where(*where).order_by(Interview.created_at.desc(), Interview.id.desc())
                           .offset((q.page - 1) * q.per_page).limit(q.per_page)).scalars().all()
    return ok({"interviews": [summary_dict(i) for i in rows], "page": q.page, "per_page": q.per_page,
               "total": total, "next_page": q.page + 1 if q.page * q.per_page < total else None})


@bp.post("")
@login_required
def create_interview() -> Response:
    body = json_body(CreateInterview, allow_empty=True)
    # job_type may be a free-text title: the question bank maps it to a role or falls back to general.
    if question_bank.normalize_type(body.focus_area) is None:
        raise ValidationFailed([{"path": "focus_area", "message": f"must be one of: {', '.join(question_bank.list_types())}"}])
    interview = Interview(id=new_id("int"), user_id=current_user().id, mode="text", status="active",
                          title=body.title or f"{body.job_type.replace('_', ' ').title()} — {body.focus_area}",
                          job_type=body.job_type, focus_area=question_bank.normalize_type(body.focus_area) or "behavioral",
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
    interview.status = "ended"
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
    qid = body.question_id or (interview.current_question_id if body.role == "candidate" else None)
    question = session.get(Question, qid) if qid else None
    if qid and (question is None or question.interview_id != interview.id):
        raise NotFound("question not found in this interview", stage="validation")
    now = utcnow()
    if body.role == "candidate" and question is not None:
        asked = session.execute(select(Message.id).where(Message.interview_id == interview.id,
                                                         Message.role == "interviewer",
                                                         Message.question_id == question.id)).first()
        if asked is None:  # the transcript shows the question before its answer
            session.add(Message(interview_id=interview.id, role="interviewer", content=question.text,
                                question_id=question.id, created_at=now - timedelta(milliseconds=1)))
    msg = Message(interview_id=interview.id, role=body.role, content=body.content,
                  question_id=question.id if question else None, created_at=now)
    session.add(msg)
    session.flush()
    next_q = None
    if body.role == "candidate" and question is not None:
        answered = {m for (m,) in session.execute(select(Message.question_id).where(
            Message.interview_id == interview.id, Message.role == "candidate"))}
        next_q = next((q for q in iv.questions_of(session, interview) if q.id not in answered), None)
        interview.current_question_id = next_q.id if next_q else None
    interview.version += 1
    session.commit()
    return ok({"message": iv.message_dict(msg), "next_question": question_dict(next_q) if next_q else None},
              status=201)


@bp.post("/<interview_id>/questions")
@login_required
def generate_questions(interview_id: str) -> Response:
    interview = owned(interview_id)
    body = json_body(QuestionsRequest, allow_empty=True)
    if body.type is not None and question_bank.normalize_type(body.type) is None:
        raise ValidationFailed([{"path": "type", "message": f"must be one of: {', '.join(question_bank.list_types())}"}])
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
    given = body.scores.model_dump(exclude_none=True) if body.scores else {}
    if not given and body.overall is None:  # nothing to store: let the AI score it
        job = enqueue("interviews.score", user_id=interview.user_id, subject_id=interview.id,
                      args={"interview_id": interview.id})
        return ok({"interview_id": interview.id, **job_links(job)}, status=202)
    overall = body.overall if body.overall is not None else round(sum(given.values()) / len(given), 1)
    interview.scores = {"dimensions": {d: given.get(d) for d in iv.DIMENSIONS}, "overall": overall,
                        "source": "manual", "feedback": body.feedback}
    interview.version += 1
    db().commit()
    return ok({"id": interview.id, "scores": interview.scores})


def _pending(interview: Interview, kind: str) -> Job | None:
    jobs = db().execute(select(Job).where(Job.subject_id == interview.id, Job.kind == kind,
                                          Job.status.in_(("queued", "running")))
                        .order_by(Job.created_at.desc())).scalars()
    return next((j for j in jobs if (j.args or {}).get("version") == interview.version), None)


@bp.get("/<interview_id>/report")
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
    return ok({"interview_id": interview.id, "status": "computing", **job_links(job)}, status=202,
              headers={"Retry-After": "1"})


@bp.post("/<interview_id>/export")
@login_required
def export(interview_id: str) -> Response:
    interview = owned(interview_id)
    q = query(ExportQuery)
    job = enqueue("interviews.export", user_id=interview.user_id, subject_id=interview.id,
                  args={"interview_id": interview.id, "format": q.format})
    ctype, ext = FORMATS[q.format]
    return ok({"interview_id": interview.id, "format": q.format, "content_type": ctype,
               "artifact_url": f"/api/jobs/{job.id}/artifact", **job_links(job)}, status=202)
