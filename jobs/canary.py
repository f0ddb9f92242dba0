"""The canary job: operators (and benchmarks) send it to prove the pipeline end to end.

It sleeps in steps, reporting progress, and can be told to fail transiently for its first attempts
or to fail as bad input, so retry and dead-letter handling can be checked on a live system.
"""
from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from core.errors import BadInput, TransientError
from jobs.context import JobContext


def _sleep(ctx: JobContext, seconds: float) -> None:
    """Sleep in short slices, so a cancelled canary stops within a moment, not at its next step."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.25))
        ctx.check_cancelled()


def run_canary(session: Session, ctx: JobContext, *, sleep_seconds: float = 0.0, steps: int = 1,
               fail_attempts: int = 0, bad_input: bool = False, payload: Any = None) -> dict[str, Any]:
    if bad_input:
        raise BadInput("canary asked to fail as bad input", stage="canary")
    if ctx.attempt <= fail_attempts:
        raise TransientError(f"canary transient failure on attempt {ctx.attempt}", stage="canary")
    steps = max(1, steps)
    for i in range(steps):
        _sleep(ctx, sleep_seconds / steps)
        ctx.progress("canary", (i + 1) / steps)
    return {"ok": True, "attempt": ctx.attempt, "payload": payload}
