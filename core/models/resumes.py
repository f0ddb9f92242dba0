"""Resumes, what was generated from them, and batches of generation jobs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base
from core.ids import new_id


class Resume(Base):
    __tablename__ = "resumes"
    __table_args__ = (Index("ix_resumes_user_created", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("res"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="Resume")
    source: Mapped[str] = mapped_column(String(20), default="manual")  # manual | upload
    status: Mapped[str] = mapped_column(String(20), default="ready")  # parsing | ready | failed
    filename: Mapped[str | None] = mapped_column(String(255))
    file_type: Mapped[str | None] = mapped_column(String(10))  # pdf | docx
    file_key: Mapped[str | None] = mapped_column(String(500))
    file_size: Mapped[int | None] = mapped_column(Integer)
    parse_job_id: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str | None] = mapped_column(Text)
    sections: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ResumeGeneration(Base):
    """The output of one generation job (bullet rewrite, tailoring, cover letter)."""

    __tablename__ = "resume_generations"
    __table_args__ = (Index("ix_resume_generations_user_created", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("gen"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    resume_id: Mapped[str | None] = mapped_column(ForeignKey("resumes.id", ondelete="SET NULL"), index=True)
    job_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    batch_id: Mapped[str | None] = mapped_column(String(40), index=True)
    type: Mapped[str] = mapped_column(String(30))
    job_description: Mapped[str] = mapped_column(Text)
    output: Mapped[dict] = mapped_column(JSON, default=dict)
    engine: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Batch(Base):
    """A batch of jobs (`Job.batch_id`). Counts by status come from the job rows; `closed` says no more
    items will be added, and `status` turns `completed` once, when closed and every item is terminal."""

    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_user_created", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("bat"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(60), default="resume.generate")
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | completed
    closed: Mapped[bool] = mapped_column(Boolean, default=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def stream(self) -> str:
        return f"batch:{self.id}"


class BatchItem(Base):
    """An item of a batch under a client key, so a resubmitted item maps to its existing job."""

    __tablename__ = "batch_items"
    __table_args__ = (UniqueConstraint("batch_id", "key", name="uq_batch_items_batch_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("bit"))
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str] = mapped_column(String(40), index=True)
    # Set (once, by a conditional UPDATE) in the transaction that stores the item's event: the batch
    # completes only after every item was announced, so the final event is always the last one.
    notified_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
