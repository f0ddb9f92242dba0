"""Live copilot sessions and their transcript chunks.

`suggest_job_id` and `dirty` coalesce suggestion jobs: at most one is in flight per session, and a
chunk that lands while one runs only sets `dirty` so the running job's hand-off enqueues one more.
Both are changed only by conditional UPDATEs (see jobs/copilot.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base
from core.ids import new_id


class CopilotSession(Base):
    __tablename__ = "copilot_sessions"
    __table_args__ = (Index("ix_copilot_sessions_user_created", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cop"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(30), default="interview")
    role: Mapped[str | None] = mapped_column(String(120))
    company: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | stopped
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    suggest_job_id: Mapped[str | None] = mapped_column(String(40))  # the one suggestion job in flight
    dirty: Mapped[bool] = mapped_column(Boolean, default=False)  # context changed while it ran
    suggestion_count: Mapped[int] = mapped_column(Integer, default=0)
    last_suggestion: Mapped[dict | None] = mapped_column(JSON)
    debrief: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def stream(self) -> str:
        return f"copilot:{self.id}"


class CopilotChunk(Base):
    """One piece of the live transcript (typed, or transcribed from an audio chunk)."""

    __tablename__ = "copilot_chunks"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("copilot_sessions.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(20), default="transcript")  # transcript | audio | note
    speaker: Mapped[str | None] = mapped_column(String(40))
    content: Mapped[str] = mapped_column(Text, default="")
    timestamp: Mapped[float | None] = mapped_column(Float)
    audio_key: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="ready")  # ready | transcribing | failed
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
