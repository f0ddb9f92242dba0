"""Batches of resume generation jobs: create (or open, fill and close), status, items, SSE events."""
from __future__ import annotations

from typing import Annotated

from flask import Blueprint, Response
from pydantic import ConfigDict, Field, model_validator
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import Conflict, NotFound, ValidationFailed
from core.models import Batch, BatchItem, Job, Resume
from jobs import batches, resumes
from webapp.auth import authenticate, current_user_id, login_required, stream_url
from webapp.enqueue import new_job, submit
from webapp.envelope import ok
from webapp.resumes import RESUME_GIVEN, GenType
from webapp.sse import stream_response
from webapp.state import db
from workers.actors import resumes as resume_actors
from webapp.validation import INT64, Strict, json_body, query

bp = Blueprint("batches", __name__)

MAX_ITEMS_PER_REQUEST = 1000
KIND = "resume.generate"


class ItemIn(Strict):
    key: str | None = Field(default=None, min_length=1, max_length=200)
    job_description: str = Field(min_length=1, max_length=resumes.MAX_JD_CHARS)
    resume_id: str | None = Field(default=None, max_length=40)
    resume_text: str | None = Field(default=None, max_length=resumes.MAX_RESUME_CHARS)
    type: GenType | None = None


class BatchIn(Strict):
    # Valid: an open batch with nothing in it yet, or items (or job descriptions) with a resume to use.
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["open"], "properties": {"open": {"const": True}, "items": {"maxItems": 0},
                                              "job_descriptions": {"maxItems": 0}}},
        {"allOf": [RESUME_GIVEN, {"anyOf": [
            {"required": ["items"], "properties": {"items": {"type": "array", "minItems": 1}}},
            {"required": ["job_descriptions"], "properties": {"job_descriptions": {"type": "array", "minItems": 1}}},
        ]}]},
    ]})

    type: GenType = "tailor"
    resume_id: str | None = Field(default=None, max_length=40)
    resume_text: str | None = Field(default=None, max_length=resumes.MAX_RESUME_CHARS)
    job_descriptions: list[Annotated[str, Field(min_length=1, max_length=resumes.MAX_JD_CHARS)]] | None = Field(
        default=None, max_length=MAX_ITEMS_PER_REQUEST)
    items: list[ItemIn] | None = Field(default=None, max_length=MAX_ITEMS_PER_REQUEST)
    open: bool = False  # keep the batch open for POST /api/batches/{id}/items, then close it

    @model_validator(mode="after")
    def _some_items(self) -> "BatchIn":
        if not self.open and not (self.items or self.job_descriptions):
            raise ValueError("give job_descriptions or items (or open: true to add items later)")
        return self


class ItemsIn(Strict):
    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)


class ItemsQuery(Strict):
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=INT64)  # an OFFSET: 64 bits, stated in the spec


def _owned(batch_id: str, user_id: str) -> Batch:
    batch = db().get(Batch, batch_id)
    if batch is None or batch.user_id != user_id:
        raise NotFound("batch not found")
    return batch


def _links(batch: Batch) -> dict:
    return {"batch_id": batch.id, "status_url": f"/api/batches/{batch.id}",
            "stream_url": stream_url(f"/api/batches/{batch.id}/events", batch.user_id, batch.stream)}


def _add_items(batch: Batch, items: list[ItemIn], defaults: dict) -> tuple[list[dict], list[Job]]:
    """Create a job per new item; an item whose key the batch already has maps to its existing job."""
    session = db()
    uid = batch.user_id
    wanted = {i.resume_id or defaults.get("resume_id") for i in items} - {None}
    if wanted:
        ready = dict(session.execute(select(Resume.id, Resume.status).where(Resume.id.in_(wanted),
                                                                             Resume.user_id == uid)).all())
        for rid in wanted:
            if rid not in ready:
                raise NotFound(f"resume {rid} not found")
            if ready[rid] != "ready":
                raise Conflict(f"resume {rid} is {ready[rid]}; generate once it is ready", stage="resume")
    start = session.execute(select(func.count()).select_from(BatchItem)
                            .where(BatchItem.batch_id == batch.id)).scalar() or 0
    keys = [i.key or f"item-{start + n + 1:06d}" for n, i in enumerate(items)]
    if len(set(keys)) != len(keys):
        raise ValidationFailed([{"path": "items", "message": "item keys must be unique"}])
    existing = dict(session.execute(select(BatchItem.key, BatchItem.job_id)
                                    .where(BatchItem.batch_id == batch.id, BatchItem.key.in_(keys))).all())
    out, created = [], []
    for n, (key, item) in enumerate(zip(keys, items)):
        if key in existing:
            out.append({"key": key, "job_id": existing[key], "existing": True})
            continue
        resume_id = item.resume_id or defaults.get("resume_id")
        resume_text = None if resume_id else (item.resume_text or defaults.get("resume_text"))
        if not resume_id and not (resume_text or "").strip():
            raise ValidationFailed([{"path": f"items.{n}", "message": "give a resume_id or resume_text"}])
        args = {"job_description": item.job_description, "type": item.type or defaults["type"],
                "resume_id": resume_id, "resume_text": resume_text, "batch_id": batch.id, "item_key": key}
        job = new_job(KIND, user_id=uid, args=args, subject_id=resume_id, batch_id=batch.id)
        session.flush()
        session.add(BatchItem(batch_id=batch.id, key=key, position=start + n + 1, job_id=job.id))
        created.append(job)
        out.append({"key": key, "job_id": job.id, "existing": False})
    if created:
        session.execute(update(Batch).where(Batch.id == batch.id).values(total=Batch.total + len(created))
                        .execution_options(synchronize_session=False))
    return out, created


def _commit_and_send(created: list[Job]) -> None:
    try:
        db().commit()
    except IntegrityError as exc:  # the same item key sent twice at once
        db().rollback()
        raise Conflict("an item with this key is being added concurrently; retry", stage="batch") from exc
    for job in created:
        submit(job)


@bp.post("/api/resume/generate/batch")
@login_required
def create() -> Response:
    body = json_body(BatchIn)
    items = list(body.items or []) + [ItemIn(job_description=jd) for jd in body.job_descriptions or []]
    defaults = {"type": body.type, "resume_id": body.resume_id, "resume_text": body.resume_text}
    batch = Batch(user_id=current_user_id(), kind=KIND, closed=not body.open, total=0, options={"type": body.type})
    session = db()
    session.add(batch)
    session.flush()
    out, created = _add_items(batch, items, defaults)
    # An open batch keeps its defaults for the items added later.
    batch.options = defaults if body.open else {"type": body.type, "resume_id": body.resume_id}
    _commit_and_send(created)
    session.refresh(batch)
    return ok({**batches.summary(session, batch), **_links(batch), "items": out}, status=202)


@bp.post("/api/batches/<batch_id>/items")
@login_required
def add_items(batch_id: str) -> Response:
    body = json_body(ItemsIn)
    batch = _owned(batch_id, current_user_id())
    if batch.closed:
        raise Conflict("the batch is closed; create a new one", stage="batch")
    defaults = {"type": "tailor", **(batch.options or {})}
    out, created = _add_items(batch, body.items, defaults)
    _commit_and_send(created)
    return ok({"batch_id": batch.id, "items": out}, status=202)


def _finish_if_done(batch: Batch) -> None:
    """Completion is normally announced by the last item's callback; this covers lost callbacks, jobs
    cancelled while queued, and batches closed after their last item finished."""
    for job_id in batches.unannounced(db(), batch.id):
        resume_actors.announce(job_id)
    resume_actors.complete(batch.id)


@bp.post("/api/batches/<batch_id>/close")
@login_required
def close(batch_id: str) -> Response:
    batch = _owned(batch_id, current_user_id())
    if not batch.closed:
        batch.closed = True
        db().commit()
    _finish_if_done(batch)
    db().refresh(batch)
    return ok({**batches.summary(db(), batch), **_links(batch)})


@bp.get("/api/batches/<batch_id>")
@login_required
def get_one(batch_id: str) -> Response:
    batch = _owned(batch_id, current_user_id())
    _finish_if_done(batch)
    db().refresh(batch)
    return ok({**batches.summary(db(), batch), **_links(batch)})


@bp.get("/api/batches/<batch_id>/items")
@login_required
def list_items(batch_id: str) -> Response:
    q = query(ItemsQuery)
    batch = _owned(batch_id, current_user_id())
    rows = db().execute(select(BatchItem, Job).join(Job, Job.id == BatchItem.job_id)
                        .where(BatchItem.batch_id == batch.id).order_by(BatchItem.position)
                        .offset(q.offset).limit(q.limit)).all()
    return ok({"batch_id": batch.id, "items": [
        {"key": it.key, "position": it.position, "job_id": job.id, "status": job.status, "error": job.error,
         "result": job.result} for it, job in rows]})


@bp.get("/api/batches/<batch_id>/events")
def events(batch_id: str) -> Response:
    caller = authenticate(stream=f"batch:{batch_id}")
    batch = _owned(batch_id, caller.user_id)
    _finish_if_done(batch)
    return stream_response(batch.stream, close_on_terminal=True)
