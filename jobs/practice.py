"""Voice practice: start a session, and the turn pipeline
decode → transcription (segments stream as `partial`) → delivery analytics → scoring → next question.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import BadInput, NotFound
from core.models import Interview, Question, Resume, Turn
from jobs import judge, question_bank, tailoring
from jobs.context import JobContext
from jobs.delivery import analyze_delivery
from jobs.llm import llm_for_user
from jobs.audio_limits import bill_audio, measure_audio
from jobs.stt import Transcript, stt_for


NO_SPEECH = ("No speech was heard in this answer, so it was not scored and the question is still open. "
             "Check that the microphone is on and not muted, then record your answer again.")


def question_dict(q: Question) -> dict[str, Any]:
    return {"id": q.id, "text": q.text, "type": q.type, "difficulty": q.difficulty, "position": q.position,
            "key_points": q.key_points or []}


def add_question(session: Session, interview: Interview, picked: dict, *, position: int | None = None) -> Question:
    if position is None:
        position = (session.execute(select(func.count()).select_from(Question)
                                    .where(Question.interview_id == interview.id)).scalar() or 0) + 1
    q = Question(interview_id=interview.id, position=position, bank_id=picked.get("id"), text=picked["text"],
                 type=picked.get("type", interview.focus_area), difficulty=picked.get("difficulty", interview.difficulty),
                 key_points=picked.get("key_points") or [], source=picked.get("source", "bank"))
    session.add(q)
    session.flush()
    interview.current_question_id = q.id
    return q


def start_session(session: Session, user_id: str, *, job_type: str, focus_area: str, difficulty: str,
                  question_count: int, job_description: str | None = None,
                  resume: Any = None) -> tuple[Interview, Question]:
    """`job_description` and `resume` (a ready Resume row) tailor the questions (jobs.tailoring)."""
    interview = Interview(user_id=user_id, mode="voice", job_type=job_type, focus_area=focus_area,
                          difficulty=difficulty, question_count=question_count,
                          job_description=(job_description or "").strip() or None,
                          resume_id=resume.id if resume is not None else None,
                          title=f"{job_type.replace('_', ' ').title()} — {focus_area.replace('_', ' ')}")
    session.add(interview)
    session.flush()
    if interview.job_description or resume is not None:
        terms = tailoring.terms_for(interview.job_description, resume.text if resume is not None else None)
        picked = tailoring.draw(job_type, focus_area, difficulty, exclude_ids=[], terms=terms, seed=interview.id)
        first = [picked] if picked else []
    else:
        first = question_bank.pick_questions(job_type, focus_area, difficulty, 1)
    if not first:
        raise BadInput("the question bank has no question for this role and focus area", stage="questions")
    return interview, add_question(session, interview, first[0], position=1)


def get_owned(session: Session, interview_id: str, user_id: str) -> Interview:
    interview = session.get(Interview, interview_id)
    if interview is None or interview.user_id != user_id or interview.deleted_at is not None:
        raise NotFound("session not found")
    return interview


def process_turn(session: Session, ctx: JobContext, turn_id: str,
                 transcript: Transcript | None = None, samples: Any = None) -> dict[str, Any]:
    """`transcript`: made already (a live turn, `jobs.live_turn`); then transcription is skipped.
    `samples`: the audio decoded already under the cap (a live turn's), not decoded again."""
    turn = session.get(Turn, turn_id)
    if turn is None:
        raise BadInput(f"turn {turn_id} does not exist", stage="lookup")
    interview = session.get(Interview, turn.interview_id)
    question = session.get(Question, turn.question_id) if turn.question_id else None
    session_stream = interview.stream
    qd = question_dict(question) if question else {"id": None, "text": "", "key_points": []}

    ctx.progress("decode", 0.02)
    path = str(ctx.storage.path(turn.audio_key))
    # Decoded here under the cap, whatever the header said; billed and quota-checked by what was decoded.
    info = measure_audio(session, ctx, path, user_id=interview.user_id, samples=samples)

    if transcript is None:
        ctx.progress("transcription", 0.05)
        stt = stt_for(ctx.settings)

        def on_segment(seg: Any) -> None:
            data = {"stage": "transcription", "turn_id": turn_id, "segment": seg.to_dict()}
            ctx.partial(data)
            ctx.emit(session_stream, "partial", data)
            if info.duration:
                ctx.progress("transcription", 0.05 + 0.75 * min(1.0, seg.end / info.duration))

        transcript = stt.transcribe(info.samples, on_segment=on_segment)
    ctx.add_usage(audio_seconds=round(info.duration, 2))
    if not transcript.text.strip():
        # Refused, not scored 0: the job fails, the turn is not counted and the question stays open.
        raise BadInput(NO_SPEECH, stage="transcription")

    ctx.progress("delivery", 0.82)
    delivery = analyze_delivery(transcript.words, info.duration, transcript.speech)
    ctx.partial({"stage": "delivery", "turn_id": turn_id, "delivery": delivery})

    llm = llm_for_user(session, ctx, interview.user_id)
    ctx.progress("scoring", 0.9, provider=llm.name)
    scores = judge.score(llm, qd, transcript.text, delivery)  # the provider when configured, else/fallback local
    ctx.partial({"stage": "scoring", "turn_id": turn_id, "scores": scores})

    # A re-recorded question keeps the next question its earlier attempt led to; the earlier attempt
    # stays in the session's history as `superseded` (reports and progress count the latest one).
    earlier = session.execute(select(Turn).where(
        Turn.interview_id == interview.id, Turn.question_id == turn.question_id, Turn.status == "succeeded",
        Turn.id != turn.id).order_by(Turn.created_at)).scalars().all() if turn.question_id else []
    answered = session.execute(select(func.count(func.distinct(Turn.question_id))).where(
        Turn.interview_id == interview.id, Turn.status == "succeeded")).scalar() or 0
    reuse_id = next((t.next_question_id for t in reversed(earlier) if t.next_question_id), None)
    picked = None
    if not earlier and answered + 1 < interview.question_count and interview.status == "active":
        picked = _pick_next(session, ctx, interview, scores)
    ctx.progress("next_question", 0.97)

    # All writes go last (see workers.execution.run_job).
    turn.transcript = transcript.text
    turn.segments = [s.to_dict() for s in transcript.segments]
    turn.delivery = delivery
    turn.scores = scores
    turn.audio_seconds = info.duration
    bill_audio(session, ctx.job_id, info.duration, user_id=interview.user_id, subject_id=interview.id)
    turn.audio_format = info.codec
    turn.status = "succeeded"
    turn.finished_at = utcnow()
    for t in earlier:
        t.status = "superseded"
    next_q = add_question(session, interview, picked) if picked else (session.get(Question, reuse_id) if reuse_id else None)
    turn.next_question_id = next_q.id if next_q else None
    interview.version += 1
    result = {
        "turn_id": turn.id,
        "session_id": interview.id,
        "question": {"id": qd["id"], "text": qd["text"]},
        "transcript": transcript.text,
        "language": transcript.language,
        "duration_seconds": round(info.duration, 3),
        "segments": turn.segments,
        "delivery": delivery,
        "scores": scores,
        "next_question": question_dict(next_q) if next_q else None,
        "session_complete": next_q is None,
        "attempt": len(earlier) + 1,
        "replaces_turn_id": earlier[-1].id if earlier else None,
    }
    ctx.after_commit(session_stream, "turn", {"turn_id": turn.id, "status": "succeeded", "scores": scores,
                                      "next_question": result["next_question"]})
    return result


def _pick_next(session: Session, ctx: JobContext, interview: Interview, scores: dict[str, Any]) -> dict | None:
    """The next question: adapted from the bank, or tailored to the job description / resume."""
    asked_rows = session.execute(select(Question.bank_id, Question.text).where(Question.interview_id == interview.id)).all()
    asked = [bid for bid, _ in asked_rows if bid]
    if not (interview.job_description or interview.resume_id):
        def bank() -> dict | None:
            return question_bank.next_question(interview.job_type, interview.focus_area, interview.difficulty,
                                               asked, last_scores=scores)

        if interview.job_type in question_bank.list_roles():
            return bank()
        # A free-text role ("Staff SRE"): with a provider configured, a question written for the person's
        # own words (the session's title); the bank's nearest role otherwise.
        try:
            llm = llm_for_user(session, ctx, interview.user_id)
        except BadInput:
            return bank()
        return tailoring.generate(llm, job_type=interview.title or interview.job_type,
                                  focus_area=interview.focus_area, difficulty=interview.difficulty,
                                  job_description=None, resume_text=None,
                                  asked=[text for _, text in asked_rows], local=bank)
    resume = session.get(Resume, interview.resume_id) if interview.resume_id else None
    resume_text = resume.text if resume is not None and resume.user_id == interview.user_id else None
    terms = tailoring.terms_for(interview.job_description, resume_text)

    def local() -> dict | None:
        return tailoring.draw(interview.job_type, interview.focus_area, interview.difficulty, exclude_ids=asked,
                              terms=terms, seed=interview.id, last_scores=scores)

    return tailoring.generate(llm_for_user(session, ctx, interview.user_id), job_type=interview.job_type,
                              focus_area=interview.focus_area, difficulty=interview.difficulty,
                              job_description=interview.job_description, resume_text=resume_text,
                              asked=[text for _, text in asked_rows], local=local)


def turn_dict(t: Turn) -> dict[str, Any]:
    return {"id": t.id, "question_id": t.question_id, "job_id": t.job_id, "status": t.status,
            "audio_seconds": t.audio_seconds, "transcript": t.transcript, "segments": t.segments,
            "delivery": t.delivery, "scores": t.scores, "next_question_id": t.next_question_id,
            "created_at": t.created_at.isoformat() + "Z" if t.created_at else None}


def session_dict(session: Session, interview: Interview) -> dict[str, Any]:
    questions = session.execute(select(Question).where(Question.interview_id == interview.id)
                                .order_by(Question.position)).scalars().all()
    turns = session.execute(select(Turn).where(Turn.interview_id == interview.id)
                            .order_by(Turn.created_at)).scalars().all()
    current = next((q for q in questions if q.id == interview.current_question_id), None)
    return {
        "session_id": interview.id,
        "mode": interview.mode,
        "status": interview.status,
        "job_type": interview.job_type,
        "focus_area": interview.focus_area,
        "difficulty": interview.difficulty,
        "question_count": interview.question_count,
        "job_description": interview.job_description,
        "resume_id": interview.resume_id,
        "current_question": question_dict(current) if current else None,
        "questions": [question_dict(q) for q in questions],
        "turns": [turn_dict(t) for t in turns],
        "summary": interview.summary,
        "created_at": interview.created_at.isoformat() + "Z",
        "ended_at": interview.ended_at.isoformat() + "Z" if interview.ended_at else None,
    }
