from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base
from core.ids import new_id


class Interview(Base):
    """A practice interview. Voice sessions (`sess_…`) and text interviews (`int_…`) share the table."""

    __tablename__ = "interviews"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("sess"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(10), default="voice")  # voice | text
    title: Mapped[str | None] = mapped_column(String(200))
    job_type: Mapped[str] = mapped_column(String(60), default="general")
    focus_area: Mapped[str] = mapped_column(String(60), default="behavioral")
    difficulty: Mapped[str] = mapped_column(String(10), default="medium")
    question_count: Mapped[int] = mapped_column(Integer, default=5)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | completed (document 004's word; "ended" before migration 0007)
    current_question_id: Mapped[str | None] = mapped_column(String(40))
    # Tailored practice: the pasted job description and the resume the questions were drawn for.
    job_description: Mapped[str | None] = mapped_column(Text)
    resume_id: Mapped[str | None] = mapped_column(String(40))
    scores: Mapped[dict | None] = mapped_column(JSON)
    summary: Mapped[dict | None] = mapped_column(JSON)
    report: Mapped[dict | None] = mapped_column(JSON)
    report_version: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)  # bumped on every change; reports cache on it
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def stream(self) -> str:
        return f"session:{self.id}"


class Question(Base):
    __tablename__ = "questions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("q"))
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    bank_id: Mapped[str | None] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(40), default="behavioral")
    difficulty: Mapped[str] = mapped_column(String(10), default="medium")
    key_points: Mapped[list | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(20), default="bank")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Turn(Base):
    """One spoken answer: audio, transcript, delivery figures and scores."""

    __tablename__ = "turns"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("turn"))
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str | None] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"))
    job_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    audio_key: Mapped[str | None] = mapped_column(String(500))
    audio_format: Mapped[str | None] = mapped_column(String(40))
    audio_seconds: Mapped[float | None] = mapped_column(Float)
    transcript: Mapped[str | None] = mapped_column(Text)
    segments: Mapped[list | None] = mapped_column(JSON)
    delivery: Mapped[dict | None] = mapped_column(JSON)
    scores: Mapped[dict | None] = mapped_column(JSON)
    next_question_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
