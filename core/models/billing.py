"""Billing tables: Stripe events (deduplicated by id), customers, and the usage ledger."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import Base
from core.ids import new_id


class StripeEvent(Base):
    """One webhook event. The primary key is Stripe's event id: a redelivery cannot make a second row."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="received")  # received | processed | ignored
    outcome: Mapped[dict | None] = mapped_column(JSON)
    job_id: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)


class BillingCustomer(Base):
    """Links a user to their Stripe customer and subscription (users.plan holds the effective plan)."""

    __tablename__ = "billing_customers"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    subscription_id: Mapped[str | None] = mapped_column(String(255))
    subscription_status: Mapped[str | None] = mapped_column(String(40))
    plan: Mapped[str] = mapped_column(String(40), default="free")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class UsageLedger(Base):
    """Metered usage: one row per billable unit (a session started, seconds of audio accepted, tokens).

    (kind, job_id) is unique, so metering a job twice (a retried request, a redelivered message) is a
    no-op rather than a double charge."""

    __tablename__ = "usage_ledger"
    __table_args__ = (UniqueConstraint("kind", "job_id", name="uq_usage_ledger_kind_job_id"),
                      Index("ix_usage_ledger_user_at", "user_id", "at"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("use"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # session | audio_seconds | llm_tokens
    amount: Mapped[float] = mapped_column(Float)
    job_id: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
