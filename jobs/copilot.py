"""The live copilot: transcript chunks in, suggestions out, and a debrief afterwards.

Coalescing: a session has one slot, `suggest_job_id`. A chunk either takes the empty slot (creating
the suggestion job in the same transaction) or, when a job holds it, sets `dirty`. When the job has
finished (its row is terminal), `handoff` either passes the slot to one new job (if dirty: the context
changed while it ran) or empties it. Every step is one conditional UPDATE on the session row, so
however requests and workers interleave, at most one suggestion job is ever in flight per session.
"""
from __future__ import annotations

import re
from statistics import mean
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.errors import BadInput, NotFound
from core.ids import new_id
from core.models import CopilotChunk, CopilotSession, Job, User
from core.models.jobs import TERMINAL
from jobs import question_bank, scoring
from jobs.context import JobContext
from jobs.llm import get_llm

SUGGEST_KIND = "copilot.suggest"
CONTEXT_CHUNKS = 40
_WORD = re.compile(r"[a-z0-9']+")


class Suggestion(BaseModel):
    question: str | None = None
    points: list[str] = Field(default_factory=list)
    tip: str = ""


class PracticeQuestion(BaseModel):
    question: str
    reason: str


class Debrief(BaseModel):
    overall_score: int = Field(ge=0, le=100)
    dimensions: dict[str, int | None] = Field(default_factory=dict)
    summary: str
    strengths: list[str] = Field(default_factory=list)
    weaknesses: list[str] = Field(default_factory=list)
    practice_questions: list[PracticeQuestion] = Field(min_length=3, max_length=3)


# ---------------------------------------------------------------- ownership and coalescing

def owned(session: Session, session_id: str, user_id: str) -> CopilotSession:
    cop = session.get(CopilotSession, session_id)
    if cop is None or cop.user_id != user_id:
        raise NotFound("copilot session not found")
    return cop


def _new_suggest_job(session: Session, cop_id: str, user_id: str, request_id: str | None, job_id: str) -> Job:
    job = Job(id=job_id, kind=SUGGEST_KIND, queue="llm", args={"session_id": cop_id}, user_id=user_id,
              subject_id=cop_id, request_id=request_id)
    session.add(job)
    session.flush()
    return job


def _slot(session: Session, cop_id: str) -> tuple[str | None, str | None]:
    row = session.execute(select(CopilotSession.suggest_job_id, CopilotSession.status)
                          .where(CopilotSession.id == cop_id)).one_or_none()
    return (row[0], row[1]) if row else (None, None)


def request_suggestion(session: Session, cop_id: str, *, user_id: str, request_id: str | None = None) -> Job | None:
    """After a chunk: take the free slot (→ the job to send after commit) or mark the session dirty."""
    where = (CopilotSession.id == cop_id, CopilotSession.status == "active")
    for _ in range(20):
        job_id = new_id("job")
        took = session.execute(update(CopilotSession).where(*where, CopilotSession.suggest_job_id.is_(None))
                               .values(suggest_job_id=job_id, dirty=False)
                               .execution_options(synchronize_session=False)).rowcount
        if took:
            return _new_suggest_job(session, cop_id, user_id, request_id, job_id)
        held_by, status = _slot(session, cop_id)
        if status != "active":
            return None
        if held_by is None:
            continue  # the holder released it between our two statements: try to take it
        marked = session.execute(update(CopilotSession).where(*where, CopilotSession.suggest_job_id == held_by)
                                 .values(dirty=True).execution_options(synchronize_session=False)).rowcount
        if not marked:
            continue  # the slot changed hands meanwhile
        holder = session.execute(select(Job.status).where(Job.id == held_by)).scalar_one_or_none()
        if holder is not None and holder not in TERMINAL:
            return None  # the in-flight job's hand-off will pick up the new context
        # The holder finished without handing off (its callback was lost): take over from it. It is
        # terminal, so the new job cannot overlap it.
        took = session.execute(update(CopilotSession).where(*where, CopilotSession.suggest_job_id == held_by)
                               .values(suggest_job_id=job_id, dirty=False)
                               .execution_options(synchronize_session=False)).rowcount
        if took:
            return _new_suggest_job(session, cop_id, user_id, request_id, job_id)
    return None


def handoff(session: Session, cop_id: str, finished_job_id: str) -> Job | None:
    """After a suggestion job's row is terminal: pass the slot to one new job if dirty, else free it."""
    status = session.execute(select(Job.status).where(Job.id == finished_job_id)).scalar_one_or_none()
    if status is not None and status not in TERMINAL:
        return None  # a failed attempt that will be retried: the job is still in flight
    base = (CopilotSession.id == cop_id, CopilotSession.suggest_job_id == finished_job_id)
    for _ in range(20):
        job_id = new_id("job")
        took = session.execute(update(CopilotSession)
                               .where(*base, CopilotSession.dirty.is_(True), CopilotSession.status == "active")
                               .values(suggest_job_id=job_id, dirty=False)
                               .execution_options(synchronize_session=False)).rowcount
        if took:
            cop = session.get(CopilotSession, cop_id)
            return _new_suggest_job(session, cop_id, cop.user_id, None, job_id)
        released = session.execute(update(CopilotSession)
                                   .where(*base, (CopilotSession.dirty.is_(False)) | (CopilotSession.status != "active"))
                                   .values(suggest_job_id=None, dirty=False)
                                   .execution_options(synchronize_session=False)).rowcount
        if released:
            return None
        if _slot(session, cop_id)[0] != finished_job_id:
            return None  # someone took over from us already
    return None


# ---------------------------------------------------------------- suggestions

def _recent(session: Session, cop_id: str, limit: int = CONTEXT_CHUNKS) -> list[CopilotChunk]:
    rows = session.execute(select(CopilotChunk).where(CopilotChunk.session_id == cop_id,
                                                      CopilotChunk.status == "ready")
                           .order_by(CopilotChunk.id.desc()).limit(limit)).scalars().all()
    return list(reversed(rows))


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2}


def _last_question(chunks: list[CopilotChunk]) -> str | None:
    for c in reversed(chunks):
        parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", c.content) if p.strip().endswith("?")]
        if parts:
            return parts[-1]
    return None


def local_suggestion(cop: CopilotSession, chunks: list[CopilotChunk]) -> Suggestion:
    """Talking points from the closest bank question to what was last asked (or said)."""
    question = _last_question(chunks)
    probe = _words(question or " ".join(c.content for c in chunks[-3:]))
    role = question_bank.normalize_role(cop.role)
    best, best_score = None, 0.0
    for q in question_bank.load_bank():
        overlap = len(probe & _words(q["text"] + " " + " ".join(q.get("key_points") or [])))
        score = overlap + (0.5 if q.get("role") == role else 0.0)
        if score > best_score:
            best, best_score = q, score
    points = list((best or {}).get("key_points") or [])[:4]
    if not points:
        points = ["situation and goal", "what you did yourself", "a measurable result"]
    said = _words(" ".join(c.content for c in chunks))
    points = [p for p in points if not _words(p) <= said] or points  # drop points already covered
    tip = "Answer with STAR: situation, task, action, result — end on a number."
    if best and best.get("type") in ("technical", "system_design"):
        tip = "Name the trade-off you chose and why; give one concrete figure (latency, scale, cost)."
    if cop.company:
        points.append(f"tie it to {cop.company}'s needs")
    return Suggestion(question=question, points=points[:5], tip=tip)


def _suggest_messages(cop: CopilotSession, chunks: list[CopilotChunk]) -> list[dict[str, str]]:
    transcript = "\n".join(f"{c.speaker or 'speaker'}: {c.content}" for c in chunks)
    return [{"role": "system", "content": f"You are a discreet interview copilot for a {cop.role or 'candidate'} "
                                          f"interviewing at {cop.company or 'a company'} ({cop.mode}). Suggest 3-5 "
                                          "short talking points for the latest question, and one delivery tip."},
            {"role": "user", "content": f"Live transcript so far:\n{transcript}"}]


def _llm(session: Session, ctx: JobContext):  # noqa: ANN202 - jobs.llm.LLM
    user = session.get(User, ctx.user_id) if ctx.user_id else None
    return get_llm(ctx.settings, user.llm_settings if user else None, ctx)


def suggest(session: Session, ctx: JobContext, session_id: str) -> dict[str, Any]:
    cop = session.get(CopilotSession, session_id)
    if cop is None:
        raise BadInput(f"copilot session {session_id} does not exist", stage="lookup")
    chunks = _recent(session, session_id)
    upto = chunks[-1].id if chunks else 0
    ctx.progress("suggest", 0.3)
    out = _llm(session, ctx).structured("copilot.suggest", _suggest_messages(cop, chunks), Suggestion,
                                        local=lambda: local_suggestion(cop, chunks))
    ctx.progress("suggest", 0.9)
    data = {**out.model_dump(), "job_id": ctx.job_id, "upto_chunk": upto}
    cop.suggestion_count += 1
    cop.last_suggestion = data
    ctx.after_commit(cop.stream, "suggestion", data)
    return data


# ---------------------------------------------------------------- audio chunks

def transcribe_chunk(session: Session, ctx: JobContext, chunk_id: int) -> dict[str, Any]:
    from jobs.audio_limits import decode_capped
    from jobs.stt import stt_for

    chunk = session.get(CopilotChunk, chunk_id)
    if chunk is None or not chunk.audio_key:
        raise BadInput(f"audio chunk {chunk_id} does not exist", stage="lookup")
    ctx.progress("transcription", 0.1)
    stt = stt_for(ctx.settings)  # the configured model and beam size, as POST /turn and live answers
    # Decoded under the cap whatever the header said (jobs/audio_limits.py); usage is what was decoded.
    samples, _seconds = decode_capped(str(ctx.storage.path(chunk.audio_key)), ctx.settings.max_audio_seconds)
    transcript = stt.transcribe(samples)
    ctx.add_usage(audio_seconds=round(transcript.duration, 2))
    ctx.progress("transcription", 0.9)
    ctx.storage.delete(chunk.audio_key)  # the words are kept; the audio is not needed any more
    chunk.audio_key = None
    chunk.content = transcript.text.strip()
    chunk.status = "ready"
    cop = session.get(CopilotSession, chunk.session_id)
    job = request_suggestion(session, cop.id, user_id=cop.user_id, request_id=ctx.request_id) if chunk.content else None
    ctx.after_commit(cop.stream, "transcript", {"chunk_id": chunk.id, "content": chunk.content, "source": "audio"})
    return {"chunk_id": chunk.id, "text": chunk.content, "suggest_job_id": job.id if job else None}


# ---------------------------------------------------------------- debrief

def _exchanges(chunks: list[CopilotChunk]) -> list[tuple[str, str]]:
    """(question, answer) pairs: a chunk with a question opens one, what follows answers it."""
    pairs: list[tuple[str, list[str]]] = []
    for c in chunks:
        text = c.content.strip()
        if not text:
            continue
        asks = c.speaker in ("interviewer", "them") or (c.speaker is None and text.endswith("?"))
        if asks:
            pairs.append((text, []))
        elif pairs:
            pairs[-1][1].append(text)
        else:
            pairs.append(("(opening)", [text]))
    return [(q, " ".join(a)) for q, a in pairs]


def local_debrief(cop: CopilotSession, chunks: list[CopilotChunk]) -> Debrief:
    scored = []
    for q, a in _exchanges(chunks):
        s = scoring.score_answer({"text": q, "type": "behavioral", "key_points": []}, a, None)
        scored.append((q, a, s))
    dims = {d: (round(mean(s[d]["score"] for _, _, s in scored)) if scored else None)
            for d in ("content", "structure", "delivery")}
    overall = round(mean(s["overall"] for _, _, s in scored)) if scored else 0
    ranked = sorted((v, k) for k, v in dims.items() if v is not None)
    weakest = ranked[0][1] if ranked else "structure"
    strengths = [f"{k.title()} held up best ({v}/100)." for v, k in ranked[-1:] if v >= 60]
    weaknesses = [f"{k.title()} was weakest ({v}/100)." for v, k in ranked[:1] if v < 75]
    practice: list[PracticeQuestion] = []
    for q, _, s in sorted(scored, key=lambda x: x[2]["overall"])[:1]:
        if q != "(opening)":
            practice.append(PracticeQuestion(question=q, reason=f"your weakest answer ({s['overall']}/100): "
                                                                  f"{s[weakest]['feedback']}"))
    focus = {"structure": "behavioral", "content": "technical", "delivery": "situational"}[weakest]
    asked = {q for q, _, _ in scored}
    for pick in question_bank.pick_questions(cop.role, focus, "medium", 5, seed=cop.id):
        if len(practice) == 3:
            break
        if pick["text"] not in asked:
            practice.append(PracticeQuestion(question=pick["text"], reason=f"practises {weakest}, your weakest area"))
    while len(practice) < 3:  # a tiny bank for an unusual role: fall back to general questions
        extra = question_bank.pick_questions("general", None, "medium", 3 + len(practice), seed=len(practice))
        practice.append(PracticeQuestion(question=extra[-1]["text"], reason=f"practises {weakest}"))
    words = sum(len(a.split()) for _, a, _ in scored)
    summary = (f"{len(scored)} exchange(s), about {words} words of answers; overall {overall}/100. "
               f"Focus next on {weakest}.")
    return Debrief(overall_score=overall, dimensions=dims, summary=summary, strengths=strengths,
                   weaknesses=weaknesses, practice_questions=practice[:3])


def summarize(session: Session, ctx: JobContext, session_id: str) -> dict[str, Any]:
    cop = session.get(CopilotSession, session_id)
    if cop is None:
        raise BadInput(f"copilot session {session_id} does not exist", stage="lookup")
    chunks = list(session.execute(select(CopilotChunk).where(CopilotChunk.session_id == session_id,
                                                             CopilotChunk.status == "ready")
                                  .order_by(CopilotChunk.id)).scalars())
    ctx.progress("summary", 0.3)
    transcript = "\n".join(f"{c.speaker or 'speaker'}: {c.content}" for c in chunks)[-15_000:]
    messages = [{"role": "system", "content": "Debrief this interview: score it 0-100 overall and per dimension "
                                              "(content, structure, delivery), summarise it, and give exactly three "
                                              "practice questions drawn from what went weakly."},
                {"role": "user", "content": transcript}]
    out = _llm(session, ctx).structured("copilot.debrief", messages, Debrief, local=lambda: local_debrief(cop, chunks))
    ctx.progress("summary", 0.9)
    debrief = {"session_id": session_id, **out.model_dump()}
    cop.debrief = debrief
    ctx.after_commit(cop.stream, "debrief", debrief)
    return debrief


def chunk_count(session: Session, cop_id: str) -> int:
    return int(session.execute(select(func.count()).select_from(CopilotChunk)
                               .where(CopilotChunk.session_id == cop_id)).scalar() or 0)
