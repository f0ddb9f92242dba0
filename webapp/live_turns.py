"""Live answers (issue 16): open a live turn, send the recording in numbered chunks while it is being
made, finish it. A worker transcribes as the chunks arrive (`jobs.live_turn`) and streams `partial`
events with the committed text and the tentative tail on the turn's `stream_url`.

Chunks are raw bytes (the browser's MediaRecorder slices, in order from 0): `seq` makes a retry
harmless (the same bytes again answer 200 `duplicate`), chunks may arrive out of order (the worker
reads them in order, up to the first gap), each is capped at `live_chunk_max_bytes`, the turn at the
`/turn` caps. After the turn is finished (by the client, the idle timeout or the length cap), a
chunk answers 409 (413 for the length cap). The one-shot `POST /turn` is unchanged.
"""
from __future__ import annotations

from flask import Blueprint, Response, request
from pydantic import Field
from sqlalchemy import update

from core.errors import Conflict, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed
from core.ids import new_id
from core.models import Interview, Job, Question, Turn, User
from jobs import practice
from jobs.live_turn import KIND, STATUS_FINISHING, STATUS_LIVE, ChunkStore, chunk_prefix, final_audio_key
from webapp.auth import authenticate
from webapp.billing import enforce_quota
from webapp.enqueue import job_links, new_job, submit
from webapp.envelope import ok
from webapp.openapi import document
from webapp.state import db, settings, state
from webapp.validation import Strict, json_body

bp = Blueprint("live_turns", __name__)

MAX_SEQ = 100_000


class OpenTurn(Strict):
    question_id: str | None = Field(default=None, max_length=40)
    # Finish the turn by itself after this long without a chunk (at most the server's setting).
    idle_seconds: float | None = Field(default=None, gt=0, le=600)


class FinishTurn(Strict):
    # The number of the last chunk sent: the finish waits for no chunk, but refuses (409, with the
    # missing numbers) while one before it has not arrived.
    last_seq: int | None = Field(default=None, ge=0, le=MAX_SEQ)


def _caller_session(session_id: str | None) -> Interview:
    caller = authenticate(allow_session=True)
    sid = session_id or caller.session_id
    if not sid:
        raise Unauthorized("send X-Session-Token (or a bearer token)")
    if caller.session_id is not None and caller.session_id != sid:
        raise NotFound("session not found")
    return practice.get_owned(db(), sid, caller.user_id)


def _caller_turn(turn_id: str) -> tuple[Turn, Interview]:
    caller = authenticate(allow_session=True)
    turn = db().get(Turn, turn_id)
    if turn is None or not turn.job_id or (caller.session_id is not None and turn.interview_id != caller.session_id):
        raise NotFound("live turn not found")
    job = db().get(Job, turn.job_id)
    if job is None or job.kind != KIND:  # a one-shot turn (POST /turn) takes no chunks
        raise NotFound("live turn not found")
    interview = practice.get_owned(db(), turn.interview_id, caller.user_id)
    return turn, interview


def _store(interview: Interview, turn: Turn) -> ChunkStore:
    return ChunkStore(state().runtime.storage, chunk_prefix(interview.user_id, turn.id))


def _links(turn: Turn, job_links_: dict) -> dict:
    return {"turn_id": turn.id, "session_id": turn.interview_id, "question_id": turn.question_id,
            "chunk_url": f"/turns/{turn.id}/chunks", "finish_url": f"/turns/{turn.id}/finish", **job_links_}


@bp.post("/session/<session_id>/turns")
@document(body=OpenTurn, auth="session", status=201,
          summary="Open a live turn: send its audio in chunks while recording, then finish it")
def open_turn(session_id: str) -> Response:
    interview = _caller_session(session_id)
    body = json_body(OpenTurn, allow_empty=True)
    if interview.status != "active":
        raise Conflict("this session has ended", stage="session")
    session = db()
    question_id = body.question_id or interview.current_question_id
    question = session.get(Question, question_id) if question_id else None
    if question is None or question.interview_id != interview.id:
        raise NotFound("question not found in this session", stage="validation")
    owner = session.get(User, interview.user_id)
    enforce_quota(interview.user_id, owner.plan if owner else None, "audio_seconds", 1.0)
    idle = min(body.idle_seconds or settings().live_idle_seconds, max(settings().live_idle_seconds, 1.0))
    turn_id = new_id("turn")
    job = new_job(KIND, user_id=interview.user_id, args={"turn_id": turn_id, "idle_seconds": idle},
                  subject_id=interview.id)
    turn = Turn(id=turn_id, interview_id=interview.id, question_id=question.id, job_id=job.id,
                audio_key=final_audio_key(interview.user_id, turn_id), status=STATUS_LIVE)
    session.add(turn)
    session.commit()
    submit(job)
    return ok({**_links(turn, job_links(job)), "idle_seconds": idle,
               "max_chunk_bytes": settings().live_chunk_max_bytes}, status=201)


def _refuse_if_finished(turn: Turn, store: ChunkStore) -> None:
    marker = store.finished()
    if marker is not None and marker.get("reason") == "limit":
        raise PayloadTooLarge(f"the answer reached the {settings().max_audio_seconds:.0f} s limit and was finished")
    if turn.status != STATUS_LIVE or marker is not None:
        why = f" ({marker['reason']})" if marker and marker.get("reason") == "timeout" else ""
        raise Conflict(f"this live turn is finished{why}; no more chunks are taken", stage="upload")


def _read_body(most: int) -> bytes:
    """Up to `most` bytes of the body (a read may return less than asked: read until the end)."""
    parts, got = [], 0
    while got < most:
        part = request.stream.read(most - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


@bp.post("/turns/<turn_id>/chunks")
@document(auth="session", status=202, content=None,
          summary="Append chunk `seq` (raw audio bytes, from 0) to a live turn; a repeat of a chunk is harmless")
def post_chunk(turn_id: str) -> Response:
    turn, interview = _caller_turn(turn_id)
    raw_seq = request.args.get("seq", "")
    if not raw_seq.isdigit() or int(raw_seq) > MAX_SEQ:
        raise ValidationFailed([{"path": "seq", "message": f"an integer 0..{MAX_SEQ} is required"}], stage="upload")
    seq = int(raw_seq)
    store = _store(interview, turn)
    _refuse_if_finished(turn, store)
    limit = settings().live_chunk_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"a chunk is at most {limit} bytes")
    data = _read_body(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"a chunk is at most {limit} bytes")
    if not data:
        raise ValidationFailed([{"path": "body", "message": "the chunk is empty"}], stage="upload")
    if store.total_bytes() + len(data) > settings().max_audio_bytes:
        raise PayloadTooLarge(f"the answer is larger than {settings().max_audio_bytes} bytes")
    fresh = store.put(seq, data)
    return ok({"turn_id": turn.id, "seq": seq, "bytes": len(data), "duplicate": not fresh},
              status=202 if fresh else 200)


@bp.post("/turns/<turn_id>/finish")
@document(body=FinishTurn, auth="session", status=202,
          summary="Finish a live turn: the tail is transcribed and the answer scored (the turn's stream)")
def finish_turn(turn_id: str) -> Response:
    turn, interview = _caller_turn(turn_id)
    body = json_body(FinishTurn, allow_empty=True)
    store = _store(interview, turn)
    job = db().get(Job, turn.job_id)
    if turn.status == STATUS_LIVE and store.finished() is None:
        if body.last_seq is not None:
            missing = store.missing(body.last_seq)
            if missing:
                raise Conflict("chunks are missing; send them, then finish again", stage="upload",
                               details={"missing": missing[:100]})
        if not store.seqs():
            raise Conflict("no audio was received for this turn", stage="upload")
        store.mark_finished("finish")
        db().execute(update(Turn).where(Turn.id == turn.id, Turn.status == STATUS_LIVE)
                     .values(status=STATUS_FINISHING).execution_options(synchronize_session=False))
        db().commit()
    # Finishing twice is harmless: the same links again.
    return ok({**_links(turn, job_links(job)), "status": STATUS_FINISHING if turn.status == STATUS_LIVE else turn.status},
              status=202)
