"""The live copilot: sessions, transcript/audio chunks, suggestion stream, debrief, history, purge."""
from __future__ import annotations

import base64
import binascii
import os
from datetime import timedelta
from typing import Literal

from flask import Blueprint, Response, g, request
from pydantic import Field
from sqlalchemy import delete, func, select, update

from core.clock import iso, utcnow
from core.errors import Conflict, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from core.models import CopilotChunk, CopilotSession, JobEvent
from jobs import copilot
from jobs.stt import probe_audio
from webapp.auth import authenticate, current_user_id, login_required, stream_url
from webapp.enqueue import job_links, new_job, submit
from webapp.envelope import ok
from webapp.openapi import document
from webapp.sse import stream_response
from webapp.state import db, settings, state
from webapp.validation import INT64, Strict, json_body, parse, query

bp = Blueprint("copilot", __name__, url_prefix="/api/copilot/sessions")

MAX_CHUNK_CHARS = 10_000
AUDIO_EXT = {"audio/wav": ".wav", "audio/x-wav": ".wav", "audio/webm": ".webm", "audio/ogg": ".ogg",
             "audio/mpeg": ".mp3", "audio/mp4": ".m4a"}


class StartCopilot(Strict):
    mode: Literal["interview", "practice", "meeting", "sales", "coaching"] = "interview"
    role: str | None = Field(default=None, max_length=120)
    company: str | None = Field(default=None, max_length=120)


class StopCopilot(Strict):
    session_id: str = Field(min_length=1, max_length=40)


class ChunkIn(Strict):
    type: Literal["transcript", "audio", "note"] = "transcript"
    content: str = Field(default="", max_length=40_000_000)
    timestamp: float | None = Field(default=None, ge=0)
    speaker: str | None = Field(default=None, max_length=40)
    format: str | None = Field(default=None, max_length=20)  # audio: wav, webm, ogg, mp3, m4a


class AppendTranscript(Strict):
    content: str | None = Field(default=None, max_length=MAX_CHUNK_CHARS)
    speaker: str | None = Field(default=None, max_length=40)
    timestamp: float | None = Field(default=None, ge=0)


class HistoryQuery(Strict):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=INT64)  # an OFFSET: 64 bits, stated in the spec


class PurgeQuery(Strict):
    # Absent (document 004's `DELETE /api/copilot/sessions/purge`): the configured retention age
    # (VOICEMOCK_RETENTION_COPILOT_DAYS).
    older_than_days: int | None = Field(default=None, ge=0, le=36500)


def session_dict(cop: CopilotSession) -> dict:
    return {"session_id": cop.id, "mode": cop.mode, "role": cop.role, "company": cop.company, "status": cop.status,
            "chunk_count": cop.chunk_count, "suggestion_count": cop.suggestion_count,
            "suggesting": cop.suggest_job_id is not None, "last_suggestion": cop.last_suggestion,
            "debrief": cop.debrief, "created_at": iso(cop.created_at), "stopped_at": iso(cop.stopped_at),
            "stream_url": stream_url(f"/api/copilot/sessions/{cop.id}/stream", cop.user_id, cop.stream)}


def _chunk_dict(c: CopilotChunk) -> dict:
    return {"id": c.id, "type": c.type, "speaker": c.speaker, "content": c.content, "timestamp": c.timestamp,
            "status": c.status, "created_at": iso(c.created_at)}


@bp.post("/start")
@document(status=201, summary="Start a copilot session", data={
    "type": "object", "required": ["session_id", "stream_url"],
    "properties": {"session_id": {"type": "string"}, "stream_url": {"type": "string"}}})
@login_required
def start() -> Response:
    body = json_body(StartCopilot, allow_empty=True)
    cop = CopilotSession(user_id=current_user_id(), mode=body.mode, role=body.role, company=body.company)
    session = db()
    session.add(cop)
    session.commit()
    return ok(session_dict(cop), status=201)


@bp.post("/stop")
@login_required
def stop() -> Response:
    body = json_body(StopCopilot)
    session = db()
    cop = copilot.owned(session, body.session_id, current_user_id())
    if cop.status != "stopped":
        cop.status = "stopped"
        cop.stopped_at = utcnow()
        session.commit()
        state().runtime.events.emit(cop.stream, "stopped", {"session_id": cop.id})
    return ok(session_dict(cop))


@bp.get("/history")
@login_required
def history() -> Response:
    q = query(HistoryQuery)
    session = db()
    user_id = current_user_id()
    total = session.execute(select(func.count()).select_from(CopilotSession)
                            .where(CopilotSession.user_id == user_id)).scalar() or 0
    rows = session.execute(select(CopilotSession).where(CopilotSession.user_id == user_id)
                           .order_by(CopilotSession.created_at.desc(), CopilotSession.id.desc())
                           .offset(q.offset).limit(q.limit)).scalars().all()
    nxt = q.offset + len(rows)
    return ok({"sessions": [session_dict(c) for c in rows], "total": total,
               "next_offset": nxt if nxt < total else None})


@bp.delete("/purge")
@login_required
def purge() -> Response:
    q = query(PurgeQuery)
    days = settings().retention_copilot_days if q.older_than_days is None else q.older_than_days
    session = db()
    cutoff = utcnow() - timedelta(days=days)
    ids = list(session.execute(select(CopilotSession.id).where(CopilotSession.user_id == current_user_id(),
                                                               CopilotSession.created_at < cutoff)).scalars())
    storage = state().runtime.storage
    if ids:
        for key in session.execute(select(CopilotChunk.audio_key).where(CopilotChunk.session_id.in_(ids),
                                                                        CopilotChunk.audio_key.is_not(None))).scalars():
            storage.delete(key)
        session.execute(delete(CopilotChunk).where(CopilotChunk.session_id.in_(ids)))
        session.execute(delete(JobEvent).where(JobEvent.stream.in_([f"copilot:{i}" for i in ids])))
        session.execute(delete(CopilotSession).where(CopilotSession.id.in_(ids)))
    session.commit()
    return ok({"deleted": len(ids), "session_ids": ids, "older_than_days": days})


@bp.get("/<session_id>")
@login_required
def get_one(session_id: str) -> Response:
    return ok(session_dict(copilot.owned(db(), session_id, current_user_id())))


def _chunk_from_request() -> tuple[ChunkIn, bytes | None]:
    """A JSON chunk (audio as base64 `content`), or multipart with an `audio` file part."""
    if (request.mimetype or "").startswith("multipart/form-data"):
        form = {k: v for k, v in request.form.items()}
        file = request.files.get("audio")
        form.setdefault("type", "audio" if file else "transcript")
        body = parse(ChunkIn, form)
        if body.type != "audio":
            return body, None
        if file is None:
            raise ValidationFailed([{"path": "audio", "message": "an 'audio' file part is required"}], stage="upload")
        ext = os.path.splitext(file.filename or "")[1].lower().lstrip(".")
        body = body.model_copy(update={"format": body.format or ext or None})
        return body, file.read(settings().max_audio_bytes + 1)
    body = json_body(ChunkIn)
    if body.type != "audio":
        if not body.content.strip():
            raise ValidationFailed([{"path": "content", "message": "a transcript chunk needs content"}])
        if len(body.content) > MAX_CHUNK_CHARS:
            raise ValidationFailed([{"path": "content", "message": f"at most {MAX_CHUNK_CHARS} characters"}])
        return body, None
    try:
        audio = base64.b64decode(body.content, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed([{"path": "content", "message": "audio content must be base64"}], stage="decode") from exc
    return body, audio


def _audio_chunk(cop: CopilotSession, body: ChunkIn, audio: bytes) -> CopilotChunk:
    if len(audio) > settings().max_audio_bytes:
        raise PayloadTooLarge(f"audio chunk is larger than {settings().max_audio_bytes} bytes")
    if not audio:
        raise ValidationFailed([{"path": "content", "message": "the audio chunk is empty"}], stage="upload")
    fmt = (body.format or "webm").lower().lstrip(".")
    if f".{fmt}" not in set(AUDIO_EXT.values()) | {".oga", ".opus", ".flac"}:
        raise UnsupportedMediaType(f"audio format {fmt!r} is not accepted; send wav, webm, ogg, mp3 or m4a")
    session = db()
    chunk = CopilotChunk(session_id=cop.id, type="audio", speaker=body.speaker, content="", timestamp=body.timestamp,
                         status="transcribing")
    session.add(chunk)
    session.flush()
    storage = state().runtime.storage
    key = storage.save(f"copilot/{cop.user_id}/{cop.id}/{chunk.id}.{fmt}", audio)
    try:
        info = probe_audio(str(storage.path(key)))  # not audio → 422 decode now, not a failed job later
        if info.duration > settings().max_audio_seconds:
            raise PayloadTooLarge(f"audio chunk is {info.duration:.0f} s; the limit is {settings().max_audio_seconds:.0f} s")
    except Exception:
        storage.delete(key)
        raise
    chunk.audio_key = key
    return chunk


@bp.post("/<session_id>/events")
@login_required
def post_event(session_id: str) -> Response:
    session = db()
    cop = copilot.owned(session, session_id, current_user_id())
    if cop.status != "active":
        raise Conflict("this copilot session has stopped", stage="session")
    body, audio = _chunk_from_request()
    out: dict = {"session_id": cop.id}
    suggest = None
    transcribe = None
    if body.type == "audio":
        chunk = _audio_chunk(cop, body, audio or b"")
        transcribe = new_job("copilot.transcribe", user_id=cop.user_id, args={"chunk_id": chunk.id}, subject_id=cop.id)
    else:
        chunk = CopilotChunk(session_id=cop.id, type=body.type, speaker=body.speaker, content=body.content.strip(),
                             timestamp=body.timestamp)
        session.add(chunk)
        session.flush()
        if body.type == "transcript":
            suggest = copilot.request_suggestion(session, cop.id, user_id=cop.user_id,
                                                 request_id=getattr(g, "request_id", None))
            if suggest is not None:  # like every job a request starts (webapp.enqueue): the tracked skill's hash
                suggest.tracked_skill_id_hash = g.get("tracked_skill_id_hash")
    session.execute(update(CopilotSession).where(CopilotSession.id == cop.id)
                    .values(chunk_count=CopilotSession.chunk_count + 1).execution_options(synchronize_session=False))
    session.commit()
    out["chunk_id"] = chunk.id
    if transcribe is not None:
        submit(transcribe)
        out.update(transcription=job_links(transcribe))
    if suggest is not None:
        submit(suggest)
        out.update(suggestion="queued", suggestion_job_id=suggest.id)
    elif body.type == "transcript":
        out.update(suggestion="coalesced")  # the in-flight suggestion job's hand-off covers this chunk
    return ok(out, status=202)


@bp.get("/<session_id>/stream")
def stream(session_id: str) -> Response:
    caller = authenticate(stream=f"copilot:{session_id}")
    copilot.owned(db(), session_id, caller.user_id)
    return stream_response(f"copilot:{session_id}", close_on_terminal=False, close_on=("stopped",))


def _transcript(cop_id: str) -> dict:
    chunks = db().execute(select(CopilotChunk).where(CopilotChunk.session_id == cop_id)
                          .order_by(CopilotChunk.id)).scalars().all()
    text = "\n".join((f"{c.speaker}: " if c.speaker else "") + c.content for c in chunks if c.content)
    return {"session_id": cop_id, "chunks": [_chunk_dict(c) for c in chunks], "text": text}


@bp.get("/<session_id>/transcript")
@login_required
def get_transcript(session_id: str) -> Response:
    cop = copilot.owned(db(), session_id, current_user_id())
    return ok(_transcript(cop.id))


@bp.post("/<session_id>/transcript")
@login_required
def post_transcript(session_id: str) -> Response:
    """With a `content`, append it as a transcript chunk (no suggestion); always answer the full transcript."""
    session = db()
    cop = copilot.owned(session, session_id, current_user_id())
    body = json_body(AppendTranscript, allow_empty=True)
    if body.content:
        if cop.status != "active":
            raise Conflict("this copilot session has stopped", stage="session")
        session.add(CopilotChunk(session_id=cop.id, type="transcript", speaker=body.speaker,
                                 content=body.content.strip(), timestamp=body.timestamp))
        session.execute(update(CopilotSession).where(CopilotSession.id == cop.id)
                        .values(chunk_count=CopilotSession.chunk_count + 1)
                        .execution_options(synchronize_session=False))
        session.commit()
    return ok(_transcript(cop.id))


@bp.post("/<session_id>/summarize")
@login_required
def summarize(session_id: str) -> Response:
    session = db()
    cop = copilot.owned(session, session_id, current_user_id())
    job = new_job("copilot.summarize", user_id=cop.user_id, args={"session_id": cop.id}, subject_id=cop.id)
    session.commit()
    submit(job)
    return ok({"session_id": cop.id, **job_links(job)}, status=202)
