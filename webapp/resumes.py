"""Resumes: CRUD, uploads (PDF/DOCX, sniffed and capped, parsed in a job), generation jobs, history."""
from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response, request
from pydantic import ConfigDict, Field
from sqlalchemy import func, select

from core.clock import iso, utcnow
from core.errors import Conflict, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from core.ids import new_id
from core.models import Resume, ResumeGeneration
from jobs import resume_parse, resumes
from webapp.auth import current_user_id, login_required
from webapp.enqueue import job_links, new_job, submit
from webapp.envelope import ok
from webapp.openapi import NOT_BLANK, document
from webapp.pipeline import off_loop
from webapp.state import db, settings, state
from webapp.validation import INT64, Strict, json_body, query

bp = Blueprint("resumes", __name__, url_prefix="/api/resume")

GenType = Literal["bullet_rewrite", "tailor", "cover_letter"]


class ResumeIn(Strict):
    """Document 004: `{"name": "Software Engineer Resume", "content": "..."}`. `title` / `text` are the
    older names of the same fields."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": [k], "properties": {k: {"type": "string", "pattern": NOT_BLANK}}} for k in ("content", "text")]})

    name: str | None = Field(default=None, min_length=1, max_length=200, examples=["Software Engineer Resume"])
    content: str | None = Field(default=None, min_length=1, max_length=resumes.MAX_RESUME_CHARS)
    title: str | None = Field(default=None, min_length=1, max_length=200, description="alias of name")
    text: str | None = Field(default=None, min_length=1, max_length=resumes.MAX_RESUME_CHARS,
                             description="alias of content")
    sections: dict | None = None


class ResumeUpdate(Strict):
    """A partial update: only the fields sent change (`name`/`title`, `content`/`text`, `sections`)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    content: str | None = Field(default=None, min_length=1, max_length=resumes.MAX_RESUME_CHARS)
    title: str | None = Field(default=None, min_length=1, max_length=200, description="alias of name")
    text: str | None = Field(default=None, min_length=1, max_length=resumes.MAX_RESUME_CHARS,
                             description="alias of content")
    sections: dict | None = None


# "a resume_id or a resume_text" (checked in the views), in JSON Schema terms for the OpenAPI spec.
RESUME_GIVEN = {"anyOf": [
    {"required": ["resume_id"], "properties": {"resume_id": {"type": "string", "pattern": NOT_BLANK}}},
    {"required": ["resume_text"], "properties": {"resume_text": {"type": "string", "pattern": NOT_BLANK}}}]}


class GenerateIn(Strict):
    model_config = ConfigDict(json_schema_extra=RESUME_GIVEN)

    job_description: str = Field(min_length=1, max_length=resumes.MAX_JD_CHARS)
    resume_id: str | None = Field(default=None, max_length=40)
    resume_text: str | None = Field(default=None, max_length=resumes.MAX_RESUME_CHARS)
    type: GenType = "tailor"


class PageQuery(Strict):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=INT64)  # an OFFSET: 64 bits, stated in the spec
    type: GenType | None = None


def resume_dict(r: Resume, *, full: bool = True) -> dict:
    out = {"id": r.id, "name": r.title, "title": r.title, "source": r.source, "status": r.status, "filename": r.filename,
           "file_type": r.file_type, "file_size": r.file_size, "parse_job_id": r.parse_job_id, "error": r.error,
           "created_at": iso(r.created_at), "updated_at": iso(r.updated_at)}
    if full:
        out.update(content=r.text, text=r.text, sections=r.sections)
    return out


def generation_dict(g: ResumeGeneration) -> dict:
    return {"id": g.id, "type": g.type, "resume_id": g.resume_id, "job_id": g.job_id, "batch_id": g.batch_id,
            "job_description": g.job_description[:500], "output": g.output, "engine": g.engine,
            "created_at": iso(g.created_at)}


@bp.get("")
@login_required
def list_resumes() -> Response:
    q = query(PageQuery)
    session = db()
    uid = current_user_id()
    total = session.execute(select(func.count()).select_from(Resume).where(Resume.user_id == uid)).scalar() or 0
    rows = session.execute(select(Resume).where(Resume.user_id == uid)
                           .order_by(Resume.created_at.desc(), Resume.id.desc()).offset(q.offset).limit(q.limit)).scalars()
    return ok({"resumes": [resume_dict(r, full=False) for r in rows], "total": total})


@bp.post("")
@login_required
def create() -> Response:
    body = json_body(ResumeIn)
    text = body.content or body.text
    if not text:
        raise ValidationFailed([{"path": "content", "message": "the resume's content is required"}])
    sections = body.sections if body.sections is not None else resume_parse.split_sections(text)
    r = Resume(user_id=current_user_id(), title=body.name or body.title or "Resume", source="manual",
               status="ready", text=text, sections=sections)
    session = db()
    session.add(r)
    session.commit()
    return ok(resume_dict(r), status=201)


@bp.post("/upload")
@document(multipart={"file": "file", "name": "string"}, status=202, tags=["resumes"],
          summary="Upload a resume (PDF or DOCX) with its name; parsed by a job")
@login_required
def upload() -> Response:
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise UnsupportedMediaType("send the resume as multipart/form-data with a 'file' part")
    file = request.files.get("file")
    if file is None:
        raise ValidationFailed([{"path": "file", "message": "a 'file' part is required"}], stage="upload")
    kind = resume_parse.file_kind(file.filename)
    cap = settings().max_resume_bytes
    data = file.read(cap + 1)
    if len(data) > cap:
        raise PayloadTooLarge(f"the resume is larger than {cap} bytes")
    if not data:
        raise ValidationFailed([{"path": "file", "message": "the file is empty"}], stage="upload")
    # Magic bytes, zip caps, pypdf can open it: 4xx now, not a failed job. Parsing is CPU work: it runs
    # on a native thread, never on the gevent event loop that serves every other request.
    off_loop(resume_parse.sniff, data, kind)
    session = db()
    resume_id = new_id("res")
    key = state().runtime.storage.save(f"resumes/{current_user_id()}/{resume_id}.{kind}", data)
    name = (request.form.get("name") or request.form.get("title") or "").strip()  # document 004: `name`
    title = (name or file.filename or "Resume")[:200]
    job = new_job("resume.parse", user_id=current_user_id(), args={"resume_id": resume_id}, subject_id=resume_id)
    session.add(Resume(id=resume_id, user_id=current_user_id(), title=title, source="upload", status="parsing",
                       filename=(file.filename or "")[:255], file_type=kind, file_key=key, file_size=len(data),
                       parse_job_id=job.id))
    session.commit()
    submit(job)
    return ok({"resume_id": resume_id, "id": resume_id, "name": title, "status": "parsing", "file_type": kind,
               **job_links(job)}, status=202)


@bp.get("/history")
@login_required
def history() -> Response:
    q = query(PageQuery)
    session = db()
    stmt = select(ResumeGeneration).where(ResumeGeneration.user_id == current_user_id())
    if q.type:
        stmt = stmt.where(ResumeGeneration.type == q.type)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar() or 0
    rows = session.execute(stmt.order_by(ResumeGeneration.created_at.desc(), ResumeGeneration.id.desc())
                           .offset(q.offset).limit(q.limit)).scalars()
    items = [generation_dict(g) for g in rows]
    nxt = q.offset + len(items)
    return ok({"generations": items, "total": total, "next_offset": nxt if nxt < total else None})


def check_resume_ready(resume_id: str, user_id: str) -> None:
    r = resumes.owned_resume(db(), resume_id, user_id)
    if r.status != "ready":
        raise Conflict(f"resume {resume_id} is {r.status}; generate once it is ready", stage="resume")


@bp.post("/generate")
@login_required
def generate() -> Response:
    body = json_body(GenerateIn)
    user_id = current_user_id()
    if not body.resume_id and not (body.resume_text or "").strip():
        raise ValidationFailed([{"path": "resume_id", "message": "give a resume_id or resume_text"}])
    if body.resume_id:
        check_resume_ready(body.resume_id, user_id)
    args = {"job_description": body.job_description, "type": body.type, "resume_id": body.resume_id,
            "resume_text": None if body.resume_id else body.resume_text}
    job = new_job("resume.generate", user_id=user_id, args=args, subject_id=body.resume_id)
    db().commit()
    submit(job)
    return ok({"type": body.type, "resume_id": body.resume_id, **job_links(job)}, status=202)


@bp.get("/<resume_id>")
@login_required
def get_one(resume_id: str) -> Response:
    return ok(resume_dict(resumes.owned_resume(db(), resume_id, current_user_id())))


@bp.put("/<resume_id>")
@login_required
def update_one(resume_id: str) -> Response:
    body = json_body(ResumeUpdate)
    session = db()
    r = resumes.owned_resume(session, resume_id, current_user_id())
    title, text = body.name or body.title, body.content or body.text
    if r.status == "parsing" and (text is not None or body.sections is not None):
        raise Conflict("the resume is still being parsed", stage="resume")
    if title is not None:
        r.title = title
    if text is not None:
        r.text = text
        r.sections = body.sections if body.sections is not None else resume_parse.split_sections(text)
        r.status, r.error = "ready", None
    elif body.sections is not None:
        r.sections = body.sections
    r.updated_at = utcnow()
    session.commit()
    return ok(resume_dict(r))


@bp.delete("/<resume_id>")
@login_required
def delete_one(resume_id: str) -> Response:
    session = db()
    r = resumes.owned_resume(session, resume_id, current_user_id())
    if r.file_key:
        state().runtime.storage.delete(r.file_key)
    session.delete(r)
    session.commit()
    return ok({"id": resume_id, "deleted": True})
