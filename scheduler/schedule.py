"""The schedule: one table of (name, cron, actor). Every scheduler reads it; none runs job code.

`voicemock scheduler` (production: rq-scheduler on Redis, see scheduler/rq_bridge.py) and the
in-process loop of embedded mode (scheduler/loop.py) both drive this table. Crons are UTC.
"""
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
    Entry("retention", "17 3 * * *", "retention.run",
          "delete audio, transcripts, events, finished jobs, copilot sessions and idempotency keys past their age"),
    Entry("purge", "47 * * * *", "retention.purge", "hard-delete accounts and interviews marked deleted"),
)
