"""Trust tables: idempotency keys and retention receipts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base
from core.ids import new_id


class IdempotencyKey(Base):
    """A claimed Idempotency-Key. The unique (scope, key) constraint is the claim: of many concurrent
    requests with one key, exactly one INSERT succeeds and only that request does the work."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("idem"))
    scope: Mapped[str] = mapped_column(String(120))  # the user (or anonymous client) owning the key
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(12), default="in_flight")  # in_flight | done
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(120))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class RetentionReceipt(Base):
    """What one retention or purge run deleted, and when: the operator's proof that data was forgotten."""

    __tablename__ = "retention_receipts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rcpt"))
    kind: Mapped[str] = mapped_column(String(20))  # retention | purge
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | cron | cli
    job_id: Mapped[str | None] = mapped_column(String(40))
    counts: Mapped[dict] = mapped_column(JSON, default=dict)  # artifact kind -> rows (and files) deleted
    cutoffs: Mapped[dict] = mapped_column(JSON, default=dict)  # artifact kind -> ISO cutoff used
    skipped: Mapped[list] = mapped_column(JSON, default=list)  # kinds whose tables do not exist here
    total: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
