"""All tables, one module per domain, on one `Base` (Alembic autogenerate targets its metadata)."""
from __future__ import annotations

from core.models.users import User
from core.models.jobs import EventStream, Job, JobEvent
from core.models.practice import Interview, Question, Turn

__all__ = ["User", "Job", "JobEvent", "EventStream", "Interview", "Question", "Turn"]
