"""Interviews as transcripts: text interviews (`int_…`, messages) and voice sessions (`sess_…`, turns)
read the same way, so questions, scoring, reports and exports work on both."""
from __future__ import annotations

from dataclasses import dataclass
from statistics import mean
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import iso
from core.errors import BadInput
from core.models import Interview, Message, Question, Turn
from jobs import judge, question_bank
from jobs.context import JobContext
from jobs.llm import llm_for_user
from jobs.practice import add_question, question_dict

DIMENSIONS = ("content", "structure", "delivery")


@dataclass
class Answer:
    question: dict[str, Any]
    text: str
    delivery: dict[str, Any] | None
    scores: dict[str, Any] | None
    ref: Message | Turn


def load(session: Session, interview_id: str) -> Interview:
    interview = session.get(Interview, interview_id)
    if interview is None or interview.deleted_at is not None:
        raise BadInput(f"interview {interview_id} does not exist", stage="lookup")
    return interview


def questions_of(session: Session, interview: Interview) -> list[Question]:
    return list(session.execute(select(Question).where(Question.interview_id == interview.id)
                                .order_by(Question.position)).scalars())


def answers(session: Session, interview: Interview) -> list[Answer]:
    qs = {q.id: q for q in questions_of(session, interview)}
    out: list[Answer] = []
    if interview.mode == "voice":
        turns = session.execute(select(Turn).where(Turn.interview_id == interview.id, Turn.status == "succeeded")
                                .order_by(Turn.created_at)).scalars()
        for t in turns:
            q = qs.get(t.question_id or "")
            out.append(Answer(question_dict(q) if q else {"text": "", "key_points": []}, t.transcript or "",
                              t.delivery, t.scores, t))
        return out
    msgs = session.execute(select(Message).where(Message.interview_id == interview.id, Message.role == "candidate")
                           .order_by(Message.created_at, Message.id)).scalars()
    for m in msgs:
        q = qs.get(m.question_id or "")
        out.append(Answer(question_dict(q) if q else {"text": "", "key_points": []}, m.content, None, m.scores, m))
    return out


def transcript(session: Session, interview: Interview) -> list[dict[str, Any]]:
    """The conversation in order: interviewer questions and candidate answers."""
    if interview.mode == "voice":
        entries: list[dict[str, Any]] = []
        for a in answers(session, interview):
            if a.question.get("text"):
                entries.append({"role": "interviewer", "content": a.question["text"],
                                "question_id": a.question.get("id"), "at": iso(a.ref.created_at)})
            entries.append({"role": "candidate", "content": a.text, "question_id": a.question.get("id"),
                            "scores": a.scores, "delivery": a.delivery, "at": iso(a.ref.created_at)})
        return entries
    msgs = session.execute(select(Message).where(Message.interview_id == interview.id)
                           .order_by(Message.created_at, Message.id)).scalars()
    return [message_dict(m) for m in msgs]


def message_dict(m: Message) -> dict[str, Any]:
    return {"id": m.id, "role": m.role, "content": m.content, "question_id": m.question_id, "scores": m.scores,
            "at": iso(m.created_at)}


def as_chat(entries: list[dict[str, Any]], limit_chars: int = 12000) -> str:
    """The transcript as plain text for a prompt, newest part kept when it is long."""
    text = "\n".join(f"{e['role'].upper()}: {e['content']}" for e in entries)
    return text[-limit_chars:]


# -- questions -------------------------------------------------------------------------------------

class GeneratedQuestion(BaseModel):
    text: str = Field(min_length=5, max_length=1000)
    type: str = Field(default="behavioral", max_length=40)
    difficulty: Literal["easy", "medium", "hard"] = "medium"
    key_points: list[str] = Field(default_factory=list, max_length=8)


class QuestionPlan(BaseModel):
    questions: list[GeneratedQuestion] = Field(min_length=1, max_length=20)


def generate_questions(session: Session, ctx: JobContext, interview_id: str, count: int,
                       type: str | None = None) -> dict[str, Any]:
    interview = load(session, interview_id)
    existing = questions_of(session, interview)
    # Free text: the nearest bank type, or any type (None) when the words match none.
    bank_type = question_bank.normalize_type(type if type else interview.focus_area)
    qtype = bank_type or "mixed"
    about = f" The person asked for questions about: {type}." if type and type.strip().lower() != qtype else ""
    llm = llm_for_user(session, ctx, interview.user_id)
    ctx.progress("questions", 0.1, provider=llm.name)

    def from_bank() -> QuestionPlan:
        picked = question_bank.pick_questions(interview.job_type, bank_type, interview.difficulty, count,
                                              exclude_ids=[q.bank_id for q in existing if q.bank_id], seed=interview.id)
        if not picked:
            raise BadInput("the question bank has no more questions for this interview", stage="questions")
        return QuestionPlan(questions=[GeneratedQuestion(text=p["text"], type=p["type"], difficulty=p["difficulty"],
                                                         key_points=p.get("key_points") or []) for p in picked])

    asked = "\n".join(f"- {q.text}" for q in existing) or "(none yet)"
    plan = llm.structured("questions", [{"role": "user", "content": (
        f"Write {count} {qtype.replace('_', ' ')} interview questions for a {interview.job_type.replace('_', ' ')} "
        f"candidate at {interview.difficulty} difficulty. For each, list the key points a strong answer covers. "
        f"In the candidate's own words, the interview is: {interview.title or interview.job_type}.{about}\n"
        f"Do not repeat these questions:\n{asked}")}], QuestionPlan, local=from_bank)
    ctx.progress("questions", 0.9)
    bank_ids = {p["text"]: p["id"] for p in question_bank.load_bank()} if llm.name == "local" else {}
    added = []
    current = interview.current_question_id
    for i, g in enumerate(plan.questions[:count]):
        q = add_question(session, interview, {"id": bank_ids.get(g.text), "text": g.text, "type": g.type,
                                              "difficulty": g.difficulty, "key_points": g.key_points,
                                              "source": "bank" if llm.name == "local" else "llm"},
                         position=len(existing) + i + 1)
        added.append(question_dict(q))
    interview.current_question_id = current or (added[0]["id"] if added else None)
    interview.version += 1
    return {"interview_id": interview.id, "provider": llm.name, "questions": added}


# -- scoring ---------------------------------------------------------------------------------------

DimensionScore, AnswerScore = judge.DimensionScore, judge.AnswerScore


def score_one(llm: Any, a: Answer) -> dict[str, Any]:
    """The answer's scores from the user's engine; the local rubric when it is local or fails."""
    return judge.score(llm, a.question, a.text, a.delivery)


def aggregate(per_answer: list[dict[str, Any]], source: str) -> dict[str, Any]:
    dims = {d: round(mean(s[d]["score"] for s in per_answer), 1) if per_answer else None for d in DIMENSIONS}
    overall = round(mean(s["overall"] for s in per_answer), 1) if per_answer else None
    return {"dimensions": dims, "overall": overall, "answered": len(per_answer), "source": source}


def score_interview(session: Session, ctx: JobContext, interview_id: str) -> dict[str, Any]:
    interview = load(session, interview_id)
    todo = answers(session, interview)
    if not todo:
        raise BadInput("this interview has no answers to score yet", stage="scoring")
    llm = llm_for_user(session, ctx, interview.user_id)
    results = []
    for i, a in enumerate(todo):
        ctx.progress("scoring", (i + 0.5) / len(todo), provider=llm.name)
        results.append(score_one(llm, a))
    for a, s in zip(todo, results):  # writes after the last progress report
        if isinstance(a.ref, Message):
            a.ref.scores = s
    interview.scores = {**aggregate(results, "ai"), "provider": llm.name}
    interview.version += 1
    return {"interview_id": interview.id, **interview.scores,
            "answers": [{"question_id": a.question.get("id"), **s} for a, s in zip(todo, results)]}
