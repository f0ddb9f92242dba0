"""What JobLifecycle and the actor pass each other in the worker thread that runs a message.

Before the actor runs, JobLifecycle hands it the row it has just claimed (no second read); after it
ran, the actor leaves its outcome (result, artifact, usage) for JobLifecycle to record. Returning
the outcome from the actor would make Dramatiq warn about a discarded result on every job. A leaf
module: both sides import it, neither imports the other.
"""
from __future__ import annotations

import threading
from typing import Any

from core.transitions import ClaimedJob

_local = threading.local()


def give_claimed(job: ClaimedJob) -> None:
    _local.claimed = job


def take_claimed(job_id: str) -> ClaimedJob | None:
    """The row claimed for `job_id` in this thread, once (None outside JobLifecycle)."""
    job = getattr(_local, "claimed", None)
    _local.claimed = None
    return job if job is not None and job.id == job_id else None


def give_outcome(outcome: dict[str, Any] | None) -> None:
    _local.outcome = outcome


def take_outcome() -> dict[str, Any]:
    outcome = getattr(_local, "outcome", None) or {}
    _local.outcome = None
    return outcome


def give_sealed_skill(token: str | None) -> None:
    """The message's sealed X-Tracked-Skill-Id (core/sealed.py), for the actor's JobContext."""
    _local.sealed_skill = token


def take_sealed_skill() -> str | None:
    token = getattr(_local, "sealed_skill", None)
    _local.sealed_skill = None
    return token
