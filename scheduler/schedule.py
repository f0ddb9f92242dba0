"""The schedule: one table of (name, cron, actor). Every scheduler reads it; none runs job code."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str
    cron: str  # five-field cron, UTC
    actor: str  # the Dramatiq actor the scheduler sends a message to
    description: str


SCHEDULE: tuple[Entry, ...] = (
    Entry("sweeper", "* * * * *", "maintenance.sweep", "re-send jobs stuck in queued or under a dead lease"),
)
