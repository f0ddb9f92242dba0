"""All tables, one module per domain, on one `Base` (Alembic autogenerate targets its metadata)."""
from __future__ import annotations

from core.models.users import DeletedSubject, User
from core.models.jobs import EventStream, Job, JobEvent
from core.models.practice import Interview, Question, Turn
from core.models.interviews import Message
from core.models.copilot import CopilotChunk, CopilotSession
from core.models.resumes import Batch, BatchItem, Resume, ResumeGeneration
from core.models.trust import IdempotencyKey, RetentionReceipt
from core.models.billing import BillingCustomer, StripeEvent, UsageLedger

__all__ = ["User", "DeletedSubject", "Job", "JobEvent", "EventStream", "Interview", "Question", "Turn", "Message",
           "CopilotSession", "CopilotChunk", "Resume", "ResumeGeneration", "Batch", "BatchItem",
           "IdempotencyKey", "RetentionReceipt", "BillingCustomer", "StripeEvent", "UsageLedger"]
